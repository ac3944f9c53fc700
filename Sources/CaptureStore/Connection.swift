import CSQLite

/// One SQLite connection, used by one thread at a time, with its own cache of prepared statements.
///
/// Opened with `SQLITE_OPEN_NOMUTEX` (https://www.sqlite.org/threadsafe.html): the connection holds no
/// thread-affine state, so its owner may hand it to another thread as long as only one uses it at a time.
/// Told of a connection's transactions, as GRDB's `Database` tells its `TransactionObserver`s: the
/// connection calls these and knows nothing more of who listens (`RouteCache.Observer` is the one).
protocol TransactionObserver: AnyObject {
    /// `BEGIN IMMEDIATE` succeeded: the write lock is held until the transaction ends.
    func writeBegan(on connection: Connection)
    /// `COMMIT` succeeded (also of a transaction not begun with `BEGIN IMMEDIATE`). `frames`: the WAL's
    /// frame count the commit left, from the WAL hook; nil when it wrote none.
    func didCommit(on connection: Connection, frames: Int?)
    /// The open transaction, if any, is being rolled back.
    func didRollback(on connection: Connection)
}

final class Connection {
    /// How a transaction takes its locks: https://www.sqlite.org/lang_transaction.html
    enum TransactionKind: String {
        /// Takes the write lock at `BEGIN`, so a write never fails half-way with `SQLITE_BUSY` on lock upgrade.
        case immediate = "BEGIN IMMEDIATE"
        /// Reads only: a consistent snapshot for several statements.
        case deferred = "BEGIN DEFERRED"
    }

    private(set) var handle: OpaquePointer?
    private var statements: [String: Statement] = [:]
    /// The WAL index SQLite mapped for this connection, once it has (see `walStamp`).
    private var walIndex: UnsafeRawPointer?
    /// Set by `observeTransactions`: what the WAL hook saw, and who is told of this connection's transactions
    /// (in the order they asked).
    private var commitFrames: UnsafeMutablePointer<csqlite_commit_frames>?
    private var observers: [any TransactionObserver] = []

    /// Opens `path` with `flags` (`SQLITE_OPEN_*`); `SQLITE_OPEN_NOMUTEX` and extended result codes are always added.
    init(path: String, flags: Int32, busyTimeoutMs: Int32) throws(StoreError) {
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
        guard rc == SQLITE_OK, let db else {
            let error = StoreError.sqlite(rc, db, "cannot open the database")
            sqlite3_close_v2(db)
            throw error
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        // https://www.sqlite.org/c3ref/busy_timeout.html
        sqlite3_busy_timeout(db, busyTimeoutMs)
    }

    deinit { close() }

    /// Finalizes every cached statement and closes the connection; later calls fail with `.internal`.
    func close() {
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
        walIndex = nil
        commitFrames?.deallocate()
        commitFrames = nil
        observers.removeAll()
    }

    /// Makes this (writer) connection tell `observer` of each of its transactions, with the WAL's frame count
    /// each commit left, from a WAL hook. The hook replaces SQLite's automatic checkpoint, so whoever observes
    /// must checkpoint in its place (`CheckpointSchedule`). The connection knows nothing of who listens.
    func observeTransactions(_ observer: any TransactionObserver) throws(StoreError) {
        let db = try openHandle()
        if commitFrames == nil {
            commitFrames = .allocate(capacity: 1)
            commitFrames!.initialize(to: csqlite_commit_frames(frames: -1))
            csqlite_watch_commit_frames(db, commitFrames)
        }
        observers.append(observer)
    }

    /// How many WAL frames checkpoints (of any connection) have copied into the database file since the WAL last
    /// started over; nil before this connection has read the database in WAL mode.
    func walBackfilled() -> Int? {
        guard let index = mappedWalIndex() else { return nil }
        return Int(csqlite_wal_index_backfilled(index))
    }

    /// A PASSIVE checkpoint (https://www.sqlite.org/c3ref/wal_checkpoint_v2.html): copies what it can of the WAL
    /// into the database file without waiting for the writer or for readers. Busy when another connection is
    /// checkpointing; throws when the copy or a sync failed (the WAL grows until one succeeds).
    func checkpointPassive() throws(StoreError) -> CaptureCheckpointer.Pass {
        let db = try openHandle()
        var walFrames: Int32 = -1
        var copied: Int32 = -1
        let rc = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, &walFrames, &copied)
        if rc & 0xff == SQLITE_BUSY { return .busy }
        guard rc == SQLITE_OK else {
            throw StoreError.sqlite(rc, db, "the WAL's checkpoint failed (the WAL grows until one succeeds)")
        }
        return copied == walFrames ? .copiedAll : .heldBack
    }

