import Foundation
import XCTest

/// SPEC v2 "Operators' views": `stats` with `groupBy` and `limit`, and `taas-capture stats --by`.
final class GroupedStatsTests: EndToEndTestCase {
    private func record(_ client: LineClient, agent: String, session: String, model: String?, at: Int64, cacheRead: Int64) throws {
        var params: [String: JSON] = [
            "sessionId": .string(session), "agentId": .string(agent), "capturedAt": .int(at),
            "usage": ["input": 100, "output": 10, "cacheRead": .int(cacheRead), "cacheWrite": 0],
        ]
        params["headers"] = model.map { autoroutedHeaders(model: $0) } ?? ["x-taas-autorouted": "false"]
        XCTAssertEqual(try client.result("taas.autorouter.record", .object(params))["recorded"], true)
    }

    func testGroupsByAgentSessionAndModelMostCapturesFirst() throws {
        try startService()
        let client = try connect()
        let t: Int64 = 1_780_000_000_000
        // ops: m1, m1, m2, m2 (m2 since t+20), then one unrouted call; dev: m1 once.
        try record(client, agent: "ops", session: "oc:a", model: "m1", at: t, cacheRead: 0)
        try record(client, agent: "ops", session: "oc:a", model: "m1", at: t + 10, cacheRead: 300)
        try record(client, agent: "ops", session: "oc:b", model: "m2", at: t + 20, cacheRead: 300)
        try record(client, agent: "ops", session: "oc:b", model: "m2", at: t + 30, cacheRead: 300)
        try record(client, agent: "ops", session: "oc:b", model: nil, at: t + 40, cacheRead: 0)
        try record(client, agent: "dev", session: "oc:c", model: "m1", at: t + 5, cacheRead: 100)

        let byAgent = try client.result("taas.autorouter.stats", ["groupBy": "agent"])
        XCTAssertEqual(byAgent["total"], 6)
        let groups = try XCTUnwrap(byAgent["groups"]?.array)
        XCTAssertEqual(groups.map { $0["key"] }, ["ops", "dev"])
        XCTAssertEqual(groups[0]["captures"], 5)
        XCTAssertEqual(groups[0]["firstCapturedAt"], .int(t))
        XCTAssertEqual(groups[0]["lastCapturedAt"], .int(t + 40))
        XCTAssertEqual(groups[0]["lastModel"], "m2", "the newest routed capture's model")
        XCTAssertEqual(groups[0]["modelSince"], .int(t + 20))
        XCTAssertEqual(groups[0]["models"], 2, "m1 and m2; the unrouted call has no requested model")
        XCTAssertEqual(groups[0]["usage"]?["calls"], 5)
        XCTAssertEqual(groups[0]["usage"]?["cacheReadTokens"], 900)
        XCTAssertEqual(groups[0]["usage"]?["cacheHitRatio"], .double(900.0 / 1400.0))
        XCTAssertEqual(groups[1]["modelSince"], .int(t + 5))

        let bySession = try XCTUnwrap(try client.result("taas.autorouter.stats", ["groupBy": "session", "limit": 2])["groups"]?.array)
        XCTAssertEqual(bySession.map { $0["key"] }, ["oc:b", "oc:a"], "limit keeps the busiest")

        let byModel = try XCTUnwrap(try client.result("taas.autorouter.stats", ["groupBy": "model"])["groups"]?.array)
        XCTAssertEqual(byModel.map { $0["key"] }, ["m1", "m2", "unknown"])
        XCTAssertEqual(byModel.map { $0["captures"] }, [3, 2, 1])
        XCTAssertEqual(byModel[0]["lastModel"], "m1")
        XCTAssertEqual(byModel[2]["lastModel"], .null)

        let scoped = try XCTUnwrap(try client.result("taas.autorouter.stats", ["agentId": "ops", "groupBy": "session", "since": .int(t + 20)])["groups"]?.array)
        XCTAssertEqual(scoped.map { $0["key"] }, ["oc:b"], "selector and time range apply to the groups")
        XCTAssertNil(try client.result("taas.autorouter.stats", [:])["groups"], "no groups without groupBy")
    }

