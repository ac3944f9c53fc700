import CSQLite
import CaptureStore

#if canImport(Glibc)
import Glibc
#endif

/// `--layouts indexed,runs-table,runs-files` measures today's table, runs as rows of one table, and runs as files
/// built on threads of their own, in one process (`runs` alone takes `--run-files` and `--builders`).
///
/// `store-bench runs`: the same captures into today's table (schema 6, four indexes, AUTOINCREMENT) and into
/// sorted runs (`RunsEngine`), one thread each, one after the other, with what each costs: ingest (every merge
/// and deletion counted), WAL pages a capture, one-capture commits, exact idempotency, reads, start-up, size
/// and retention. The two are checked against each other: every page read must name the same ids.
struct RunsOptions {
    var rows = 1_000_000
    var sessions = 10_000
    var agents = 100
    var group = 8
    var runRows = 16_384
    var fanout = 4
    var chunkRows = 8_192
    var samples = 20_000
    var skew = 0
    var runIndexes: RunsEngine.Indexes = [.agent, .dedupe]
    var runFiles = false
    var builders = false
    var layouts = ["indexed", "runs"]
    var directory: String?

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw BenchError("missing value for \(flag)") }
            switch flag {
            case "--dir": directory = value
            case "--layouts": layouts = value.split(separator: ",").map(String.init)
            case "--run-files": runFiles = value == "1"
            case "--builders": builders = value == "1"
            case "--run-indexes":
                runIndexes = []
                for name in value.split(separator: ",") {
                    switch name {
                    case "agent": runIndexes.insert(.agent)
                    case "dedupe": runIndexes.insert(.dedupe)
                    case "none": break
                    default: throw BenchError("--run-indexes takes agent, dedupe or none")
                    }
                }
            default:
                guard let number = Int(value), number > 0 else { throw BenchError("\(flag) needs a positive integer") }
                switch flag {
                case "--rows": rows = number
                case "--sessions": sessions = number
                case "--agents": agents = number
                case "--group": group = number
                case "--run-rows": runRows = number
                case "--fanout": fanout = number
                case "--chunk": chunkRows = number
                case "--samples": samples = number
                case "--skew": skew = number
                default: throw BenchError("unknown option \(flag)")
                }
            }
        }
    }
}

/// What one layout did with the captures: one writer for both, so the driver treats them alike.
private protocol Layout: AnyObject {
    var readsByAgent: Bool { get }
    var db: BenchDatabase { get }
    func record(_ rows: [[BenchValue]]) throws -> Int
    func settle() throws
    func prune(olderThan cutoff: Int64) throws -> UInt64
    func reader() throws -> LayoutReader
    var longestTransactionNs: UInt64 { get }
    var summary: String { get }
}

private final class IndexedLayout: Layout {
    let db: BenchDatabase
    private let path: String
    private let insert: BenchStatement
    private(set) var longestTransactionNs: UInt64 = 0

    init(path: String) throws {
        try CaptureWriter(path: path, durability: .normal).close()
        self.path = path
        db = try BenchDatabase(path: path)
        let columns = CaptureRows.columns.joined(separator: ", ")
        let binds = (1...CaptureRows.columns.count).map { "?\($0)" }.joined(separator: ", ")
        insert = try db.prepare("INSERT INTO captures (\(columns)) VALUES (\(binds)) ON CONFLICT DO NOTHING")
    }

    func record(_ rows: [[BenchValue]]) throws -> Int {
        let started = monotonicNs()
        try db.run("BEGIN IMMEDIATE")
        var stored = 0
        for row in rows {
            insert.bind(row)
            try insert.runToEnd()
            stored += Int(sqlite3_changes(db.handle))
        }
        let checkpoint = try db.commit()
        longestTransactionNs = max(longestTransactionNs, monotonicNs() - started - checkpoint)
        return stored
    }

    func settle() throws {}
    var readsByAgent: Bool { true }

    /// The service's retention: the oldest rows by the time index, 2,000 a transaction.
    func prune(olderThan cutoff: Int64) throws -> UInt64 {
        let delete = try db.prepare("""
            DELETE FROM captures WHERE id IN (SELECT id FROM captures WHERE captured_at < ?1 ORDER BY captured_at, id LIMIT 2000)
            """)
        var longest: UInt64 = 0
        while true {
            let started = monotonicNs()
            try db.run("BEGIN IMMEDIATE")
            delete.bind(.int(cutoff), at: 1)
            try delete.runToEnd()
            let changed = sqlite3_changes(db.handle)
            let checkpoint = try db.commit()
            longest = max(longest, monotonicNs() - started - checkpoint)
            if changed == 0 { return longest }
        }
    }

