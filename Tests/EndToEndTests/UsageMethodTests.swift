import Foundation
import XCTest

/// SPEC v2 "Usage and prompt-cache figures" against the real binary: record with usage, stats' usage
/// block, lastRoute over autorouted captures only, strict validation, and a schema-1 file migrated on start.
final class UsageMethodTests: EndToEndTestCase {
    private let session = "oc:00000000000000aa"

    private func recordParams(_ extra: [String: JSON], headers: JSON? = nil) -> JSON {
        var params: [String: JSON] = ["sessionId": .string(session), "agentId": "ops", "headers": headers ?? autoroutedHeaders(model: "qwen3-coder")]
        for (key, value) in extra { params[key] = value }
        return .object(params)
    }

    func testUsageBesideHeadersIsStoredAndSummedInStats() throws {
        try startService()
        let client = try connect()
        let routed = try client.result("taas.autorouter.record", recordParams([
            "usage": ["input": 100, "output": 20, "cacheRead": 300, "cacheWrite": 100],
            "provider": "cloudsigma", "requestedModel": "cloudsigma/auto", "costUsd": 0.5, "cacheSavedUsd": 0.125,
            "durationMs": 1500, "outcome": "ok",
        ]))
        XCTAssertEqual(routed["recorded"], true)
        // TaaS did not route this one, but it has usage: stored with autorouted false and no route.
        let unrouted = try client.result("taas.autorouter.record", recordParams(
            ["usage": ["input": 500], "requestedModel": "cloudsigma/gpt-5", "outcome": "aborted"],
            headers: ["x-taas-autorouted": "false", "x-taas-autorouter-model": "ignored"]))
        XCTAssertEqual(unrouted["recorded"], true)
        // Neither routed nor with usage: not stored, as in v1.
        let skipped = try client.result("taas.autorouter.record", recordParams([:], headers: ["x-taas-autorouted": "false"]))
        XCTAssertEqual(skipped, ["recorded": false, "reason": "not_autorouted"])

        let history = try client.result("taas.autorouter.history", ["sessionId": .string(session)])
        let captures = try XCTUnwrap(history["captures"]?.array)
        XCTAssertEqual(captures.count, 2)
        XCTAssertEqual(captures[0]["autorouted"], false)
        XCTAssertEqual(captures[0]["autorouterModel"], .null)
        XCTAssertEqual(captures[0]["requestedModel"], "cloudsigma/gpt-5")
        XCTAssertEqual(captures[0]["inputTokens"], 500)
        XCTAssertEqual(captures[0]["outcome"], "aborted")
        XCTAssertEqual(captures[1]["autorouted"], true)
        XCTAssertEqual(captures[1]["cacheReadTokens"], 300)
        XCTAssertEqual(captures[1]["costUsd"], .double(0.5))
        XCTAssertEqual(captures[1]["durationMs"], 1500)
        XCTAssertEqual(captures[1]["provider"], "cloudsigma")

        let last = try client.result("taas.autorouter.lastRoute", ["agentId": "ops"])
        XCTAssertEqual(last["capture"]?["id"], routed["id"], "lastRoute looks only at autorouted captures")

        let stats = try client.result("taas.autorouter.stats", [:])
        XCTAssertEqual(stats["total"], 2)
        XCTAssertEqual(stats["byModel"], ["qwen3-coder": 1, "cloudsigma/gpt-5": 1], "byModel counts the served model")
        XCTAssertEqual(stats["usage"], [
            "calls": 2, "inputTokens": 600, "outputTokens": 20, "cacheReadTokens": 300, "cacheWriteTokens": 100,
            "cacheHitRatio": .double(0.3), "costUsd": .double(0.5), "cacheSavedUsd": .double(0.125),
        ])
    }

