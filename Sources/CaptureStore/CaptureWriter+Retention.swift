#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension CaptureWriter {
    /// Applies the retention rules in short transactions of at most `chunkSize` deleted rows each.
    ///
    /// The rules run in order — age, then per session, then total rows — each on what the previous left, so
    /// every removed row is counted once, under the first rule that removed it, and the rows rule removes only
    /// what is still over `maxRows`. `dryRun` counts the same rows without deleting any. `betweenChunks` runs
    /// after each committed chunk, outside any transaction, so the caller can commit waiting records there.
    /// When `stopsEarly` says so after it, the prune ends there (`PruneReport.stopped`): what it deleted is
    /// committed, and the next prune removes the rest.
    ///
    /// While forwarding is configured (`forward_progress`), the age and per-session rules keep every capture the
    /// fleet has not confirmed; only `maxRows` removes those, and counts them (SPEC v2 "The fleet on PostgreSQL").
    public func prune(
        _ policy: RetentionPolicy, now: Int64, dryRun: Bool, chunkSize: Int = 2000,
        betweenChunks: (PruneProgress) -> Void = { _ in }, stopsEarly: () -> Bool = { false }
    ) throws(StoreError) -> PruneReport {
        let started = WallClock.monotonicMillis()
        // Records committed between chunks must not take a deleted capture for their session's newest route.
        sessionRoutes.forget()
        defer { sessionRoutes.forget() }
        let forgetting = { (progress: PruneProgress) -> Bool in
            self.sessionRoutes.forget()
            betweenChunks(progress)
            return stopsEarly()
        }
        return try withoutActuallyEscaping(forgetting) { (betweenChunks) throws(StoreError) -> PruneReport in
            var run = PruneRun(
                connection: connection, routes: routes, chunkSize: max(1, chunkSize), dryRun: dryRun,
                betweenChunks: betweenChunks
            )
            do throws(StoreError) {
                run.forwardedThrough = try connection.forwardProgress()?.forwardedThrough
                let cutoff: Int64? = policy.maxAgeMs > 0 ? now &- policy.maxAgeMs : nil
                let initialTotal = dryRun ? try run.total() : 0
                var byAge = 0
                if let cutoff { byAge = try run.pruneByAge(olderThan: cutoff) }
                var byPerSession = 0
                if policy.maxPerSession > 0, !run.stopped {
                    byPerSession = try run.pruneBySession(keep: policy.maxPerSession, from: cutoff)
                }
                var byRows = 0
                var unforwarded = 0
                if policy.maxRows > 0, !run.stopped {
                    let total = dryRun ? initialTotal - byAge - byPerSession : try run.total()
                    (byRows, unforwarded) = try run.pruneOldest(count: max(0, total - policy.maxRows))
                }
                try run.complete()
                let deleted = byAge + byPerSession + byRows
                let remaining = dryRun ? initialTotal - deleted : try run.total()
                return PruneReport(
                    deleted: deleted, remaining: remaining, byAge: byAge, byPerSession: byPerSession, byRows: byRows,
                    unforwarded: unforwarded, durationMs: WallClock.monotonicMillis() - started, dryRun: dryRun,
                    stopped: run.stopped
                )
            } catch {
                connection.rollback()
                throw error
            }
        }
    }
}

/// One prune: deletes in transactions of at most `chunkSize` rows, or only counts when `dryRun`.
private struct PruneRun {
    let connection: Connection
    /// Told when a chunk deletes captures (the service's cache of newest routes; nil for the CLI).
    let routes: RouteCache?
    let chunkSize: Int
    let dryRun: Bool
    /// Returns true to end the prune there.
    let betweenChunks: (PruneProgress) -> Bool
    /// Whether `betweenChunks` ended it: every loop ends, and the rules not yet begun are skipped.
    private(set) var stopped = false
    /// What the whole prune has done so far, handed to `betweenChunks`.
    private var progress = PruneProgress()
    /// Rows deleted in the open transaction, and sessions looked at since it began.
    private var deletedInChunk = 0
    private var sessionsInChunk = 0
    /// Bounds the reads done while the write lock is held, when sessions have nothing to remove.
    private let maxSessionsPerChunk = 64
    /// Whether a chunk took captures out of the rollups, leaving rows to clean up at the end.
    private var rollupsTouched = false
    /// While forwarding is configured, the largest id the fleet has: the age and per-session rules stop there.
    var forwardedThrough: Int64?
    private var keepAbove: Int64 { forwardedThrough ?? Int64.max }

    init(
        connection: Connection, routes: RouteCache?, chunkSize: Int, dryRun: Bool,
        betweenChunks: @escaping (PruneProgress) -> Bool
    ) {
        self.connection = connection
        self.routes = routes
        self.chunkSize = chunkSize
        self.dryRun = dryRun
        self.betweenChunks = betweenChunks
    }

    func total() throws(StoreError) -> Int {
        try Int(connection.scalarInt("SELECT count(*) FROM captures") ?? 0)
    }

