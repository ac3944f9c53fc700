import AffinityCore

/// How many sessions have captures in a range, and the busiest of them.
struct SessionRanking {
    /// Sessions with at least one capture in the range.
    var sessions = 0
    /// The busiest sessions, most captures first, then by id in byte order (SQLite's `ORDER BY count(*) DESC, 1`).
    var busiest: [(key: ScalarKey, captures: Int)] = []
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Counts one session and keeps it when it is among the `limit` busiest so far.
    mutating func add(_ key: ScalarKey, captures: Int) {
        guard captures > 0 else { return }
        sessions += 1
        guard limit > 0 else { return }
        if busiest.count == limit, let last = busiest.last, !Self.ranksBefore((key, captures), last) { return }
        let index = busiest.firstIndex { !Self.ranksBefore($0, (key, captures)) } ?? busiest.endIndex
        busiest.insert((key, captures), at: index)
        if busiest.count > limit { busiest.removeLast() }
    }

    private static func ranksBefore(_ a: (key: ScalarKey, captures: Int), _ b: (key: ScalarKey, captures: Int)) -> Bool {
        a.captures != b.captures ? a.captures > b.captures : ScalarKey.precedes(a.key, b.key)
    }
}

extension CaptureReader {
    /// The sessions of the range (all captures, or one agent's) ranked by captures. The session tables answer for
    /// the whole days and hours of the range before their time mark (ids at or below the rollups' mark; summed by
    /// session in SQLite's own bounded sorter); the captures themselves for the partial hours at the ends, the
    /// times from the mark on (the current hour), and ids above the rollups' mark, held by session meanwhile.
    func sessionRanking(
        agent: String?, since: Int64?, until: Int64?, mark: Int64, limit: Int
    ) throws(StoreError) -> SessionRanking {
        let range = RollupRange(since: since, until: until)
        let through = try connection.sessionsThrough()
        let lower = since ?? Int64.min
        let upper = until ?? Int64.max
        var loose: [ScalarKey: Int] = [:]
        let agentFilter = agent == nil ? "" : " AND agent_id = ?4"
        var parts = range.partial.map { ("captures", "id <= ?1", $0.from, min($0.to, through)) }
        parts.append(("captures", "id <= ?1", max(lower, through), upper))
        parts.append((RollupSQL.unfolded, "id > ?1", lower, upper))
        for (source, ids, from, to) in parts where from < to {
            let statement = try connection.prepare(
                "SELECT session_id, count(*) FROM \(source) WHERE \(ids) AND captured_at >= ?2 AND captured_at < ?3"
                    + "\(agentFilter) GROUP BY session_id")
            defer { statement.reset() }
            try statement.bind(mark, at: 1)
            try statement.bind(from, at: 2)
            try statement.bind(to, at: 3)
            if let agent { try statement.bind(agent, at: 4) }
            while try statement.step() {
                loose[ScalarKey(statement.string(at: 0)), default: 0] += Int(statement.int64(at: 1))
            }
        }
        var ranking = SessionRanking(limit: limit)
        if let buckets = range.buckets {
            // Whole hours from the tables up to the one that holds the time mark (its row has the captures before
            // the mark; the rest of it was read above); whole days among the hours wholly before the mark.
            let hour = RollupSQL.bucketMs
            let tableHours = (lower: buckets.lower, upper: min(buckets.upper, RollupRange.ceilDiv(through, hour)))
            let wholeHours = min(buckets.upper, RollupRange.floorDiv(through, hour))
            let days = (lower: RollupRange.ceilDiv(buckets.lower, 24), upper: RollupRange.floorDiv(wholeHours, 24))
            let hours: [(Int64, Int64)] = days.lower < days.upper
                ? [(tableHours.lower, days.lower * 24), (days.upper * 24, tableHours.upper)]
                : [(tableHours.lower, tableHours.upper), (0, 0)]
            let statement = try connection.prepare(Self.sessionSumsSQL(byAgent: agent != nil))
            defer { statement.reset() }
            try statement.bind(days.lower < days.upper ? days.lower : 0, at: 1)
            try statement.bind(days.lower < days.upper ? days.upper : 0, at: 2)
            try statement.bind(hours[0].0, at: 3)
            try statement.bind(hours[0].1, at: 4)
            try statement.bind(hours[1].0, at: 5)
            try statement.bind(hours[1].1, at: 6)
            if let agent { try statement.bind(agent, at: 7) }
            while try statement.step() {
                let key = ScalarKey(statement.string(at: 0))
                ranking.add(key, captures: Int(statement.int64(at: 1)) + (loose.removeValue(forKey: key) ?? 0))
            }
        }
        for (key, captures) in loose { ranking.add(key, captures: captures) }
        return ranking
    }

