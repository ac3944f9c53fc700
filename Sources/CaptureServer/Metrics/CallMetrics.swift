import AffinityCore
import CaptureStore
import NIOConcurrencyHelpers
import Prometheus

/// One label's values, bounded: the first `limit` distinct values keep their name, later ones count under
/// `other`; a missing value is `unknown`. The one place label cardinality is decided.
struct BoundedLabel {
    static let other = "other"
    let limit: Int
    private var known: Set<String> = []

    init(limit: Int) { self.limit = limit }

    mutating func value(_ raw: String?) -> String {
        guard let raw else { return Stats.unknown }
        if known.contains(raw) { return raw }
        guard known.count < limit else { return Self.other }
        known.insert(raw)
        return raw
    }
}

/// The series of SPEC v3 "Metrics that alert", from each stored call: tokens, cost, savings, calls by outcome and
/// trigger, route changes and time to first byte. Models are the first 50 seen, then `other`; triggers the first
/// 20, then `other`; never a session or agent id.
final class CallMetrics: Sendable {
    static let maxModels = 50
    static let maxTriggers = 20
    static let tokenKinds = ["input", "output", "cache_read", "cache_write"]
    /// Time to first byte: from fast cached answers to slow reasoning models.
    static let ttfbBuckets: [Duration] = [
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
        .seconds(10), .seconds(20), .seconds(60),
    ]

    /// The series of one model label.
    private struct ModelSeries: Sendable {
        let captures: Counter
        let tokens: [Counter]
        let cost: Counter
        let saved: Counter
        let routeChanges: Counter
        let ttfb: DurationHistogram
    }

    private struct State: Sendable {
        var models = BoundedLabel(limit: CallMetrics.maxModels)
        var triggers = BoundedLabel(limit: CallMetrics.maxTriggers)
        var byModel: [String: ModelSeries] = [:]
        var calls: [String: Counter] = [:]
    }

    private let registry: PrometheusCollectorRegistry
    private let state = NIOLockedValueBox(State())

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Counts one stored call (not a duplicate).
    func stored(_ capture: NewCapture, routeChanged: Bool) {
        let usage = capture.usage
        let model = usage.autorouted ? capture.fields.autorouterModel : usage.requestedModel
        let (series, calls) = state.withLockedValue { state in
            let label = state.models.value(model)
            let series = state.byModel[label] ?? makeSeries(label)
            state.byModel[label] = series
            let outcome = usage.outcome?.rawValue ?? Stats.unknown
            let trigger = state.triggers.value(capture.attribution.trigger)
            if state.calls[Self.key(outcome, trigger)] == nil {
                // Every outcome's series of a new trigger starts at 0, so an alert's increase() sees its first errors.
                for each in Self.outcomes { state.calls[Self.key(each, trigger)] = makeCalls(each, trigger) }
            }
            return (series, state.calls[Self.key(outcome, trigger)]!)
        }
        calls.increment()
        series.captures.increment()
        for (counter, count) in zip(series.tokens, [usage.inputTokens, usage.outputTokens, usage.cacheReadTokens, usage.cacheWriteTokens]) {
            if let count, count > 0 { counter.increment(by: count) }
        }
        if let cost = usage.costUsd, cost > 0 { series.cost.increment(by: cost) }
        if let saved = usage.cacheSavedUsd, saved > 0 { series.saved.increment(by: saved) }
        if routeChanged { series.routeChanges.increment() }
        if let ttfb = capture.attribution.timeToFirstByteMs { series.ttfb.record(.milliseconds(ttfb)) }
    }

    static let outcomes = CallOutcome.allCases.map(\.rawValue) + [Stats.unknown]

    private static func key(_ outcome: String, _ trigger: String) -> String { outcome + "\u{0}" + trigger }

    private func makeCalls(_ outcome: String, _ trigger: String) -> Counter {
        registry.makeCounter(
            descriptor: .taasCapture("calls", "total", "Calls stored, by outcome and by what started the run (the first 20 triggers, then other)."),
            labels: [("outcome", outcome), ("trigger", trigger)])
    }

    private func makeSeries(_ model: String) -> ModelSeries {
        let labels = [("model", model)]
        return ModelSeries(
            captures: registry.makeCounter(
                descriptor: .taasCapture("captures_by_model", "total", "Captures stored since start, by served model (the first 50 models, then other)."),
                labels: labels),
            tokens: Self.tokenKinds.map { kind in
                registry.makeCounter(
                    descriptor: .taasCapture("tokens", "total", "Tokens of stored calls, by kind and served model (the first 50 models, then other)."),
                    labels: [("kind", kind), ("model", model)])
            },
            cost: registry.makeCounter(
                descriptor: .taasCapture("cost_usd", "total", "Reported cost of stored calls in USD, by served model."), labels: labels),
            saved: registry.makeCounter(
                descriptor: .taasCapture("cache_saved_usd", "total", "Estimated savings from prompt-cache reads in USD, by served model."),
                labels: labels),
            routeChanges: registry.makeCounter(
                descriptor: .taasCapture("route_changes", "total", "Autorouted calls served by another model than their session's previous call, by the new model."),
                labels: labels),
            ttfb: registry.makeDurationHistogram(
                descriptor: .taasCapture("ttfb", "seconds", "Time to the first byte of stored calls that report it, by served model."),
                labels: labels, buckets: Self.ttfbBuckets))
    }
}

extension MetricNameDescriptor {
    /// `taas_capture_<metric>_<unit>`: the one place the service's metric names are made.
    static func taasCapture(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "taas", subsystem: "capture", metricName: metric, unitName: unit, helpText: help)
    }
}
