import Foundation
import XCTest

/// SPEC v3 "Attribution" and "Budgets (warn only)" through the real binary: the fields recorded and read back,
/// bad values refused, stats by trigger and channel, `routeChanged` exact under concurrent writers, and budgets
/// set, listed, kept across a restart, counted in health and logged once.
final class AttributionTests: EndToEndTestCase {
    private func recordCall(
        _ client: LineClient, session: String, agent: String? = nil, model: String, capturedAt: Int64? = nil,
        attribution: [String: JSON] = [:], cost: Double? = nil
    ) throws -> JSON {
        var params: [String: JSON] = ["sessionId": .string(session), "headers": autoroutedHeaders(model: model)]
        if let agent { params["agentId"] = .string(agent) }
        if let capturedAt { params["capturedAt"] = .int(capturedAt) }
        if let cost { params["costUsd"] = .double(cost) }
        for (key, value) in attribution { params[key] = value }
        return try client.result("taas.autorouter.record", .object(params))
    }

    func testTheFieldsAreRecordedBesideHeadersAndInACaptureAndReadBack() throws {
        try startService()
        let client = try connect()
        _ = try recordCall(
            client, session: "oc:attr", model: "m1",
            attribution: ["trigger": "cron", "channel": "telegram", "timeToFirstByteMs": 850, "failureKind": "timeout"])
        _ = try client.result("taas.autorouter.record", [
            "sessionId": "oc:attr",
            "capture": ["autorouterModel": "m2", "trigger": "user", "channel": "webchat", "timeToFirstByteMs": 0],
        ])
        let history = try client.fullHistory(["sessionId": "oc:attr"])
        XCTAssertEqual(history.map { $0["trigger"] }, ["user", "cron"])
        XCTAssertEqual(history.map { $0["channel"] }, ["webchat", "telegram"])
        XCTAssertEqual(history.map { $0["timeToFirstByteMs"] }, [0, 850])
        XCTAssertEqual(history.map { $0["failureKind"] }, [.null, "timeout"])
        XCTAssertEqual(history.map { $0["routeChanged"] }, [true, false], "m1, then m2")
        let last = try client.result("taas.autorouter.lastRoute", ["sessionId": "oc:attr"])
        XCTAssertEqual(last["capture"]?["trigger"], "user")
        XCTAssertEqual(last["capture"]?["routeChanged"], true)
    }

    func testBadValuesAreRefusedNamingTheField() throws {
        try startService()
        let client = try connect()
        let cases: [(JSON, String)] = [
            (["trigger": .string(String(repeating: "t", count: 201))], "trigger"),
            (["channel": 5], "channel"),
            (["timeToFirstByteMs": -1], "timeToFirstByteMs"),
            (["timeToFirstByteMs": 2_147_483_648], "timeToFirstByteMs"),
            (["failureKind": "bad\u{1}kind"], "failureKind"),
        ]
        for (extra, field) in cases {
            var params: [String: JSON] = ["sessionId": "oc:bad", "headers": autoroutedHeaders()]
            for (key, value) in extra.object ?? [:] { params[key] = value }
            let answer = try client.call("taas.autorouter.record", .object(params))
            assertError(answer, code: -32602)
            XCTAssertEqual(answer["error"]?["data"]?["field"], .string(field))
        }
        let nested = try client.call("taas.autorouter.record", [
            "sessionId": "oc:bad", "capture": ["autorouterModel": "m", "timeToFirstByteMs": "fast"],
        ])
        assertError(nested, code: -32602)
        XCTAssertEqual(nested["error"]?["data"]?["field"], "capture.timeToFirstByteMs")
        XCTAssertEqual(try client.fullHistory(["sessionId": "oc:bad"]).count, 0, "nothing stored")
    }

