/// The hourly rollups of schemas 4 to 6 (`Migrations/0004_rollups.sql`, `0005_dashboard_rollups.sql`, `0006_attribution_budgets.sql`): the SQL that
/// folds captures into them and takes deleted captures out, in one place.
enum RollupSQL {
    /// Milliseconds in one bucket.
    static let bucketMs: Int64 = 3_600_000

    /// The eight key columns of a rollup row after its bucket, computed from a capture ('' for a missing value).
    static let fineKey = """
        ifnull(agent_id, ''), autorouted, ifnull(\(UsageSQL.servedModel), ''), ifnull(autorouter_algo, ''), \
        ifnull(autorouter_algo_source, ''), ifnull(thinking_applied, ''), ifnull(trigger, ''), ifnull(channel, '')
        """
    /// `GROUP BY` over `fineKey`'s columns, first in a select.
    static let groupByFineKey = "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
    /// All nine key columns: the hour, then `fineKey`.
    static let keyOfCapture = "captured_at / \(bucketMs), " + fineKey

    /// Whether a capture (of the table `captures`, as the outer row) is a route change: autorouted, and its served
    /// model differs from that of the previous autorouted capture of its session by `(captured_at, id)` — one seek
    /// of `captures_by_session`. 0 for the first routed capture of a session and for captures not autorouted.
    static let routeChangedTerm = """
        CASE WHEN captures.autorouted = 1 THEN ifnull((SELECT p.autorouter_model IS NOT captures.autorouter_model \
        FROM captures AS p WHERE p.session_id = captures.session_id AND p.autorouted = 1 \
        AND (p.captured_at, p.id) < (captures.captured_at, captures.id) \
        ORDER BY p.captured_at DESC, p.id DESC LIMIT 1), 0) ELSE 0 END
        """

    /// A capture's route change as stored, computed for one stored before schema 5 and not folded since.
    static let routeChanged = "coalesce(route_changed, \(routeChangedTerm))"

    /// The eleven sums of a rollup row over a set of captures, in `capture_rollups` column order.
    static let sumTerms = [
        "count(*)", "count(*) FILTER (WHERE \(UsageSQL.hasUsage))", "total(input_tokens)", "total(output_tokens)",
        "total(cache_read_tokens)", "total(cache_write_tokens)", "count(cost_usd)", "total(cost_usd)",
        "count(cache_saved_usd)", "total(cache_saved_usd)", "count(*) FILTER (WHERE \(routeChanged) = 1)",
    ]
    static let sumColumns = [
        "captures", "with_usage", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
        "cost_captures", "cost_usd", "saved_captures", "cache_saved_usd", "route_changes",
    ]

    /// Milliseconds in one `session_days` row.
    static let dayMs: Int64 = 86_400_000

    /// The per-session tables and the span of one of their rows: hours, then days.
    static let sessionTables: [(table: String, key: String, unitMs: Int64)] = [
        ("session_rollups", "bucket", bucketMs), ("session_days", "day", dayMs),
    ]

    /// Adds (`sign` 1) or takes out (`sign` -1) the captures `filter` selects from `session_rollups` and
    /// `session_days`: one statement each.
    static func mergeSessions(_ filter: String, sign: Int) -> [String] {
        sessionTables.map { table, _, unitMs in
            """
            INSERT INTO \(table) SELECT captured_at / \(unitMs), session_id, ifnull(agent_id, ''), \
            \(sign < 0 ? "-count(*)" : "count(*)") FROM captures WHERE \(filter) GROUP BY 1, 2, 3 \
            ON CONFLICT DO UPDATE SET captures = captures + excluded.captures
            """
        }
    }

    /// Removes the per-session rows left empty in the hours and days of the captures `filter` selects: a prune
    /// never scans a whole table under the write lock, only the hours and days it took captures out of (each key
    /// starts with them).
    static func emptiedSessions(_ filter: String) -> [String] {
        sessionTables.map { table, key, unitMs in
            """
            DELETE FROM \(table) WHERE \(key) IN (SELECT DISTINCT captured_at / \(unitMs) FROM captures WHERE \(filter)) \
            AND captures <= 0
            """
        }
    }

