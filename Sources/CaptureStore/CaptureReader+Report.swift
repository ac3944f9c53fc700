import AffinityCore

/// What the report and the dashboard's overview and agent pages draw. Over all captures or one agent's it comes from
/// the rollups (whole hours) and the few captures around them, so its cost follows the hours and sessions in the range,
/// not the captures; over one session it reads that session's captures.
public struct ReportData: Sendable, Hashable {
    /// One time bucket: captures by served model (the top models, the rest under `ReportData.other`) and usage.
    public struct Bucket: Sendable, Hashable {
        /// The bucket's first millisecond: a whole UTC hour or day.
        public var start: Int64
        public var byModel: [String: Int]
        public var usage: UsageTotals
    }

    public static let other = "other"
    public var since: Int64
    public var until: Int64
    /// An hour for a range of up to two days, else a day; buckets start on whole UTC hours or days.
    public var bucketMs: Int64
    /// Served models, busiest first (at most `maxReportModels`, then `other`).
    public var models: [String]
    public var buckets: [Bucket]
    /// The busiest agents (each with its route changes: captures whose model differs from their session's previous
    /// routed capture).
    public var agents: [StatsGroup]
    /// The busiest sessions.
    public var sessions: [StatsGroup]
    /// Captures and spend by what started the run (SPEC v3 "Attribution"), busiest first.
    public var triggers: [StatsGroup]
    public var stats: Stats

    /// The start of the bucket that holds `time`.
    public func bucketStart(of time: Int64) -> Int64 {
        let q = time / bucketMs
        return (time % bucketMs != 0 && time < 0 ? q - 1 : q) * bucketMs
    }
}

extension CaptureReader {
    static let maxReportModels = 8
    static let maxReportTriggers = 20

    /// The report's aggregates over `since <= capturedAt < until` and the selector, when given, from one snapshot:
    /// at most `agentLimit` agents and `sessionLimit` sessions, busiest first.
    public func report(
        selector: CaptureSelector?, since: Int64, until: Int64, agentLimit: Int = 50, sessionLimit: Int = 10
    ) throws(StoreError) -> ReportData {
        let bucketMs: Int64 = until - since <= 2 * 86_400_000 ? 3_600_000 : 86_400_000
        return try connection.transaction(.deferred) { () throws(StoreError) -> ReportData in
            var stats: Stats
            var agents: [StatsGroup]
            var sessions: [StatsGroup]
            var triggers: [StatsGroup]
            var hourly: [HourlySums]
            switch selector {
            case .session:
                stats = try scannedStats(selector, since: since, until: until)
                agents = try scannedGroups(by: .agent, selector: selector, since: since, until: until, limit: agentLimit)
                sessions = try scannedGroups(by: .session, selector: selector, since: since, until: until, limit: sessionLimit)
                triggers = try scannedGroups(
                    by: .trigger, selector: selector, since: since, until: until, limit: Self.maxReportTriggers)
                hourly = try hourlySums(selector: selector, since: since, until: until, mark: 0)
            case nil, .agent:
                let agent = selector?.value
                let mark = try connection.foldedThrough()
                let fine = try fineSums(agent: agent, since: since, until: until, mark: mark)
                stats = try Self.stats(from: fine)
                let ranking = try sessionRanking(agent: agent, since: since, until: until, mark: mark, limit: sessionLimit)
                stats.sessions = ranking.sessions
                (stats.firstCapturedAt, stats.lastCapturedAt) = try timeBounds(agent: agent, since: since, until: until)
                agents = try agentGroups(from: fine, since: since, until: until, limit: agentLimit)
                sessions = try sessionGroups(ranking.busiest, agent: agent, since: since, until: until)
                triggers = try namedGroups(
                    .trigger, from: fine, agent: agent, since: since, until: until, mark: mark, limit: Self.maxReportTriggers)
                hourly = try hourlySums(selector: selector, since: since, until: until, mark: mark)
            }
            let models = stats.byModel.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .prefix(Self.maxReportModels).map(\.key)
            var data = ReportData(
                since: since, until: until, bucketMs: bucketMs,
                models: stats.byModel.count > models.count ? models + [ReportData.other] : models,
                buckets: [], agents: agents, sessions: sessions, triggers: triggers, stats: stats)
            data.buckets = Self.buckets(hourly, keeping: Set(models), of: data)
            return data
        }
    }

