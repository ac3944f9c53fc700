import AffinityCore

/// What the rollups and the query's own reads of captures add up, per agent, routing, served model, algorithm,
/// algorithm source, thinking, trigger and channel ('' for a missing value, as in `capture_rollups`). Keys compare by their bytes,
/// as SQLite's GROUP BY does: two canonically equivalent ids are two agents.
struct FineKey: Hashable {
    let agent: ScalarKey
    let autorouted: Bool
    let model: ScalarKey
    let algo: ScalarKey
    let source: ScalarKey
    let thinking: ScalarKey
    let trigger: ScalarKey
    let channel: ScalarKey
}

/// The sums of `RollupSQL.sumTerms` over some captures.
struct FineSums {
    var captures = 0
    var withUsage = 0
    var input = 0.0
    var output = 0.0
    var cacheRead = 0.0
    var cacheWrite = 0.0
    var costCaptures = 0
    var cost = 0.0
    var savedCaptures = 0
    var saved = 0.0
    /// Route changes among the captures (`RollupSQL.routeChanged`).
    var routeChanges = 0
    /// The oldest and newest capture time among the captures read one by one (nil for rollups).
    var first: Int64?
    var last: Int64?

    static func += (lhs: inout FineSums, rhs: FineSums) {
        lhs.first = Self.either(lhs.first, rhs.first, min)
        lhs.last = Self.either(lhs.last, rhs.last, max)
        lhs.captures += rhs.captures
        lhs.withUsage += rhs.withUsage
        lhs.input += rhs.input
        lhs.output += rhs.output
        lhs.cacheRead += rhs.cacheRead
        lhs.cacheWrite += rhs.cacheWrite
        lhs.costCaptures += rhs.costCaptures
        lhs.cost += rhs.cost
        lhs.savedCaptures += rhs.savedCaptures
        lhs.saved += rhs.saved
        lhs.routeChanges += rhs.routeChanges
    }

    /// `pick` of both when both are known, else the one that is.
    private static func either(_ a: Int64?, _ b: Int64?, _ pick: (Int64, Int64) -> Int64) -> Int64? {
        guard let a else { return b }
        guard let b else { return a }
        return pick(a, b)
    }

    /// As `UsageSQL.totals` reports them: token sums saturate at the Int64 range as `total()` read back does;
    /// a money sum of no capture is nil.
    var usage: UsageTotals {
        UsageTotals(
            calls: withUsage, inputTokens: Self.saturated(input), outputTokens: Self.saturated(output),
            cacheReadTokens: Self.saturated(cacheRead), cacheWriteTokens: Self.saturated(cacheWrite),
            costUsd: costCaptures > 0 ? cost : nil, cacheSavedUsd: savedCaptures > 0 ? saved : nil)
    }

    private static func saturated(_ value: Double) -> Int64 {
        if value >= 9.223372036854775807e18 { return Int64.max }
        if value <= -9.223372036854775808e18 { return Int64.min }
        return Int64(value)
    }
}

extension CaptureReader {
    /// `stats` and, with `grouping`, its groups (at most `limit`, most captures first), from one snapshot.
    ///
    /// Over all captures or one agent's, the rollups answer for whole hours at or below their mark; the partial
    /// hours at the range's ends and the captures above the mark are read from the captures themselves. Agent and
    /// model groups come from the same sums; sessions are counted and ranked through `session_rollups`. A session
    /// selector reads that session's captures.
    public func stats(
        _ selector: CaptureSelector?, since: Int64?, until: Int64?, groupBy grouping: StatsGrouping? = nil,
        limit: Int = StatsGroup.defaultLimit
    ) throws(StoreError) -> Stats {
        return try connection.transaction(.deferred) { () throws(StoreError) -> Stats in
            let agent: String?
            switch selector {
            case nil: agent = nil
            case .agent(let id): agent = id
            case .session:
                var stats = try scannedStats(selector, since: since, until: until)
                if let grouping {
                    stats.groups = try scannedGroups(by: grouping, selector: selector, since: since, until: until, limit: limit)
                }
                return stats
            }
            // One read of the mark, so every part of the answer splits the captures at the same id.
            let mark = try connection.foldedThrough()
            let fine = try fineSums(agent: agent, since: since, until: until, mark: mark)
            var stats = try Self.stats(from: fine)
            // One pass over the session rollups counts the sessions and, grouped by session, ranks them.
            let ranking = try sessionRanking(
                agent: agent, since: since, until: until, mark: mark, limit: grouping == .session ? limit : 0)
            stats.sessions = ranking.sessions
            (stats.firstCapturedAt, stats.lastCapturedAt) = try timeBounds(agent: agent, since: since, until: until)
            switch grouping {
            case .agent: stats.groups = try agentGroups(from: fine, since: since, until: until, limit: limit)
            case .model?, .trigger?, .channel?:
                stats.groups = try namedGroups(
                    grouping!, from: fine, agent: agent, since: since, until: until, mark: mark, limit: limit)
            case .session:
                stats.groups = try sessionGroups(ranking.busiest, agent: agent, since: since, until: until)
            case nil: break
            }
            return stats
        }
    }

