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
    /// The in-memory index of `captures_recent`, shared with the readers that answer `lastRoute` and `history`.
    public let tail: TailIndex

    /// Opens (creating 0600 files, applying migrations) the database at `path`, and lists its ingest tail
    /// into `tail`.
    public init(
        path: String, durability: Durability, busyTimeoutMs: Int32 = 5000, tail: TailIndex = TailIndex()
    ) throws(StoreError) {
        self.path = path
        self.tail = tail
        try Self.preflight(path: path, busyTimeoutMs: busyTimeoutMs)
        connection = try Connection(path: path, flags: SQLITE_OPEN_READWRITE, busyTimeoutMs: busyTimeoutMs)
        // WAL lets readers run beside the writer: https://www.sqlite.org/wal.html
        let mode = try connection.prepare("PRAGMA journal_mode = WAL")
        guard try mode.step(), mode.string(at: 0) == "wal" else {
            throw StoreError(code: .internal, message: "the database could not be switched to WAL mode")
        }
        mode.reset()
        switch durability {
        case .normal: try connection.execute("PRAGMA synchronous = NORMAL")
        case .full: try connection.execute("PRAGMA synchronous = FULL")
        }
        // Keeps the WAL file from staying large after a burst: https://www.sqlite.org/pragma.html#pragma_journal_size_limit
        try connection.execute("PRAGMA journal_size_limit = 67108864")
        // Checkpoints (each with two fsyncs) every 64 MiB of WAL instead of every 4 MiB: a batch of captures
        // from many sessions dirties hundreds of index pages, and a small WAL would checkpoint every few batches.
        // https://www.sqlite.org/pragma.html#pragma_wal_autocheckpoint
        try connection.execute("PRAGMA wal_autocheckpoint = 16384")
        // The writer is the one long-lived connection that touches every index; 4 MiB (1,024 pages) holds the
        // interior pages of all four indexes at millions of rows. Leaves hit at random come from the OS page cache
        // (one pread), and a larger cache only grew the service's RSS past its 40 MB budget (BENCHMARKS.md).
        // https://www.sqlite.org/pragma.html#pragma_cache_size
        try connection.execute("PRAGMA cache_size = -4096")
        try Migrator.migrate(connection)
        DatabaseFile.restrictSidecars(of: path)
        try listTail()
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
        INSERT INTO captures_recent (session_id, agent_id, captured_at, taas_request_id, taas_trace_id, \
        openclaw_turn_id, openclaw_attempt, autorouter_model, autorouter_algo, autorouter_algo_source, \
        thinking_applied, routed_context_window, dedupe_key, autorouted, provider, requested_model, input_tokens, \
        output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, cache_saved_usd, duration_ms, outcome, id) \
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, \
        ?23, ?24, ?25)
        """
    /// The stored id of `(session, dedupe key)`: through `captures`' unique index, or the tail row the index
    /// names (?3), checked, since another process may have moved or removed it.
    private static let findDuplicateSQL = """
        SELECT id FROM captures WHERE session_id = ?1 AND dedupe_key = ?2 \
        UNION ALL SELECT id FROM captures_recent WHERE id = ?3 AND session_id = ?1 AND dedupe_key = ?2 LIMIT 1
        """
    /// Past every id either table holds or `captures` ever held (its AUTOINCREMENT mark, which the move into
    /// `captures` advances), so an id is never handed out twice.
    private static let nextIdSQL = """
        SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'captures'), 0), \
        coalesce((SELECT max(id) FROM captures), 0), coalesce((SELECT max(id) FROM captures_recent), 0)) + 1
        """

    /// Stores `batch` in ONE transaction (`BEGIN IMMEDIATE … COMMIT`): all or nothing.
    ///
    /// A capture whose `(sessionId, dedupeKey)` is already stored, by an earlier batch or earlier in this one,
    /// is not stored again: its outcome is the first id with `duplicate: true`. Outcomes are in batch order.
    /// New captures go to the ingest tail (`captures_recent`), and into `tail` once committed.
    public func record(_ batch: [NewCapture]) throws(StoreError) -> [RecordOutcome] {
        guard !batch.isEmpty else { return [] }
        let (outcomes, rows) = try connection.transaction(.immediate) {
            () throws(StoreError) -> ([RecordOutcome], [TailRow]) in
            let insert = try connection.prepare(Self.insertSQL)
            var nextId = try connection.scalarInt(Self.nextIdSQL) ?? 1
            var outcomes: [RecordOutcome] = []
            var rows: [TailRow] = []
            outcomes.reserveCapacity(batch.count)
            rows.reserveCapacity(batch.count)
            // Keys stored earlier in this batch: not in `tail` until the commit.
            var batchKeys: [String: [String: Int64]] = [:]
            for capture in batch {
                let dedupeKey = capture.dedupeKey
                if let dedupeKey {
                    var stored = batchKeys[capture.sessionId]?[dedupeKey]
                    if stored == nil { stored = try storedId(capture.sessionId, dedupeKey) }
                    if let stored {
                        outcomes.append(RecordOutcome(id: stored, duplicate: true))
                        continue
                    }
                }
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
                try insert.bind(nextId, at: 25)
                try insert.run()
                if let dedupeKey { batchKeys[capture.sessionId, default: [:]][dedupeKey] = nextId }
                outcomes.append(RecordOutcome(id: nextId, duplicate: false))
                rows.append(
                    TailRow(
                        entry: TailEntry(id: nextId, capturedAt: capture.capturedAt, autorouted: capture.usage.autorouted),
                        sessionId: capture.sessionId, agentId: capture.agentId, dedupeKey: dedupeKey))
                nextId += 1
            }
            return (outcomes, rows)
        }
        tail.publish(rows)
        return outcomes
    }

    private func storedId(_ sessionId: String, _ dedupeKey: String) throws(StoreError) -> Int64? {
        let find = try connection.prepare(Self.findDuplicateSQL)
        defer { find.reset() }
        try find.bind(sessionId, at: 1)
        try find.bind(dedupeKey, at: 2)
        try find.bind(tail.dedupeId(sessionId: sessionId, dedupeKey: dedupeKey), at: 3)
        return try find.step() ? find.int64(at: 0) : nil
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