    /// The hours' sums folded into the report's buckets, oldest first.
    private static func buckets(_ hourly: [HourlySums], keeping kept: Set<String>, of data: ReportData) -> [ReportData.Bucket] {
        var buckets: [Int64: ReportData.Bucket] = [:]
        for part in hourly where part.sums.captures > 0 {
            let start = data.bucketStart(of: part.hour * RollupSQL.bucketMs)
            let model = part.model.isEmpty ? Stats.unknown : part.model
            var bucket = buckets[start] ?? ReportData.Bucket(start: start, byModel: [:], usage: UsageTotals())
            bucket.byModel[kept.contains(model) ? model : ReportData.other, default: 0] += part.sums.captures
            bucket.usage += part.sums.usage
            buckets[start] = bucket
        }
        return buckets.values.sorted { $0.start < $1.start }
    }
}

/// One hour's sums of one served model ('' for none).
struct HourlySums {
    var hour: Int64
    var model: String
    var sums: FineSums
}

extension CaptureReader {
    /// Sums by hour and served model over the range: for all captures or an agent's, the rollups of the whole hours
    /// at or below `mark` and the captures of the partial hours and above the mark; for a session, its captures.
    func hourlySums(selector: CaptureSelector?, since: Int64, until: Int64, mark: Int64) throws(StoreError) -> [HourlySums] {
        var parts: [HourlySums] = []
        let scope = selector.map { " AND \($0.column) = ?4" } ?? ""
        // For a session every capture is read one by one (ids above mark 0), through its index.
        var pieces: [(source: String, ids: String, from: Int64, to: Int64)]
        if case .session = selector {
            pieces = [("captures INDEXED BY captures_by_session", "id > ?1", since, until)]
        } else {
            let range = RollupRange(since: since, until: until)
            pieces = range.partial.map { ("captures", "id <= ?1", $0.from, $0.to) }
                + [(RollupSQL.unfolded, "id > ?1", since, until)]
            if let buckets = range.buckets {
                let rollups = try connection.prepare(
                    "SELECT bucket, model, " + RollupSQL.sumColumns.map { "sum(\($0))" }.joined(separator: ", ")
                        + " FROM capture_rollups WHERE bucket >= ?1 AND bucket < ?2"
                        + (selector == nil ? "" : " AND agent_id = ?3") + " GROUP BY bucket, model")
                defer { rollups.reset() }
                try rollups.bind(buckets.lower, at: 1)
                try rollups.bind(buckets.upper, at: 2)
                if let selector { try rollups.bind(selector.value, at: 3) }
                try readHourly(rollups, into: &parts)
            }
        }
        for piece in pieces {
            let statement = try connection.prepare(
                "SELECT captured_at / \(RollupSQL.bucketMs), ifnull(\(UsageSQL.servedModel), ''), "
                    + RollupSQL.sumTerms.joined(separator: ", ")
                    + " FROM \(piece.source) WHERE \(piece.ids) AND captured_at >= ?2 AND captured_at < ?3\(scope) GROUP BY 1, 2")
            defer { statement.reset() }
            try statement.bind(mark, at: 1)
            try statement.bind(piece.from, at: 2)
            try statement.bind(piece.to, at: 3)
            if let selector { try statement.bind(selector.value, at: 4) }
            try readHourly(statement, into: &parts)
        }
        return parts
    }

    /// Reads rows of an hour, a model and the eleven sums of `RollupSQL.sumColumns`.
    private func readHourly(_ statement: Statement, into parts: inout [HourlySums]) throws(StoreError) {
        while try statement.step() {
            let sums = FineSums(
                captures: Int(statement.int64(at: 2)), withUsage: Int(statement.int64(at: 3)),
                input: statement.double(at: 4), output: statement.double(at: 5), cacheRead: statement.double(at: 6),
                cacheWrite: statement.double(at: 7), costCaptures: Int(statement.int64(at: 8)),
                cost: statement.double(at: 9), savedCaptures: Int(statement.int64(at: 10)), saved: statement.double(at: 11),
                routeChanges: Int(statement.int64(at: 12)))
            parts.append(HourlySums(hour: statement.int64(at: 0), model: statement.string(at: 1), sums: sums))
        }
    }
}