    /// The fine sums over the range: rollups of whole hours, plus captures of the partial hours, plus captures
    /// above the rollups' mark. Each capture is counted once: the first two read ids at or below the mark only.
    func fineSums(
        agent: String?, since: Int64?, until: Int64?, mark: Int64
    ) throws(StoreError) -> [FineKey: FineSums] {
        let range = RollupRange(since: since, until: until)
        let agentFilter = agent == nil ? "" : " AND agent_id = ?4"
        var fine: [FineKey: FineSums] = [:]
        if let buckets = range.buckets {
            let rollups = try connection.prepare(RollupSQL.fineOfRollups(agent == nil ? "" : " AND agent_id = ?3"))
            defer { rollups.reset() }
            try rollups.bind(buckets.lower, at: 1)
            try rollups.bind(buckets.upper, at: 2)
            if let agent { try rollups.bind(agent, at: 3) }
            try add(rollups, into: &fine)
        }
        let folded = try connection.prepare(
            RollupSQL.fineOfCaptures("id <= ?1 AND captured_at >= ?2 AND captured_at < ?3" + agentFilter))
        for part in range.partial {
            try folded.bind(mark, at: 1)
            try folded.bind(part.from, at: 2)
            try folded.bind(part.to, at: 3)
            if let agent { try folded.bind(agent, at: 4) }
            try add(folded, into: &fine)
            folded.reset()
        }
        let above = try connection.prepare(
            RollupSQL.fineOfCaptures(
                "id > ?1 AND captured_at >= ?2 AND captured_at < ?3" + agentFilter, from: RollupSQL.unfolded))
        defer { above.reset() }
        try above.bind(mark, at: 1)
        try above.bind(since ?? Int64.min, at: 2)
        try above.bind(until ?? Int64.max, at: 3)
        if let agent { try above.bind(agent, at: 4) }
        try add(above, into: &fine)
        return fine
    }

    /// Adds the rows of a `fineOfRollups` / `fineOfCaptures` statement (eight keys, eleven sums, first and last).
    private func add(_ statement: Statement, into fine: inout [FineKey: FineSums]) throws(StoreError) {
        while try statement.step() {
            let key = FineKey(
                agent: ScalarKey(statement.string(at: 0)), autorouted: statement.int64(at: 1) != 0,
                model: ScalarKey(statement.string(at: 2)), algo: ScalarKey(statement.string(at: 3)),
                source: ScalarKey(statement.string(at: 4)), thinking: ScalarKey(statement.string(at: 5)),
                trigger: ScalarKey(statement.string(at: 6)), channel: ScalarKey(statement.string(at: 7)))
            let sums = FineSums(
                captures: Int(statement.int64(at: 8)), withUsage: Int(statement.int64(at: 9)),
                input: statement.double(at: 10), output: statement.double(at: 11), cacheRead: statement.double(at: 12),
                cacheWrite: statement.double(at: 13), costCaptures: Int(statement.int64(at: 14)),
                cost: statement.double(at: 15), savedCaptures: Int(statement.int64(at: 16)), saved: statement.double(at: 17),
                routeChanges: Int(statement.int64(at: 18)), first: statement.optionalInt64(at: 19),
                last: statement.optionalInt64(at: 20))
            fine[key, default: FineSums()] += sums
        }
    }

    /// Totals and breakdowns (sessions and time bounds are read separately).
    static func stats(from fine: [FineKey: FineSums]) throws(StoreError) -> Stats {
        var stats = Stats()
        var all = FineSums()
        var agents = Set<ScalarKey>()
        let name = { (value: ScalarKey) in value.string.isEmpty ? Stats.unknown : value.string }
        for (key, sums) in fine where sums.captures > 0 {
            all += sums
            if !key.agent.string.isEmpty { agents.insert(key.agent) }
            stats.byModel[name(key.model), default: 0] += sums.captures
            stats.byAlgo[name(key.algo), default: 0] += sums.captures
            stats.byAlgoSource[name(key.source), default: 0] += sums.captures
            stats.byThinking[name(key.thinking), default: 0] += sums.captures
        }
        stats.total = all.captures
        stats.agents = agents.count
        stats.usage = all.usage
        stats.routeChanges = all.routeChanges
        return stats
    }