    /// Sets `route_changed` on the captures `filter` selects that do not have it yet.
    static func settleRouteChanges(_ filter: String) -> String {
        "UPDATE captures SET route_changed = \(routeChangedTerm) WHERE route_changed IS NULL AND \(filter)"
    }

    /// Adds (`sign` 1) or takes out (`sign` -1) the captures `filter` selects. The WHERE keeps SQLite from reading
    /// ON CONFLICT as a join constraint: https://www.sqlite.org/lang_upsert.html
    static func merge(_ filter: String, sign: Int) -> String {
        let sums = sumTerms.map { sign < 0 ? "-(\($0))" : $0 }.joined(separator: ", ")
        return """
            INSERT INTO capture_rollups SELECT \(keyOfCapture), \(sums) FROM captures WHERE \(filter) \
            GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 ON CONFLICT DO UPDATE SET \
            \(sumColumns.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", "))
            """
    }

    /// The same key (without the bucket) and sums over the captures `filter` selects, plus each line's first and
    /// last capture time, which the rollups do not keep: what a query adds to the rollups of whole hours
    /// (`CaptureReader.fineSums` reads both shapes).
    static func fineOfCaptures(_ filter: String, from source: String = "captures") -> String {
        "SELECT \(fineKey), \(sumTerms.joined(separator: ", ")), min(captured_at), max(captured_at) "
            + "FROM \(source) WHERE \(filter) \(groupByFineKey)"
    }

    /// Where the captures above the rollups' mark are read: the newest ids, one range of the table by rowid. Without
    /// it an agent filter would walk all of that agent's captures in `captures_by_agent` for the few not folded yet.
    static let unfolded = "captures NOT INDEXED"

    /// The rollups of whole buckets `?1 <= bucket < ?2` (with `extra`), summed over the buckets.
    static func fineOfRollups(_ extra: String) -> String {
        "SELECT agent_id, autorouted, model, algo, algo_source, thinking, trigger, channel, "
            + sumColumns.map { "sum(\($0))" }.joined(separator: ", ")
            + ", NULL, NULL FROM capture_rollups WHERE bucket >= ?1 AND bucket < ?2\(extra) "
            + "\(groupByFineKey) HAVING sum(captures) > 0"
    }
}

extension Connection {
    /// The last capture id the rollups include.
    func foldedThrough() throws(StoreError) -> Int64 {
        try scalarInt("SELECT folded_through FROM rollup_progress WHERE slot = 1") ?? 0
    }

    /// The session tables hold the captures at or below the rollups' mark with `captured_at` before this time.
    func sessionsThrough() throws(StoreError) -> Int64 {
        try scalarInt("SELECT sessions_through FROM rollup_progress WHERE slot = 1") ?? 0
    }
}

extension CaptureWriter {
    /// Captures one fold takes at most: one short transaction on the writer (a GROUP BY over them and a few
    /// rollup pages), between groups of records.
    public static let foldBatch = 8192
    /// Captures one fold takes while it also sets the route changes of captures stored before schema 5 (a seek and
    /// a row rewrite each, about 16 µs here): the transaction stays short for the records waiting behind it.
    public static let settleBatch = 1024
    /// Captures one fold adds to the session tables by time at least (whole ended hours, or a part of one that
    /// holds more), so that adding them keeps pace with folding.
    public static let sessionBatch = 8192