    /// The stats rollups (schema 4) fold in the background: every answer is the same before the fold, after it,
    /// and after `taas-capture prune` deleted captures from another process.
    func testAnswersAreTheSameBeforeAndAfterTheRollupsFoldAndAfterAPruneFromTheCommandLine() throws {
        let service = try startService(arguments: ["--max-per-session", "0"])
        let client = try connect()
        let t = nowMs() - 3 * 3_600_000 - 1_234
        for index in 0..<40 {
            try record(
                client, agent: "agent-\(index % 3)", session: "oc:s\(index % 7)", model: index % 5 == 0 ? nil : "m\(index % 2)",
                at: t + Int64(index) * 300_000, cacheRead: Int64(index))
        }
        let queries: [JSON] = [
            [:], ["groupBy": "agent"], ["groupBy": "session"], ["groupBy": "model"], ["agentId": "agent-1", "groupBy": "model"],
            ["groupBy": "agent", "since": .int(t + 3_600_000 + 7)], ["groupBy": "session", "until": .int(t + 7_200_000)],
            // Bounds at the ends of the integer range (the hour arithmetic must not overflow).
            ["groupBy": "model", "until": .int(Int64.min + 5)], ["groupBy": "agent", "since": .int(Int64.max - 3)],
            ["since": .int(Int64.min), "until": .int(Int64.max)],
        ]
        let answers = { () throws -> [JSON] in try queries.map { try client.result("taas.autorouter.stats", $0) } }
        let before = try answers()
        XCTAssertEqual(try client.result("taas.capture.health", [:])["statsRollupsBehind"], 40, "nothing folded yet")
        let deadline = Date().addingTimeInterval(10)
        while try client.result("taas.capture.health", [:])["statsRollupsBehind"] != 0, Date() < deadline { usleep(50_000) }
        XCTAssertEqual(try client.result("taas.capture.health", [:])["statsRollupsBehind"], 0, "folded after a quiet second")
        let after = try answers()
        for (query, (old, new)) in zip(queries, zip(before, after)) { XCTAssertEqual(old, new, "\(query.encoded)") }

        assertSucceeded(try runCLI(["prune", "--db", dbPath, "--max-per-session", "2", "--json"]), "prune")
        let pruned = try client.result("taas.autorouter.stats", ["groupBy": "session"])
        XCTAssertEqual(pruned["total"], 14, "2 in each of 7 sessions")
        XCTAssertEqual(pruned["groups"]?.array?.compactMap { $0["captures"]?.int }, Array(repeating: 2, count: 7))
        let byAgent = try XCTUnwrap(try client.result("taas.autorouter.stats", ["groupBy": "agent"])["groups"]?.array)
        XCTAssertEqual(byAgent.compactMap { $0["captures"]?.int }.reduce(0, +), 14, "the rollups lost what the CLI deleted")

        // doctor reads the mark from the file: killed right after 3 more records, before a quiet second passed.
        let doctorLine = { () throws -> JSON? in
            let doctor = try self.runCLI(["doctor", "--offline", "--db", self.dbPath, "--json"])
            return try doctor.json()["checks"]?.array?.first { $0["name"] == "schema" }?["detail"]
        }
        XCTAssertEqual(try doctorLine(), "version 6, 14 captures")
        for index in 0..<3 { try record(client, agent: "late", session: "oc:late", model: "m1", at: t + Int64(index), cacheRead: 0) }
        service.killHard()
        XCTAssertEqual(try doctorLine(), "version 6, 17 captures, 3 not yet in the stats rollups")
    }

