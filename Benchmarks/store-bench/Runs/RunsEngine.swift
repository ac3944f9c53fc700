/// Issue 22's second and third items as a storage engine over SQLite, built to be measured beside today's table:
///
/// - a record's commit appends to `tail`, a rowid table with no index at all (one page a commit); its ids come
///   from the engine, so no `sqlite_sequence` row either;
/// - a full tail becomes a run: its rows copied in (session, time, id) order into `run_rows`, a `WITHOUT ROWID`
///   table keyed by (run, session_id, captured_at, id), so a new run is written at the tree's right edge;
/// - runs are merged `fanout` at a time, level by level (tiered, adjacent runs only, so each run covers one range
///   of ids and times), in chunks of sessions, each chunk its own short transaction; the sources stay visible
///   until the chunk that finishes the merge swaps them in the catalog, then their rows are deleted in chunks;
/// - idempotency stays exact: the tail's keys in memory, then each run's Bloom filter in front of an exact
///   lookup in that run's (run, session_id, dedupe_key) index;
/// - history by session is one range read per run, newest run first, stopping once older runs cannot hold a
///   newer capture than the page's last.
///
/// `runs` is the catalog: a run is `building` until its merge finishes, then `live`, then `retired` while its
/// rows are deleted. Plain SQL sees every live capture through the `captures_all` view.
final class RunsEngine {
    struct Run {
        let id: Int64
        let level: Int
        let rows: Int
        let firstId: Int64
        let lastId: Int64
        let oldestAt: Int64
        let newestAt: Int64
        let bloom: Bloom

        /// The run that `sources` merge into (or, with `keepFrom`, that one source is rewritten into, on its level).
        static func merged(from sources: [Run], id: Int64, bloom: Bloom, keepFrom: Int64 = Int64.min) -> Run {
            Run(
                id: id, level: keepFrom == Int64.min ? sources[0].level + 1 : sources[0].level,
                rows: sources.reduce(0) { $0 + $1.rows }, firstId: sources.map(\.firstId).min()!,
                lastId: sources.map(\.lastId).max()!, oldestAt: max(keepFrom, sources.map(\.oldestAt).min()!),
                newestAt: sources.map(\.newestAt).max()!, bloom: bloom)
        }
    }

    /// Run ids as an SQL list, for `run IN (…)`.
    static func idList(_ runs: [Run]) -> String { runs.map { String($0.id) }.joined(separator: ", ") }

    struct TailEntry {
        let capturedAt: Int64
        let id: Int64
    }

    struct Merge {
        let sources: [Run]
        let target: Int64
        var from: String = ""
        var bloom: Bloom
    }

    struct Counts {
        var flushes = 0
        var merges = 0
        var mergeChunks = 0
        var deleteChunks = 0
        var bloomPositives = 0
        var exactHits = 0
        var longestTransactionNs: UInt64 = 0
        var flushNs: UInt64 = 0
        var mergeNs: UInt64 = 0
        var deleteNs: UInt64 = 0
        var longestFlushNs: UInt64 = 0
        var longestMergeChunkNs: UInt64 = 0
        var longestDeleteChunkNs: UInt64 = 0
        var maintenanceNs: UInt64 = 0
    }

    let db: BenchDatabase
    let runRows: Int
    let fanout: Int
    let chunkRows: Int
    var runs: [Run] = []  // live, oldest first
    var retired: [Int64] = []
    var merge: Merge?
    var nextId: Int64 = 1
    var nextRun: Int64 = 1
    /// The tail's rows in id order, as the engine needs them: for the tail's maps, its filter when it becomes a
    /// run, and what stays when a run built in the background takes only the rows up to its last id.
    struct TailRow {
        let entry: TailEntry
        let session: String
        let agent: String?
        let key: String?
        let hashes: Bloom.Hashes?
    }

    var tailRows: [TailRow] = []
    var tailKeys: Set<String> = []
    /// The tail's (captured_at, id) by session and by agent: the tail has no index, so readers find its rows here.
    var tailBySession: [String: [TailEntry]] = [:]
    var tailByAgent: [String: [TailEntry]] = [:]
    var tailCount: Int { tailRows.count }
    var debtRows = 0
    var counts = Counts()

    static let columnList = CaptureRows.columns.joined(separator: ", ")
    /// Where a range of sessions runs to the end. Bound through `upperBound`, never as text: any session id may
    /// sort after any string.
    static let sessionEnd = "\u{10FFFF}"

