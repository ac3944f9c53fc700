import AffinityCore
import CSQLite
import CaptureStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Inserts `rows` captures through `CaptureWriter.record`, the same rows with one `INSERT … SELECT` into a second
/// database (the engine's limit), prints both rates and their ratio, then read latencies on the first database.
func runBenchmark(_ options: BenchOptions) throws {
    let directory = options.directory ?? makeTemporaryDirectory()
    let recordPath = directory + "/record.sqlite3"
    let enginePath = directory + "/engine.sqlite3"
    let batchedPath = directory + "/engine-batched.sqlite3"
    for path in [recordPath, enginePath, batchedPath] {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }
    let workload = Workload(options)
    print("store-bench: \(options.rows) captures, \(options.sessions) sessions, \(options.agents) agents, "
        + "batches of \(options.batchSize), SQLite \(String(cString: sqlite3_libversion()))")

    let writer = try CaptureWriter(path: recordPath, durability: .normal)
    var recordNs: UInt64 = 0
    var recordCpuNs: UInt64 = 0
    var next = 0
    while next < options.rows {
        let batch = workload.batch(from: next, count: min(options.batchSize, options.rows - next))
        let started = monotonicNs()
        let startedCpu = cpuNs()
        _ = try writer.record(batch)
        recordCpuNs += cpuNs() - startedCpu
        recordNs += monotonicNs() - started
        next += batch.count
    }
    writer.close()

    let engineCpuStarted = cpuNs()
    let engineNs = try insertSelect(into: enginePath, from: recordPath)
    let engineCpuNs = cpuNs() - engineCpuStarted
    let batchedNs = try insertSelect(into: batchedPath, from: recordPath, batchSize: options.batchSize)
    let recordRate = Double(options.rows) / seconds(recordNs)
    let engineRate = Double(options.rows) / seconds(engineNs)
    print(format("record (batches of \(options.batchSize))", recordRate, "rows/s", seconds(recordNs)))
    print(format("INSERT … SELECT (one statement)", engineRate, "rows/s", seconds(engineNs)))
    print("ratio record / INSERT … SELECT: " + fixed(recordRate / engineRate, 3) + " (target ≥ 0.70)")
    // The engine at the same commit cadence: what one transaction per batch costs by itself.
    let batchedRate = Double(options.rows) / seconds(batchedNs)
    print(format("INSERT … SELECT per \(options.batchSize) rows", batchedRate, "rows/s", seconds(batchedNs))
        + "  record / this: " + fixed(recordRate / batchedRate, 3))
    // CPU time (user + system) is steadier than wall time on a shared machine.
    print("  CPU: record " + fixed(seconds(recordCpuNs), 2) + " s, INSERT … SELECT " + fixed(seconds(engineCpuNs), 2)
        + " s, ratio " + fixed(Double(engineCpuNs) / Double(recordCpuNs), 3))

    let reader = try CaptureReader(path: recordPath)
    var random = SplitMix(seed: 7)
    try measure("lastRoute by session", options.readSamples) {
        _ = try reader.lastRoute(.session(workload.sessionIds[random.next(below: options.sessions)]))
    }
    try measure("lastRoute by agent", options.readSamples) {
        _ = try reader.lastRoute(.agent(workload.agentIds[random.next(below: options.agents)]))
    }
    try measure("history 100 rows by agent", options.readSamples / 10) {
        let page = try reader.history(HistoryQuery(selector: .agent(workload.agentIds[random.next(below: options.agents)]), limit: 100))
        precondition(page.captures.count == 100 || options.rows < options.agents * 100)
    }
    try measure("history page (≤100) by session", options.readSamples / 10) {
        _ = try reader.history(HistoryQuery(selector: .session(workload.sessionIds[random.next(below: options.sessions)]), limit: 100))
    }
    reader.close()
    if options.directory == nil {
        for path in [recordPath, enginePath, batchedPath] {
            for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        }
        rmdir(directory)
    }
}