    /// The WAL-index header as it is now, or nil while a commit is writing it or before this connection has
    /// read the database in WAL mode. Two equal stamps mean no transaction committed in between, from any
    /// connection or process: https://www.sqlite.org/walformat.html#the_wal_index_header
    func walStamp() -> WalStamp? {
        guard let walIndex = mappedWalIndex() else { return nil }
        var stamp = WalStamp()
        let agreed = withUnsafeMutableBytes(of: &stamp.bytes) { out in
            csqlite_wal_index_header(walIndex, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return agreed == 1 ? stamp : nil
    }

    private func mappedWalIndex() -> UnsafeRawPointer? {
        if walIndex == nil, let handle, let index = csqlite_wal_index(handle) {
            walIndex = UnsafeRawPointer(index)
        }
        return walIndex
    }

    /// Sets an `SQLITE_DBCONFIG_*` option: https://www.sqlite.org/c3ref/c_dbconfig_defensive.html
    func configure(_ option: Int32, _ value: Int32) throws(StoreError) {
        let db = try openHandle()
        var out: Int32 = 0
        let rc = csqlite_db_config_int(db, option, value, &out)
        guard rc == SQLITE_OK else { throw StoreError.sqlite(rc, db, "cannot configure the connection") }
    }

    /// Runs one or more SQL statements that return no rows (DDL, pragmas).
    func execute(_ sql: String) throws(StoreError) {
        let db = try openHandle()
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw StoreError.sqlite(rc, db, "statement failed") }
    }

    /// The prepared statement for `sql`, from the cache when it was prepared before (reset, bindings cleared).
    func prepare(_ sql: String) throws(StoreError) -> Statement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let statement = try Statement(db: openHandle(), sql: sql)
        statements[sql] = statement
        return statement
    }

    /// The SQL of every statement prepared so far (the cache keys), for query-plan checks.
    var preparedSQL: [String] { Array(statements.keys) }

    /// The first column of the first row of `sql`, as an integer (nil when there is no row or it is NULL).
    func scalarInt(_ sql: String) throws(StoreError) -> Int64? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.optionalInt64(at: 0)
    }

    /// The first column of every row of `sql`, as text (a pragma's lines, a list of names).
    func strings(_ sql: String) throws(StoreError) -> [String] {
        let statement = try prepare(sql)
        defer { statement.reset() }
        var lines: [String] = []
        while try statement.step() { lines.append(statement.string(at: 0)) }
        return lines
    }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    func transaction<T>(_ kind: TransactionKind, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try begin(kind)
        let result: T
        do {
            result = try body()
        } catch {
            rollback()
            throw error
        }
        try commit()
        return result
    }

    /// Transaction control goes through cached statements too: it runs once per batch on the hot path.
    func begin(_ kind: TransactionKind) throws(StoreError) {
        try prepare(kind.rawValue).run()
        if kind == .immediate { for observer in observers { observer.writeBegan(on: self) } }
    }

    /// Commits; on failure rolls back, since a failed COMMIT may leave the transaction open
    /// (https://www.sqlite.org/lang_transaction.html).
    func commit() throws(StoreError) {
        commitFrames?.pointee.frames = -1
        do {
            try prepare("COMMIT").run()
        } catch {
            rollback()
            throw error
        }
        guard !observers.isEmpty else { return }
        let frames = commitFrames.flatMap { $0.pointee.frames >= 0 ? Int($0.pointee.frames) : nil }
        for observer in observers { observer.didCommit(on: self, frames: frames) }
    }

    /// Rolls back the open transaction, if any.
    func rollback() {
        for observer in observers { observer.didRollback(on: self) }
        guard let handle, sqlite3_get_autocommit(handle) == 0 else { return }
        sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
    }

    /// Whether a transaction is open: https://www.sqlite.org/c3ref/get_autocommit.html
    var isInTransaction: Bool { handle.map { sqlite3_get_autocommit($0) == 0 } ?? false }

    /// Rows changed by the last INSERT, UPDATE or DELETE: https://www.sqlite.org/c3ref/changes.html
    var changes: Int { handle.map { Int(sqlite3_changes64($0)) } ?? 0 }

    /// The rowid of the last successful INSERT: https://www.sqlite.org/c3ref/last_insert_rowid.html
    var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    private func openHandle() throws(StoreError) -> OpaquePointer {
        guard let handle else { throw StoreError(code: .internal, message: "the database connection is closed") }
        return handle
    }
}
