import AffinityCore

/// What `taas-capture report` draws, aggregated in SQL: memory is bounded by buckets × models and the
/// group limits, never by the number of captures.
public struct ReportData: Sendable, Hashable {
    /// One time bucket: captures by served model (the top models, the rest under `ReportData.other`) and usage.
    public struct Bucket: Sendable, Hashable {
        public var start: Int64
        public var byModel: [String: Int]
        public var usage: UsageTotals
    }

    public static let other = "other"
    public var since: Int64
    public var until: Int64
    public var bucketMs: Int64
    /// Served models, busiest first (at most `maxModels`, then `other`).
    public var models: [String]
    public var buckets: [Bucket]
    public var agents: [StatsGroup]
    /// Route changes per agent: routed captures whose model differs from the agent's previous routed one.
    public var routeChanges: [String: Int]
    public var sessions: [StatsGroup]
    public var stats: Stats
}

extension CaptureReader {
    static let maxReportModels = 8

    /// The report's aggregates over `since <= capturedAt < until` (and the selector, when given). Buckets
    /// are hours for a range up to two days, else days.
    public func report(selector: CaptureSelector?, since: Int64, until: Int64) throws(StoreError) -> ReportData {
        let bucketMs: Int64 = until - since <= 2 * 86_400_000 ? 3_600_000 : 86_400_000
        let stats = try self.stats(selector, since: since, until: until, groupBy: .agent, limit: 50)
        let agents = stats.groups ?? []
        let sessions = try self.stats(selector, since: since, until: until, groupBy: .session, limit: 10).groups ?? []
        let models = stats.byModel.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(Self.maxReportModels).map(\.key)
        let kept = Set(models)
        let filter = (selector.map { "\($0.column) = ?1 AND " } ?? "") + "captured_at >= ?2 AND captured_at < ?3"
        return try connection.transaction(.deferred) { () throws(StoreError) -> ReportData in
            var buckets: [Int64: ReportData.Bucket] = [:]
            let byModel = try connection.prepare(
                "SELECT (captured_at - ?2) / ?4, coalesce(\(UsageSQL.servedModel), '\(Stats.unknown)'), count(*), "
                    + "\(UsageSQL.totals) FROM captures WHERE \(filter) GROUP BY 1, 2")
            defer { byModel.reset() }
            if let selector { try byModel.bind(selector.value, at: 1) }
            try byModel.bind(since, at: 2)
            try byModel.bind(until, at: 3)
            try byModel.bind(bucketMs, at: 4)
            while try byModel.step() {
                let start = since + byModel.int64(at: 0) * bucketMs
                let model = byModel.string(at: 1)
                let usage = byModel.usageTotals(from: 3)
                var bucket = buckets[start] ?? ReportData.Bucket(start: start, byModel: [:], usage: UsageTotals())
                bucket.byModel[kept.contains(model) ? model : ReportData.other, default: 0] += Int(byModel.int64(at: 2))
                bucket.usage += usage
                buckets[start] = bucket
            }
            // lag() over each agent's routed captures in time order: SQLite sorts them in its own bounded
            // temp storage. https://www.sqlite.org/windowfunctions.html
            let changes = try connection.prepare(
                "SELECT agent_id, count(*) FROM (SELECT agent_id, autorouter_model AS m, lag(autorouter_model) "
                    + "OVER (PARTITION BY agent_id ORDER BY captured_at, id) AS prev FROM captures "
                    + "WHERE \(filter) AND autorouted = 1 AND agent_id IS NOT NULL) "
                    + "WHERE prev IS NOT NULL AND prev IS NOT m GROUP BY agent_id")
            defer { changes.reset() }
            if let selector { try changes.bind(selector.value, at: 1) }
            try changes.bind(since, at: 2)
            try changes.bind(until, at: 3)
            var routeChanges: [String: Int] = [:]
            while try changes.step() { routeChanges[changes.string(at: 0)] = Int(changes.int64(at: 1)) }
            let all = stats.byModel.count > models.count ? models + [ReportData.other] : models
            return ReportData(
                since: since, until: until, bucketMs: bucketMs, models: all,
                buckets: buckets.values.sorted { $0.start < $1.start }, agents: agents, routeChanges: routeChanges,
                sessions: sessions, stats: stats)
        }
    }
}
