import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// The `taas-capture` subcommands against a running service and its database file.
final class CommandLineTests: EndToEndTestCase {
    private var socketArguments: [String] { ["--socket", socketPath] }

    func testRecordThenQueryCommandsPrintTheServiceResultsAsJSON() throws {
        try startService()
        let recorded = try runCLI(
            ["record"] + socketArguments + [
                "--session-id", "oc:cli", "--agent-id", "cli-agent", "--header", "x-taas-autorouted=true",
                "--header", "x-taas-autorouter-model=cli-model", "--header", "x-request-id=cli-req-1", "--json",
            ])
        assertSucceeded(recorded, "record")
        let recordResult = try recorded.json()
        XCTAssertEqual(recordResult["recorded"], true, recorded.stdout)
        let id = try XCTUnwrap(recordResult["id"]?.int, recorded.stdout)

        let last = try runCLI(["last-route"] + socketArguments + ["--session-id", "oc:cli", "--json"])
        assertSucceeded(last, "last-route")
        XCTAssertEqual(try last.json()["capture"]?["id"], .int(id))
        XCTAssertEqual(try last.json()["capture"]?["autorouterModel"], "cli-model")

        let byAgent = try runCLI(["last-route"] + socketArguments + ["--agent-id", "cli-agent", "--json"])
        assertSucceeded(byAgent, "last-route --agent-id")
        XCTAssertEqual(try byAgent.json()["sessionId"], "oc:cli")

        let history = try runCLI(["history"] + socketArguments + ["--session-id", "oc:cli", "--json"])
        assertSucceeded(history, "history")
        XCTAssertEqual(try history.json()["captures"]?.array?.count, 1)

        let stats = try runCLI(["stats"] + socketArguments + ["--json"])
        assertSucceeded(stats, "stats")
        XCTAssertEqual(try stats.json()["total"], 1)
        XCTAssertEqual(try stats.json()["byModel"], ["cli-model": 1])

        let table = try runCLI(["stats"] + socketArguments)
        assertSucceeded(table, "stats (table)")
        XCTAssertTrue(table.stdout.contains("cli-model"), "the readable table shows the model: \(table.stdout)")
    }

    func testLastRouteTableSaysSinceWhenTheCurrentModelServesTheAgent() throws {
        try startService()
        let client = try connect()
        let base: Int64 = 1_790_000_000_000
        // model-a at base+0, base+1000; then model-b at base+2000, base+3000, base+4000.
        for (index, model) in ["model-a", "model-a", "model-b", "model-b", "model-b"].enumerated() {
            let response = try client.call(
                "taas.autorouter.record",
                ["sessionId": "oc:since", "agentId": "since-agent", "capturedAt": .int(base + Int64(index) * 1000),
                 "headers": autoroutedHeaders(model: model, requestId: "since-\(index)")],
                id: .int(Int64(index)))
            XCTAssertEqual(response["result"]?["recorded"], true)
        }
        let table = try runCLI(["last-route"] + socketArguments + ["--agent-id", "since-agent"])
        assertSucceeded(table, "last-route (table)")
        let since = table.stdout.split(separator: "\n").first { $0.hasPrefix("model since") }.map(String.init) ?? ""
        // base+2000 ms is 2026-09-21T14:13:22Z: the first model-b capture, three in the run.
        XCTAssertTrue(since.contains("2026-09-21T14:13:22.000Z"), "model since: \(table.stdout)")
        XCTAssertTrue(since.contains("(3 captures)"), "model since: \(table.stdout)")
    }

    func testDeriveMatchesTheServiceAndResolvesRelativeWorkspaceAgainstTheWorkingDirectory() throws {
        try startService()
        let local = try runCLI(["derive", "--local-session-id", "abc", "--json"])
        assertSucceeded(local, "derive --local-session-id")
        XCTAssertEqual(try local.json()["sessionId"], "oc:a29d803b477eb420")

        let fromEnvironment = try runCLI(["derive", "--json"], environment: ["OPENCLAW_SESSION_ID": "oc-env-1"])
        assertSucceeded(fromEnvironment, "derive from the environment")
        XCTAssertEqual(try fromEnvironment.json()["sessionId"], "oc:d6c6814c614d229a")

        let workspace = workDirectory + "/agents-ws/workspace-a"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        let relative = try runCLI(
            ["derive", "--workspace-dir", "workspace-a/", "--json"], directory: workDirectory + "/agents-ws")
        assertSucceeded(relative, "derive --workspace-dir relative")
        let viaService = try connect().result("taas.affinity.deriveSessionId", ["workspaceDir": .string(workspace)])
        XCTAssertEqual(try relative.json()["sessionId"], viaService["sessionId"])
        XCTAssertEqual(try relative.json()["source"], "workspace")
    }

