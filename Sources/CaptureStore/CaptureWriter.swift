import AffinityCore
import CSQLite

/// The one connection that writes: records captures, prunes, checkpoints and backs up.
///
/// Opening it creates the database (0600) when missing and applies the migrations; it refuses a file that is
/// not SQLite or has a newer schema without writing a byte to it. Exactly one writer per process; SQLite's
/// locks keep a second process (the `prune` command) safe. Not `Sendable`: one thread owns it at a time, and
/// it keeps no thread-affine state, so ownership may move between threads.
public final class CaptureWriter {
    let connection: Connection
    let path: String
    /// Each recent session's newest routed capture, for the route change of the next one.
    var sessionRoutes = SessionRoutes()
    /// The service's cache of newest routes, kept exact through this writer's transactions (`keepExact`).
    private(set) var routes: RouteCache?
    /// Checkpoints after this writer's commits once its WAL hook replaced SQLite's (`keepExact`, `checkpointInBackground`).
    private var checkpoints: Checkpoints?
    static let autocheckpointFrames = Int32(CheckpointSchedule.limitFrames)

    /// Opens (creating 0600 files, applying migrations) the database at `path`.
    public init(path: String, durability: Durability, busyTimeoutMs: Int32 = 5000) throws(StoreError) {
        self.path = path
        try Self.preflight(path: path, busyTimeoutMs: busyTimeoutMs)
        connection = try Connection(path: path, flags: SQLITE_OPEN_READWRITE, busyTimeoutMs: busyTimeoutMs)
        // WAL lets readers run beside the writer: https://www.sqlite.org/wal.html
        let mode = try connection.prepare("PRAGMA journal_mode = WAL")
        guard try mode.step(), mode.string(at: 0) == "wal" else {
            throw StoreError(code: .internal, message: "the database could not be switched to WAL mode")
        }
        mode.reset()
        try connection.execute(durability.synchronousPragma)
        // Keeps the WAL file from staying large after a burst: https://www.sqlite.org/pragma.html#pragma_journal_size_limit
        try connection.execute("PRAGMA journal_size_limit = 67108864")
        // Checkpoints (each with two fsyncs) every 64 MiB of WAL instead of every 4 MiB: a batch of captures
        // from many sessions dirties hundreds of index pages, and a small WAL would checkpoint every few batches.
        // https://www.sqlite.org/pragma.html#pragma_wal_autocheckpoint
        try connection.execute("PRAGMA wal_autocheckpoint = \(Self.autocheckpointFrames)")
        // The writer is the one long-lived connection that touches every index; 4 MiB (1,024 pages) holds the
        // interior pages of all four indexes at millions of rows. Leaves hit at random come from the OS page cache
        // (one pread), and a larger cache only grew the service's RSS past its 40 MB budget (BENCHMARKS.md).
        // https://www.sqlite.org/pragma.html#pragma_cache_size
        try connection.execute("PRAGMA cache_size = -4096")
        try Migrator.migrate(connection)
        DatabaseFile.restrictSidecars(of: path)
    }

    /// Tells `report`, on this writer's thread, how each checkpoint it runs after a commit goes (a failure: its I/O
    /// failed, or the disk is full, and the WAL keeps growing until one succeeds), right after that commit.
    public func reportCheckpoints(to report: @escaping (Result<Void, StoreError>) -> Void) throws(StoreError) {
        try checkpointAfterCommits().report = report
    }

    /// The schema this binary writes, and the one of the file at `path` (nil when it is missing or empty), read
    /// without writing a byte: whether opening a writer will migrate it.
    public static var latestSchemaVersion: Int { Migrator.latestVersion }

    public static func schemaVersion(of path: String, busyTimeoutMs: Int32 = 5000) throws(StoreError) -> Int? {
        guard case .sqlite = try DatabaseFile.inspect(path) else { return nil }
        return try Migrator.probeVersion(path: path, busyTimeoutMs: busyTimeoutMs)
    }

    /// Creates the file 0600 when missing; otherwise checks, without writing, that it is ours to open.
    private static func preflight(path: String, busyTimeoutMs: Int32) throws(StoreError) {
        switch try DatabaseFile.inspect(path) {
        case .missing:
            if try !DatabaseFile.createPrivate(path) { try preflight(path: path, busyTimeoutMs: busyTimeoutMs) }
        case .empty:
            break
        case .sqlite:
            _ = try Migrator.probeVersion(path: path, busyTimeoutMs: busyTimeoutMs)
        }
    }