    /// Captures deleted around retention (with the sqlite3 shell) leave the rollups counting them: `doctor` says
    /// so and fails, and `doctor --rebuild-rollups`, run while the service serves, folds everything again, after
    /// which the service's stats are right.
    func testDoctorFindsRollupsThatCountCapturesDeletedByHandAndRebuildsThem() throws {
        let service = try startService(arguments: ["--max-per-session", "0"])
        let client = try connect()
        for index in 0..<20 {
            try record(client, agent: "a\(index % 2)", session: "oc:h\(index % 4)", model: "m1", at: nowMs() - Int64(index), cacheRead: 0)
        }
        let deadline = Date().addingTimeInterval(10)
        while try client.result("taas.capture.health", [:])["statsRollupsBehind"] != 0, Date() < deadline { usleep(50_000) }
        XCTAssertEqual(service.terminate(), 0, service.log)
        _ = try sqliteShell(database: dbPath, sql: "DELETE FROM captures WHERE agent_id = 'a1';", scratch: workDirectory + "/delete.txt")

        let check = { (arguments: [String]) throws -> (status: Int32, checks: [String: JSON]) in
            let doctor = try self.runCLI(["doctor", "--offline", "--db", self.dbPath, "--json"] + arguments)
            let checks = try doctor.json()["checks"]?.array ?? []
            return (doctor.status, Dictionary(uniqueKeysWithValues: checks.compactMap { c in c["name"]?.string.map { ($0, c) } }))
        }
        // The rebuild runs beside a serving service, as an operator would run it.
        try startService(arguments: ["--max-per-session", "0"])
        let live = try connect()
        let broken = try check([])
        XCTAssertEqual(broken.status, 1)
        XCTAssertEqual(broken.checks["stats rollups"]?["ok"], false)
        XCTAssertEqual(
            broken.checks["stats rollups"]?["detail"], "they count 20 captures where 10 are stored (captures deleted by hand?)")
        XCTAssertEqual(broken.checks["stats rollups"]?["next"], "run 'taas-capture doctor --rebuild-rollups'")
        let mended = try check(["--rebuild-rollups"])
        XCTAssertEqual(mended.status, 0, "\(mended.checks)")
        XCTAssertEqual(mended.checks["rebuild stats rollups"]?["ok"], true)
        XCTAssertEqual(mended.checks["stats rollups"]?["detail"], "10 captures folded")

        let stats = try live.result("taas.autorouter.stats", ["groupBy": "agent"])
        XCTAssertEqual(stats["total"], 10)
        XCTAssertEqual(stats["groups"]?.array?.compactMap { $0["key"]?.string }, ["a0"])
        try record(live, agent: "a2", session: "oc:h9", model: "m1", at: nowMs(), cacheRead: 0)
        XCTAssertEqual(try live.result("taas.autorouter.stats", [:])["total"], 11, "the service records on")
        XCTAssertEqual(try check([]).status, 0)
    }

    func testBadGroupingParamsAreRefused() throws {
        try startService()
        let client = try connect()
        let cases: [(JSON, String)] = [
            (["groupBy": "host"], "groupBy"),
            (["groupBy": 1], "groupBy"),
            (["groupBy": "agent", "limit": 0], "limit"),
            (["groupBy": "agent", "limit": 1001], "limit"),
            (["limit": 5], "limit"),
        ]
        for (params, field) in cases {
            assertError(try client.call("taas.autorouter.stats", params), code: -32602, fields: [field], params.encoded)
        }
    }

    func testTheCLIPrintsOneRowPerAgent() throws {
        try startService()
        let client = try connect()
        try record(client, agent: "ops", session: "oc:a", model: "qwen3-coder", at: 1_780_000_000_000, cacheRead: 900)
        let table = try runCLI(["stats", "--socket", socketPath, "--by", "agent"])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("model since"), table.stdout)
        XCTAssertTrue(table.stdout.contains("ops"), table.stdout)
        XCTAssertTrue(table.stdout.contains("qwen3-coder"), table.stdout)
        XCTAssertTrue(table.stdout.contains("90.0%"), table.stdout)
        XCTAssertEqual(try runCLI(["stats", "--socket", socketPath, "--by", "host"]).status, 2)
        XCTAssertEqual(try runCLI(["stats", "--socket", socketPath, "--limit", "3"]).status, 2)
    }
}
