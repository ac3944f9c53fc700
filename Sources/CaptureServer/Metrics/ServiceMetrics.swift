import AffinityCore
import CaptureStore
import NIOConcurrencyHelpers
import Prometheus

/// The service's Prometheus metrics (`serve --metrics-listen`). Labels are bounded: error codes are the
/// SPEC's fixed set, prune rules three, models the first 50 seen and then `other`, triggers the first 20
/// (`CallMetrics`); never a session or an agent id.
public final class ServiceMetrics: Sendable {

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
    private let storageHealthy: Gauge
    private let budgetsExceeded: Gauge
    private let calls: CallMetrics
    private let errors: [RPCError.Code: Counter]
    private let pruned: [String: Counter]

    public init() {
        records = registry.makeCounter(descriptor: .taasCapture("records", "total", "Captures stored (acknowledged after commit)."))
        duplicates = registry.makeCounter(descriptor: .taasCapture("records_duplicate", "total", "Records answered as duplicates of a stored capture."))
        commits = registry.makeCounter(descriptor: .taasCapture("commits", "total", "Write transactions committed by the writer (group commit)."))
        recordLatency = registry.makeDurationHistogram(descriptor: .taasCapture("record_duration", "seconds", "From a record's dispatch to its answer after commit."), buckets: [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
                      .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                      .seconds(1)])
        connectionsAccepted = registry.makeCounter(descriptor: .taasCapture("connections", "total", "Socket connections accepted."))
        connectionsOpen = registry.makeGauge(descriptor: .taasCapture("connections", "open", "Socket connections open now."))
        queueDepth = registry.makeGauge(descriptor: .taasCapture("write_queue", "depth", "Writes waiting for the writer."))
        databaseBytes = registry.makeGauge(descriptor: .taasCapture("database", "bytes", "Size of the database file."))
        walBytes = registry.makeGauge(descriptor: .taasCapture("wal", "bytes", "Size of the write-ahead log."))
        forwardLag = registry.makeGauge(descriptor: .taasCapture("forward_lag", "captures", "Stored captures the fleet's PostgreSQL does not have yet (-1 before the first connect; 0 without --forward)."))
        forwardUp = registry.makeGauge(descriptor: .taasCapture("forward", "up", "1 while the forwarder is connected and forwarding, 0 while it retries or is refused (0 without --forward)."))
        forwardedThrough = registry.makeGauge(descriptor: .taasCapture("forwarded_through", "id", "The largest capture id the fleet confirmed."))
        storageHealthy = registry.makeGauge(descriptor: .taasCapture("storage", "healthy", "1 while the storage is healthy; 0 while health says degraded: a write or read failed with a storage error (full, I/O, read-only, damaged) and no commit has mended it since."))
        budgetsExceeded = registry.makeGauge(descriptor: .taasCapture("budgets", "exceeded", "Budgets whose subject's reported spend today (UTC) is over its USD per day, as last checked (each minute)."))
        calls = CallMetrics(registry: registry)
        var errors: [RPCError.Code: Counter] = [:]
        for code in RPCError.Code.allCases {
            errors[code] = registry.makeCounter(descriptor: .taasCapture("errors", "total", "JSON-RPC errors answered, by code."), labels: [("code", String(code.rawValue))])
        }
        self.errors = errors
        var pruned: [String: Counter] = [:]
        for rule in ["age", "perSession", "rows"] {
            pruned[rule] = registry.makeCounter(descriptor: .taasCapture("pruned", "total", "Captures removed by retention, by rule."), labels: [("rule", rule)])
        }
        self.pruned = pruned
    }

    /// One record answered after its commit: stored (counted by served model, and its call's series) or a duplicate.
    func recorded(_ capture: NewCapture, outcome: RecordOutcome, after latency: Duration) {
        recordLatency.record(latency)
        if outcome.duplicate {
            duplicates.increment()
            return
        }
        records.increment()
        calls.stored(capture, routeChanged: outcome.routeChanged)
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
    func render(
        queueDepth depth: Int, dbPath: String, forward: ForwardStatus?, storageHealthy healthy: Bool, budgetsExceeded exceeded: Int
    ) -> [UInt8] {
        queueDepth.set(Int64(depth))
        storageHealthy.set(Int64(healthy ? 1 : 0))
        budgetsExceeded.set(Int64(exceeded))
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