    func reader() throws -> LayoutReader { try IndexedReader(path: path) }
    var summary: String { "" }
}

private final class RunsLayout: Layout {
    private(set) var engine: RunsEngine
    private let path: String
    private let options: RunsOptions
    var db: BenchDatabase { engine.db }

    init(path: String, options: RunsOptions) throws {
        self.path = path
        self.options = options
        engine = try RunsEngine(
            path: path, runRows: options.runRows, fanout: options.fanout, chunkRows: options.chunkRows, indexes: options.runIndexes,
            runFiles: options.runFiles, builders: options.builders)
    }

    func record(_ rows: [[BenchValue]]) throws -> Int { try engine.record(rows).filter { $0 }.count }
    func settle() throws { try engine.settle() }
    var readsByAgent: Bool { engine.indexes.contains(.agent) }
    func prune(olderThan cutoff: Int64) throws -> UInt64 { try engine.prune(olderThan: cutoff) }
    func reader() throws -> LayoutReader { try RunsReader(path: path, engine: engine) }
    var longestTransactionNs: UInt64 { engine.counts.longestTransactionNs }

    /// Closes the engine and opens it again: the start-up a service would do.
    func reopen() throws -> UInt64 {
        let started = monotonicNs()
        engine = try RunsEngine(
            path: path, runRows: options.runRows, fanout: options.fanout, chunkRows: options.chunkRows, indexes: options.runIndexes,
            runFiles: options.runFiles, builders: options.builders)
        return monotonicNs() - started
    }

    var summary: String {
        let counts = engine.counts
        let levels = Dictionary(grouping: engine.runs, by: \.level).sorted { $0.key < $1.key }
            .map { "L\($0.key)×\($0.value.count)" }.joined(separator: " ")
        let seconds = { (ns: UInt64) in fixed(Double(ns) / 1e9, 1) + " s" }
        return "runs \(engine.runs.count) (\(levels)), flushes \(counts.flushes) (" + seconds(counts.flushNs) + "), merges \(counts.merges) "
            + "in \(counts.mergeChunks) chunks (" + seconds(counts.mergeNs) + "), deletion chunks \(counts.deleteChunks) ("
            + seconds(counts.deleteNs) + "), upkeep on the writer's thread with its checkpoints " + seconds(counts.maintenanceNs)
            + (engine.backgroundNs > 0 ? ", on the builders' threads " + seconds(engine.backgroundNs) : "") + ", filter positives \(counts.bloomPositives) "
            + "(exact hits \(counts.exactHits)); longest flush " + fixed(Double(counts.longestFlushNs) / 1e6, 1)
            + " ms, merge chunk " + fixed(Double(counts.longestMergeChunkNs) / 1e6, 1) + " ms, deletion chunk "
            + fixed(Double(counts.longestDeleteChunkNs) / 1e6, 1) + " ms"
    }
}

