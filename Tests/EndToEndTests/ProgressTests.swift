import Foundation
import XCTest

/// SPEC v2: `prune` and `backup` show progress on a terminal, and not with `--json` or when stdout is
/// not a terminal. The terminal is a real pseudo-terminal from util-linux `script`.
final class ProgressTests: EndToEndTestCase {
    /// Runs the binary under `script`, so its stdout is a terminal; returns everything the terminal got.
    private func runOnTerminal(_ arguments: [String]) throws -> (status: Int32, screen: String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), let binary = TaasCaptureBinary.path else {
            throw XCTSkip("needs util-linux script and the binary")
        }
        let command = ([binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let output = URL(fileURLWithPath: workDirectory + "/terminal.out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        process.environment = isolatedEnvironment(home: homeDirectory, overrides: [:])
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    /// 130 captures over 65 sessions: a per-session prune yields (and reports) after 64 sessions.
    private func fill() throws {
        try startService()
        let client = try connect()
        for i in 0..<130 { try client.record(session: "oc:progress-\(i % 65)", capturedAt: 1_780_000_000_000 + Int64(i)) }
    }

    func testPruneShowsProgressOnATerminalOnly() throws {
        try fill()
        let onTerminal = try runOnTerminal(["prune", "--db", dbPath, "--max-age", "0", "--max-per-session", "1", "--max-rows", "0"])
        XCTAssertEqual(onTerminal.status, 0, onTerminal.screen)
        XCTAssertTrue(onTerminal.screen.contains("pruning: "), onTerminal.screen)
        XCTAssertTrue(onTerminal.screen.contains("removed 65 captures"), onTerminal.screen)

        let piped = try runCLI(["prune", "--db", dbPath, "--dry-run"])
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertFalse(piped.stderr.contains("pruning"), "no progress when stdout is not a terminal")
        let json = try runOnTerminal(["prune", "--db", dbPath, "--dry-run", "--json"])
        XCTAssertFalse(json.screen.contains("pruning"), "no progress with --json")
        XCTAssertTrue(json.screen.contains("\"dryRun\":true"), json.screen)
    }

    func testBackupShowsProgressOnATerminalOnly() throws {
        try fill()
        let onTerminal = try runOnTerminal(["backup", "--db", dbPath, "--to", workDirectory + "/copy-1.sqlite3"])
        XCTAssertEqual(onTerminal.status, 0, onTerminal.screen)
        XCTAssertTrue(onTerminal.screen.contains("backing up: "), onTerminal.screen)
        XCTAssertTrue(onTerminal.screen.contains("pages (100%)"), onTerminal.screen)
        let piped = try runCLI(["backup", "--db", dbPath, "--to", workDirectory + "/copy-2.sqlite3"])
        XCTAssertEqual(piped.status, 0, piped.stderr)
        XCTAssertFalse(piped.stderr.contains("backing up"))
        let json = try runOnTerminal(["backup", "--db", dbPath, "--to", workDirectory + "/copy-3.sqlite3", "--json"])
        XCTAssertFalse(json.screen.contains("backing up"))
        XCTAssertTrue(json.screen.contains("\"backedUp\":true"), json.screen)
        let copy = try runCLI(["doctor", "--offline", "--db", workDirectory + "/copy-1.sqlite3"])
        XCTAssertEqual(copy.status, 0, copy.stdout + copy.stderr)
    }
}