    private static let insertSQL = """
        INSERT INTO captures (session_id, agent_id, captured_at, taas_request_id, taas_trace_id, openclaw_turn_id, \
        openclaw_attempt, autorouter_model, autorouter_algo, autorouter_algo_source, thinking_applied, \
        routed_context_window, dedupe_key, autorouted, provider, requested_model, input_tokens, output_tokens, \
        cache_read_tokens, cache_write_tokens, cost_usd, cache_saved_usd, duration_ms, outcome, route_changed, trigger, \
        channel, ttfb_ms, failure_kind) \
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, \
        ?23, ?24, ?25, ?26, ?27, ?28, ?29) ON CONFLICT DO NOTHING
        """
    /// A session's newest routed capture (`lastRoute`'s order), and its newest at or before a time.
    private static let newestRouteSQL = """
        SELECT captured_at, id, autorouter_model FROM captures WHERE session_id = ?1 AND autorouted = 1 \
        ORDER BY captured_at DESC, id DESC LIMIT 1
        """
    private static let routeBeforeSQL = """
        SELECT autorouter_model FROM captures WHERE session_id = ?1 AND autorouted = 1 AND captured_at <= ?2 \
        ORDER BY captured_at DESC, id DESC LIMIT 1
        """
    private static let findDuplicateSQL = "SELECT id FROM captures WHERE session_id = ?1 AND dedupe_key = ?2"

    /// Stores `batch` in ONE transaction (`BEGIN IMMEDIATE … COMMIT`): all or nothing.
    ///
    /// A capture whose `(sessionId, dedupeKey)` is already stored, by an earlier batch or earlier in this one,
    /// is not stored again: its outcome is the first id with `duplicate: true`. Outcomes are in batch order.
    public func record(_ batch: [NewCapture]) throws(StoreError) -> [RecordOutcome] {
        guard !batch.isEmpty else { return [] }
        do {
            return try connection.transaction(.immediate) { () throws(StoreError) -> [RecordOutcome] in
                try sessionRoutes.check(dataVersion: connection.scalarInt("PRAGMA data_version") ?? 0)
                return try insert(batch)
            }
        } catch {
            // Rolled back: what it noted was not stored.
            sessionRoutes.forget()
            throw error
        }
    }

    /// The inserts of `record`, inside its transaction.
    private func insert(_ batch: [NewCapture]) throws(StoreError) -> [RecordOutcome] {
        let insert = try connection.prepare(Self.insertSQL)
        var outcomes: [RecordOutcome] = []
        outcomes.reserveCapacity(batch.count)
        for capture in batch {
            let dedupeKey = capture.dedupeKey
            try insert.bind(capture.sessionId, at: 1)
            try insert.bind(capture.agentId, at: 2)
            try insert.bind(capture.capturedAt, at: 3)
            try insert.bind(capture.fields.taasRequestId, at: 4)
            try insert.bind(capture.fields.taasTraceId, at: 5)
            try insert.bind(capture.fields.openclawTurnId, at: 6)
            try insert.bind(capture.fields.openclawAttempt, at: 7)
            try insert.bind(capture.fields.autorouterModel, at: 8)
            try insert.bind(capture.fields.autorouterAlgo, at: 9)
            try insert.bind(capture.fields.autorouterAlgoSource, at: 10)
            try insert.bind(capture.fields.thinkingApplied, at: 11)
            try insert.bind(capture.fields.routedContextWindow, at: 12)
            try insert.bind(dedupeKey, at: 13)
            try insert.bindUsage(capture.usage, from: 14)
            let session = ScalarKey(capture.sessionId)
            let changed = try routeChanged(capture, session: session)
            try insert.bind(Int64(changed ? 1 : 0), at: 25)
            try insert.bindAttribution(capture.attribution, from: 26)
            try insert.run()
            if connection.changes == 1 {
                let id = connection.lastInsertRowID
                outcomes.append(RecordOutcome(id: id, duplicate: false, routeChanged: changed))
                if capture.usage.autorouted {
                    sessionRoutes.note(
                        SessionRoutes.Route(capturedAt: capture.capturedAt, id: id, model: capture.fields.autorouterModel),
                        of: session)
                }
                routes?.stage(Capture(
                    id: id, sessionId: capture.sessionId, agentId: capture.agentId, capturedAt: capture.capturedAt,
                    fields: capture.fields, usage: capture.usage, attribution: capture.attribution, routeChanged: changed
                ))
            } else {
                // Only the dedupe index can conflict, so the key is non-nil and its row exists.
                try outcomes.append(RecordOutcome(id: existingId(capture.sessionId, dedupeKey), duplicate: true))
            }
        }
        return outcomes
    }

    /// Whether `capture` changes its session's route: autorouted, with a served model other than that of the
    /// session's previous routed capture by `(capturedAt, id)` (every stored capture has a smaller id, so "previous"
    /// is the newest at or before its time). The same rule as `RollupSQL.routeChangedTerm`.
    private func routeChanged(_ capture: NewCapture, session: ScalarKey) throws(StoreError) -> Bool {
        guard capture.usage.autorouted else { return false }
        var newest = sessionRoutes.newest(of: session)
        if newest == nil {
            let statement = try connection.prepare(Self.newestRouteSQL)
            defer { statement.reset() }
            try statement.bind(capture.sessionId, at: 1)
            guard try statement.step() else { return false }
            let route = SessionRoutes.Route(
                capturedAt: statement.int64(at: 0), id: statement.int64(at: 1), model: statement.optionalString(at: 2))
            sessionRoutes.note(route, of: session)
            newest = route
        }
        guard let newest else { return false }
        if newest.capturedAt <= capture.capturedAt {
            return SessionRoutes.differs(capture.fields.autorouterModel, newest.model)
        }
        // A capture older than the session's newest: its previous one is read.
        let before = try connection.prepare(Self.routeBeforeSQL)
        defer { before.reset() }
        try before.bind(capture.sessionId, at: 1)
        try before.bind(capture.capturedAt, at: 2)
        guard try before.step() else { return false }
        return SessionRoutes.differs(capture.fields.autorouterModel, before.optionalString(at: 0))
    }

