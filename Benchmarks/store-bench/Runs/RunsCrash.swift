#if canImport(Glibc)
import Glibc
#endif

/// The crash test's two halves for runs as files built in the background (`scripts/runs-crash` kills the first
/// with SIGKILL at random moments, then runs the second):
///
/// - `store-bench runs-writer PATH FROM` records captures FROM, FROM+1, … in groups of 8, small runs (2,048
///   rows, so flushes and merges happen every second or so), and writes `acked N` to stdout, unbuffered, after
///   each group's commit: N and every capture before it are acknowledged.
/// - `store-bench runs-verify PATH THROUGH` opens the engine (start-up removes files no run names) and checks
///   that captures 0…THROUGH are all stored, and that no capture is stored twice.
private let crashRunRows = 2_048
private let crashRows = CaptureRows(sessions: 1_000, agents: 10)

private func crashEngine(_ path: String) throws -> RunsEngine {
    try RunsEngine(path: path, runRows: crashRunRows, fanout: 4, chunkRows: 1_024, indexes: [.agent], runFiles: true, builders: true)
}

func runsWriter(path: String, from: Int) throws -> Never {
    let engine = try crashEngine(path)
    var next = from
    while true {
        _ = try engine.record((next..<(next + 8)).map(crashRows.row))
        next += 8
        let line = "acked \(next - 1)\n"
        _ = line.withCString { write(1, $0, strlen($0)) }
    }
}

func runsVerify(path: String, through: Int) throws {
    let engine = try crashEngine(path)
    var missing = 0
    for index in 0...through where !(try stored(index, engine)) { missing += 1 }
    var last = through
    while try stored(last + 1, engine) { last += 1 }
    let rows = try engine.storedRows()
    print("runs-verify: acknowledged 0…\(through), \(missing) missing; stored 0…\(last) (\(last - through) more committed "
        + "than acknowledged); \(rows) rows in all, in the tail and \(engine.runs.count) runs")
    guard missing == 0, rows == last + 1 else {
        print("runs-verify: FAILED (\(missing) acknowledged captures missing, \(rows - (last + 1)) rows more than captures)")
        exit(1)
    }
}

private func stored(_ index: Int, _ engine: RunsEngine) throws -> Bool {
    let row = crashRows.row(index)
    guard case .text(let session) = row[CaptureRows.sessionColumn], case .text(let key) = row[CaptureRows.dedupeColumn] else {
        return false
    }
    return try engine.isStored(session: session, key: key)
}