    func testStatsGroupByTriggerAndChannelWithNoneAndHostileValues() throws {
        try startService()
        let client = try connect()
        let triggers: [JSON] = ["user", "cron", .null, "<img src=x onerror=alert(1)>", "user"]
        for (i, trigger) in triggers.enumerated() {
            var attribution: [String: JSON] = ["trigger": trigger]
            if i % 2 == 0 { attribution["channel"] = "c\(i % 3)" }
            _ = try recordCall(client, session: "oc:g\(i)", agent: "a", model: "m\(i % 2)", attribution: attribution, cost: 0.25)
        }
        let byTrigger = try client.result("taas.autorouter.stats", ["groupBy": "trigger"])
        let groups = Dictionary(uniqueKeysWithValues: (byTrigger["groups"]?.array ?? []).map { ($0["key"]?.string ?? "?", $0) })
        XCTAssertEqual(Set(groups.keys), ["user", "cron", "unknown", "<img src=x onerror=alert(1)>"])
        XCTAssertEqual(groups["user"]?["captures"], 2)
        XCTAssertEqual(groups["user"]?["models"], 1)
        XCTAssertEqual(groups["user"]?["lastModel"], .null, "a trigger has no one model")
        XCTAssertEqual(groups["user"]?["usage"]?["costUsd"], 0.5)
        let byChannel = try client.result("taas.autorouter.stats", ["groupBy": "channel", "agentId": "a"])
        XCTAssertEqual(Set((byChannel["groups"]?.array ?? []).compactMap { $0["key"]?.string }), ["c0", "c1", "c2", "unknown"])
        // The same groups once the writer has folded them into the rollups (after a quiet second).
        let folded = Date().addingTimeInterval(10)
        while Date() < folded, try client.result("taas.capture.health", [:])["statsRollupsBehind"] != 0 {
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTAssertEqual(try client.result("taas.autorouter.stats", ["groupBy": "trigger"])["groups"], byTrigger["groups"])
        assertError(try client.call("taas.autorouter.stats", ["groupBy": "weekday"]), code: -32602)
        let cli = try runCLI(["stats", "--socket", socketPath, "--by", "trigger"])
        assertSucceeded(cli, "stats --by trigger")
        XCTAssertTrue(cli.stdout.contains("<img src=x onerror=alert(1)>"), cli.stdout)
    }

    /// Eight connections record into the same sessions at once, with times out of order; each stored capture's
    /// `routeChanged` must be what the rows stored before it say: its model differs from that of the session's
    /// previous autorouted capture by (capturedAt, id) among the captures with smaller ids.
    func testRouteChangedIsExactUnderEightConcurrentWriters() throws {
        try startService()
        let base = nowMs() - 3_600_000
        let failures = Locked<[String]>([])
        let done = (0..<8).map { writer in
            spawnThread { [socketPath] in
                do {
                    let client = try LineClient.connect(path: socketPath)
                    defer { client.close() }
                    var lines: [String] = []
                    for i in 0..<150 {
                        let params: JSON = [
                            "sessionId": .string("oc:race\((i + writer) % 12)"),
                            "headers": autoroutedHeaders(model: "m\((i * 7 + writer) % 3)"),
                            "capturedAt": .int(base + Int64((i * 37 + writer * 11) % 900) * 1000),
                        ]
                        lines.append(Request.line("taas.autorouter.record", params, id: .int(Int64(i))))
                    }
                    try client.send(Array((lines.joined(separator: "\n") + "\n").utf8))
                    for _ in lines {
                        let answer = try client.readJSON(timeout: 30)
                        if answer["result"]?["recorded"] != true { failures.withLock { $0.append("\(answer)") } }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        for semaphore in done { semaphore.wait() }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let client = try connect()
        var checked = 0
        for session in 0..<12 {
            let rows = try client.fullHistory(["sessionId": .string("oc:race\(session)")])
            for row in rows {
                guard let id = row["id"]?.int, let at = row["capturedAt"]?.int else { return XCTFail("\(row)") }
                let previous = rows.filter { other in
                    guard let otherId = other["id"]?.int, let otherAt = other["capturedAt"]?.int else { return false }
                    return otherId < id && (otherAt, otherId) < (at, id)
                }.max { ($0["capturedAt"]?.int ?? 0, $0["id"]?.int ?? 0) < ($1["capturedAt"]?.int ?? 0, $1["id"]?.int ?? 0) }
                let expected = previous.map { $0["autorouterModel"] != row["autorouterModel"] } ?? false
                XCTAssertEqual(row["routeChanged"], .bool(expected), "session \(session) id \(id)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 8 * 150)
    }

    func testBudgetsAreSetListedKeptAcrossARestartAndLoggedOnce() throws {
        let service = try startService(arguments: ["--budget-check-interval", "200ms"])
        let client = try connect()
        assertError(try client.call("taas.capture.setBudget", ["agentId": "a", "sessionId": "s", "usdPerDay": 1]), code: -32602)
        assertError(try client.call("taas.capture.setBudget", ["usdPerDay": 1]), code: -32602)
        for bad: JSON in [0, -2, "ten", 1e9] {
            let answer = try client.call("taas.capture.setBudget", ["agentId": "a", "usdPerDay": bad])
            assertError(answer, code: -32602)
            XCTAssertEqual(answer["error"]?["data"]?["field"], "usdPerDay")
        }
        assertError(try client.call("taas.capture.setBudget", ["agentId": "a"]), code: -32602)
        let set = try client.result("taas.capture.setBudget", ["agentId": "a", "usdPerDay": 1])
        XCTAssertEqual(set["subject"], ["agentId": "a"])
        XCTAssertEqual(set["usdPerDay"], 1.0)
        XCTAssertEqual(set["previous"], .null)
        _ = try client.result("taas.capture.setBudget", ["sessionId": "oc:b2", "usdPerDay": 100])
        let yesterday = (nowMs() / 86_400_000) * 86_400_000 - 60_000
        _ = try recordCall(client, session: "oc:b1", agent: "a", model: "m", capturedAt: yesterday, cost: 50)
        _ = try recordCall(client, session: "oc:b1", agent: "a", model: "m", cost: 0.75)
        var listing = try client.result("taas.capture.budgets", [:])
        XCTAssertEqual(listing["count"], 2)
        XCTAssertEqual(listing["exceeded"], 0, "yesterday's 50 USD do not count today")
        _ = try recordCall(client, session: "oc:b2", agent: "a", model: "m", cost: 0.5)
        listing = try client.result("taas.capture.budgets", [:])
        XCTAssertEqual(listing["exceeded"], 1)
        let agent = listing["budgets"]?.array?.first { $0["subject"] == ["agentId": "a"] }
        XCTAssertEqual(agent?["spentTodayUsd"], 1.25)
        XCTAssertEqual(agent?["exceeded"], true)
        // health reports the budgets as the watch last checked them (every 200 ms here).
        var budgets: JSON? = nil
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            budgets = try client.result("taas.capture.health", [:])["budgets"]
            if budgets?["exceeded"] == 1 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(budgets?["count"], 2)
        XCTAssertEqual(budgets?["exceeded"], 1)
        XCTAssertNotEqual(budgets?["checkedAt"], .null)
        // One line per subject per day, however many checks see it exceeded.
        Thread.sleep(forTimeInterval: 1.2)
        XCTAssertEqual(service.stderr.components(separatedBy: "budget exceeded").count - 1, 1, service.stderr)
        XCTAssertFalse(service.stderr.contains("oc:b2"), "a budget within its amount is not logged")

        _ = service.terminate(timeout: 10)
        try startService()
        let again = try connect()
        XCTAssertEqual(try again.result("taas.capture.budgets", [:])["count"], 2, "budgets survive a restart")
        let cleared = try again.result("taas.capture.setBudget", ["agentId": "a", "usdPerDay": .null])
        XCTAssertEqual(cleared["previous"], 1.0)
        XCTAssertEqual(cleared["usdPerDay"], .null)
        let cli = try runCLI(["budgets", "--socket", socketPath])
        assertSucceeded(cli, "budgets")
        XCTAssertTrue(cli.stdout.contains("session oc:b2"), cli.stdout)
        let usage = try runCLI(["set-budget", "--socket", socketPath, "--agent-id", "a", "--session-id", "s", "3"])
        XCTAssertEqual(usage.status, 2, usage.stderr)
        assertSucceeded(try runCLI(["set-budget", "--socket", socketPath, "--agent-id", "z", "3.5"]), "set-budget")
        XCTAssertEqual(try again.result("taas.capture.budgets", [:])["count"], 2)
    }

    func testASchemaFiveDatabaseMigratesOnStartWithProgressInTheLog() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/schema5-captures.sqlite3")
        try FileManager.default.copyItem(atPath: fixture.path, toPath: dbPath)
        chmod(dbPath, 0o600)
        // The fixture's captures are a year old: retention by age is off here.
        let service = try startService(arguments: ["--max-age", "0"])
        let client = try connect()
        let health = try client.result("taas.capture.health", [:])
        XCTAssertEqual(health["schemaVersion"], 6)
        XCTAssertEqual(health["captures"], 240)
        XCTAssertTrue(service.stderr.contains("migrating the database"), service.stderr)
        XCTAssertTrue(service.stderr.contains("database migrated"), service.stderr)
        let stats = try client.result("taas.autorouter.stats", ["groupBy": "trigger"])
        XCTAssertEqual(stats["groups"]?.array?.map { $0["key"] }, ["unknown"])
        XCTAssertEqual(stats["total"], 240)
        service.terminate(timeout: 10).map { XCTAssertEqual($0, 0) }
        let again = try startService(arguments: ["--max-age", "0"])
        XCTAssertFalse(again.stderr.contains("migrating the database"), "once migrated, never again")
    }
}