    /// A range's exclusive upper bound as SQL compares it: `sessionEnd` is past every text.
    static func upperBound(_ session: String) -> BenchValue { session == sessionEnd ? .afterAllText : .text(session) }

    let insertTail: BenchStatement
    let exactDedupe: BenchStatement

    /// The run indexes beside the key: `agent` for history by agent, `dedupe` for the exact check (without it
    /// the check reads the session's range in the run, which the key clusters).
    struct Indexes: OptionSet {
        let rawValue: Int
        static let agent = Indexes(rawValue: 1)
        static let dedupe = Indexes(rawValue: 2)
    }

    let indexes: Indexes
    /// Runs as files of their own (`RunFiles`) instead of rows of `run_rows`.
    let files: RunFiles?

    /// Runs as files, built on two threads of their own: `flusher` turns the tail into runs, `merger` merges them.
    let flusher: RunBuilder?
    let merger: RunBuilder?
    var flushing: Run?
    var merging: (sources: [Run], target: Int64)?
    let path: String

    init(
        path: String, runRows: Int, fanout: Int, chunkRows: Int, indexes: Indexes, runFiles: Bool = false, builders: Bool = false
    ) throws {
        db = try BenchDatabase(path: path)
        self.path = path
        flusher = runFiles && builders ? RunBuilder(name: "run flusher") : nil
        merger = runFiles && builders ? RunBuilder(name: "run merger") : nil
        files = runFiles ? try RunFiles(directory: path + ".runs", indexes: indexes) : nil
        self.runRows = runRows
        self.fanout = fanout
        self.chunkRows = chunkRows
        self.indexes = indexes
        try Self.createSchema(db, indexes)
        let binds = (0..<CaptureRows.columns.count).map { "?\($0 + 2)" }.joined(separator: ", ")
        insertTail = try db.prepare("INSERT INTO tail (id, \(Self.columnList)) VALUES (?1, \(binds))")
        exactDedupe = try db.prepare(
            "SELECT 1 FROM run_rows WHERE run = ?1 AND session_id = ?2 AND dedupe_key = ?3 AND dedupe_key IS NOT NULL")
        try load()
    }

    private static func createSchema(_ db: BenchDatabase, _ indexes: Indexes) throws {
        let declared = CaptureRows.declaredColumns
        try db.run("""
            CREATE TABLE IF NOT EXISTS tail (id INTEGER PRIMARY KEY, \(declared));
            CREATE TABLE IF NOT EXISTS run_rows (run INTEGER NOT NULL, id INTEGER NOT NULL, \(declared),
                PRIMARY KEY (run, session_id, captured_at, id)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS runs (run INTEGER PRIMARY KEY, level INTEGER NOT NULL, rows INTEGER NOT NULL,
                first_id INTEGER NOT NULL, last_id INTEGER NOT NULL, oldest_at INTEGER NOT NULL, newest_at INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('building', 'live', 'retired')), bloom BLOB);
            CREATE TABLE IF NOT EXISTS engine_floor (id INTEGER NOT NULL);
            CREATE VIEW IF NOT EXISTS captures_all AS
                SELECT id, \(columnList) FROM tail
                UNION ALL SELECT id, \(columnList) FROM run_rows WHERE run IN (SELECT run FROM runs WHERE state = 'live');
            """)
        if indexes.contains(.agent) {
            try db.run("CREATE INDEX IF NOT EXISTS run_rows_by_agent ON run_rows (run, agent_id, captured_at, id) WHERE agent_id IS NOT NULL")
        }
        if indexes.contains(.dedupe) {
            try db.run("CREATE UNIQUE INDEX IF NOT EXISTS run_rows_dedupe ON run_rows (run, session_id, dedupe_key) WHERE dedupe_key IS NOT NULL")
        }
    }

