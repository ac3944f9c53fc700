// store-bench: measures CaptureStore's record path against SQLite's own INSERT … SELECT, then lastRoute and
// history latencies on the resulting database. Run in release mode: `swift run -c release store-bench`.
//
// `store-bench runs [--rows N …]` measures issue 22's sorted runs beside today's table (Runs/RunsBench.swift).
//
// `store-bench runs-writer PATH FROM` and `runs-verify PATH THROUGH` are the halves of `scripts/runs-crash`.
//
// `store-bench crash-writer DB` is a helper for the crash-recovery test: it records batches until killed.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "crash-writer", arguments.count == 2 {
    crashWriter(path: arguments[1])
} else if arguments.first == "runs-writer", arguments.count == 3, let from = Int(arguments[2]) {
    do { try runsWriter(path: arguments[1], from: from) } catch {
        printError("store-bench runs-writer: \(error)")
        exit(1)
    }
} else if arguments.first == "runs-verify", arguments.count == 3, let through = Int(arguments[2]) {
    do { try runsVerify(path: arguments[1], through: through) } catch {
        printError("store-bench runs-verify: \(error)")
        exit(1)
    }
} else if arguments.first == "runs" {
    do {
        try runRunsBenchmark(RunsOptions(Array(arguments.dropFirst())))
    } catch {
        printError("store-bench runs: \(error)")
        exit(1)
    }
} else {
    do {
        try runBenchmark(BenchOptions(arguments))
    } catch {
        printError("store-bench: \(error)")
        exit(1)
    }
}
