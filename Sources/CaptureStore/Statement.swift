import CSQLite

/// A prepared statement, owned and cached by its `Connection`.
///
/// Prepared with `SQLITE_PREPARE_PERSISTENT` because it is reused for the connection's lifetime
/// (https://www.sqlite.org/c3ref/c_prepare_normalize.html). Binding uses `SQLITE_TRANSIENT`, so SQLite
/// copies each value and no Swift buffer has to outlive the bind call (https://www.sqlite.org/c3ref/bind_blob.html).
final class Statement {
    private var handle: OpaquePointer?
    private let db: OpaquePointer

    init(db: OpaquePointer, sql: String) throws(StoreError) {
        self.db = db
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw StoreError.sqlite(rc, db, "cannot prepare a statement") }
        handle = statement
    }

    func finalize() {
        sqlite3_finalize(handle)
        handle = nil
    }

    /// Makes the statement ready to run again: https://www.sqlite.org/c3ref/reset.html
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Binding (parameters are numbered from 1)

    func bind(_ value: Int64?, at index: Int32) throws(StoreError) {
        let rc = value.map { sqlite3_bind_int64(handle, index, $0) } ?? sqlite3_bind_null(handle, index)
        guard rc == SQLITE_OK else { throw StoreError.sqlite(rc, db, "cannot bind a value") }
    }

    func bind(_ value: Int?, at index: Int32) throws(StoreError) {
        try bind(value.map { Int64($0) }, at: index)
    }

    func bind(_ value: Double?, at index: Int32) throws(StoreError) {
        let rc = value.map { sqlite3_bind_double(handle, index, $0) } ?? sqlite3_bind_null(handle, index)
        guard rc == SQLITE_OK else { throw StoreError.sqlite(rc, db, "cannot bind a value") }
    }

    func bind(_ value: String?, at index: Int32) throws(StoreError) {
        guard var value else {
            let rc = sqlite3_bind_null(handle, index)
            guard rc == SQLITE_OK else { throw StoreError.sqlite(rc, db, "cannot bind a value") }
            return
        }
        // withUTF8 hands over the native contiguous storage without copying; SQLite copies it (TRANSIENT).
        let rc = value.withUTF8 { utf8 -> Int32 in
            guard let base = utf8.baseAddress, !utf8.isEmpty else {
                return sqlite3_bind_text(handle, index, "", 0, csqlite_transient())
            }
            return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                sqlite3_bind_text(handle, index, $0, Int32(utf8.count), csqlite_transient())
            }
        }
        guard rc == SQLITE_OK else { throw StoreError.sqlite(rc, db, "cannot bind a value") }
    }

    // MARK: Running

    /// Advances to the next row: true when a row is available, false when the statement is done.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            // sqlite3_reset returns the same error; resetting here releases the statement's locks.
            sqlite3_reset(handle)
            throw StoreError.sqlite(rc, db, "statement failed")
        }
    }

    /// Runs a statement that returns no rows, then resets it.
    func run() throws(StoreError) {
        defer { sqlite3_reset(handle) }
        while try step() {}
    }

    // MARK: Reading the current row (columns are numbered from 0)

    /// How many columns a row of this statement has: https://www.sqlite.org/c3ref/column_count.html
    var columnCount: Int32 { sqlite3_column_count(handle) }

    func isNull(at column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int64(at column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func double(at column: Int32) -> Double { sqlite3_column_double(handle, column) }

    func optionalInt64(at column: Int32) -> Int64? { isNull(at: column) ? nil : int64(at: column) }

    func optionalDouble(at column: Int32) -> Double? {
        isNull(at: column) ? nil : sqlite3_column_double(handle, column)
    }

    func optionalInt(at column: Int32) -> Int? { optionalInt64(at: column).map { Int($0) } }

    func string(at column: Int32) -> String { optionalString(at: column) ?? "" }

    func optionalString(at column: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }
}
