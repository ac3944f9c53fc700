import AffinityCore

extension CaptureReader {
    /// The groups of `stats` with `groupBy`: most captures first (ties by key), at most `limit`, over the
    /// selector's captures (all when nil) with `since <= capturedAt < until`. Aggregated in SQL from every
    /// capture, so memory is bounded by `limit`, not by the captures; the caller holds the read transaction.
    func scannedGroups(
        by grouping: StatsGrouping, selector: CaptureSelector?, since: Int64?, until: Int64?, limit: Int
    ) throws(StoreError) -> [StatsGroup] {
        let key: String
        switch grouping {
        case .agent: key = "agent_id"
        case .session: key = "session_id"
        case .model: key = "coalesce(\(UsageSQL.servedModel), '\(Stats.unknown)')"
        case .trigger: key = "coalesce(trigger, '\(Stats.unknown)')"
        case .channel: key = "coalesce(channel, '\(Stats.unknown)')"
        }
        let filter = (selector.map { "\($0.column) = ?1 AND " } ?? "") + "captured_at >= ?2 AND captured_at < ?3"
        // Captures without an agent form no agent group (as `Stats.agents` counts only known agents).
        let known = grouping == .agent ? " AND agent_id IS NOT NULL" : ""
        let sql = """
            SELECT \(key) AS k, count(*), min(captured_at), max(captured_at), \(UsageSQL.totals), \
            count(DISTINCT \(UsageSQL.servedModel)), count(*) FILTER (WHERE \(RollupSQL.routeChanged) = 1) \
            FROM captures WHERE \(filter)\(known) GROUP BY k ORDER BY count(*) DESC, k LIMIT ?4
            """
        let statement = try connection.prepare(sql)
        defer { statement.reset() }
        if let selector { try statement.bind(selector.value, at: 1) }
        try statement.bind(since ?? Int64.min, at: 2)
        try statement.bind(until ?? Int64.max, at: 3)
        try statement.bind(Int64(limit), at: 4)
        var groups: [StatsGroup] = []
        while try statement.step() {
            groups.append(
                StatsGroup(
                    key: statement.string(at: 0), captures: Int(statement.int64(at: 1)),
                    firstCapturedAt: statement.int64(at: 2), lastCapturedAt: statement.int64(at: 3),
                    lastModel: nil, modelSince: nil, models: Int(statement.int64(at: 11)),
                    usage: statement.usageTotals(from: 4), routeChanges: Int(statement.int64(at: 12))))
        }
        statement.reset()
        for i in groups.indices {
            switch grouping {
            case .model:
                // A model group's model is its key; "since when" has no meaning there.
                groups[i].lastModel = groups[i].key == Stats.unknown ? nil : groups[i].key
            case .trigger, .channel:
                // No one model: a trigger or a channel may be served by several (`models` counts them).
                break
            case .agent, .session:
                (groups[i].lastModel, groups[i].modelSince) = try currentModel(
                    of: groups[i].key, grouping, selector: selector, since: since, until: until)
            }
        }
        return groups
    }

    /// The model of the group's newest routed capture, and the oldest capture of the unbroken run of that
    /// model ending there (newest first by `(capturedAt, id)`): one indexed walk per group, which stops at
    /// the first routed capture of another model.
    func currentModel(
        of key: String, _ grouping: StatsGrouping, selector: CaptureSelector?, since: Int64?, until: Int64?
    ) throws(StoreError) -> (String?, Int64?) {
        let column = grouping == .agent ? "agent_id = ?1" : "session_id = ?1"
        let scope = selector.map { " AND \($0.column) = ?4" } ?? ""
        // A session's walk goes through its own index, also beside an agent selector.
        let source = grouping == .session ? "captures INDEXED BY captures_by_session" : "captures"
        let walk = try connection.prepare(
            "SELECT autorouter_model, captured_at FROM \(source) WHERE \(column)\(scope) AND autorouted = 1 "
                + "AND captured_at >= ?2 AND captured_at < ?3 ORDER BY captured_at DESC, id DESC")
        defer { walk.reset() }
        try walk.bind(key, at: 1)
        try walk.bind(since ?? Int64.min, at: 2)
        try walk.bind(until ?? Int64.max, at: 3)
        if let selector { try walk.bind(selector.value, at: 4) }
        guard try walk.step() else { return (nil, nil) }
        let model = walk.optionalString(at: 0)
        var since = walk.int64(at: 1)
        while try walk.step() {
            guard walk.optionalString(at: 0) == model else { break }
            since = walk.int64(at: 1)
        }
        return (model, since)
    }
}