    /// Start-up: the catalog and its filters, the tail's keys, the id floor. An unfinished merge's rows are
    /// deleted like a retired run's and the merge starts again when its level fills.
    func load() throws {
        let catalog = try db.prepare(
            "SELECT run, level, rows, first_id, last_id, oldest_at, newest_at, state, bloom FROM runs ORDER BY first_id, run")
        while try catalog.step() {
            let id = catalog.int(0)
            nextRun = max(nextRun, id + 1)
            if files != nil, catalog.text(7) != "live" {
                try db.run("DELETE FROM runs WHERE run = \(id)")
                continue
            }
            guard catalog.text(7) == "live" else {
                retired.append(id)
                continue
            }
            runs.append(Run(
                id: id, level: Int(catalog.int(1)), rows: Int(catalog.int(2)), firstId: catalog.int(3),
                lastId: catalog.int(4), oldestAt: catalog.int(5), newestAt: catalog.int(6), bloom: Bloom(words: catalog.words(8))))
            nextId = max(nextId, catalog.int(4) + 1)
        }
        let tail = try db.prepare("SELECT id, session_id, agent_id, dedupe_key, captured_at FROM tail")
        while try tail.step() {
            let id = tail.int(0)
            let entry = TailEntry(capturedAt: tail.int(4), id: id)
            noteTail(entry, session: tail.text(1) ?? "", agent: tail.text(2), key: tail.text(3))
            nextId = max(nextId, id + 1)
        }
        nextId = max(nextId, (try db.int("SELECT max(id) FROM engine_floor") ?? 0) + 1)
        files?.removeStrays(keeping: Set(runs.map(\.id)))
    }

    func noteTail(_ entry: TailEntry, session: String, agent: String?, key: String?) {
        let row = TailRow(
            entry: entry, session: session, agent: agent, key: key, hashes: key.map { Bloom.Hashes(session: session, key: $0) })
        tailRows.append(row)
        index(row)
    }

    func index(_ row: TailRow) {
        tailBySession[row.session, default: []].append(row.entry)
        if let agent = row.agent { tailByAgent[agent, default: []].append(row.entry) }
        if let key = row.key { tailKeys.insert(row.session + "\u{1}" + key) }
    }

    /// Drops the tail's rows up to `lastId` (now in a run) from memory.
    func forgetTail(through lastId: Int64) {
        tailRows.removeAll { $0.entry.id <= lastId }
        reindexTail()
    }

    /// The tail's maps and keys again from `tailRows`.
    private func reindexTail() {
        tailBySession.removeAll(keepingCapacity: true)
        tailByAgent.removeAll(keepingCapacity: true)
        tailKeys.removeAll(keepingCapacity: true)
        for row in tailRows { index(row) }
    }

    /// A filter over the dedupe keys of the tail's rows up to `lastId`.
    func tailFilter(through lastId: Int64) -> Bloom {
        let rows = tailRows.prefix { $0.entry.id <= lastId }
        var bloom = Bloom(keys: rows.count)
        for row in rows { if let hashes = row.hashes { bloom.insert(hashes) } }
        return bloom
    }

    // MARK: Recording

    /// Records a group in one transaction; a capture whose (session, dedupe key) is stored already is not
    /// recorded again (false in the answer). Then one step of upkeep, outside the group's transaction.
    func record(_ rows: [[BenchValue]]) throws -> [Bool] {
        var stored: [Bool] = []
        stored.reserveCapacity(rows.count)
        let started = monotonicNs()
        try db.run("BEGIN IMMEDIATE")
        var added: [(Int64, [BenchValue])] = []
        for row in rows {
            if case .text(let session) = row[CaptureRows.sessionColumn], case .text(let key) = row[CaptureRows.dedupeColumn],
                try isStored(session: session, key: key) || added.contains(where: { Self.sameKey($0.1, row) })
            {
                stored.append(false)
                continue
            }
            let id = nextId
            nextId += 1
            insertTail.bind(.int(id), at: 1)
            insertTail.bind(row, from: 2)
            try insertTail.runToEnd()
            added.append((id, row))
            stored.append(true)
        }
        let checkpoint = try db.commit()
        noteTransaction(since: started, less: checkpoint)
        for (id, row) in added {
            guard case .text(let session) = row[CaptureRows.sessionColumn],
                case .int(let capturedAt) = row[CaptureRows.capturedAtColumn]
            else { continue }
            var agent: String?
            if case .text(let text) = row[1] { agent = text }
            var key: String?
            if case .text(let text) = row[CaptureRows.dedupeColumn] { key = text }
            noteTail(TailEntry(capturedAt: capturedAt, id: id), session: session, agent: agent, key: key)
        }
        debtRows += added.count
        try upkeep()
        return stored
    }

    private static func sameKey(_ left: [BenchValue], _ right: [BenchValue]) -> Bool {
        guard case .text(let a) = left[CaptureRows.sessionColumn], case .text(let b) = right[CaptureRows.sessionColumn],
            case .text(let c) = left[CaptureRows.dedupeColumn], case .text(let d) = right[CaptureRows.dedupeColumn]
        else { return false }
        return a == b && c == d
    }