func runRunsBenchmark(_ options: RunsOptions) throws {
    let directory = options.directory ?? "/tmp"
    let source = CaptureRows(sessions: options.sessions, agents: options.agents, skew: options.skew)
    print("store-bench runs: \(options.rows) captures, \(options.sessions) sessions, \(options.agents) agents, "
        + "groups of \(options.group); runs of \(options.runRows), fanout \(options.fanout), chunks of \(options.chunkRows), "
        + "run indexes \(options.runIndexes.contains(.agent) ? "agent " : "")\(options.runIndexes.contains(.dedupe) ? "dedupe" : "")"
        + (options.runFiles ? ", runs as files" : "") + (options.builders ? " built on two threads of their own" : "") + "; "
        + "SQLite \(String(cString: sqlite3_libversion()))")
    var readers: [String: LayoutReader] = [:]
    var layouts: [String: Layout] = [:]
    for name in options.layouts {
        let path = directory + "/layout-\(name).sqlite3"
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
        var runsOptions = options
        switch name {
        case "runs-table": (runsOptions.runFiles, runsOptions.builders) = (false, false)
        case "runs-files": (runsOptions.runFiles, runsOptions.builders) = (true, true)
        default: break
        }
        let layout: Layout = name.hasPrefix("runs") ? try RunsLayout(path: path, options: runsOptions) : try IndexedLayout(path: path)
        print("\n== \(name)")
        try ingest(layout, source, options)
        try singleCommits(layout, source, options)
        try duplicates(layout, source, options)
        if let runs = layout as? RunsLayout {
            let reopenNs = try runs.reopen()
            print("start-up (catalog, filters, tail): " + fixed(Double(reopenNs) / 1e6, 1) + " ms")
        }
        print("file: " + fixed(Double(fileBytes(path)) / 1e6, 1) + " MB (with its WAL)")
        let reader = try layout.reader()
        try reads(reader, source, options, byAgent: layout.readsByAgent)
        readers[name] = reader
        layouts[name] = layout
        print("RssAnon after reads: \(rssAnonKB()) kB (this process, every layout so far)")
    }
    for (name, runs) in readers where name.hasPrefix("runs") {
        guard let indexed = readers["indexed"] else { break }
        try compare(indexed, runs, source, byAgent: layouts[name]?.readsByAgent ?? false)
        print("(\(name) against indexed)")
    }
    for name in options.layouts {
        guard let layout = layouts[name] else { continue }
        let cutoff = 1_700_000_000_000 + Int64(options.rows / 2)
        let started = monotonicNs()
        let longest = try layout.prune(olderThan: cutoff)
        print("\(name): prune the older half: " + fixed(Double(monotonicNs() - started) / 1e9, 2)
            + " s, longest transaction " + fixed(Double(longest) / 1e6, 1) + " ms")
    }
}

private func ingest(_ layout: Layout, _ source: CaptureRows, _ options: RunsOptions) throws {
    layout.db.resetCounts()
    let started = monotonicNs()
    let startedCpu = cpuNs()
    var next = 0
    var stored = 0
    var lap = monotonicNs()
    var latencies: [UInt32] = []
    latencies.reserveCapacity(options.rows / options.group + 1)
    while next < options.rows {
        let count = min(options.group, options.rows - next)
        let rows = (next..<(next + count)).map(source.row)
        let one = monotonicNs()
        stored += try layout.record(rows)
        latencies.append(UInt32(min(UInt64(UInt32.max), (monotonicNs() - one) / 1000)))
        next += count
        if next % 1_000_000 == 0 {
            print("  \(next): " + fixed(1e6 / (Double(monotonicNs() - lap) / 1e9), 0) + " captures/s over the last million")
            lap = monotonicNs()
        }
    }
    let recordedNs = monotonicNs() - started
    try layout.settle()
    let allNs = monotonicNs() - started
    let cpu = cpuNs() - startedCpu
    precondition(stored == options.rows, "stored \(stored) of \(options.rows)")
    print("ingest: " + fixed(Double(options.rows) / (Double(allNs) / 1e9), 0) + " captures/s with all upkeep ("
        + fixed(Double(allNs) / 1e9, 1) + " s wall, " + fixed(Double(cpu) / 1e9, 1) + " s CPU; "
        + fixed(Double(recordedNs) / 1e9, 1) + " s before the last upkeep was drained)")
    print("  WAL pages a capture (every commit, upkeep too): "
        + fixed(Double(layout.db.framesWritten) / Double(options.rows), 2) + "; commits \(layout.db.commits); "
        + "longest transaction " + fixed(Double(layout.longestTransactionNs) / 1e6, 1) + " ms (checkpoints apart: "
        + "\(layout.db.checkpoints), " + fixed(Double(layout.db.checkpointNs) / 1e9, 1) + " s in all, longest "
        + fixed(Double(layout.db.longestCheckpointNs) / 1e6, 1) + " ms)")
    latencies.sort()
    let quantile = { (q: Double) in String(latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))]) }
    print("  a group's record call (commit, and the upkeep after it): p50 \(quantile(0.5)) µs, p99 \(quantile(0.99)) µs, "
        + "p99.9 \(quantile(0.999)) µs, max \(latencies.last ?? 0) µs")
    if !layout.summary.isEmpty { print("  " + layout.summary) }
}

