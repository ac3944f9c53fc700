import AffinityCore
import CSQLite

/// A read connection (read-only, `query_only`). Never waits on the writer: WAL readers see the last commit.
///
/// Not `Sendable`: one thread uses it at a time; it keeps no thread-affine state. Every statement is reset
/// after use, so a reader never holds a snapshot open and never stalls checkpoints.
public final class CaptureReader {
    let connection: Connection
    let path: String
    /// The per-request queries, prepared on first use and held here: looking them up in the connection's
    /// cache meant building and hashing their SQL text on every call, which showed in `lastRoute` profiles.
    private var lastRouteStatements: [Statement?] = [nil, nil]
    private var historyStatements: [Statement?] = [nil, nil]
    /// The service's cache of newest routes, shared with its writer (`CaptureWriter.keepExact`); nil for the CLI.
    public var routes: RouteCache?

    /// Opens an existing database migrated to this binary's schema version.
    public init(path: String, busyTimeoutMs: Int32 = 5000) throws(StoreError) {
        self.path = path
        // stat(), never open(): closing any descriptor of the file would drop every POSIX lock this
        // process holds on it (the writer's among them), and another process could then delete the
        // live WAL. https://www.sqlite.org/howtocorrupt.html#_posix_advisory_locks_canceled_by_a_separate_thread_doing_close_
        // SQLite itself reports a file that is not a database (notADatabase) when the reader first reads it.
        if !DatabaseFile.exists(path) {
            throw StoreError(code: .cantOpen, message: "the database does not exist; start the service to create it")
        }
        connection = try Connection(path: path, flags: SQLITE_OPEN_READONLY, busyTimeoutMs: busyTimeoutMs)
        // https://www.sqlite.org/pragma.html#pragma_query_only
        try connection.execute("PRAGMA query_only = 1")
        // 1 MiB holds the interior pages of the indexes a query descends at millions of rows; the leaves it
        // reads are in the OS page cache anyway, and the 2 MiB default, times one reader per event loop
        // plus the scan reader, weighed on the service's 40 MB RSS budget (BENCHMARKS.md).
        // https://www.sqlite.org/pragma.html#pragma_cache_size
        try connection.execute("PRAGMA cache_size = -1024")
        // Pages are read from a shared mapping of the file rather than copied in by pread: a history page is
        // a hundred random table lookups, and the copies were a fifth of its CPU. The mapped pages are the
        // kernel's page cache (RssFile, shared and reclaimable), not the service's own memory (RssAnon).
        // SQLite never maps past its compile-time limit (2 GiB on Debian); pages past it are read as before.
        // https://www.sqlite.org/mmap.html
        try connection.execute("PRAGMA mmap_size = 2147418112")
        let version = try Int(connection.scalarInt("PRAGMA user_version") ?? 0)
        try Migrator.refuseNewer(version)
        guard version == Migrator.latestVersion else {
            throw StoreError(
                code: .schemaTooOld,
                message: "the database has schema version \(version), older than \(Migrator.latestVersion); "
                    + "start the service once to migrate it"
            )
        }
    }

    /// The newest autorouted capture (highest `capturedAt`, then highest `id`) of the session or agent, if any.
    ///
    /// Calls TaaS did not route carry usage but no route, so they are skipped: the index walk stops at the
    /// first autorouted row, which is the first row unless the newest calls were not autorouted.
    public func lastRoute(_ selector: CaptureSelector) throws(StoreError) -> Capture? {
        guard let routes else { return try queryLastRoute(selector) }
        switch routes.lookup(selector, now: connection.walStamp()) {
        case .hit(let capture):
            return capture
        case .miss(let seen):
            let capture = try queryLastRoute(selector)
            // A capture stored before schema 5 whose route change the writer has not settled yet is not held: the
            // settling UPDATE is the writer's own commit, which would not take it out of the cache.
            if capture?.routeChanged != nil || capture == nil {
                routes.fill(selector, capture, seen: seen, now: connection.walStamp())
            }
            return capture
        case .bypass:
            return try queryLastRoute(selector)
        }
    }