    /// maxAge: `capturedAt < cutoff`, oldest first (index `captures_by_time`).
    mutating func pruneByAge(olderThan cutoff: Int64) throws(StoreError) -> Int {
        if dryRun {
            let count = try connection.prepare("SELECT count(*) FROM captures WHERE captured_at < ?1 AND id <= ?2")
            defer { count.reset() }
            try count.bind(cutoff, at: 1)
            try count.bind(keepAbove, at: 2)
            return try count.step() ? Int(count.int64(at: 0)) : 0
        }
        let keepAbove = self.keepAbove
        return try deleteRepeatedly(
            "SELECT id FROM captures WHERE captured_at < ?1 AND id <= ?3 ORDER BY captured_at, id LIMIT ?2",
            bind: { statement throws(StoreError) in
                try statement.bind(cutoff, at: 1)
                try statement.bind(keepAbove, at: 3)
            }, limitAt: 2, upTo: Int.max
        )
    }

    /// maxPerSession: in each session, everything older than its `keep`-th newest capture (among those the age
    /// rule left). Sessions are visited through `captures_by_session` one seek at a time.
    mutating func pruneBySession(keep: Int, from cutoff: Int64?) throws(StoreError) -> Int {
        let floor = cutoff ?? Int64.min
        let keepAbove = self.keepAbove
        var removed = 0
        var session = try nextSession(after: nil)
        while let current = session, !stopped {
            if let boundary = try boundary(of: current, keep: keep, floor: floor) {
                let bindRange = { (statement: Statement) throws(StoreError) in
                    try statement.bind(current, at: 1)
                    try statement.bind(floor, at: 2)
                    try statement.bind(boundary.capturedAt, at: 3)
                    try statement.bind(boundary.id, at: 4)
                    try statement.bind(keepAbove, at: 6)
                }
                let range = "session_id = ?1 AND captured_at >= ?2 AND (captured_at, id) <= (?3, ?4) AND id <= ?6"
                if dryRun {
                    let count = try connection.prepare("SELECT count(*) FROM captures WHERE " + range)
                    defer { count.reset() }
                    try bindRange(count)
                    removed += try count.step() ? Int(count.int64(at: 0)) : 0
                } else {
                    removed += try deleteRepeatedly(
                        "SELECT id FROM captures WHERE \(range) LIMIT ?5",
                        bind: bindRange, limitAt: 5, upTo: Int.max
                    )
                }
            }
            try noteSessionVisited()
            session = try nextSession(after: current)
        }
        return removed
    }

    /// maxRows: the `count` oldest captures across all sessions, forwarded or not; also how many of them the
    /// fleet did not have yet, added to `forward_progress.dropped_unforwarded` in the first chunk's transaction.
    mutating func pruneOldest(count: Int) throws(StoreError) -> (removed: Int, unforwarded: Int) {
        guard count > 0 else { return (0, 0) }
        var unforwarded = 0
        if let forwardedThrough {
            let statement = try connection.prepare(
                "SELECT count(*) FROM (SELECT id FROM captures ORDER BY captured_at, id LIMIT ?1) WHERE id > ?2")
            try statement.bind(Int64(count), at: 1)
            try statement.bind(forwardedThrough, at: 2)
            unforwarded = try statement.step() ? Int(statement.int64(at: 0)) : 0
            statement.reset()
        }
        if dryRun { return (count, unforwarded) }
        if unforwarded > 0 {
            if !connection.isInTransaction { try connection.begin(.immediate) }
            let note = try connection.prepare(
                "UPDATE forward_progress SET dropped_unforwarded = dropped_unforwarded + ?1 WHERE slot = 1")
            try note.bind(Int64(unforwarded), at: 1)
            try note.run()
        }
        let removed = try deleteRepeatedly(
            "SELECT id FROM captures ORDER BY captured_at, id LIMIT ?1",
            bind: { _ throws(StoreError) in }, limitAt: 1, upTo: count
        )
        return (removed, unforwarded)
    }

    /// Ends the prune: removes the rollup rows it emptied (one pass over the rollups), commits the last chunk.
    mutating func complete() throws(StoreError) {
        if rollupsTouched, !dryRun {
            if !connection.isInTransaction { try connection.begin(.immediate) }
            try connection.execute("DELETE FROM capture_rollups WHERE captures <= 0")
            rollupsTouched = false
        }
        try finish()
    }

    /// Commits the open, partly filled chunk.
    mutating func finish() throws(StoreError) {
        guard connection.isInTransaction else { return }
        try connection.commit()
        deletedInChunk = 0
        sessionsInChunk = 0
    }

    // MARK: Chunks