    /// Exact: the tail's keys in memory, then each live run whose filter may hold the key, by index. The
    /// sources of a merge in progress stay live until it finishes, so its target need not be asked.
    func isStored(session: String, key: String) throws -> Bool {
        if tailKeys.contains(session + "\u{1}" + key) { return true }
        let hashes = Bloom.Hashes(session: session, key: key)
        for run in runs.reversed() where run.bloom.mayContain(hashes) {
            counts.bloomPositives += 1
            if try files?.contains(run.id, session: session, key: key) ?? storedInTable(run.id, session: session, key: key) {
                counts.exactHits += 1
                return true
            }
        }
        return false
    }

    func storedInTable(_ run: Int64, session: String, key: String) throws -> Bool {
        exactDedupe.bind(.int(run), at: 1)
        exactDedupe.bind(.text(session), at: 2)
        exactDedupe.bind(.text(key), at: 3)
        let found = try exactDedupe.step()
        exactDedupe.reset()
        return found
    }

    /// The transaction's time, less the checkpoint its commit ran.
    @discardableResult
    func noteTransaction(since started: UInt64, less checkpoint: UInt64) -> UInt64 {
        let spent = monotonicNs() - started - checkpoint
        counts.longestTransactionNs = max(counts.longestTransactionNs, spent)
        return spent
    }

    // MARK: Upkeep

    /// One step after a group: a full tail becomes a run; otherwise a merge or deletion chunk once the records
    /// since the last chunk have paid for one (`debtRows` × 8 ≥ `chunkRows`: with four levels a capture is
    /// merged and deleted about eight times in all), or at once when level 0 has twice `fanout` runs.
    func upkeep() throws {
        let started = monotonicNs()
        defer { counts.maintenanceNs += monotonicNs() - started }
        if flusher != nil {
            try upkeepInBackground(waiting: false)
            return
        }
        if tailCount >= runRows {
            try flush()
            return
        }
        let behind = runs.filter { $0.level == 0 }.count >= 2 * fanout
        guard behind || debtRows * 8 >= chunkRows else { return }
        if try step() { debtRows = 0 }
    }

    /// Does one chunk of pending work (deletion first, then the current merge, then a new merge); false when
    /// there is none.
    @discardableResult
    func step() throws -> Bool {
        if let run = retired.first {
            try deleteChunk(of: run)
            return true
        }
        if let files, let sources = nextMergeSources() {
            try mergeFiles(sources, files)
            return true
        }
        if merge == nil, let sources = nextMergeSources() {
            try startMerge(sources)
        }
        guard merge != nil else { return false }
        try mergeChunk()
        return true
    }

    /// Everything pending, done now (a bench's end, or a drain before measuring reads).
    func settle() throws {
        let started = monotonicNs()
        if flusher != nil {
            while try upkeepInBackground(waiting: true) {}
        } else {
            while try step() {}
        }
        counts.maintenanceNs += monotonicNs() - started
    }

    func flush() throws {
        let started = monotonicNs()
        let run = nextRun
        nextRun += 1
        let bloom = tailFilter(through: Int64.max)
        try files?.write(run, fromTailOf: db)
        try db.run("BEGIN IMMEDIATE")
        if files == nil {
            try db.run("""
                INSERT INTO run_rows (run, id, \(Self.columnList))
                    SELECT \(run), id, \(Self.columnList) FROM tail ORDER BY session_id, captured_at, id
                """)
        }
        let bounds = try db.prepare("SELECT count(*), min(id), max(id), min(captured_at), max(captured_at) FROM tail")
        _ = try bounds.step()
        let made = Run(
            id: run, level: 0, rows: Int(bounds.int(0)), firstId: bounds.int(1), lastId: bounds.int(2),
            oldestAt: bounds.int(3), newestAt: bounds.int(4), bloom: bloom)
        bounds.reset()
        try finishFlush(made, since: started)
    }

    /// In the flush's open transaction: the run named in the catalog, its rows taken off the tail, the id floor
    /// moved past them; then the commit and the run in memory.
    func finishFlush(_ made: Run, since started: UInt64) throws {
        try insertCatalog(made, state: "live")
        try db.run("DELETE FROM tail WHERE id <= \(made.lastId); DELETE FROM engine_floor; INSERT INTO engine_floor VALUES (\(made.lastId))")
        let spent = noteTransaction(since: started, less: try db.commit())
        counts.flushNs += spent
        counts.longestFlushNs = max(counts.longestFlushNs, spent)
        runs.append(made)
        forgetTail(through: made.lastId)
        counts.flushes += 1
    }

