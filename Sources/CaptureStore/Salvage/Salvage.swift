import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What `taas-capture salvage` copied, and what it could not read.
public struct SalvageReport: Sendable, Equatable {
    /// The source's schema, when its header could be read.
    public var schemaVersion: Int?
    /// Captures read through SQLite's own walk of the captures table, up to the first damaged page.
    public var capturesBySQL = 0
    /// Further captures found by reading the file's table leaf pages one by one.
    public var capturesFromPages = 0
    /// Cells on those pages shaped like a capture that the captures table refused (a damaged value).
    public var capturesRefused = 0
    public var overrides = 0
    public var budgets = 0
    /// The forwarding mark (captures forwarded through this id), when there was one.
    public var forwardedThrough: Int64?
    /// Whether the file was read page by page (because SQLite could not read some table through).
    public var readPages = false
    /// Pages of the file, those on the freelist (skipped: deleted rows), and those that held no readable b-tree
    /// page (damaged, or overflow pages), when read page by page.
    public var pages = 0
    public var freePages = 0
    public var unreadablePages = 0
    /// What SQLite could not read, a line per table: "captures after id 1234: database disk image is malformed".
    public var problems: [String] = []
    /// `PRAGMA quick_check` of the new file: "ok".
    public var newFileCheck = ""

    public var captures: Int { capturesBySQL + capturesFromPages }
}

/// Where a salvage is, for a progress line.
public enum SalvageStep: Sendable {
    case copying
    case readingCaptures(copied: Int)
    case readingPages(done: Int, of: Int)
    case rebuildingRollups(folded: Int)
}

/// `taas-capture salvage --from DB --to NEW` (SPEC v3 "When storage fails"): every readable capture, override, budget
/// and forwarding mark of a damaged database into a fresh file at the current schema, its rollups rebuilt.
///
/// The source is only read: it and its `-wal` are copied (through `O_RDONLY` descriptors) into a private working
/// directory beside the new file, where SQLite may fold the WAL in. Each table is first read through SQLite (exact,
/// fast); when that stops at a damaged page, the file is read page by page and every leaf cell shaped like a row of
/// ours is tried, as SQLite's `.recover` does (https://www.sqlite.org/recovery.html): a cell whose record does not
/// decode exactly, or that the table's constraints refuse, is left out. Pages on the freelist are skipped so deleted
/// rows stay deleted (when the freelist itself is damaged, captures that retention had deleted may come back).
/// Ids are kept, and the id sequence never goes back below the largest id or forwarding mark seen.
public enum Salvage {
    public static func run(
        from source: String, to destination: String, progress: (SalvageStep) -> Void = { _ in }
    ) throws(StoreError) -> SalvageReport {
        guard DatabaseFile.exists(source) else {
            throw StoreError(code: .invalidArgument, message: "there is no database to salvage at --from")
        }
        guard !DatabaseFile.exists(destination) else {
            throw StoreError(code: .invalidArgument, message: "--to already exists; salvage writes a new file")
        }
        progress(.copying)
        let work = try WorkDirectory(beside: destination)
        defer { work.remove() }
        let copy = work.path + "/source.sqlite3"
        try copyFile(source, to: copy)
        if DatabaseFile.exists(source + "-wal") { try copyFile(source + "-wal", to: copy + "-wal") }
        foldWAL(copy)
        do {
            let writer = try CaptureWriter(path: destination, durability: .normal)
            defer { writer.close() }
            var salvage = SalvageRun(connection: writer.connection, copy: copy)
            try salvage.run(progress: progress)
            _ = try writer.rebuildRollups { progress(.rebuildingRollups(folded: $0)) }
            salvage.report.newFileCheck = try writer.connection.strings("PRAGMA quick_check").joined(separator: "; ")
            try writer.checkpoint(truncate: true)
            return salvage.report
        } catch {
            for suffix in DatabaseFile.suffixes { unlink(destination + suffix) }
            throw error
        }
    }

    /// Lets SQLite fold the copy's WAL into it (a checkpoint when the last connection closes); where it cannot, the
    /// WAL stays and its frames are read as pages too.
    private static func foldWAL(_ copy: String) {
        guard let connection = try? Connection(path: copy, flags: SQLITE_OPEN_READWRITE, busyTimeoutMs: 1000) else { return }
        try? connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
    }