    /// Folds the next captures after the mark (at most `limit`) into the rollups, in one transaction; returns how
    /// many ids the mark moved over (0 when the rollups are caught up).
    @discardableResult
    public func foldRollups(
        limit: Int = CaptureWriter.foldBatch, sessionLimit: Int = CaptureWriter.sessionBatch, now: Int64 = WallClock.unixMillis()
    ) throws(StoreError) -> Int {
        try connection.transaction(.immediate) { () throws(StoreError) -> Int in
            let from = try connection.foldedThrough()
            // Ids at or below this mark were stored before schema 5 and may lack their route change.
            let unsettled = try connection.scalarInt("SELECT unsettled_through FROM rollup_progress WHERE slot = 1") ?? 0
            let settles = from < unsettled
            let last = try connection.prepare("SELECT id FROM captures WHERE id > ?1 ORDER BY id LIMIT 1 OFFSET ?2")
            defer { last.reset() }
            try last.bind(from, at: 1)
            try last.bind(Int64(max(1, settles ? min(limit, Self.settleBatch) : limit) - 1), at: 2)
            var through: Int64?
            if try last.step() { through = last.int64(at: 0) }
            last.reset()
            if through == nil { through = try connection.scalarInt("SELECT max(id) FROM captures") }
            guard let through, through > from else {
                try addEndedHours(mark: from, now: now, limit: sessionLimit)
                return 0
            }
            // Captures stored before schema 5 get their route change first (new ones have it from their insert).
            // The session tables take only captures of times they already hold (late ones): the rest come with
            // their hour, below.
            var steps = [RollupSQL.merge("id > ?1 AND id <= ?2", sign: 1)]
                + RollupSQL.mergeSessions("id > ?1 AND id <= ?2 AND captured_at < ?3", sign: 1)
            if settles {
                steps.insert(RollupSQL.settleRouteChanges("id > ?1 AND id <= ?2"), at: 0)
                if through >= unsettled { try connection.execute("UPDATE rollup_progress SET unsettled_through = 0 WHERE slot = 1") }
            }
            let sessionsThrough = try connection.sessionsThrough()
            for sql in steps {
                let fold = try connection.prepare(sql)
                try fold.bind(from, at: 1)
                try fold.bind(through, at: 2)
                if sql.contains("?3") { try fold.bind(sessionsThrough, at: 3) }
                try fold.run()
            }
            let mark = try connection.prepare("UPDATE rollup_progress SET folded_through = ?1 WHERE slot = 1")
            try mark.bind(through, at: 1)
            try mark.run()
            try addEndedHours(mark: through, now: now, limit: sessionLimit)
            return Int(through - from)
        }
    }

    /// Adds to the session tables the captures (at or below `mark`) of the hours that ended before `now` and are not
    /// in them yet, at least `limit` of them unless all are in: one pass over each hour's captures in time order,
    /// its rows appended at the end of the tables (their keys start with the hour). Empty hours are skipped; an hour
    /// of more than `limit` captures is added in parts. Inside the caller's transaction.
    private func addEndedHours(mark: Int64, now: Int64, limit: Int) throws(StoreError) {
        let hour = RollupSQL.bucketMs
        let horizon = RollupRange.floorDiv(now, hour) * hour
        var start = try connection.sessionsThrough()
        var added = 0
        let first = try connection.prepare(
            "SELECT captured_at FROM captures WHERE captured_at >= ?1 AND captured_at < ?2 ORDER BY captured_at LIMIT 1 OFFSET ?3")
        defer { first.reset() }
        while start < horizon && added < limit {
            // The first capture at or after `start`, and the one `limit` captures later: where this part ends.
            try first.bind(start, at: 1)
            try first.bind(horizon, at: 2)
            try first.bind(Int64(0), at: 3)
            guard try first.step() else {
                start = horizon
                break
            }
            let from = max(start, RollupRange.floorDiv(first.int64(at: 0), hour) * hour)
            first.reset()
            var end = RollupRange.floorDiv(from, hour) * hour + hour
            try first.bind(from, at: 1)
            try first.bind(end, at: 2)
            try first.bind(Int64(limit), at: 3)
            if try first.step() { end = max(first.int64(at: 0), from + 1) }
            first.reset()
            for sql in RollupSQL.mergeSessions("captured_at >= ?1 AND captured_at < ?2 AND id <= ?3", sign: 1) {
                let add = try connection.prepare(sql)
                try add.bind(from, at: 1)
                try add.bind(end, at: 2)
                try add.bind(mark, at: 3)
                try add.run()
            }
            let counted = try connection.prepare(
                "SELECT count(*) FROM captures WHERE captured_at >= ?1 AND captured_at < ?2 AND id <= ?3")
            try counted.bind(from, at: 1)
            try counted.bind(end, at: 2)
            try counted.bind(mark, at: 3)
            added += try counted.step() ? Int(counted.int64(at: 0)) : 0
            counted.reset()
            start = end
        }
        let moved = try connection.prepare("UPDATE rollup_progress SET sessions_through = ?1 WHERE slot = 1")
        defer { moved.reset() }
        try moved.bind(start, at: 1)
        try moved.run()
    }

