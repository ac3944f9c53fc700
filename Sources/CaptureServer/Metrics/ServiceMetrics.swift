import AffinityCore
import CaptureStore
import NIOConcurrencyHelpers
import Prometheus

/// The service's Prometheus metrics (`serve --metrics-listen`). Labels are bounded: error codes are the
/// SPEC's fixed set, prune rules three, models the first 50 seen and then `other`; never a session or an
/// agent id.
public final class ServiceMetrics: Sendable {
    static let maxModels = 50
    static let other = "other"

    let registry = PrometheusCollectorRegistry()
    private let records: Counter
    private let duplicates: Counter
    private let commits: Counter
    private let recordLatency: DurationHistogram
    private let connectionsAccepted: Counter
    private let connectionsOpen: Gauge
    private let queueDepth: Gauge
    private let databaseBytes: Gauge
    private let walBytes: Gauge
    private let forwardLag: Gauge
    private let forwardUp: Gauge
    private let forwardedThrough: Gauge
    private let errors: [RPCError.Code: Counter]
    private let pruned: [String: Counter]
    private let models = NIOLockedValueBox([String: Counter]())

    private static func descriptor(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "taas", subsystem: "capture", metricName: metric, unitName: unit, helpText: help)
    }

    public init() {
        records = registry.makeCounter(descriptor: Self.descriptor("records", "total", "Captures stored (acknowledged after commit)."))
        duplicates = registry.makeCounter(descriptor: Self.descriptor("records_duplicate", "total", "Records answered as duplicates of a stored capture."))
        commits = registry.makeCounter(descriptor: Self.descriptor("commits", "total", "Write transactions committed by the writer (group commit)."))
        recordLatency = registry.makeDurationHistogram(descriptor: Self.descriptor("record_duration", "seconds", "From a record's dispatch to its answer after commit."), buckets: [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                      .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                      .seconds(1)])
        connectionsAccepted = registry.makeCounter(descriptor: Self.descriptor("connections", "total", "Socket connections accepted."))
        connectionsOpen = registry.makeGauge(descriptor: Self.descriptor("connections", "open", "Socket connections open now."))
        queueDepth = registry.makeGauge(descriptor: Self.descriptor("write_queue", "depth", "Writes waiting for the writer."))
        databaseBytes = registry.makeGauge(descriptor: Self.descriptor("database", "bytes", "Size of the database file."))
        walBytes = registry.makeGauge(descriptor: Self.descriptor("wal", "bytes", "Size of the write-ahead log."))
        forwardLag = registry.makeGauge(descriptor: Self.descriptor("forward_lag", "captures", "Stored captures the fleet's PostgreSQL does not have yet (-1 before the first connect; 0 without --forward)."))
        forwardUp = registry.makeGauge(descriptor: Self.descriptor("forward", "up", "1 while the forwarder is connected and forwarding, 0 while it retries or is refused (0 without --forward)."))
        forwardedThrough = registry.makeGauge(descriptor: Self.descriptor("forwarded_through", "id", "The largest capture id the fleet confirmed."))
        var errors: [RPCError.Code: Counter] = [:]
        for code in RPCError.Code.allCases {
            errors[code] = registry.makeCounter(descriptor: Self.descriptor("errors", "total", "JSON-RPC errors answered, by code."), labels: [("code", String(code.rawValue))])
        }
        self.errors = errors
        var pruned: [String: Counter] = [:]
        for rule in ["age", "perSession", "rows"] {
            pruned[rule] = registry.makeCounter(descriptor: Self.descriptor("pruned", "total", "Captures removed by retention, by rule."), labels: [("rule", rule)])
        }
        self.pruned = pruned
    }

    /// One record answered after its commit: stored (counted by served model) or a duplicate.
    func recorded(_ capture: NewCapture, duplicate: Bool, after latency: Duration) {
        recordLatency.record(latency)
        if duplicate {
            duplicates.increment()
            return
        }
        records.increment()
        let model = (capture.usage.autorouted ? capture.fields.autorouterModel : capture.usage.requestedModel) ?? Stats.unknown
        modelCounter(model).increment()
    }

    private func modelCounter(_ model: String) -> Counter {
        models.withLockedValue { known in
            if let counter = known[model] { return counter }
            let label = known.count < Self.maxModels ? model : Self.other
            if let counter = known[label] { return counter }
            let counter = registry.makeCounter(descriptor: Self.descriptor("captures_by_model", "total", "Captures stored since start, by served model (the first 50 models, then other)."), labels: [("model", label)])
            known[label] = counter
            return counter
        }
    }

    func committed() { commits.increment() }
    func answeredError(code: RPCError.Code) { errors[code]?.increment() }
    func connectionOpened() {
        connectionsAccepted.increment()
        connectionsOpen.increment()
    }
    func connectionClosed() { connectionsOpen.decrement() }

    func pruned(_ report: PruneReport) {
        guard !report.dryRun else { return }
        pruned["age"]?.increment(by: Int64(report.byAge))
        pruned["perSession"]?.increment(by: Int64(report.byPerSession))
        pruned["rows"]?.increment(by: Int64(report.byRows))
    }

    /// The exposition text, with the gauges read now.
    func render(queueDepth depth: Int, dbPath: String, forward: ForwardStatus?) -> [UInt8] {
        queueDepth.set(Int64(depth))
        if let forward {
            forwardLag.set(Int64(forward.lagCaptures ?? -1))
            forwardUp.set(Int64(forward.state == .forwarding ? 1 : 0))
            forwardedThrough.set(forward.lastForwardedId ?? 0)
        }
        databaseBytes.set(DatabaseFile.size(dbPath))
        walBytes.set(DatabaseFile.size(dbPath + "-wal"))
        return registry.emitToBuffer()
    }
}