    private func existingId(_ sessionId: String, _ dedupeKey: String?) throws(StoreError) -> Int64 {
        let find = try connection.prepare(Self.findDuplicateSQL)
        defer { find.reset() }
        try find.bind(sessionId, at: 1)
        try find.bind(dedupeKey, at: 2)
        guard try find.step() else {
            throw StoreError(code: .internal, message: "a capture was neither stored nor found as a duplicate")
        }
        return find.int64(at: 0)
    }

    /// Keeps `routes` exact through this writer's transactions (see `RouteCache`); readers given the same
    /// cache answer `lastRoute` from it. Call once, before the first write that readers should see cached.
    public func keepExact(_ routes: RouteCache) throws(StoreError) {
        try connection.observeTransactions(RouteCache.Observer(routes))
        try checkpointAfterCommits()
        self.routes = routes
    }

    /// Leaves the bulk of the WAL's copying to a background checkpointer (`CaptureCheckpointer` on a thread of its
    /// own), which `wake` wakes; this writer copies only the last few frames before the WAL starts over
    /// (`CheckpointSchedule`).
    public func checkpointInBackground(wake: @escaping @Sendable () -> Void) throws(StoreError) {
        try checkpointAfterCommits().inBackground(wake: wake)
    }

    /// The WAL hook replaces SQLite's automatic checkpoint: `Checkpoints` does it in its place.
    @discardableResult
    private func checkpointAfterCommits() throws(StoreError) -> Checkpoints {
        if let checkpoints { return checkpoints }
        let installed = Checkpoints()
        try connection.observeTransactions(installed)
        checkpoints = installed
        return installed
    }

    /// When the WAL-index header has moved past what `routes` last saw without this writer (another process
    /// committed, and this writer has been idle since), an empty write transaction lets the cache catch up:
    /// emptied, then published again. Until then readers answer from SQLite.
    public func catchUpRoutes() throws(StoreError) {
        guard let routes, routes.isBehind(connection.walStamp()) else { return }
        try connection.transaction(.immediate) {}
    }

    /// Copies WAL content into the main file: https://www.sqlite.org/c3ref/wal_checkpoint_v2.html
    ///
    /// `truncate` also waits for readers to finish and empties the WAL file; otherwise it is a PASSIVE checkpoint
    /// that never waits.
    public func checkpoint(truncate: Bool) throws(StoreError) {
        let statement = try connection.prepare(truncate ? "PRAGMA wal_checkpoint(TRUNCATE)" : "PRAGMA wal_checkpoint(PASSIVE)")
        defer { statement.reset() }
        guard try statement.step() else { return }
        if statement.int64(at: 0) != 0 {
            throw StoreError(code: .busy, message: "the checkpoint could not finish because the database is busy")
        }
    }

    /// Closes the connection; the writer cannot be used afterwards.
    public func close() {
        connection.close()
    }
}

extension CaptureWriter {
    /// Follows `CheckpointSchedule` after each of the writer connection's commits, and reports how each checkpoint it
    /// ran went.
    final class Checkpoints: TransactionObserver {
        private var schedule = CheckpointSchedule(background: false)
        private var wake: (@Sendable () -> Void)?
        var report: ((Result<Void, StoreError>) -> Void)?
        /// The WAL's frames when the open write transaction began.
        private var framesBefore: Int?

        func inBackground(wake: @escaping @Sendable () -> Void) {
            schedule.background = true
            self.wake = wake
        }

        func writeBegan(on connection: Connection) {
            // Only the background's schedule asks for it.
            framesBefore = schedule.background ? connection.walStamp()?.frames : nil
        }

        func didRollback(on connection: Connection) {
            framesBefore = nil
        }

        func didCommit(on connection: Connection, frames: Int?) {
            let before = framesBefore
            framesBefore = nil
            guard let frames else { return }
            switch schedule.action(frames: frames, framesBefore: before, backfilled: connection.walBackfilled() ?? 0) {
            case .none:
                break
            case .wake:
                wake?()
            case .checkpoint:
                do throws(StoreError) {
                    // Busy (the background is copying) or held back: a later commit tries again.
                    if try connection.checkpointPassive() == .copiedAll { report?(.success(())) }
                } catch {
                    report?(.failure(error))
                    // The background retries on its own until a checkpoint works, even if no commit comes to ask.
                    wake?()
                }
            }
        }
    }
}
