import AffinityCore
import CaptureReport
import CaptureStore
import NIOCore

/// The methods of captures: `record` one, and read them back as the last route, a history page, stats
/// or a dashboard page.
extension MethodDispatcher {
    func record(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        switch try params.recordRequest(now: WallClock.unixMillis()) {
        case .notAutorouted:
            completion(encode { $0.writeStaticString("{\"recorded\":false,\"reason\":\"not_autorouted\"}") })
        case .store(let capture):
            let metrics = context.metrics
            let started = metrics == nil ? nil : ContinuousClock.now
            let done = deliver("record", completion) { (buffer, outcome: RecordOutcome) in
                if let metrics, let started {
                    metrics.recorded(capture, outcome: outcome, after: ContinuousClock.now - started)
                }
                buffer.writeRecordOutcome(outcome)
            }
            try submit(.record(capture, done))
        }
    }

    func lastRoute(_ params: Params) throws(RPCError) -> Result<RPCResult, RPCError> {
        let selector = try params.requiredSelector()
        do {
            let capture = try reader.lastRoute(selector.selector)
            return encode { $0.writeLastRoute(selector, capture) }
        } catch {
            return failure(error, "lastRoute")
        }
    }

    func history(_ params: Params) throws(RPCError) -> Result<RPCResult, RPCError> {
        let selector = try params.requiredSelector()
        let limits = Int64(HistoryQuery.limits.lowerBound)...Int64(HistoryQuery.limits.upperBound)
        let limit = try params.integer("limit", in: limits) ?? Int64(HistoryQuery.defaultLimit)
        let cursor = try params.string("cursor")
        let since = try params.integer("since", in: Int64.min...Int64.max)
        let until = try params.integer("until", in: Int64.min...Int64.max)
        let query = HistoryQuery(
            selector: selector.selector, limit: Int(limit), cursor: cursor, since: since, until: until
        )
        do {
            let page = try reader.history(query)
            return encode(sizeHint: 64 + page.captures.count * 720) { $0.writeHistory(selector, page) }
        } catch {
            return failure(error, "history")
        }
    }

    func stats(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        let selector = try params.selector()?.selector
        let since = try params.integer("since", in: Int64.min...Int64.max)
        let until = try params.integer("until", in: Int64.min...Int64.max)
        let grouping = try params.statsGrouping()
        try scan("stats", completion) { (reader) throws(StoreError) in
            try reader.stats(
                selector, since: since, until: until, groupBy: grouping?.0, limit: grouping?.1 ?? StatsGroup.defaultLimit)
        } encode: { (buffer, stats: Stats) in
            buffer.writeStats(stats)
        }
    }

    /// A dashboard page (SPEC v3 "The dashboard tab"), rendered on the scan pool: `{"html"}`.
    func page(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        let request = try params.pageRequest()
        // A page saved to a file (`openclaw taas report`) has no links: they would only reload the file.
        let links = try params.bool("links") ?? true
        try scan("page", completion) { (reader) throws(StoreError) in
            try Pages.html(request, reader: reader, now: WallClock.unixMillis(), links: links)
        } encode: { (buffer, html: String) in
            buffer.writePage(html)
        }
    }
}
