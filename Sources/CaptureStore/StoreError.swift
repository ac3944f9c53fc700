import CSQLite

/// A storage failure, with a code callers can switch on and a message a user can act on.
///
/// SQLite result codes are folded into a few codes here, in one place; the JSON-RPC layer maps these codes
/// to the SPEC's error table. Result codes: https://www.sqlite.org/rescode.html
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a small open set: new codes can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case full, ioError, busy, corrupt, notADatabase, schemaTooNew, schemaTooOld, cantOpen, readOnly
            case invalidCursor, invalidArgument, limitReached, `internal`
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The disk (or a quota) is full.
        public static let full = Code(.full)
        /// The operating system reported an I/O error.
        public static let ioError = Code(.ioError)
        /// Another connection held a lock past the busy timeout.
        public static let busy = Code(.busy)
        /// The database file is damaged.
        public static let corrupt = Code(.corrupt)
        /// The file is not an SQLite database (it was left untouched).
        public static let notADatabase = Code(.notADatabase)
        /// The database was written by a newer version of this program (it was left untouched).
        public static let schemaTooNew = Code(.schemaTooNew)
        /// A reader found a database that no writer has migrated to this version yet.
        public static let schemaTooOld = Code(.schemaTooOld)
        /// The file or its directory could not be opened or created.
        public static let cantOpen = Code(.cantOpen)
        /// The file or the connection is read-only.
        public static let readOnly = Code(.readOnly)
        /// A history cursor that is malformed, tampered with, or was issued for another selector.
        public static let invalidCursor = Code(.invalidCursor)
        /// An argument the store cannot use (for example a backup destination that already exists).
        public static let invalidArgument = Code(.invalidArgument)
        /// A bounded table is full (for example the active algorithm overrides); the message says which bound.
        public static let limitReached = Code(.limitReached)
        /// Anything else: a bug or an unexpected SQLite result.
        public static let `internal` = Code(.internal)

        public var description: String { base.rawValue }

        /// The file itself is damaged (`corrupt`, `notADatabase`).
        public var isDamage: Bool { base == .corrupt || base == .notADatabase }
    }

    public var code: Code
    /// One line a user can act on; never contains a file path.
    public var message: String
    /// The extended SQLite result code, when the error came from SQLite.
    public var sqliteCode: Int32?

    public init(code: Code, message: String, sqliteCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.sqliteCode = sqliteCode
    }

    /// Whether the same request may succeed later without any change (disk freed, lock released, I/O recovered).
    public var isTransient: Bool { code == .full || code == .ioError || code == .busy }

    /// Whether the file itself is damaged: only a new (salvaged) file mends it.
    public var isDamage: Bool { code.isDamage }

    /// Whether a client should keep the request and send it again later (JSON-RPC `data.retryable`): a transient
    /// fault, or storage that only the operator can mend (a read-only file system remounted, a damaged file salvaged
    /// and the service restarted on it, a file that cannot be opened made reachable). A request the store refuses
    /// for what it is (a cursor, a bound) is not.
    public var isRetryable: Bool {
        isTransient || code == .readOnly || code == .corrupt || code == .notADatabase || code == .cantOpen
    }

    public var description: String {
        if let sqliteCode { return "\(code): \(message) (sqlite \(sqliteCode))" }
        return "\(code): \(message)"
    }
}

extension StoreError {
    /// Maps an SQLite result code (primary or extended) to a store error, taking the message from `db` if given.
    static func sqlite(_ rc: Int32, _ db: OpaquePointer?, _ context: String) -> StoreError {
        let code: Code
        switch rc & 0xff {
        case SQLITE_FULL: code = .full
        case SQLITE_IOERR: code = .ioError
        case SQLITE_BUSY, SQLITE_LOCKED: code = .busy
        case SQLITE_CORRUPT: code = .corrupt
        case SQLITE_NOTADB: code = .notADatabase
        case SQLITE_CANTOPEN: code = .cantOpen
        case SQLITE_READONLY: code = .readOnly
        default: code = .internal
        }
        var detail = String(cString: sqlite3_errstr(rc))
        if let db, sqlite3_extended_errcode(db) == rc, let text = sqlite3_errmsg(db) {
            detail = String(cString: text)
        }
        return StoreError(code: code, message: "\(context): \(detail)", sqliteCode: rc)
    }
}