    /// Copies `from` to a new 0600 file `to`, reading through an `O_RDONLY` descriptor.
    private static func copyFile(_ from: String, to: String) throws(StoreError) {
        let input = open(from, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw StoreError(code: .cantOpen, message: "cannot read the database to salvage: \(DatabaseFile.errnoText())")
        }
        defer { close(input) }
        let output = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, DatabaseFile.privateMode)
        guard output >= 0 else {
            throw StoreError(code: .cantOpen, message: "cannot write the working copy: \(DatabaseFile.errnoText())")
        }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count == 0 { return }
            guard count > 0 else {
                throw StoreError(code: .ioError, message: "reading the database to salvage failed: \(DatabaseFile.errnoText())")
            }
            var written = 0
            while written < count {
                let n = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, count - written) }
                guard n > 0 else {
                    throw StoreError(code: errno == ENOSPC ? .full : .ioError,
                                     message: "writing the working copy failed: \(DatabaseFile.errnoText())")
                }
                written += n
            }
        }
    }
}

/// A private (0700) directory beside the new file for the working copy, removed with everything in it.
private struct WorkDirectory {
    let path: String

    init(beside destination: String) throws(StoreError) {
        let slash = destination.lastIndex(of: "/")
        let parent = slash.map { String(destination[..<$0]) } ?? "."
        let base = parent.isEmpty ? "/" : parent
        var template = Array((base + "/.taas-capture-salvage-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else {
            throw StoreError(code: .cantOpen, message: "cannot make a working directory beside --to: \(DatabaseFile.errnoText())")
        }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    func remove() {
        for suffix in DatabaseFile.suffixes { unlink(path + "/source.sqlite3" + suffix) }
        rmdir(path)
    }
}

/// One salvage into the new file's connection: each table through SQLite, then the pages where that stopped.
private struct SalvageRun {
    let connection: Connection
    let copy: String
    var report = SalvageReport()
    /// The largest id the source's sequence or forwarding mark shows: the new sequence starts past it.
    private var idFloor: Int64 = 0
    /// Tables SQLite could not read whole, to be read from the pages.
    private var unread: Set<String> = []
    private var captureColumns: [String] = []
    /// The insert of a capture found on a page, by its record's length (rows older than an added column are shorter).
    private var insertSQL: [Int: String] = [:]
    static let batch = 4096
    /// SQLITE_CONSTRAINT_PRIMARYKEY and SQLITE_CONSTRAINT_UNIQUE (macros Swift does not import):
    /// https://www.sqlite.org/rescode.html#constraint_primarykey
    static let primaryKeyConflict: Int32 = SQLITE_CONSTRAINT | 6 << 8
    static let uniqueConflict: Int32 = SQLITE_CONSTRAINT | 8 << 8

    init(connection: Connection, copy: String) {
        self.connection = connection
        self.copy = copy
    }

    mutating func run(progress: (SalvageStep) -> Void) throws(StoreError) {
        captureColumns = try connection.strings("SELECT name FROM pragma_table_info('captures') ORDER BY cid")
        if attach() {
            defer { try? connection.execute("DETACH DATABASE src") }
            try readTables(progress: progress)
        } else {
            unread = ["captures", "algorithm_overrides", "budgets", "forward_progress", "sqlite_sequence"]
        }
        if !unread.isEmpty { try readPages(progress: progress) }
        try raiseSequence()
    }

    /// Attaches the copy as `src` and reads its schema version; false when SQLite cannot read it at all.
    private mutating func attach() -> Bool {
        do throws(StoreError) {
            let attach = try connection.prepare("ATTACH DATABASE ?1 AS src")
            defer { attach.reset() }
            try attach.bind(copy, at: 1)
            try attach.run()
            let version = try Int(connection.scalarInt("PRAGMA src.user_version") ?? 0)
            // Reading the schema is what fails first on a damaged sqlite_schema.
            _ = try connection.scalarInt("SELECT count(*) FROM src.sqlite_schema")
            report.schemaVersion = version
            guard version <= Migrator.latestVersion else {
                report.problems.append("schema \(version) is newer than this binary's \(Migrator.latestVersion)")
                return false
            }
            return true
        } catch {
            report.problems.append("SQLite cannot read the file's schema: \(error.message)")
            return false
        }
    }

    private mutating func readTables(progress: (SalvageStep) -> Void) throws(StoreError) {
        let version = report.schemaVersion ?? 0
        try readCaptures(progress: progress)
        if version >= 2 {
            report.overrides = try copyTable(
                "algorithm_overrides", "INSERT INTO main.algorithm_overrides SELECT scope, subject, algorithm, updated_at, version FROM src.algorithm_overrides")
        }
        if version >= 6 {
            report.budgets = try copyTable(
                "budgets", "INSERT INTO main.budgets SELECT scope, subject, usd_per_day, updated_at FROM src.budgets")
        }
        if version >= 3 {
            _ = try copyTable(
                "forward_progress",
                "INSERT INTO main.forward_progress SELECT slot, host_id, forwarded_through, dropped_unforwarded, updated_at FROM src.forward_progress")
            report.forwardedThrough = try connection.scalarInt("SELECT forwarded_through FROM main.forward_progress")
        }
        do throws(StoreError) {
            idFloor = max(idFloor, try connection.scalarInt("SELECT seq FROM src.sqlite_sequence WHERE name = 'captures'") ?? 0)
        } catch {
            try failed("sqlite_sequence", error)
        }
    }

    /// The captures through SQLite in id order, a batch per transaction, until the end or the first damaged page.
    private mutating func readCaptures(progress: (SalvageStep) -> Void) throws(StoreError) {
        let sourceColumns: Set<String>
        do throws(StoreError) {
            sourceColumns = Set(try connection.strings("SELECT name FROM pragma_table_info('captures', 'src')"))
        } catch {
            return try failed("captures", error)
        }
        let columns = captureColumns.filter(sourceColumns.contains).joined(separator: ", ")
        let sql = "INSERT INTO main.captures (\(columns)) SELECT \(columns) FROM src.captures WHERE id > ?1 ORDER BY id LIMIT \(Self.batch)"
        var last: Int64 = 0
        while true {
            do throws(StoreError) {
                let copied = try connection.transaction(.immediate) { () throws(StoreError) -> Int in
                    let insert = try connection.prepare(sql)
                    defer { insert.reset() }
                    try insert.bind(last, at: 1)
                    try insert.run()
                    return connection.changes
                }
                guard copied > 0 else { return }
                report.capturesBySQL += copied
                last = try connection.scalarInt("SELECT max(id) FROM main.captures") ?? last
                progress(.readingCaptures(copied: report.capturesBySQL))
            } catch {
                return try failed("captures", error, after: last)
            }
        }
    }

    /// Copies one small table whole; its row count, 0 when SQLite could not read it (then its pages are read).
    private mutating func copyTable(_ table: String, _ sql: String) throws(StoreError) -> Int {
        do throws(StoreError) {
            return try connection.transaction(.immediate) { () throws(StoreError) -> Int in
                try connection.execute(sql)
                return connection.changes
            }
        } catch {
            try failed(table, error)
            return 0
        }
    }

    /// Notes that SQLite could not read `table` through; an error of the new file itself ends the salvage.
    private mutating func failed(_ table: String, _ error: StoreError, after id: Int64? = nil) throws(StoreError) {
        // Reading never fills a disk: a full disk is the new file's, and ends the salvage.
        if error.code == .full { throw error }
        unread.insert(table)
        let position = id.map { $0 > 0 ? " after id \($0)" : "" } ?? ""
        report.problems.append("\(table)\(position): \(error.message)")
    }

    // MARK: Page by page

    private mutating func readPages(progress: (SalvageStep) -> Void) throws(StoreError) {
        report.readPages = true
        // The WAL is still there only when SQLite could not fold it in: its newest committed pages are read instead.
        let file = try PageFile(path: copy, wal: copy + "-wal")
        let free = file.freePages()
        report.pages = file.pageCount
        report.freePages = free.count
        var pending = 0
        try connection.begin(.immediate)
        do throws(StoreError) {
            for number in stride(from: 1, through: file.pageCount, by: 1) where !free.contains(number) {
                pending += try take(file.content(of: number))
                if pending >= Self.batch {
                    try connection.commit()
                    try connection.begin(.immediate)
                    pending = 0
                }
                if number % 1024 == 0 { progress(.readingPages(done: number, of: file.pageCount)) }
            }
            try connection.commit()
        } catch {
            connection.rollback()
            throw error
        }
        progress(.readingPages(done: file.pageCount, of: file.pageCount))
    }

    /// Stores what one page holds of ours; how many rows it added.
    private mutating func take(_ content: PageContent) throws(StoreError) -> Int {
        switch content {
        case .tableLeaf(let cells):
            var added = 0
            for cell in cells { added += try takeTableCell(cell) }
            return added
        case .indexCells(let cells):
            var added = 0
            for cell in cells { added += try takeIndexCell(cell) }
            return added
        case .interior:
            return 0
        case .other:
            report.unreadablePages += 1
            return 0
        }
    }

    private mutating func takeTableCell(_ cell: LeafCell) throws(StoreError) -> Int {
        guard let rowid = cell.rowid else { return 0 }
        let values = cell.values
        if unread.contains("captures"), RowShape.isCapture(values, columns: captureColumns.count), rowid > 0 {
            return try insertCapture(id: rowid, values)
        }
        if unread.contains("forward_progress"), RowShape.isForwardProgress(values), rowid == 1 {
            try insert(
                "INSERT INTO forward_progress (slot, host_id, forwarded_through, dropped_unforwarded, updated_at) VALUES (1, ?1, ?2, ?3, ?4) ON CONFLICT (slot) DO UPDATE SET host_id = excluded.host_id, forwarded_through = excluded.forwarded_through, dropped_unforwarded = excluded.dropped_unforwarded, updated_at = excluded.updated_at WHERE excluded.updated_at > updated_at",
                Array(values[1...]))
            report.forwardedThrough = try connection.scalarInt("SELECT forwarded_through FROM forward_progress")
            return 1
        }
        if unread.contains("sqlite_sequence"), values.count == 2, values[0] == .text("captures"), case .integer(let seq) = values[1] {
            idFloor = max(idFloor, seq)
        }
        return 0
    }

    private mutating func takeIndexCell(_ cell: LeafCell) throws(StoreError) -> Int {
        let values = cell.values
        if unread.contains("algorithm_overrides"), RowShape.isOverride(values) {
            if try insert(
                "INSERT INTO algorithm_overrides (scope, subject, algorithm, updated_at, version) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (scope, subject) DO UPDATE SET algorithm = excluded.algorithm, updated_at = excluded.updated_at, version = excluded.version WHERE excluded.version > version",
                values) {
                report.overrides = Int(try connection.scalarInt("SELECT count(*) FROM algorithm_overrides") ?? 0)
            }
            return 1
        }
        if unread.contains("budgets"), RowShape.isBudget(values) {
            if try insert(
                "INSERT INTO budgets (scope, subject, usd_per_day, updated_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (scope, subject) DO UPDATE SET usd_per_day = excluded.usd_per_day, updated_at = excluded.updated_at WHERE excluded.updated_at > updated_at",
                values) {
                report.budgets = Int(try connection.scalarInt("SELECT count(*) FROM budgets") ?? 0)
            }
            return 1
        }
        return 0
    }

    /// One capture found on a page, with its id: counted when new, refused when its values break the table's rules.
    private mutating func insertCapture(id: Int64, _ values: [RecordValue]) throws(StoreError) -> Int {
        let statement = try connection.prepare(insertSQL(columns: values.count))
        defer { statement.reset() }
        do throws(StoreError) {
            try statement.bind(id, at: 1)
            for (offset, value) in values.enumerated().dropFirst() {
                guard try bind(value, to: statement, at: Int32(offset + 1)) else {
                    report.capturesRefused += 1
                    return 0
                }
            }
            try statement.run()
            report.capturesFromPages += 1
            return 1
        } catch {
            // Already copied (through SQLite, or an older copy of the same page): not news.
            if error.sqliteCode == Self.primaryKeyConflict || error.sqliteCode == Self.uniqueConflict { return 0 }
            guard error.code == .internal || error.sqliteCode.map({ $0 & 0xff == SQLITE_CONSTRAINT }) == true else { throw error }
            report.capturesRefused += 1
            return 0
        }
    }

    /// `INSERT INTO captures (id, the next columns…) VALUES (?1, ?2, …)` for a record of `count` values.
    private mutating func insertSQL(columns count: Int) -> String {
        if let sql = insertSQL[count] { return sql }
        let names = captureColumns[1..<count].joined(separator: ", ")
        let slots = (2...count).map { "?\($0)" }.joined(separator: ", ")
        let sql = "INSERT INTO captures (id, \(names)) VALUES (?1, \(slots))"
        insertSQL[count] = sql
        return sql
    }

    /// Runs `sql` with `values` bound from ?1; false (and nothing stored) when a value does not fit.
    @discardableResult
    private func insert(_ sql: String, _ values: [RecordValue]) throws(StoreError) -> Bool {
        let statement = try connection.prepare(sql)
        defer { statement.reset() }
        do throws(StoreError) {
            for (offset, value) in values.enumerated() {
                guard try bind(value, to: statement, at: Int32(offset + 1)) else { return false }
            }
            try statement.run()
            return true
        } catch {
            guard error.code == .internal || error.sqliteCode.map({ $0 & 0xff == SQLITE_CONSTRAINT }) == true else { throw error }
            return false
        }
    }

    /// Binds one record value; false for a blob, which none of our tables holds.
    private func bind(_ value: RecordValue, to statement: Statement, at index: Int32) throws(StoreError) -> Bool {
        switch value {
        case .null: try statement.bind(nil as Int64?, at: index)
        case .integer(let v): try statement.bind(v, at: index)
        case .real(let v): try statement.bind(v, at: index)
        case .text(let v): try statement.bind(v, at: index)
        case .blob: return false
        }
        return true
    }

    /// Keeps ids unique for good: the sequence goes past every id the source had handed out or forwarded.
    private mutating func raiseSequence() throws(StoreError) {
        let floor = max(idFloor, report.forwardedThrough ?? 0)
        try connection.transaction(.immediate) { () throws(StoreError) in
            let maxId = try connection.scalarInt("SELECT max(id) FROM captures") ?? 0
            let seq = max(floor, maxId)
            guard seq > 0 else { return }
            try connection.execute("DELETE FROM sqlite_sequence WHERE name = 'captures'")
            try connection.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('captures', \(seq))")
        }
    }
}

/// Which of our rows a decoded record can be, by its shape: the number of values and their types.
enum RowShape {
    /// A captures row: the id is the rowid (its column NULL), session_id text, agent_id text or NULL, captured_at an
    /// integer; 14 columns (schema 1) up to today's (older rows keep their length after `ALTER TABLE ADD COLUMN`).
    static func isCapture(_ values: [RecordValue], columns: Int) -> Bool {
        guard values.count >= 14, values.count <= columns, values[0] == .null else { return false }
        guard case .text = values[1], case .integer = values[3] else { return false }
        switch values[2] {
        case .text, .null: return true
        default: return false
        }
    }

    /// forward_progress: slot (the rowid), host_id, forwarded_through, dropped_unforwarded, updated_at.
    static func isForwardProgress(_ values: [RecordValue]) -> Bool {
        guard values.count == 5, values[0] == .null, case .text = values[1] else { return false }
        return values[2...].allSatisfy { if case .integer = $0 { true } else { false } }
    }

    /// algorithm_overrides (WITHOUT ROWID): scope, subject, algorithm or NULL, updated_at, version.
    static func isOverride(_ values: [RecordValue]) -> Bool {
        guard values.count == 5, isScope(values[0]), case .text = values[1] else { return false }
        guard case .integer = values[3], case .integer = values[4] else { return false }
        switch values[2] {
        case .text, .null: return true
        default: return false
        }
    }

    /// budgets (WITHOUT ROWID): scope, subject, usd_per_day, updated_at.
    static func isBudget(_ values: [RecordValue]) -> Bool {
        guard values.count == 4, isScope(values[0]), case .text = values[1], case .integer = values[3] else { return false }
        switch values[2] {
        case .real, .integer: return true
        default: return false
        }
    }

    private static func isScope(_ value: RecordValue) -> Bool { value == .text("agent") || value == .text("session") }
}
