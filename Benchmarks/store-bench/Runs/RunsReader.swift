/// Reads on a connection of their own, for either layout, newest first by (captured_at, id): what lastRoute and
/// history ask the store. Every column of every row comes back as values, as a reader building captures would.
protocol LayoutReader {
    func newest(session: String, limit: Int) throws -> [Int64]
    func newest(agent: String, limit: Int) throws -> [Int64]
}

private struct Found {
    let capturedAt: Int64
    let id: Int64
    let values: [BenchValue]
}

private func newestFirst(_ left: Found, _ right: Found) -> Bool {
    left.capturedAt != right.capturedAt ? left.capturedAt > right.capturedAt : left.id > right.id
}

private let columnCount = Int32(CaptureRows.columns.count)
private let selectList = "id, captured_at, " + CaptureRows.columns.joined(separator: ", ")

/// Today's table: one index range, then a rowid lookup a row.
final class IndexedReader: LayoutReader {
    private let db: BenchDatabase
    private let bySession: BenchStatement
    private let byAgent: BenchStatement

    init(path: String) throws {
        db = try BenchDatabase(path: path)
        bySession = try db.prepare(
            "SELECT \(selectList) FROM captures WHERE session_id = ?1 ORDER BY captured_at DESC, id DESC LIMIT ?2")
        byAgent = try db.prepare(
            "SELECT \(selectList) FROM captures WHERE agent_id = ?1 ORDER BY captured_at DESC, id DESC LIMIT ?2")
    }

    func newest(session: String, limit: Int) throws -> [Int64] { try read(bySession, session, limit) }
    func newest(agent: String, limit: Int) throws -> [Int64] { try read(byAgent, agent, limit) }

    private func read(_ statement: BenchStatement, _ key: String, _ limit: Int) throws -> [Int64] {
        statement.bind([.text(key), .int(Int64(limit))])
        var ids: [Int64] = []
        while try statement.step() {
            _ = statement.values(from: 2, count: columnCount)
            ids.append(statement.int(0))
        }
        return ids
    }
}

/// The runs: the tail's rows of the key from the engine's map (by id), then one range per run, newest run
/// first, stopping once the page is full and the next run's newest capture is older than the page's last.
final class RunsReader: LayoutReader {
    private let db: BenchDatabase
    private let engine: RunsEngine
    private let tailRow: BenchStatement
    private let runSession: BenchStatement
    private let runAgent: BenchStatement?
    /// Runs as files: a read-only connection a run, with its two statements, opened on first use.
    private var runFiles: [Int64: (db: BenchDatabase, session: BenchStatement, agent: BenchStatement?)] = [:]

    init(path: String, engine: RunsEngine) throws {
        db = try BenchDatabase(path: path)
        self.engine = engine
        tailRow = try db.prepare("SELECT \(selectList) FROM tail WHERE id = ?1")
        runSession = try db.prepare("""
            SELECT \(selectList) FROM run_rows WHERE run = ?1 AND session_id = ?2
            ORDER BY captured_at DESC, id DESC LIMIT ?3
            """)
        runAgent = !engine.indexes.contains(.agent) ? nil : try db.prepare("""
            SELECT \(selectList) FROM run_rows INDEXED BY run_rows_by_agent WHERE run = ?1 AND agent_id = ?2
            ORDER BY captured_at DESC, id DESC LIMIT ?3
            """)
    }

    func newest(session: String, limit: Int) throws -> [Int64] {
        try read(tail: engine.tailBySession[session] ?? [], key: session, limit: limit) { run in
            try self.engine.files == nil ? self.runSession : self.file(run).session
        }
    }

    func newest(agent: String, limit: Int) throws -> [Int64] {
        guard let runAgent else { throw BenchError("history by agent needs the runs' agent index") }
        return try read(tail: engine.tailByAgent[agent] ?? [], key: agent, limit: limit) { run in
            try self.engine.files == nil ? runAgent : self.file(run).agent!
        }
    }

    private func file(_ run: Int64) throws -> (db: BenchDatabase, session: BenchStatement, agent: BenchStatement?) {
        if let open = runFiles[run] { return open }
        if runFiles.count > engine.runs.count * 2 {
            let live = Set(engine.runs.map(\.id))
            runFiles = runFiles.filter { live.contains($0.key) }
        }
        let db = try BenchDatabase(path: engine.files!.path(run), readOnly: true)
        let session = try db.prepare("""
            SELECT \(selectList) FROM rows WHERE session_id = ?2 ORDER BY captured_at DESC, id DESC LIMIT ?3
            """)
        let agent = engine.indexes.contains(.agent) ? try db.prepare("""
            SELECT \(selectList) FROM rows INDEXED BY rows_by_agent WHERE agent_id = ?2
            ORDER BY captured_at DESC, id DESC LIMIT ?3
            """) : nil
        let opened = (db: db, session: session, agent: agent)
        runFiles[run] = opened
        return opened
    }

    /// `reading(run)` gives the statement that reads a run: ?1 the run (unused by a run's own file), ?2 the key, ?3 the limit.
    private func read(
        tail: [RunsEngine.TailEntry], key: String, limit: Int, reading: (Int64) throws -> BenchStatement
    ) throws -> [Int64] {
        var found: [Found] = []
        let newest = tail.sorted { $0.capturedAt != $1.capturedAt ? $0.capturedAt > $1.capturedAt : $0.id > $1.id }
        for entry in newest.prefix(limit) {
            tailRow.bind(.int(entry.id), at: 1)
            if try tailRow.step() { found.append(row(tailRow)) }
            tailRow.reset()
        }
        found.sort(by: newestFirst)
        // Captured times come from the client, so an older run may hold a newer capture: the reads stop only
        // once the page is full of rows newer than anything in every run not read yet.
        let runs = engine.runs
        var newestFrom = [Int64](repeating: Int64.min, count: runs.count + 1)  // [i]: newest in runs[..<i]
        for (index, run) in runs.enumerated() { newestFrom[index + 1] = max(newestFrom[index], run.newestAt) }
        for index in runs.indices.reversed() {
            let run = runs[index]
            if found.prefix(while: { $0.capturedAt > newestFrom[index + 1] }).count >= limit { break }
            // Rows found that rank above everything in this run stay on the page whatever it holds.
            let settled = found.prefix { $0.capturedAt > run.newestAt || ($0.capturedAt == run.newestAt && $0.id > run.lastId) }.count
            if settled >= limit { continue }
            let statement = try reading(run.id)
            statement.bind([.int(run.id), .text(key), .int(Int64(limit - settled))])
            var fromRun: [Found] = []
            while try statement.step() { fromRun.append(row(statement)) }
            found = Self.merged(found, fromRun, limit: limit)
        }
        return found.prefix(limit).map(\.id)
    }

    private func row(_ statement: BenchStatement) -> Found {
        Found(capturedAt: statement.int(1), id: statement.int(0), values: statement.values(from: 2, count: columnCount))
    }

    private static func merged(_ left: [Found], _ right: [Found], limit: Int) -> [Found] {
        var result: [Found] = []
        result.reserveCapacity(min(limit, left.count + right.count))
        var i = 0
        var j = 0
        while result.count < limit, i < left.count || j < right.count {
            if j == right.count || (i < left.count && newestFirst(left[i], right[j])) {
                result.append(left[i])
                i += 1
            } else {
                result.append(right[j])
                j += 1
            }
        }
        return result
    }
}