/// One capture a commit, as c=1 does: µs a commit and WAL pages a commit on the populated file.
private func singleCommits(_ layout: Layout, _ source: CaptureRows, _ options: RunsOptions) throws {
    layout.db.resetCounts()
    let count = 5_000
    var samples: [UInt64] = []
    let startedCpu = cpuNs()
    for index in options.rows..<(options.rows + count) {
        let started = monotonicNs()
        _ = try layout.record([source.row(index)])
        samples.append(monotonicNs() - started)
    }
    let cpu = cpuNs() - startedCpu
    samples.sort()
    print("one capture a commit (\(count)): p50 " + fixed(Double(samples[count / 2]) / 1e3, 1) + " µs, p99 "
        + fixed(Double(samples[count * 99 / 100]) / 1e3, 1) + " µs, CPU " + fixed(Double(cpu) / Double(count) / 1e3, 1)
        + " µs a capture, WAL pages a commit " + fixed(Double(layout.db.framesWritten) / Double(layout.db.commits), 2))
}

/// Every capture recorded again (a random 10,000 of them, in groups) must be refused: idempotency stays exact.
private func duplicates(_ layout: Layout, _ source: CaptureRows, _ options: RunsOptions) throws {
    var random = SplitMix(seed: 99)
    let picks = (0..<10_000).map { _ in random.next(below: options.rows) }
    let started = monotonicNs()
    var stored = 0
    for start in stride(from: 0, to: picks.count, by: options.group) {
        stored += try layout.record(picks[start..<min(picks.count, start + options.group)].map(source.row))
    }
    precondition(stored == 0, "\(stored) duplicates were stored")
    print("duplicates: 10,000 recorded again, 0 stored, " + fixed(Double(monotonicNs() - started) / 1e4 / 1e3, 1)
        + " µs a capture")
}

private func reads(_ reader: LayoutReader, _ source: CaptureRows, _ options: RunsOptions, byAgent: Bool) throws {
    var random = SplitMix(seed: 7)
    try timed("lastRoute by session", options.samples) {
        _ = try reader.newest(session: source.sessionIds[random.next(below: source.sessionIds.count)], limit: 1)
    }
    try timed("history 100 by session", options.samples / 5) {
        _ = try reader.newest(session: source.sessionIds[random.next(below: source.sessionIds.count)], limit: 100)
    }
    guard byAgent else { return }
    try timed("history 100 by agent", options.samples / 5) {
        let ids = try reader.newest(agent: source.agentIds[random.next(below: source.agentIds.count)], limit: 100)
        precondition(ids.count == 100)
    }
}

/// Both layouts hold the same captures under the same ids: every page must match.
private func compare(_ indexed: LayoutReader, _ runs: LayoutReader, _ source: CaptureRows, byAgent: Bool) throws {
    var pages = 0
    for session in source.sessionIds.prefix(500) {
        for limit in [1, 7, 100] {
            let expected = try indexed.newest(session: session, limit: limit)
            let got = try runs.newest(session: session, limit: limit)
            precondition(expected == got, "session \(session) limit \(limit): \(expected.prefix(5)) vs \(got.prefix(5))")
            pages += 1
        }
    }
    for agent in byAgent ? source.agentIds : [] {
        let expected = try indexed.newest(agent: agent, limit: 100)
        let got = try runs.newest(agent: agent, limit: 100)
        precondition(expected == got, "agent \(agent)")
        pages += 1
    }
    print("\nboth layouts give the same ids on \(pages) pages")
}

private func timed(_ name: String, _ count: Int, _ body: () throws -> Void) throws {
    var samples: [UInt64] = []
    samples.reserveCapacity(count)
    let started = monotonicNs()
    for _ in 0..<count {
        let one = monotonicNs()
        try body()
        samples.append(monotonicNs() - one)
    }
    let total = Double(monotonicNs() - started) / 1e9
    samples.sort()
    print(name.padding(toLength: 26, withPad: " ", startingAt: 0) + fixed(Double(count) / total, 0) + " ops/s, p50 "
        + fixed(Double(samples[count / 2]) / 1e3, 1) + " µs, p99 " + fixed(Double(samples[count * 99 / 100]) / 1e3, 1) + " µs")
}

/// The database, its WAL and any run files beside it.
private func fileBytes(_ path: String) -> Int {
    let names = [path, path + "-wal"] + RunFiles.runFileNames(in: path + ".runs").map { path + ".runs/" + $0 }
    return names.reduce(0) { total, name in
        var info = stat()
        return total + (stat(name, &info) == 0 ? Int(info.st_size) : 0)
    }
}

/// This process's anonymous resident memory, from /proc/self/status (0 where there is none).
private func rssAnonKB() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return 0 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix("RssAnon:") { return Int(text.split(separator: " ").dropFirst().first ?? "0") ?? 0 }
    }
    return 0
}