    /// The oldest and newest capture times in the range: one index seek each.
    func timeBounds(agent: String?, since: Int64?, until: Int64?) throws(StoreError) -> (Int64?, Int64?) {
        let scope = agent == nil ? "" : "agent_id = ?3 AND "
        var bounds: [Int64?] = []
        for order in ["", " DESC"] {
            let statement = try connection.prepare(
                "SELECT captured_at FROM captures WHERE \(scope)captured_at >= ?1 AND captured_at < ?2 "
                    + "ORDER BY captured_at\(order) LIMIT 1")
            try statement.bind(since ?? Int64.min, at: 1)
            try statement.bind(until ?? Int64.max, at: 2)
            if let agent { try statement.bind(agent, at: 3) }
            bounds.append(try statement.step() ? statement.int64(at: 0) : nil)
            statement.reset()
        }
        return (bounds[0], bounds[1])
    }

    /// Agent groups from the fine sums; each group's time bounds are index seeks, and its current model a walk
    /// only when more than one routed model served it in the range.
    func agentGroups(
        from fine: [FineKey: FineSums], since: Int64?, until: Int64?, limit: Int
    ) throws(StoreError) -> [StatsGroup] {
        var sums: [ScalarKey: FineSums] = [:]
        var models: [ScalarKey: Set<ScalarKey>] = [:]
        var routed: [ScalarKey: Set<ScalarKey>] = [:]
        for (key, value) in fine where value.captures > 0 && !key.agent.string.isEmpty {
            sums[key.agent, default: FineSums()] += value
            if !key.model.string.isEmpty { models[key.agent, default: []].insert(key.model) }
            if key.autorouted { routed[key.agent, default: []].insert(key.model) }
        }
        var groups: [StatsGroup] = []
        for (key, value) in Self.busiest(sums, limit: limit, name: { $0.string }) {
            let agent = key.string
            let (first, last) = try timeBounds(agent: agent, since: since, until: until)
            var group = StatsGroup(
                key: agent, captures: value.captures, firstCapturedAt: first ?? 0, lastCapturedAt: last ?? 0,
                lastModel: nil, modelSince: nil, models: models[key]?.count ?? 0, usage: value.usage,
                routeChanges: value.routeChanges)
            let served = routed[key] ?? []
            if served.count == 1, let model = served.first {
                group.lastModel = model.string.isEmpty ? nil : model.string
                group.modelSince = try oldestRouted(agent: agent, since: since, until: until)
            } else if served.count > 1 {
                (group.lastModel, group.modelSince) = try currentModel(
                    of: agent, .agent, selector: nil, since: since, until: until)
            }
            groups.append(group)
        }
        return groups
    }

    /// The `limit` busiest groups: most captures first, then by the group's name in byte order (SQLite's
    /// `ORDER BY count(*) DESC, key`).
    private static func busiest(
        _ sums: [ScalarKey: FineSums], limit: Int, name: (ScalarKey) -> String
    ) -> ArraySlice<(key: ScalarKey, value: FineSums)> {
        sums.sorted { a, b in
            a.value.captures != b.value.captures
                ? a.value.captures > b.value.captures : ScalarKey.precedes(ScalarKey(name(a.key)), ScalarKey(name(b.key)))
        }.prefix(limit)
    }

    /// Groups by a value each capture names (its served model, trigger or channel) from the fine sums. A group's
    /// first and last capture come from the captures read one by one and, when the rollups hold some of it, from a
    /// walk of the first and last hour that has it. A model group's model is its key; a trigger or channel group
    /// has no one model (`lastModel` nil) and counts the served models it holds.
    func namedGroups(
        _ grouping: StatsGrouping, from fine: [FineKey: FineSums], agent: String?, since: Int64?, until: Int64?,
        mark: Int64, limit: Int
    ) throws(StoreError) -> [StatsGroup] {
        let dimension = RollupDimension(grouping)
        // Keyed by the group's name, as `coalesce(value, 'unknown')` groups: none and a value called "unknown" are one
        // group.
        let name = { (value: ScalarKey) in ScalarKey(value.string.isEmpty ? Stats.unknown : value.string) }
        var sums: [ScalarKey: FineSums] = [:]
        var named: [ScalarKey: Set<ScalarKey>] = [:]
        var models: [ScalarKey: Set<ScalarKey>] = [:]
        for (key, value) in fine where value.captures > 0 {
            let own = key[keyPath: dimension.key]
            sums[name(own), default: FineSums()] += value
            named[name(own), default: []].insert(own)
            if !key.model.string.isEmpty { models[name(own), default: []].insert(key.model) }
        }
        let range = RollupRange(since: since, until: until)
        let extents = try range.buckets.map { buckets throws(StoreError) in
            try extentsInRollups(dimension, buckets, agent: agent)
        } ?? [:]
        var groups: [StatsGroup] = []
        for (key, value) in Self.busiest(sums, limit: limit, name: { $0.string }) {
            var first = value.first
            var last = value.last
            for own in named[key] ?? [] {
                guard let extent = extents[own] else { continue }
                let hour = RollupSQL.bucketMs
                if let found = try edgeOfHour(dimension, own.string, agent: agent, from: extent.first * hour, mark: mark, oldest: true) {
                    first = min(first ?? found, found)
                }
                if let found = try edgeOfHour(dimension, own.string, agent: agent, from: extent.last * hour, mark: mark, oldest: false) {
                    last = max(last ?? found, found)
                }
            }
            let isModel = grouping == .model
            groups.append(
                StatsGroup(
                    key: key.string, captures: value.captures, firstCapturedAt: first ?? 0, lastCapturedAt: last ?? 0,
                    lastModel: isModel && key.string != Stats.unknown ? key.string : nil, modelSince: nil,
                    models: isModel ? (models[key]?.isEmpty == false ? 1 : 0) : (models[key]?.count ?? 0),
                    usage: value.usage, routeChanges: value.routeChanges))
        }
        return groups
    }