    private func queryLastRoute(_ selector: CaptureSelector) throws(StoreError) -> Capture? {
        let statement = try held(&lastRouteStatements, selector) { column in
            "SELECT \(CaptureRow.columns) FROM captures WHERE \(column) = ?1 AND autorouted = 1 "
                + "ORDER BY captured_at DESC, id DESC LIMIT 1"
        }
        defer { statement.reset() }
        try statement.bind(selector.value, at: 1)
        return try statement.step() ? statement.capture() : nil
    }

    /// One page, newest first by `(capturedAt, id)`, with `since <= capturedAt < until`.
    ///
    /// The cursor holds the position of the page's last capture, so pages stay exact while captures arrive.
    public func history(_ query: HistoryQuery) throws(StoreError) -> HistoryPage {
        let limit = HistoryQuery.clampedLimit(Int64(query.limit))
        // One row-value upper bound, so the index range starts right at the page: (capturedAt, id) < bound.
        var bound = query.until.map { HistoryCursor(capturedAt: $0, id: Int64.min) }
            ?? HistoryCursor(capturedAt: Int64.max, id: Int64.max)
        if let text = query.cursor {
            let cursor = try HistoryCursor(decoding: text, for: query.selector)
            if (cursor.capturedAt, cursor.id) < (bound.capturedAt, bound.id) { bound = cursor }
        }
        let statement = try held(&historyStatements, query.selector) { column in
            "SELECT \(CaptureRow.columns) FROM captures WHERE \(column) = ?1 AND captured_at >= ?2 "
                + "AND (captured_at, id) < (?3, ?4) ORDER BY captured_at DESC, id DESC LIMIT ?5"
        }
        defer { statement.reset() }
        try statement.bind(query.selector.value, at: 1)
        try statement.bind(query.since ?? Int64.min, at: 2)
        try statement.bind(bound.capturedAt, at: 3)
        try statement.bind(bound.id, at: 4)
        // One row more than the page tells whether a next page exists.
        try statement.bind(Int64(limit + 1), at: 5)
        var captures: [Capture] = []
        captures.reserveCapacity(limit)
        var more = false
        while try statement.step() {
            if captures.count == limit {
                more = true
                break
            }
            captures.append(statement.capture())
        }
        let next = more ? captures.last.map { HistoryCursor(capturedAt: $0.capturedAt, id: $0.id) } : nil
        return HistoryPage(captures: captures, nextCursor: next?.encoded(for: query.selector))
    }

    /// The statement held in `slots` for the selector's kind, prepared from `sql(column)` the first time.
    private func held(
        _ slots: inout [Statement?], _ selector: CaptureSelector, _ sql: (String) -> String
    ) throws(StoreError) -> Statement {
        let slot = selector.kindIndex
        if let statement = slots[slot] { return statement }
        let statement = try connection.prepare(sql(selector.column))
        slots[slot] = statement
        return statement
    }