/// Copies every capture of `source` into a fresh, migrated database with the writer's pragmas: with one
/// INSERT … SELECT, or with `batchSize` given, one INSERT … SELECT transaction per batch of ids.
private func insertSelect(into path: String, from source: String, batchSize: Int? = nil) throws -> UInt64 {
    try CaptureWriter(path: path, durability: .normal).close()
    var db: OpaquePointer?
    guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let db else {
        throw BenchError("cannot open the engine database")
    }
    defer { sqlite3_close_v2(db) }
    let columns = "session_id, agent_id, captured_at, taas_request_id, taas_trace_id, openclaw_turn_id, openclaw_attempt, "
        + "autorouter_model, autorouter_algo, autorouter_algo_source, thinking_applied, routed_context_window, dedupe_key"
    try exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864; PRAGMA wal_autocheckpoint = 16384; "
        + "PRAGMA cache_size = -32768")
    try exec(db, "ATTACH DATABASE '\(source)' AS src")
    guard let batchSize else {
        let started = monotonicNs()
        try exec(db, "BEGIN IMMEDIATE; INSERT INTO main.captures (\(columns)) SELECT \(columns) FROM src.captures ORDER BY id; COMMIT")
        return monotonicNs() - started
    }
    var statement: OpaquePointer?
    let sql = "INSERT INTO main.captures (\(columns)) SELECT \(columns) FROM src.captures WHERE id > ?1 AND id <= ?2 ORDER BY id"
    guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
        throw BenchError("cannot prepare: \(String(cString: sqlite3_errmsg(db)))")
    }
    defer { sqlite3_finalize(statement) }
    var maxId: Int64 = 0
    var lookup: OpaquePointer?
    if sqlite3_prepare_v2(db, "SELECT max(id) FROM src.captures", -1, &lookup, nil) == SQLITE_OK, sqlite3_step(lookup) == SQLITE_ROW {
        maxId = sqlite3_column_int64(lookup, 0)
    }
    sqlite3_finalize(lookup)
    let started = monotonicNs()
    var low: Int64 = 0
    while low < maxId {
        try exec(db, "BEGIN IMMEDIATE")
        sqlite3_bind_int64(statement, 1, low)
        sqlite3_bind_int64(statement, 2, low + Int64(batchSize))
        guard sqlite3_step(statement) == SQLITE_DONE else { throw BenchError("INSERT failed: \(String(cString: sqlite3_errmsg(db)))") }
        sqlite3_reset(statement)
        try exec(db, "COMMIT")
        low += Int64(batchSize)
    }
    return monotonicNs() - started
}

private func exec(_ db: OpaquePointer, _ sql: String) throws {
    guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
        throw BenchError("SQL failed: \(String(cString: sqlite3_errmsg(db)))")
    }
}

/// Runs `body` `count` times and prints ops/s, p50 and p99 in microseconds.
private func measure(_ name: String, _ count: Int, _ body: () throws -> Void) throws {
    var samples: [UInt64] = []
    samples.reserveCapacity(count)
    for _ in 0..<count {
        let started = monotonicNs()
        try body()
        samples.append(monotonicNs() - started)
    }
    samples.sort()
    let total = seconds(samples.reduce(0, +))
    let p50 = Double(samples[samples.count / 2]) / 1000
    let p99 = Double(samples[min(samples.count - 1, samples.count * 99 / 100)]) / 1000
    print(format(name, Double(count) / total, "ops/s", total) + "  p50 " + fixed(p50, 1) + " µs  p99 " + fixed(p99, 1) + " µs")
}

private func format(_ name: String, _ rate: Double, _ unit: String, _ elapsed: Double) -> String {
    name + String(repeating: " ", count: max(1, 34 - name.count)) + fixed(rate, 0) + " " + unit + " (" + fixed(elapsed, 2) + " s)"
}

func fixed(_ value: Double, _ decimals: Int) -> String {
    let scale = (0..<decimals).reduce(1.0) { product, _ in product * 10 }
    let rounded = (value * scale).rounded() / scale
    var text = decimals == 0 ? String(Int64(rounded)) : String(rounded)
    if decimals > 0, let dot = text.firstIndex(of: ".") {
        let have = text.distance(from: dot, to: text.endIndex) - 1
        text += String(repeating: "0", count: max(0, decimals - have))
    }
    return text
}

func monotonicNs() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// CPU time of this process (user + system), including time the kernel spent writing for it.
func cpuNs() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

private func seconds(_ ns: UInt64) -> Double { Double(ns) / 1e9 }

private func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/store-bench-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { fatalError("mkdtemp failed") }
    return String(cString: made)
}