    func testUsageInsideCaptureUsesTheWireNames() throws {
        try startService()
        let client = try connect()
        let params: JSON = [
            "sessionId": .string(session),
            "capture": [
                "autorouted": false, "requestedModel": "cloudsigma/auto", "inputTokens": 7, "outputTokens": 3,
                "cacheReadTokens": 0, "cacheWriteTokens": 0, "durationMs": 12, "outcome": "error",
                "autorouterModel": "dropped: not routed",
            ],
        ]
        XCTAssertEqual(try client.result("taas.autorouter.record", params)["recorded"], true)
        let capture = try XCTUnwrap(try client.result("taas.autorouter.history", ["sessionId": .string(session)])["captures"]?[0])
        XCTAssertEqual(capture["autorouted"], false)
        XCTAssertEqual(capture["autorouterModel"], .null)
        XCTAssertEqual(capture["outputTokens"], 3)
        XCTAssertEqual(capture["outcome"], "error")
        let stats = try client.result("taas.autorouter.stats", ["sessionId": .string(session)])
        XCTAssertEqual(stats["usage"]?["cacheHitRatio"], .double(0))
        XCTAssertEqual(stats["usage"]?["costUsd"], .null, "no capture reports a cost")
    }

    func testBadUsageIsRefusedNamingTheFieldAndStoresNothing() throws {
        try startService()
        let client = try connect()
        let cases: [(JSON, String)] = [
            (recordParams(["usage": ["input": -1]]), "usage.input"),
            (recordParams(["usage": ["output": 1.5]]), "usage.output"),
            (recordParams(["usage": ["cacheRead": "12"]]), "usage.cacheRead"),
            (recordParams(["usage": ["cacheWrite": .int(9_007_199_254_740_992)]]), "usage.cacheWrite"),
            (recordParams(["usage": "lots"]), "usage"),
            (recordParams(["outcome": "maybe"]), "outcome"),
            (recordParams(["outcome": 1]), "outcome"),
            (recordParams(["costUsd": -0.01]), "costUsd"),
            (recordParams(["cacheSavedUsd": "0.1"]), "cacheSavedUsd"),
            (recordParams(["durationMs": .int(2_147_483_648)]), "durationMs"),
            (recordParams(["provider": .string(String(repeating: "p", count: 201))]), "provider"),
            (recordParams(["requestedModel": "a\u{0001}b"]), "requestedModel"),
            (["sessionId": .string(session), "capture": ["inputTokens": -5]], "capture.inputTokens"),
            (["sessionId": .string(session), "capture": ["autorouted": "yes"]], "capture.autorouted"),
            (["sessionId": .string(session), "capture": ["outcome": "done"]], "capture.outcome"),
        ]
        for (params, field) in cases {
            assertError(try client.call("taas.autorouter.record", params), code: -32602, fields: [field], params.encoded)
        }
        XCTAssertEqual(try client.result("taas.autorouter.stats", [:])["total"], 0, "nothing stored on a bad call")
    }

    func testASchemaOneDatabaseMigratesOnFirstStartKeepingEveryCapture() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/schema1-captures.sqlite3")
        try FileManager.default.copyItem(atPath: fixture.path, toPath: dbPath)
        chmod(dbPath, 0o600)
        try startService()
        let client = try connect()
        let health = try client.result("taas.capture.health", [:])
        XCTAssertEqual(health["schemaVersion"], 6, "migrated through every version this binary knows")
        XCTAssertEqual(health["captures"], 240)
        let captures = try client.fullHistory(["sessionId": "oc:0000000000000000"])
        XCTAssertEqual(captures.count, 20)
        // The fixture's generator: capture i of session i % 12 at 2025-12-01 + i minutes, request id req-i.
        for capture in captures {
            let id = try XCTUnwrap(capture["id"]?.int) - 1
            XCTAssertEqual(capture["taasRequestId"], .string("req-\(id)"))
            XCTAssertEqual(capture["capturedAt"], .int(1_764_547_200_000 + id * 60_000))
            XCTAssertEqual(capture["autorouted"], true)
            XCTAssertEqual(capture["inputTokens"], .null)
        }
        let stats = try client.result("taas.autorouter.stats", [:])
        XCTAssertEqual(stats["total"], 240)
        XCTAssertEqual(stats["usage"]?["calls"], 0)
        // New captures go on with the next id.
        XCTAssertEqual(try client.record(session: "oc:0000000000000000"), 241)
    }
}
