import CSQLite

#if canImport(Glibc)
import Glibc
#endif

/// The bench's own thin handle on SQLite (CaptureStore's `Connection` is internal to the store): open, run,
/// prepare, and a WAL hook that counts the frames each commit writes.
final class BenchDatabase {
    let handle: OpaquePointer
    private let frames = UnsafeMutablePointer<csqlite_commit_frames>.allocate(capacity: 1)
    private var framesBefore: Int32 = 0
    private(set) var commits = 0
    private(set) var framesWritten = 0
    /// Checkpoints run after the commit that filled the WAL to `autocheckpoint` frames (as SQLite's own hook
    /// would, inside that commit), timed apart from the transactions.
    private let autocheckpoint: Int32
    private(set) var checkpoints = 0
    private(set) var checkpointNs: UInt64 = 0
    private(set) var longestCheckpointNs: UInt64 = 0

    /// `readOnly` opens a finished run file as it is (no WAL, no pragmas).
    init(path: String, autocheckpoint: Int32 = 16_384, readOnly: Bool = false) throws {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
        guard sqlite3_open_v2(path, &db, flags, nil) == SQLITE_OK, let db else {
            throw BenchError("cannot open \(path)")
        }
        handle = db
        self.autocheckpoint = readOnly ? 0 : autocheckpoint
        frames.initialize(to: csqlite_commit_frames(frames: 0))
        if readOnly { return }
        try run("PRAGMA journal_mode = WAL")
        try run("PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864; PRAGMA cache_size = -4096")
        csqlite_watch_commit_frames(handle, frames)
    }

    deinit {
        sqlite3_close_v2(handle)
        frames.deallocate()
    }

    func run(_ sql: String) throws {
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else {
            throw BenchError("\(sql.prefix(60)): \(String(cString: sqlite3_errmsg(handle)))")
        }
    }

    func prepare(_ sql: String) throws -> BenchStatement { try BenchStatement(self, sql) }

    /// COMMIT, then the WAL frames it wrote (the hook's count after the commit, less the count before it; a
    /// checkpoint that reset the WAL starts the count again).
    /// Returns the nanoseconds a checkpoint after it took (0 when none ran).
    @discardableResult
    func commit() throws -> UInt64 {
        try run("COMMIT")
        let now = frames.pointee.frames
        framesWritten += Int(now >= framesBefore ? now - framesBefore : now)
        framesBefore = now
        commits += 1
        guard autocheckpoint > 0, now >= autocheckpoint else { return 0 }
        let started = monotonicNs()
        sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        let spent = monotonicNs() - started
        checkpoints += 1
        checkpointNs += spent
        longestCheckpointNs = max(longestCheckpointNs, spent)
        return spent
    }



    func resetCounts() {
        commits = 0
        framesWritten = 0
        checkpoints = 0
        checkpointNs = 0
        longestCheckpointNs = 0
    }

    func int(_ sql: String) throws -> Int64? {
        let statement = try prepare(sql)
        return try statement.step() ? statement.optionalInt(0) : nil
    }
}

enum BenchValue {
    case int(Int64)
    case real(Double)
    case text(String)
    case null
    /// A zero-length blob: SQLite orders every BLOB after every TEXT, so `column < afterAllText` holds for any text.
    case afterAllText
}

final class BenchStatement {
    let handle: OpaquePointer
    private let db: BenchDatabase

    init(_ db: BenchDatabase, _ sql: String) throws {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(db.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
            let statement
        else { throw BenchError("prepare \(sql.prefix(80)): \(String(cString: sqlite3_errmsg(db.handle)))") }
        handle = statement
        self.db = db
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ value: BenchValue, at index: Int32) {
        switch value {
        case .int(let number): sqlite3_bind_int64(handle, index, number)
        case .real(let number): sqlite3_bind_double(handle, index, number)
        case .text(var text):
            text.withUTF8 { utf8 in
                _ = utf8.withMemoryRebound(to: CChar.self) {
                    sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), csqlite_transient())
                }
            }
        case .null: sqlite3_bind_null(handle, index)
        case .afterAllText: sqlite3_bind_zeroblob(handle, index, 0)
        }
    }

    func bind(_ values: [BenchValue], from first: Int32 = 1) {
        for (offset, value) in values.enumerated() { bind(value, at: first + Int32(offset)) }
    }

    /// True when a row is ready; false when done (and the statement is reset for its next use).
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE:
            sqlite3_reset(handle)
            return false
        case let rc:
            let message = String(cString: sqlite3_errmsg(db.handle))
            sqlite3_reset(handle)
            throw BenchError("step (\(rc)): \(message)")
        }
    }

    func bind(blob words: [UInt64], at index: Int32) {
        words.withUnsafeBytes { bytes in
            _ = sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), csqlite_transient())
        }
    }

    /// A blob column as the little-endian words `bind(blob:at:)` stored.
    func words(_ column: Int32) -> [UInt64] {
        let count = Int(sqlite3_column_bytes(handle, column)) / 8
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return [UInt64](unsafeUninitializedCapacity: count) { buffer, initialized in
            _ = memcpy(buffer.baseAddress!, bytes, count * 8)
            initialized = count
        }
    }

    /// Every column of the current row, as values (what a reader turns into a capture).
    func values(from first: Int32, count: Int32) -> [BenchValue] {
        (first..<(first + count)).map { column in
            switch sqlite3_column_type(handle, column) {
            case SQLITE_INTEGER: .int(sqlite3_column_int64(handle, column))
            case SQLITE_FLOAT: .real(sqlite3_column_double(handle, column))
            case SQLITE_TEXT: .text(String(cString: sqlite3_column_text(handle, column)))
            default: .null
            }
        }
    }

    func runToEnd() throws { while try step() {} }

    func reset() { sqlite3_reset(handle) }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func optionalInt(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: bytes)
    }
}