    /// Counts over the selector's captures (all captures when nil) with `since <= capturedAt < until`, read from
    /// every capture (two passes); the caller holds the read transaction.
    func scannedStats(_ selector: CaptureSelector?, since: Int64?, until: Int64?) throws(StoreError) -> Stats {
        let filter = (selector.map { "\($0.column) = ?1 AND " } ?? "") + "captured_at >= ?2 AND captured_at < ?3"
        let bind = { (statement: Statement) throws(StoreError) in
            if let selector { try statement.bind(selector.value, at: 1) }
            try statement.bind(since ?? Int64.min, at: 2)
            try statement.bind(until ?? Int64.max, at: 3)
        }
        var stats = Stats()
        let totals = try connection.prepare(
            "SELECT count(*), count(DISTINCT session_id), count(DISTINCT agent_id), min(captured_at), "
                + "max(captured_at), \(UsageSQL.totals), count(*) FILTER (WHERE \(RollupSQL.routeChanged) = 1) "
                + "FROM captures WHERE " + filter
        )
        try bind(totals)
        if try totals.step() {
            stats.total = Int(totals.int64(at: 0))
            stats.sessions = Int(totals.int64(at: 1))
            stats.agents = Int(totals.int64(at: 2))
            stats.firstCapturedAt = totals.optionalInt64(at: 3)
            stats.lastCapturedAt = totals.optionalInt64(at: 4)
            stats.usage = totals.usageTotals(from: 5)
            stats.routeChanges = Int(totals.int64(at: 12))
        }
        totals.reset()
        // One pass for all four breakdowns; byModel counts the served model.
        let groups = try connection.prepare(
            "SELECT \(UsageSQL.servedModel), autorouter_algo, autorouter_algo_source, thinking_applied, count(*) "
                + "FROM captures WHERE \(filter) GROUP BY 1, 2, 3, 4"
        )
        defer { groups.reset() }
        try bind(groups)
        while try groups.step() {
            let count = Int(groups.int64(at: 4))
            stats.byModel[groups.optionalString(at: 0) ?? Stats.unknown, default: 0] += count
            stats.byAlgo[groups.optionalString(at: 1) ?? Stats.unknown, default: 0] += count
            stats.byAlgoSource[groups.optionalString(at: 2) ?? Stats.unknown, default: 0] += count
            stats.byThinking[groups.optionalString(at: 3) ?? Stats.unknown, default: 0] += count
        }
        return stats
    }

    /// Row count, schema version and file sizes, from one snapshot.
    public func health() throws(StoreError) -> StoreHealth {
        try connection.transaction(.deferred) { () throws(StoreError) -> StoreHealth in
            let captures = try Int(connection.scalarInt("SELECT count(*) FROM captures") ?? 0)
            let version = try Int(connection.scalarInt("PRAGMA user_version") ?? 0)
            let pages = try connection.scalarInt("PRAGMA page_count") ?? 0
            let pageSize = try connection.scalarInt("PRAGMA page_size") ?? 0
            // A database of schema 2 (doctor --offline on a file not yet migrated) has no forwarding row.
            let forward = version >= 3 ? try connection.forwardProgress() : nil
            var behind = 0
            if version >= 4 {
                let above = try connection.prepare("SELECT count(*) FROM captures WHERE id > ?1")
                defer { above.reset() }
                try above.bind(try connection.foldedThrough(), at: 1)
                behind = try above.step() ? Int(above.int64(at: 0)) : 0
            }
            return StoreHealth(
                captures: captures, schemaVersion: version, dbBytes: pages * pageSize,
                walBytes: DatabaseFile.size(path + "-wal"), forward: forward, rollupsBehind: behind
            )
        }
    }

    /// `PRAGMA integrity_check`: `["ok"]` when the file is sound, else the problems found.
    /// https://www.sqlite.org/pragma.html#pragma_integrity_check
    public func integrityCheck() throws(StoreError) -> [String] {
        try connection.strings("PRAGMA integrity_check")
    }

    /// `PRAGMA quick_check`: integrity_check without its index-against-table checks (O(N) instead of O(N log N)):
    /// `["ok"]` when the pages and records are sound. https://www.sqlite.org/pragma.html#pragma_quick_check
    public func quickCheck() throws(StoreError) -> [String] {
        try connection.strings("PRAGMA quick_check")
    }

    /// What an integrity check found, for one line: "3 problems: first; …" (the first `showing` lines, each cut at
    /// `clippedAt` characters; SQLite lists 100 at most, so 100 reads "100 or more").
    public static func problemsText(_ lines: [String], showing: Int, clippedAt: Int) -> String {
        let count = lines.count >= 100 ? "100 or more problems" : "\(lines.count) problem\(lines.count == 1 ? "" : "s")"
        let shown = lines.prefix(showing).map { $0.count > clippedAt ? String($0.prefix(clippedAt)) + "…" : $0 }
        return "\(count): " + shown.joined(separator: "; ") + (lines.count > showing ? "; …" : "")
    }

    /// Closes the connection; the reader cannot be used afterwards.
    public func close() {
        connection.close()
    }
}
