import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Holds SQLite's write lock on a database from another process (Python's sqlite3 module, which lets
/// the test see the exact moment the lock is held), so the service's writes hit its busy timeout.
final class WriteLockHolder {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    init(database: String) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw XCTSkip("needs /usr/bin/python3 to hold a SQLite write lock")
        }
        let script = """
            import sqlite3, sys
            try:
                con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=3)
                con.execute('BEGIN IMMEDIATE')
                con.execute('SELECT count(*) FROM sqlite_master').fetchall()
                print('locked', flush=True)
            except Exception as error:
                print('failed', error, flush=True)
                sys.exit(1)
            sys.stdin.readline()
            con.execute('ROLLBACK')
            """
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, database]
        process.environment = ["PATH": "/usr/bin:/bin"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// True once the lock is held; false if Python could not take it within a few seconds.
    func acquire(timeout: Double = 10) -> Bool {
        let fd = output.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(timeout)
        var text = ""
        while Date() < deadline {
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 200) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return false }
            text += String(decoding: chunk[..<count], as: UTF8.self)
            if text.contains("locked") { return true }
            if text.contains("failed") { return false }
        }
        return false
    }

    /// Rolls back and lets Python exit (idempotent).
    func release() {
        guard process.isRunning else { return }
        try? input.fileHandleForWriting.write(contentsOf: Array("\n".utf8))
        if !waitForExit(process, timeout: 5) {
            kill(process.processIdentifier, SIGKILL)
            _ = waitForExit(process, timeout: 5)
        }
    }

    deinit { release() }
}

/// `PRAGMA integrity_check` through the sqlite3 command-line shell.
func sqliteIntegrityCheck(database: String, scratch: String) throws -> String {
    try sqliteShell(database: database, sql: "PRAGMA integrity_check;", scratch: scratch)
}

/// Runs `sql` in the sqlite3 command-line shell (another process, as an operator would); returns its output.
func sqliteShell(database: String, sql: String, scratch: String) throws -> String {
    let shell = ["/usr/bin/sqlite3", "/usr/local/bin/sqlite3"].first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let shell else { throw XCTSkip("needs the sqlite3 shell (apt-get install -y sqlite3)") }
    let output = URL(fileURLWithPath: scratch)
    guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
        throw ServiceError(description: "cannot create \(scratch)")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: shell)
    process.arguments = ["-bail", database, sql]
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: output)
    process.standardError = process.standardOutput
    try process.run()
    guard waitForExit(process, timeout: 60) else {
        process.terminate()
        throw ServiceError(description: "sqlite3 did not finish \(sql)")
    }
    return ((try? String(contentsOf: output, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
}