    /// Captures by session in days `?1..<?2` and hours `?3..<?4` and `?5..<?6` (and of agent `?7`): each part reads
    /// its own days or hours only (the tables' keys, or the agent indexes, start with them).
    static func sessionSumsSQL(byAgent: Bool) -> String {
        let agent = byAgent ? " AND agent_id = ?7" : ""
        let days = byAgent ? "session_days INDEXED BY session_days_by_agent" : "session_days"
        let hours = byAgent ? "session_rollups INDEXED BY session_rollups_by_agent" : "session_rollups"
        return """
            SELECT session_id, sum(n) FROM (\
            SELECT session_id, captures AS n FROM \(days) WHERE day >= ?1 AND day < ?2\(agent) \
            UNION ALL SELECT session_id, captures FROM \(hours) WHERE bucket >= ?3 AND bucket < ?4\(agent) \
            UNION ALL SELECT session_id, captures FROM \(hours) WHERE bucket >= ?5 AND bucket < ?6\(agent)) \
            GROUP BY session_id
            """
    }

    /// The ranked sessions as stats groups: usage, models, time bounds and the current model read for each through
    /// `captures_by_session` (an agent's: only that agent's captures of the session).
    func sessionGroups(
        _ busiest: [(key: ScalarKey, captures: Int)], agent: String?, since: Int64?, until: Int64?
    ) throws(StoreError) -> [StatsGroup] {
        let details = try connection.prepare(
            "SELECT \(UsageSQL.totals), count(DISTINCT \(UsageSQL.servedModel)), min(captured_at), max(captured_at), "
                + "count(*) FILTER (WHERE \(RollupSQL.routeChanged) = 1) "
                // A session's captures through its own index, also beside an agent filter (else the planner may walk
                // all of the agent's captures for each session).
                + "FROM captures INDEXED BY captures_by_session WHERE session_id = ?1 AND captured_at >= ?2 AND captured_at < ?3"
                + (agent == nil ? "" : " AND agent_id = ?4"))
        defer { details.reset() }
        var groups: [StatsGroup] = []
        for (key, captures) in busiest {
            var group = StatsGroup(
                key: key.string, captures: captures, firstCapturedAt: 0, lastCapturedAt: 0, lastModel: nil,
                modelSince: nil, models: 0, usage: UsageTotals(), routeChanges: 0)
            try details.bind(key.string, at: 1)
            try details.bind(since ?? Int64.min, at: 2)
            try details.bind(until ?? Int64.max, at: 3)
            if let agent { try details.bind(agent, at: 4) }
            if try details.step() {
                group.usage = details.usageTotals(from: 0)
                group.models = Int(details.int64(at: 7))
                group.firstCapturedAt = details.int64(at: 8)
                group.lastCapturedAt = details.int64(at: 9)
                group.routeChanges = Int(details.int64(at: 10))
            }
            details.reset()
            let scope: CaptureSelector? = agent.map { .agent($0) }
            (group.lastModel, group.modelSince) = try currentModel(
                of: key.string, .session, selector: scope, since: since, until: until)
            groups.append(group)
        }
        return groups
    }
}
