import XCTest

/// `prune`, `health` and `deriveSessionId` over the real socket.
final class AdminMethodTests: EndToEndTestCase {
    func testHealthReportsStatusCountsAndConfiguredRetention() throws {
        try startService(
            arguments: ["--durability", "full", "--max-age", "12h", "--max-per-session", "7", "--max-rows", "99"])
        let client = try connect()
        try client.record(session: "oc:h")
        let health = try client.result("taas.capture.health", [:])
        XCTAssertEqual(health["status"], "ok")
        XCTAssertFalse(health["version"]?.string?.isEmpty ?? true, health.encoded)
        XCTAssertGreaterThanOrEqual(health["schemaVersion"]?.int ?? 0, 1, health.encoded)
        XCTAssertEqual(health["captures"], 1)
        XCTAssertGreaterThan(health["dbBytes"]?.int ?? 0, 0, health.encoded)
        XCTAssertGreaterThanOrEqual(health["walBytes"]?.int ?? -1, 0, health.encoded)
        XCTAssertGreaterThanOrEqual(health["uptimeMs"]?.int ?? -1, 0, health.encoded)
        XCTAssertEqual(health["durability"], "full")
        let retention = try XCTUnwrap(health["retention"]?.object, health.encoded)
        let values = Set(retention.values.compactMap(\.int))
        XCTAssertTrue(values.isSuperset(of: [43_200_000, 7, 99]), "retention \(retention)")

        let withoutParams = try client.call("taas.capture.health", nil, id: 2)
        XCTAssertEqual(try expectResult(withoutParams)["status"], "ok", "params may be omitted")
    }

    func testPruneDryRunCountsWithoutDeletingThenPruneDeletes() throws {
        // Retention off in the service, so only the explicit prune calls remove anything.
        try startService(arguments: ["--max-age", "0", "--max-per-session", "0", "--max-rows", "0"])
        let client = try connect()
        let old = nowMs() - 10 * 86_400_000
        for index in 0..<3 { try client.record(session: "oc:old", capturedAt: old + Int64(index)) }
        let busyBase = nowMs() - 1_000
        for index in 0..<5 { try client.record(session: "oc:busy", capturedAt: busyBase + Int64(index)) }

        let dry = try client.result("taas.capture.prune", ["maxAgeMs": .int(86_400_000), "dryRun": true])
        XCTAssertEqual(dry["dryRun"], true)
        XCTAssertEqual(dry["deleted"], 3)
        XCTAssertEqual(dry["byRule"]?["age"], 3)
        XCTAssertEqual(dry["byRule"]?["perSession"], 0)
        XCTAssertEqual(dry["byRule"]?["rows"], 0)
        XCTAssertNotNil(dry["durationMs"]?.int, dry.encoded)
        XCTAssertNotNil(dry["remaining"]?.int, dry.encoded)
        XCTAssertEqual(try client.result("taas.autorouter.stats", [:])["total"], 8, "dry run deleted nothing")

        let real = try client.result("taas.capture.prune", ["maxAgeMs": .int(86_400_000)])
        XCTAssertEqual(real["dryRun"], false)
        XCTAssertEqual(real["deleted"], 3)
        XCTAssertEqual(real["remaining"], 5)
        XCTAssertEqual(try client.result("taas.autorouter.stats", [:])["total"], 5)
        XCTAssertEqual(try client.fullHistory(["sessionId": "oc:old"]).count, 0)

        let perSession = try client.result("taas.capture.prune", ["maxPerSession": 2])
        XCTAssertEqual(perSession["deleted"], 3)
        XCTAssertEqual(perSession["byRule"]?["perSession"], 3)
        let kept = try client.fullHistory(["sessionId": "oc:busy"]).compactMap { $0["capturedAt"]?.int }
        XCTAssertEqual(kept, [busyBase + 4, busyBase + 3], "exactly the newest two are kept")

        try client.record(session: "oc:other", capturedAt: nowMs())
        let rows = try client.result("taas.capture.prune", ["maxRows": 1])
        XCTAssertEqual(rows["deleted"], 2)
        XCTAssertEqual(rows["byRule"]?["rows"], 2)
        XCTAssertEqual(rows["remaining"], 1)
        XCTAssertEqual(try client.fullHistory(["sessionId": "oc:other"]).count, 1, "the newest row survives")
    }