    func testPruneWorksOnTheDatabaseFileWhileTheServiceRuns() throws {
        try startService(arguments: ["--max-per-session", "0"])
        let client = try connect()
        for index in 0..<4 { try client.record(session: "oc:cli-prune", capturedAt: nowMs() - Int64(index) * 1_000) }
        let dry = try runCLI(["prune", "--db", dbPath, "--max-per-session", "1", "--dry-run", "--json"])
        assertSucceeded(dry, "prune --dry-run")
        XCTAssertEqual(try dry.json()["deleted"], 3, dry.stdout)
        XCTAssertEqual(try dry.json()["dryRun"], true, dry.stdout)
        XCTAssertEqual(try client.fullHistory(["sessionId": "oc:cli-prune"]).count, 4)

        let real = try runCLI(["prune", "--db", dbPath, "--max-per-session", "1", "--json"])
        assertSucceeded(real, "prune")
        let report = try real.json()
        XCTAssertEqual(report["deleted"], 3, real.stdout)
        XCTAssertEqual(report["byRule"]?["perSession"], 3, real.stdout)
        XCTAssertNotNil(report["durationMs"]?.int, real.stdout)
        let kept = try client.fullHistory(["sessionId": "oc:cli-prune"])
        XCTAssertEqual(kept.count, 1, "the service sees the prune")
        // Another process deleted rows under the service: its answers and its next id must not notice.
        let route = try client.result("taas.autorouter.lastRoute", ["sessionId": "oc:cli-prune"])
        XCTAssertEqual(route["capture"]?["id"], kept.first?["id"], route.encoded)
        let next = try client.record(session: "oc:cli-prune")
        XCTAssertGreaterThan(next, kept.first?["id"]?.int ?? Int64.max, "ids keep rising after another process pruned")
        XCTAssertEqual(try client.fullHistory(["sessionId": "oc:cli-prune"]).map { $0["id"]?.int }, [next, kept.first?["id"]?.int])
    }

    /// SPEC: `prune` runs "safely while the service runs"; `backup` copies the live database. Neither may
    /// make the service lose a capture it has acknowledged.
    func testPruneAndBackupWhileServingLoseNoAcknowledgedCapture() throws {
        let service = try startService(arguments: ["--max-per-session", "0"])
        let client = try connect()
        var ids: [Int64] = []
        for index in 0..<3 { ids.append(try client.record(session: "oc:live", requestId: "live-\(index)")) }
        assertSucceeded(try runCLI(["prune", "--db", dbPath, "--max-rows", "1000", "--dry-run", "--json"]), "prune")
        for index in 3..<6 { ids.append(try client.record(session: "oc:live", requestId: "live-\(index)")) }
        assertSucceeded(try runCLI(["backup", "--db", dbPath, "--to", workDirectory + "/live.sqlite3"]), "backup")
        for index in 6..<9 { ids.append(try client.record(session: "oc:live", requestId: "live-\(index)")) }

        let check = try runCLI(["prune", "--db", dbPath, "--max-rows", "1000", "--dry-run", "--json"])
        assertSucceeded(check, "prune --dry-run")
        XCTAssertEqual(try check.json()["remaining"], 9, "another process sees every committed capture: \(check.stdout)")
        let stats = try client.call("taas.autorouter.stats", [:], id: 2)
        XCTAssertEqual(stats["result"]?["total"], 9, "the service still reads its database: \(stats.encoded)")
        XCTAssertEqual(service.terminate(), 0, service.log)

        try startService()
        let after = try connect().fullHistory(["sessionId": "oc:live"]).compactMap { $0["id"]?.int }
        XCTAssertEqual(Set(after), Set(ids), "acknowledged captures after out-of-process prune and backup")
    }

    func testDoctorAndBackupProduceAHealthyCopy() throws {
        try startService()
        let client = try connect()
        for index in 0..<5 { try client.record(session: "oc:backup", requestId: "b-\(index)") }
        let doctor = try runCLI(["doctor", "--socket", socketPath, "--db", dbPath, "--json"])
        assertSucceeded(doctor, "doctor")
        XCTAssertNoThrow(try doctor.json(), "doctor --json prints JSON: \(doctor.stdout)")

        let copy = workDirectory + "/backup.sqlite3"
        let backup = try runCLI(["backup", "--db", dbPath, "--to", copy])
        assertSucceeded(backup, "backup")
        let header = try XCTUnwrap(FileManager.default.contents(atPath: copy)?.prefix(16))
        XCTAssertEqual(Array(header), Array("SQLite format 3\0".utf8), "the backup is a SQLite database")
        var info = stat()
        XCTAssertEqual(stat(copy, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600, "the backup is 0600")
        XCTAssertEqual(try sqliteIntegrityCheck(database: copy, scratch: workDirectory + "/backup-check.txt"), "ok")

        // The copy serves the same captures.
        try startService(socket: workDirectory + "/restored/capture.sock", db: copy)
        let restored = try LineClient.connect(path: workDirectory + "/restored/capture.sock")
        XCTAssertEqual(try restored.fullHistory(["sessionId": "oc:backup"]).count, 5)
    }

    func testUsageErrorsExitTwoAndFailuresExitOneWithOneLine() throws {
        for arguments in [
            ["serve", "--no-such-flag"],
            ["no-such-command"],
            ["serve", "--socket", socketPath, "--db", dbPath, "--durability", "sometimes"],
            ["serve", "--socket", socketPath, "--db", dbPath, "--max-age", "30x"],
        ] {
            let result = try runCLI(arguments, timeout: 15)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertFalse(result.stderr.isEmpty, "\(arguments) explains on stderr")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath), "a usage error starts nothing")

        let unreachable = try runCLI(
            ["stats", "--socket", workDirectory + "/nobody/here.sock", "--json"], timeout: 15)
        XCTAssertEqual(unreachable.status, 1, unreachable.stderr)
        let lines = unreachable.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        XCTAssertEqual(lines.count, 1, "one clear line: \(unreachable.stderr)")
    }

    func testDurationsAndRetentionFlagsReachTheService() throws {
        try startService(arguments: ["--max-age", "45s", "--prune-interval", "10m", "--max-rows", "0"])
        let health = try connect().result("taas.capture.health", [:])
        let values = Set(health["retention"]?.object?.values.compactMap(\.int) ?? [])
        XCTAssertTrue(values.contains(45_000), "45s → 45000 ms: \(health.encoded)")
    }
}
