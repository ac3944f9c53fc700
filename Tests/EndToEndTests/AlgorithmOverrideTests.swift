import Foundation
import XCTest

/// SPEC v2 "Algorithm overrides" against the real binary: set, clear, list, follow by version, bad input,
/// persistence across restarts and kill -9, and the CLI.
final class AlgorithmOverrideTests: EndToEndTestCase {
    func testSetClearAndListOverridesWithVersions() throws {
        try startService()
        let client = try connect()
        let agent = try client.result("taas.autorouter.setAlgorithm", ["agentId": "ops", "algorithm": "cost"])
        XCTAssertEqual(agent["agentId"], "ops")
        XCTAssertEqual(agent["algorithm"], "cost")
        XCTAssertEqual(agent["previous"], .null)
        XCTAssertEqual(agent["version"], 1)
        XCTAssertNotNil(agent["updatedAt"]?.int)

        let session = try client.result("taas.autorouter.setAlgorithm", ["sessionId": "oc:00000000000000aa", "algorithm": "ttft"])
        XCTAssertEqual(session["version"], 2)
        let changed = try client.result("taas.autorouter.setAlgorithm", ["sessionId": "oc:00000000000000aa", "algorithm": "tps"])
        XCTAssertEqual(changed["previous"], "ttft")
        XCTAssertEqual(changed["version"], 3)
        let same = try client.result("taas.autorouter.setAlgorithm", ["sessionId": "oc:00000000000000aa", "algorithm": "tps"])
        XCTAssertEqual(same["version"], 3, "setting what is set changes nothing")

        // A workspace selector derives the session, as for lastRoute.
        let derived = try client.result("taas.autorouter.setAlgorithm", ["workspaceDir": "/home/u/.openclaw/workspace-a", "algorithm": "best_fit"])
        let derivedSession = try XCTUnwrap(derived["sessionId"]?.string)
        XCTAssertTrue(derivedSession.hasPrefix("oc:"))

        let cleared = try client.result("taas.autorouter.setAlgorithm", ["agentId": "ops", "algorithm": .null])
        XCTAssertEqual(cleared["algorithm"], .null)
        XCTAssertEqual(cleared["previous"], "cost")
        XCTAssertEqual(cleared["version"], 5)

        let all = try client.result("taas.autorouter.algorithms", [:])
        XCTAssertEqual(all["version"], 5)
        let active = try XCTUnwrap(all["overrides"]?.array).map { [$0["sessionId"] ?? $0["agentId"], $0["algorithm"]] }
        XCTAssertEqual(active, [[.string("oc:00000000000000aa"), "tps"], [.string(derivedSession), "best_fit"]], "only active pins")

        let since = try client.result("taas.autorouter.algorithms", ["sinceVersion": 3])
        XCTAssertEqual(since["version"], 5)
        let changes = try XCTUnwrap(since["overrides"]?.array)
        XCTAssertEqual(changes.count, 2)
        XCTAssertEqual(changes[1]["agentId"], "ops")
        XCTAssertEqual(changes[1]["algorithm"], .null, "a cleared pin is reported to followers")
        let none = try client.result("taas.autorouter.algorithms", ["sinceVersion": 5])
        XCTAssertEqual(none, ["overrides": [], "version": 5])
    }

    func testBadOverrideParamsAreRefusedAndChangeNothing() throws {
        try startService()
        let client = try connect()
        _ = try client.result("taas.autorouter.setAlgorithm", ["agentId": "ops", "algorithm": "cost"])
        let cases: [(JSON, String)] = [
            (["agentId": "ops", "algorithm": "fastest"], "algorithm"),
            (["agentId": "ops", "algorithm": 3], "algorithm"),
            (["agentId": "ops"], "algorithm"),
            (["algorithm": "cost"], "params"),
            (["agentId": "ops", "sessionId": "oc:1", "algorithm": "cost"], "params"),
            (["agentId": "ops", "workspaceDir": "/w", "algorithm": "cost"], "params"),
            (["agentId": .string(String(repeating: "a", count: 201)), "algorithm": "cost"], "agentId"),
            (["sessionId": "", "algorithm": "cost"], "sessionId"),
            (["workspaceDir": "relative/ws", "algorithm": "cost"], "workspaceDir"),
        ]
        for (params, field) in cases {
            assertError(try client.call("taas.autorouter.setAlgorithm", params), code: -32602, fields: [field], params.encoded)
        }
        assertError(try client.call("taas.autorouter.algorithms", ["sinceVersion": -1]), code: -32602, fields: ["sinceVersion"])
        assertError(try client.call("taas.autorouter.algorithms", ["sinceVersion": "1"]), code: -32602, fields: ["sinceVersion"])
        let all = try client.result("taas.autorouter.algorithms", [:])
        XCTAssertEqual(all["version"], 1, "nothing changed")
        XCTAssertEqual(all["overrides"]?[0]?["algorithm"], "cost")
    }