    /// Deletes the ids `select` (a `SELECT id … LIMIT ?`) picks, again and again, until it picks fewer than asked
    /// or `upTo` rows are gone, filling chunks. Each pick is noted in `temp.doomed` so the rollups lose exactly
    /// the captures deleted (those already folded into them) in the same transaction.
    private mutating func deleteRepeatedly(
        _ select: String, bind: (Statement) throws(StoreError) -> Void, limitAt limitIndex: Int32, upTo maximum: Int
    ) throws(StoreError) -> Int {
        try connection.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY)")
        var removed = 0
        while removed < maximum, !stopped {
            if !connection.isInTransaction { try connection.begin(.immediate) }
            let asked = min(chunkSize - deletedInChunk, maximum - removed)
            try connection.prepare("DELETE FROM temp.doomed").run()
            let pick = try connection.prepare("INSERT INTO temp.doomed " + select)
            try bind(pick)
            try pick.bind(Int64(asked), at: limitIndex)
            try pick.run()
            let changed = connection.changes
            if changed > 0, let routes { routes.stageDeletion(of: try doomedRoutes()) }
            let mark = try connection.foldedThrough()
            let doomed = "id IN (SELECT id FROM temp.doomed) AND id <= ?1"
            // The session tables hold only the captures of the times before their own mark.
            let inSessions = doomed + " AND captured_at < ?2"
            let steps = [RollupSQL.merge(doomed, sign: -1)] + RollupSQL.mergeSessions(inSessions, sign: -1)
                + RollupSQL.emptiedSessions(inSessions)
            let sessionsThrough = try connection.sessionsThrough()
            for sql in steps {
                let unfold = try connection.prepare(sql)
                try unfold.bind(mark, at: 1)
                if sql.contains("?2") { try unfold.bind(sessionsThrough, at: 2) }
                try unfold.run()
            }
            try connection.prepare("DELETE FROM captures WHERE id IN (SELECT id FROM temp.doomed)").run()
            rollupsTouched = rollupsTouched || changed > 0
            removed += changed
            deletedInChunk += changed
            progress.deleted += changed
            if deletedInChunk >= chunkSize { try endChunk() }
            if changed < asked { break }
        }
        return removed
    }

    /// The autorouted captures the last pick put in `temp.doomed`: the ones the route cache may hold.
    private func doomedRoutes() throws(StoreError) -> [RouteCache.DeletedRoute] {
        // `id IN (…)`: a rowid lookup for each doomed id. A join let the planner scan the whole table instead.
        let statement = try connection.prepare(
            "SELECT id, session_id, agent_id FROM captures WHERE id IN (SELECT id FROM temp.doomed) AND autorouted = 1"
        )
        defer { statement.reset() }
        var deleted: [RouteCache.DeletedRoute] = []
        while try statement.step() {
            deleted.append(.init(id: statement.int64(at: 0), sessionId: statement.string(at: 1), agentId: statement.optionalString(at: 2)))
        }
        return deleted
    }

    /// Every `maxSessionsPerChunk` sessions, commits what is open and yields to the caller, also when
    /// nothing was deleted (most sessions are under the limit): a walk over every session is long.
    private mutating func noteSessionVisited() throws(StoreError) {
        sessionsInChunk += 1
        progress.sessionsVisited += 1
        guard sessionsInChunk >= maxSessionsPerChunk else { return }
        if connection.isInTransaction {
            try endChunk()
        } else {
            sessionsInChunk = 0
            yieldToCaller()
        }
    }

    private mutating func endChunk() throws(StoreError) {
        try finish()
        yieldToCaller()
    }

    private mutating func yieldToCaller() {
        if betweenChunks(progress) { stopped = true }
    }

    // MARK: Sessions

    private func nextSession(after previous: String?) throws(StoreError) -> String? {
        let statement: Statement
        if let previous {
            statement = try connection.prepare(
                "SELECT session_id FROM captures WHERE session_id > ?1 ORDER BY session_id LIMIT 1"
            )
            try statement.bind(previous, at: 1)
        } else {
            statement = try connection.prepare("SELECT session_id FROM captures ORDER BY session_id LIMIT 1")
        }
        defer { statement.reset() }
        return try statement.step() ? statement.string(at: 0) : nil
    }

    /// The newest capture of `session` that must go: the one after the `keep` newest at or after `floor`.
    private func boundary(of session: String, keep: Int, floor: Int64) throws(StoreError) -> HistoryCursor? {
        let statement = try connection.prepare(
            "SELECT captured_at, id FROM captures WHERE session_id = ?1 AND captured_at >= ?2 "
                + "ORDER BY captured_at DESC, id DESC LIMIT 1 OFFSET ?3"
        )
        defer { statement.reset() }
        try statement.bind(session, at: 1)
        try statement.bind(floor, at: 2)
        try statement.bind(Int64(keep), at: 3)
        guard try statement.step() else { return nil }
        return HistoryCursor(capturedAt: statement.int64(at: 0), id: statement.int64(at: 1))
    }
}

/// How far a prune has got: rows deleted so far (over every rule) and sessions the per-session rule has
/// looked at. A dry run deletes nothing, so only its sessions move.
public struct PruneProgress: Sendable, Hashable {
    public var deleted = 0
    public var sessionsVisited = 0

    public init(deleted: Int = 0, sessionsVisited: Int = 0) {
        self.deleted = deleted
        self.sessionsVisited = sessionsVisited
    }
}