    /// A long prune (paced: the writer serves records alone after each chunk) never holds records back: records sent
    /// on another connection while it runs are answered before it ends.
    func testRecordsAreAnsweredWhileALongPruneRuns() throws {
        try startService(arguments: ["--max-age", "0", "--max-per-session", "0", "--max-rows", "0"])
        let pruner = try startingAPruneOf(40_000)
        let recorder = try connect()
        let base = nowMs()
        for index in 0..<5 { try recorder.record(session: "oc:new", capturedAt: base + Int64(index)) }
        XCTAssertThrowsError(try pruner.readLine(timeout: 0.05), "the prune of 40,000 rows (20 chunks) is still running")
        let pruned = try expectResult(try pruner.readJSON(timeout: 120))
        XCTAssertEqual(pruned["deleted"], 40_000)
        XCTAssertEqual(pruned["remaining"], 5)
        XCTAssertEqual(try recorder.result("taas.autorouter.stats", [:])["total"], 5)
        XCTAssertEqual(try recorder.fullHistory(["sessionId": "oc:new"]).count, 5)
    }

    /// Stopping the service ends a long prune after the chunk under way (systemd's stop timeout is 30 s; a prune of
    /// millions of rows takes minutes): it exits on its own, and the next prune removes the rest.
    func testStoppingTheServiceEndsALongPruneAndTheNextOneFinishesIt() throws {
        let first = try startService(arguments: ["--max-age", "0", "--max-per-session", "0", "--max-rows", "0"])
        let pruner = try startingAPruneOf(200_000)
        XCTAssertThrowsError(try pruner.readLine(timeout: 1), "the prune of 200,000 rows (100 chunks) is under way")
        let started = Date()
        XCTAssertEqual(first.terminate(timeout: 10), 0, "exited on its own, without waiting for the whole prune")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertTrue(first.log.contains("prune stopped with the service"), first.log)

        try startService(arguments: ["--max-age", "0", "--max-per-session", "0", "--max-rows", "0"])
        let client = try connect()
        let rest = try client.result("taas.capture.prune", ["maxAgeMs": .int(86_400_000)], timeout: 120)
        XCTAssertGreaterThan(rest["deleted"]?.int ?? 0, 0)
        XCTAssertLessThan(rest["deleted"]?.int ?? 200_000, 200_000, "the first prune's chunks stayed deleted")
        XCTAssertEqual(rest["remaining"], 0)
        XCTAssertEqual(try client.result("taas.autorouter.stats", [:])["total"], 0)
    }

    /// Puts `count` captures ten days old (over 500 sessions) into the service's database with the sqlite3 shell, and
    /// asks, on a connection of its own (returned, its answer unread), to prune everything older than a day.
    private func startingAPruneOf(_ count: Int) throws -> LineClient {
        let old = nowMs() - 10 * 86_400_000
        _ = try sqliteShell(
            database: dbPath,
            sql: "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < \(count - 1)) "
                + "INSERT INTO captures (session_id, agent_id, captured_at, autorouter_model) "
                + "SELECT 'oc:old' || (i % 500), 'main', \(old) + i, 'm' FROM n;",
            scratch: workDirectory + "/seed.txt")
        let pruner = try connect()
        try pruner.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"taas.capture.prune","params":{"maxAgeMs":86400000}}"#)
        return pruner
    }

    func testDeriveSessionIdFollowsTheTiersWithNodeComputedIds() throws {
        try startService()
        let client = try connect()
        // Expected ids computed independently: node -e 'crypto.createHash("sha256").update(src)…slice(0,16)'.
        let cases: [(JSON, String, String)] = [
            (["localSessionId": "abc", "workspaceDir": "/tmp/ws/a/b", "agentId": "agent-7"],
             "oc:a29d803b477eb420", "session"),
            (["localSessionId": "日本語"], "oc:561e22f6fc7971e9", "session"),
            (["workspaceDir": "/tmp/ws/./a//b/../b/", "openclawSessionId": "oc-env-1"], "oc:70ddc30ff217e45f",
             "workspace"),
            (["workspaceDir": "/home/u/.openclaw/workspace-a/"], "oc:4418c0cfc47bf768", "workspace"),
            (["openclawSessionId": "oc-env-1", "agentId": "agent-7"], "oc:d6c6814c614d229a", "env"),
            (["agentId": "agent-7", "runId": "run-9", "stateDir": "/srv/openclaw-state"], "oc:301a6c48d1c97ce8",
             "agent"),
            (["runId": "run-9"], "oc:e652562d0bc5c403", "agent"),
            (["stateDir": "/srv/openclaw-state"], "oc:4f995c108cdce239", "stateDir"),
        ]
        for (params, sessionId, source) in cases {
            let result = try client.result("taas.affinity.deriveSessionId", params)
            XCTAssertEqual(result, ["sessionId": .string(sessionId), "source": .string(source)], params.encoded)
        }
        assertError(
            try client.call("taas.affinity.deriveSessionId", ["workspaceDir": "not/absolute"]), code: -32602,
            fields: ["workspaceDir"])
        assertError(
            try client.call("taas.affinity.deriveSessionId", ["localSessionId": 42]), code: -32602,
            fields: ["localSessionId"])
    }
}