    func testOverridesSurviveARestartAndAreNotTouchedByRetention() throws {
        let service = try startService()
        _ = try connect().result("taas.autorouter.setAlgorithm", ["sessionId": "oc:keep", "algorithm": "savings_curve"])
        XCTAssertEqual(service.terminate(), 0)
        try startService()
        let client = try connect()
        let pruned = try client.result("taas.capture.prune", ["maxRows": 1, "maxAgeMs": 1, "maxPerSession": 1])
        XCTAssertEqual(pruned["dryRun"], false)
        let all = try client.result("taas.autorouter.algorithms", [:])
        XCTAssertEqual(all["overrides"]?[0]?["sessionId"], "oc:keep")
        XCTAssertEqual(all["overrides"]?[0]?["algorithm"], "savings_curve")
    }

    func testKillDashNineInTheMiddleOf200SetAlgorithmCallsLosesNoAcknowledgedOne() throws {
        let service = try startService()
        let client = try connect()
        let algorithms = ["best_fit", "price_performance", "savings_curve", "cost", "ttft", "tps"]
        var lines = ""
        for i in 0..<200 {
            let params: JSON = ["sessionId": .string("oc:kill-\(i)"), "algorithm": .string(algorithms[i % 6])]
            lines += Request.line("taas.autorouter.setAlgorithm", params, id: .int(Int64(i))) + "\n"
        }
        try client.send(Array(lines.utf8))
        var acknowledged: [Int64: String] = [:]
        for _ in 0..<70 {
            let response = try client.readJSON()
            let result = try expectResult(response)
            acknowledged[try XCTUnwrap(response["id"]?.int)] = result["algorithm"]?.string
        }
        service.killHard()
        XCTAssertEqual(acknowledged.count, 70)

        try startService()
        let all = try connect().result("taas.autorouter.algorithms", [:])
        var stored: [String: String] = [:]
        for item in all["overrides"]?.array ?? [] {
            stored[try XCTUnwrap(item["sessionId"]?.string)] = item["algorithm"]?.string
        }
        for (i, algorithm) in acknowledged {
            XCTAssertEqual(stored["oc:kill-\(i)"], algorithm, "acknowledged override \(i) survived kill -9")
        }
        for (session, algorithm) in stored {
            let i = try XCTUnwrap(Int(session.dropFirst("oc:kill-".count)))
            XCTAssertEqual(algorithm, algorithms[i % 6], "no override altered")
        }
        XCTAssertEqual(try runCLI(["doctor", "--offline", "--db", dbPath]).status, 0, "integrity ok after kill -9")
    }

    func testTheCLISetsClearsAndListsOverrides() throws {
        try startService()
        let set = try runCLI(["set-algorithm", "--socket", socketPath, "--agent-id", "ops", "price_performance"])
        XCTAssertEqual(set.status, 0, set.stderr)
        XCTAssertTrue(set.stdout.contains("agent ops: price_performance"), set.stdout)
        let list = try runCLI(["algorithms", "--socket", socketPath, "--json"])
        XCTAssertEqual(list.status, 0, list.stderr)
        let listed = try JSON.parse(list.stdout)
        XCTAssertEqual(listed["overrides"]?[0]?["agentId"], "ops")
        let bad = try runCLI(["set-algorithm", "--socket", socketPath, "--agent-id", "ops", "warp"])
        // An unknown value is bad usage, refused before anything is sent (issue 18: was exit 1, the service's refusal).
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("unknown algorithm 'warp'"), bad.stderr)
        let neither = try runCLI(["set-algorithm", "--socket", socketPath, "--agent-id", "ops"])
        XCTAssertEqual(neither.status, 2)
        let clear = try runCLI(["set-algorithm", "--socket", socketPath, "--agent-id", "ops", "--clear"])
        XCTAssertEqual(clear.status, 0, clear.stderr)
        XCTAssertEqual(try connect().result("taas.autorouter.algorithms", [:])["overrides"], [])
    }
}