    /// Whether the session tables lack captures of hours that ended before `now` (a fold adds them).
    public func sessionsBehind(now: Int64 = WallClock.unixMillis()) throws(StoreError) -> Bool {
        let horizon = RollupRange.floorDiv(now, RollupSQL.bucketMs) * RollupSQL.bucketMs
        let statement = try connection.prepare(
            "SELECT 1 FROM captures WHERE captured_at >= ?1 AND captured_at < ?2 AND id <= ?3 LIMIT 1")
        defer { statement.reset() }
        try statement.bind(try connection.sessionsThrough(), at: 1)
        try statement.bind(horizon, at: 2)
        try statement.bind(try connection.foldedThrough(), at: 3)
        return try statement.step()
    }

    /// Ids above the rollups' mark, up to the newest capture (an upper bound on the captures still to fold).
    public func unfoldedIds() throws(StoreError) -> Int {
        let newest = try connection.scalarInt("SELECT max(id) FROM captures") ?? 0
        return Int(max(0, newest - (try connection.foldedThrough())))
    }
}

extension CaptureReader {
    /// What the rollups count and what is stored that they should count, from one snapshot: `capture_rollups`
    /// against the captures at or below the mark, and each session table against those of them before its time
    /// mark. All equal unless captures were deleted around retention (by hand, with `sqlite3`).
    public func rollupAudit() throws(StoreError) -> (counted: Int, stored: Int, sessionsCounted: Int, sessionsStored: Int) {
        typealias Audit = (counted: Int, stored: Int, sessionsCounted: Int, sessionsStored: Int)
        return try connection.transaction(.deferred) { () throws(StoreError) -> Audit in
            let counted = try connection.scalarInt("SELECT coalesce(sum(captures), 0) FROM capture_rollups") ?? 0
            // Both session tables: the one that differs from what is stored, when one does.
            let hours = try connection.scalarInt("SELECT coalesce(sum(captures), 0) FROM session_rollups") ?? 0
            let days = try connection.scalarInt("SELECT coalesce(sum(captures), 0) FROM session_days") ?? 0
            let stored = try connection.prepare("SELECT count(*), count(*) FILTER (WHERE captured_at < ?2) FROM captures WHERE id <= ?1")
            defer { stored.reset() }
            try stored.bind(try connection.foldedThrough(), at: 1)
            try stored.bind(try connection.sessionsThrough(), at: 2)
            guard try stored.step() else { return (Int(counted), 0, Int(hours), 0) }
            let sessionsStored = stored.int64(at: 1)
            return (Int(counted), Int(stored.int64(at: 0)), Int(hours == sessionsStored ? days : hours), Int(sessionsStored))
        }
    }
}

extension CaptureWriter {
    /// Empties the rollups and folds every capture into them again, a batch per transaction (stats stay exact
    /// meanwhile: unfolded captures are read one by one). Returns the captures folded.
    @discardableResult
    public func rebuildRollups(afterEachBatch: (Int) -> Void = { _ in }) throws(StoreError) -> Int {
        try connection.transaction(.immediate) { () throws(StoreError) in
            try connection.execute("DELETE FROM capture_rollups")
            try connection.execute("DELETE FROM session_rollups")
            try connection.execute("DELETE FROM session_days")
            try connection.execute("UPDATE rollup_progress SET sessions_through = -4611686018427387904 WHERE slot = 1")
            try connection.execute("UPDATE rollup_progress SET folded_through = 0 WHERE slot = 1")
        }
        var folded = 0
        while true {
            let ids = try foldRollups()
            guard ids > 0 else { return folded }
            folded += ids
            afterEachBatch(folded)
        }
    }
}