    /// The first and last whole-hour bucket in which the rollups hold each value of `dimension`.
    private func extentsInRollups(
        _ dimension: RollupDimension, _ buckets: (lower: Int64, upper: Int64), agent: String?
    ) throws(StoreError) -> [ScalarKey: (first: Int64, last: Int64)] {
        let column = dimension.rollupColumn
        let statement = try connection.prepare(
            "SELECT \(column), min(bucket), max(bucket) FROM capture_rollups WHERE bucket >= ?1 AND bucket < ?2 "
                + "AND captures > 0\(agent == nil ? "" : " AND agent_id = ?3") GROUP BY \(column)")
        defer { statement.reset() }
        try statement.bind(buckets.lower, at: 1)
        try statement.bind(buckets.upper, at: 2)
        if let agent { try statement.bind(agent, at: 3) }
        var extents: [ScalarKey: (Int64, Int64)] = [:]
        while try statement.step() {
            extents[ScalarKey(statement.string(at: 0))] = (statement.int64(at: 1), statement.int64(at: 2))
        }
        return extents
    }

    /// The oldest (or newest) capture whose `dimension` is `value` ('' for none) in the hour starting at `start`,
    /// among the ids the rollups hold: a walk of `captures_by_time` over that hour.
    private func edgeOfHour(
        _ dimension: RollupDimension, _ value: String, agent: String?, from start: Int64, mark: Int64, oldest: Bool
    ) throws(StoreError) -> Int64? {
        let statement = try connection.prepare(
            "SELECT captured_at FROM captures WHERE captured_at >= ?1 AND captured_at < ?2 AND id <= ?3 "
                + "AND \(dimension.captureTerm) = ?4\(agent == nil ? "" : " AND agent_id = ?5") "
                + "ORDER BY captured_at\(oldest ? "" : " DESC") LIMIT 1")
        defer { statement.reset() }
        try statement.bind(start, at: 1)
        try statement.bind(start + RollupSQL.bucketMs, at: 2)
        try statement.bind(mark, at: 3)
        try statement.bind(value, at: 4)
        if let agent { try statement.bind(agent, at: 5) }
        return try statement.step() ? statement.int64(at: 0) : nil
    }

    /// The time of the agent's oldest routed capture in the range: a walk of `captures_by_agent` from the oldest
    /// end, which stops at the first routed capture.
    private func oldestRouted(agent: String, since: Int64?, until: Int64?) throws(StoreError) -> Int64? {
        let statement = try connection.prepare(
            "SELECT captured_at FROM captures WHERE agent_id = ?1 AND autorouted = 1 AND captured_at >= ?2 "
                + "AND captured_at < ?3 ORDER BY captured_at, id LIMIT 1")
        defer { statement.reset() }
        try statement.bind(agent, at: 1)
        try statement.bind(since ?? Int64.min, at: 2)
        try statement.bind(until ?? Int64.max, at: 3)
        return try statement.step() ? statement.int64(at: 0) : nil
    }
}

/// A value each capture names that stats group by from the rollups: where it is in a fine key, in a rollup row and
/// in a capture ('' for none in all three).
struct RollupDimension {
    let key: KeyPath<FineKey, ScalarKey>
    let rollupColumn: String
    let captureTerm: String

    init(_ grouping: StatsGrouping) {
        switch grouping {
        case .trigger: (key, rollupColumn, captureTerm) = (\.trigger, "trigger", "ifnull(trigger, '')")
        case .channel: (key, rollupColumn, captureTerm) = (\.channel, "channel", "ifnull(channel, '')")
        case .model, .agent, .session:
            (key, rollupColumn, captureTerm) = (\.model, "model", "ifnull(\(UsageSQL.servedModel), '')")
        }
    }
}
