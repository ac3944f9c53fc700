#if canImport(Glibc)
import Glibc
#endif

/// Runs kept as files of their own beside the database, one SQLite file a run (`run-N.sqlite3`, a `rows` table
/// keyed by (session_id, captured_at, id), `WITHOUT ROWID`): written once, start to end, with no journal and no
/// WAL (so each row is written once, not twice as through a WAL and its checkpoint), made durable with one
/// fsync before the catalog in the main database names it, and removed with `unlink` when retired: a merged or
/// pruned run costs no deletion at all. A file the catalog does not name is left over from a crash and is
/// removed at start-up.
final class RunFiles {
    let directory: String
    let indexes: RunsEngine.Indexes
    private let builder: BenchDatabase
    private var lookups: [Int64: (BenchDatabase, BenchStatement)] = [:]
    private static let columnList = CaptureRows.columns.joined(separator: ", ")

    init(directory: String, indexes: RunsEngine.Indexes) throws {
        self.directory = directory
        self.indexes = indexes
        mkdir(directory, 0o700)
        builder = try BenchDatabase(path: ":memory:")
        try builder.run("PRAGMA cache_size = -4096")
    }

    func path(_ run: Int64) -> String { directory + "/run-\(run).sqlite3" }

    /// The names of the run files (`run-N.sqlite3`) in `directory`; none when it cannot be read.
    static func runFileNames(in directory: String) -> [String] {
        guard let listing = opendir(directory) else { return [] }
        defer { closedir(listing) }
        var names: [String] = []
        while let entry = readdir(listing) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix("run-"), name.hasSuffix(".sqlite3") { names.append(name) }
        }
        return names
    }

    /// Removes files no live or retired run in `keep` names (a run being built when the process stopped).
    func removeStrays(keeping keep: Set<Int64>) {
        for name in Self.runFileNames(in: directory) {
            guard let run = Int64(name.dropFirst(4).dropLast(8)), !keep.contains(run) else { continue }
            unlink(directory + "/" + name)
        }
    }

    /// Attaches a new, empty run file to `db` as `build`, with no journal: nothing names it until it is done.
    private func attachBuild(_ run: Int64, to db: BenchDatabase) throws {
        unlink(path(run))
        try db.run("ATTACH DATABASE '\(path(run))' AS build")
        try db.run("PRAGMA build.journal_mode = OFF; PRAGMA build.synchronous = OFF")
        let declared = CaptureRows.declaredColumns
        try db.run("""
            CREATE TABLE build.rows (id INTEGER NOT NULL, \(declared), PRIMARY KEY (session_id, captured_at, id)) WITHOUT ROWID
            """)
        if indexes.contains(.agent) {
            try db.run("CREATE INDEX build.rows_by_agent ON rows (agent_id, captured_at, id) WHERE agent_id IS NOT NULL")
        }
    }

    /// Detaches the finished file and makes it durable (its data, then the directory entry).
    private func finishBuild(_ run: Int64, on db: BenchDatabase) throws {
        try db.run("DETACH DATABASE build")
        for name in [path(run), directory] {
            let descriptor = open(name, O_RDONLY)
            guard descriptor >= 0 else { throw BenchError("cannot open \(name) to sync it") }
            defer { close(descriptor) }
            guard fsync(descriptor) == 0 else { throw BenchError("fsync of \(name) failed (errno \(errno))") }
        }
    }

    /// The tail, in key order, as run `run`, through the writer's own connection (which reads the tail).
    func write(_ run: Int64, fromTailOf db: BenchDatabase) throws {
        try attachBuild(run, to: db)
        try db.run("BEGIN")
        try db.run("""
            INSERT INTO build.rows (id, \(Self.columnList))
                SELECT id, \(Self.columnList) FROM main.tail ORDER BY session_id, captured_at, id
            """)
        try db.run("COMMIT")
        try finishBuild(run, on: db)
    }

    /// The tail's rows up to `lastId`, in key order, as run `run`, read on `connection` (a builder's own) from the
    /// main database at `mainPath`, while the writer goes on appending.
    func write(_ run: Int64, fromTailAt mainPath: String, through lastId: Int64, on connection: BenchDatabase) throws {
        try connection.run("ATTACH DATABASE 'file:\(mainPath)?mode=ro' AS src")
        try attachBuild(run, to: connection)
        try connection.run("BEGIN")
        try connection.run("""
            INSERT INTO build.rows (id, \(Self.columnList))
                SELECT id, \(Self.columnList) FROM src.tail WHERE id <= \(lastId) ORDER BY session_id, captured_at, id
            """)
        try connection.run("COMMIT")
        try finishBuild(run, on: connection)
        try connection.run("DETACH DATABASE src")
    }

    /// `sources` merged into run `target` in ranges of sessions of about `chunkRows` rows (the sort stays small),
    /// all in one transaction of the new file, which nothing else reads or writes. Rows captured before
    /// `keepFrom` are left out (retention rewrites a run this way). Returns the new file's dedupe filter.
    func merge(
        _ sources: [RunsEngine.Run], into target: Int64, chunkRows: Int, keepFrom: Int64 = Int64.min, on connection: BenchDatabase? = nil
    ) throws -> Bloom {
        let builder = connection ?? self.builder
        for (index, source) in sources.enumerated() {
            try builder.run("ATTACH DATABASE 'file:\(path(source.id))?mode=ro' AS s\(index)")
        }
        try attachBuild(target, to: builder)
        let union = sources.indices.map { """
            SELECT id, \(Self.columnList) FROM s\($0).rows WHERE session_id >= ?1 AND session_id < ?2 AND captured_at >= ?3
            """ }.joined(separator: " UNION ALL ")
        let largest = sources.indices.max { sources[$0].rows < sources[$1].rows }!
        let offset = max(1, chunkRows * sources[largest].rows / max(1, sources.reduce(0) { $0 + $1.rows }))
        var bloom = Bloom(keys: sources.reduce(0) { $0 + $1.rows })
        try builder.run("BEGIN")
        let copy = try builder.prepare(
            "INSERT INTO build.rows (id, \(Self.columnList)) SELECT * FROM (\(union)) ORDER BY session_id, captured_at, id")
        let sample = try builder.prepare(
            "SELECT session_id FROM s\(largest).rows WHERE session_id > ?1 ORDER BY session_id LIMIT 1 OFFSET ?2")
        let keys = try builder.prepare("""
            SELECT session_id, dedupe_key FROM build.rows WHERE session_id >= ?1 AND session_id < ?2 AND dedupe_key IS NOT NULL
            """)
        var from = ""
        while from != RunsEngine.sessionEnd {
            sample.bind([.text(from), .int(Int64(offset))])
            let until = try sample.step() ? sample.text(0) ?? RunsEngine.sessionEnd : RunsEngine.sessionEnd
            sample.reset()
            copy.bind([.text(from), RunsEngine.upperBound(until), .int(keepFrom)])
            try copy.runToEnd()
            keys.bind([.text(from), RunsEngine.upperBound(until)])
            while try keys.step() { bloom.insert(Bloom.Hashes(session: keys.text(0) ?? "", key: keys.text(1) ?? "")) }
            from = until
        }
        try builder.run("COMMIT")
        try finishBuild(target, on: builder)
        for index in sources.indices { try builder.run("DETACH DATABASE s\(index)") }
        return bloom
    }

    /// Exact: whether run `run` holds (session, key), reading the session's range of the file.
    func contains(_ run: Int64, session: String, key: String) throws -> Bool {
        let statement: BenchStatement
        if let open = lookups[run] {
            statement = open.1
        } else {
            let db = try BenchDatabase(path: path(run), readOnly: true)
            statement = try db.prepare("SELECT 1 FROM rows WHERE session_id = ?1 AND dedupe_key = ?2")
            lookups[run] = (db, statement)
        }
        statement.bind([.text(session), .text(key)])
        let found = try statement.step()
        statement.reset()
        return found
    }

    /// The run's file is no longer read for lookups; `unlink` it once the catalog's change is durable.
    func forget(_ run: Int64) { lookups[run] = nil }

    func remove(_ run: Int64) {
        forget(run)
        unlink(path(run))
    }
}