    func insertCatalog(_ run: Run, state: String) throws {
        let statement = try db.prepare("""
            INSERT OR REPLACE INTO runs (run, level, rows, first_id, last_id, oldest_at, newest_at, state, bloom)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            """)
        statement.bind([
            .int(run.id), .int(Int64(run.level)), .int(Int64(run.rows)), .int(run.firstId), .int(run.lastId),
            .int(run.oldestAt), .int(run.newestAt), .text(state),
        ])
        statement.bind(blob: run.bloom.words, at: 9)
        try statement.runToEnd()
    }

    /// The oldest `fanout` runs of the lowest level that has that many; they are adjacent in ids.
    func nextMergeSources() -> [Run]? {
        let levels = Set(runs.map(\.level)).sorted()
        for level in levels {
            let same = runs.filter { $0.level == level }
            if same.count >= fanout { return Array(same.prefix(fanout)) }
        }
        return nil
    }

    func startMerge(_ sources: [Run]) throws {
        let target = nextRun
        nextRun += 1
        let placeholder = Run.merged(from: sources, id: target, bloom: Bloom(keys: 1))
        try db.run("BEGIN IMMEDIATE")
        try insertCatalog(placeholder, state: "building")
        counts.mergeNs += noteTransaction(since: monotonicNs(), less: try db.commit())
        merge = Merge(sources: sources, target: target, bloom: Bloom(keys: placeholder.rows))
    }

    // MARK: Retention

    /// The tail's rows older than `cutoff`, in one transaction (the tail holds one run's worth at most).
    func pruneTail(olderThan cutoff: Int64) throws -> UInt64 {
        let started = monotonicNs()
        try db.run("BEGIN IMMEDIATE")
        try db.run("DELETE FROM tail WHERE captured_at < \(cutoff)")
        let spent = noteTransaction(since: started, less: try db.commit())
        tailRows.removeAll { $0.entry.capturedAt < cutoff }
        reindexTail()
        return spent
    }

    /// Retention by age: whole runs older than `cutoff` are retired (their rows deleted in chunks by `step`);
    /// the one run that straddles it loses its older rows a range of sessions at a time. Returns the longest
    /// transaction it took.
    func prune(olderThan cutoff: Int64) throws -> UInt64 {
        var longest: UInt64 = 0
        if files != nil { try settle() }
        longest = try pruneTail(olderThan: cutoff)
        if let files {
            let whole = runs.filter { $0.newestAt < cutoff }
            let started = monotonicNs()
            try db.run("BEGIN IMMEDIATE")
            try db.run("DELETE FROM runs WHERE run IN (\(Self.idList(whole)))")
            longest = max(longest, noteTransaction(since: started, less: try db.commit()))
            runs.removeAll { $0.newestAt < cutoff }
            retire(whole.map(\.id), files)
            // On the writer's thread here; a service would hand the rewrite to the merger like any merge.
            for run in runs where run.oldestAt < cutoff { longest = max(longest, try mergeFiles([run], files, keepFrom: cutoff)) }
            return longest
        }
        if let job = merge, job.sources.contains(where: { $0.oldestAt < cutoff }) {
            while merge != nil { try mergeChunk() }
        }
        let whole = runs.filter { $0.newestAt < cutoff }
        if !whole.isEmpty {
            let started = monotonicNs()
            try db.run("BEGIN IMMEDIATE")
            try db.run("UPDATE runs SET state = 'retired', bloom = NULL WHERE run IN (\(Self.idList(whole)))")
            longest = max(longest, noteTransaction(since: started, less: try db.commit()))
            runs.removeAll { $0.newestAt < cutoff }
            retired.append(contentsOf: whole.map(\.id))
        }
        for run in runs where run.oldestAt < cutoff {
            var from = ""
            while from != Self.sessionEnd {
                let started = monotonicNs()
                try db.run("BEGIN IMMEDIATE")
                let until = try chunkEnd(after: from, in: [run])
                let delete = try db.prepare(
                    "DELETE FROM run_rows WHERE run = ?1 AND session_id >= ?2 AND session_id < ?3 AND captured_at < ?4")
                delete.bind([.int(run.id), .text(from), Self.upperBound(until), .int(cutoff)])
                try delete.runToEnd()
                longest = max(longest, noteTransaction(since: started, less: try db.commit()))
                from = until
            }
        }
        while let run = retired.first { try deleteChunk(of: run) }
        return max(longest, counts.longestDeleteChunkNs)
    }
}
