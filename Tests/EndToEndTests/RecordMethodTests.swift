import XCTest

/// `taas.autorouter.record` over the real socket: result shapes, header parsing, dedupe.
final class RecordMethodTests: EndToEndTestCase {
    func testRecordWithHeadersStoresEveryCapturedFieldCaseInsensitively() throws {
        try startService()
        let client = try connect()
        let capturedAt = nowMs() - 5_000
        let headers: JSON = [
            "X-TAAS-Autorouted": "true",
            "X-Taas-Autorouter-Model": "gpt-routed-1",
            "x-taas-autorouter-mode": "cost",
            "x-taas-autorouter-algorithm-source": "policy",
            "x-taas-thinking-applied": "medium",
            "x-taas-routed-context-window": "128000",
            "X-Request-Id": "req-1",
            "x-taas-request-id": "taas-req-ignored",
            "x-taas-trace-id": "trace-1",
            "x-openclaw-turn-id": "turn-1",
            "x-openclaw-attempt": "2",
            "content-type": "application/json",
        ]
        let response = try client.call(
            "taas.autorouter.record",
            ["sessionId": "oc:0123456789abcdef", "agentId": "agent-a", "capturedAt": .int(capturedAt), "headers": headers])
        let result = try expectResult(response)
        XCTAssertEqual(result["recorded"], true)
        XCTAssertEqual(result["duplicate"], false)
        let id = try XCTUnwrap(result["id"]?.int, result.encoded)

        let last = try client.result("taas.autorouter.lastRoute", ["sessionId": "oc:0123456789abcdef"])
        XCTAssertEqual(last["sessionId"], "oc:0123456789abcdef")
        let expected: JSON = [
            "id": .int(id), "sessionId": "oc:0123456789abcdef", "agentId": "agent-a", "capturedAt": .int(capturedAt),
            "taasRequestId": "req-1", "taasTraceId": "trace-1", "openclawTurnId": "turn-1", "openclawAttempt": "2",
            "autorouterModel": "gpt-routed-1", "autorouterAlgo": "cost", "autorouterAlgoSource": "policy",
            "thinkingApplied": "medium", "routedContextWindow": 128000,
            "autorouted": true, "provider": nil, "requestedModel": nil, "inputTokens": nil, "outputTokens": nil,
            "cacheReadTokens": nil, "cacheWriteTokens": nil, "costUsd": nil, "cacheSavedUsd": nil, "durationMs": nil,
            "outcome": nil, "trigger": nil, "channel": nil, "timeToFirstByteMs": nil, "failureKind": nil, "routeChanged": false,
        ]
        XCTAssertEqual(last["capture"], expected)
    }

    func testHeaderFallbacksAndOutOfBoundsValuesBecomeNull() throws {
        try startService()
        let client = try connect()
        let overlong = String(repeating: "m", count: 201)
        let cases: [(window: String, model: String, expectedWindow: JSON, expectedModel: JSON)] = [
            ("0", "ok-model", nil, "ok-model"),
            ("2147483648", "  padded-model  ", nil, "padded-model"),
            ("2147483647", overlong, 2_147_483_647, nil),
            ("12.5", "bad\u{01}model", nil, nil),
            ("-4", "", nil, nil),
        ]
        for (index, item) in cases.enumerated() {
            let session = "oc:fallback\(index)"
            let headers: JSON = [
                "x-taas-autorouted": "true", "x-taas-routed-context-window": .string(item.window),
                "x-taas-autorouter-model": .string(item.model), "x-taas-request-id": "taas-only-\(index)",
                "x-taas-trace-id": "trace-only-\(index)",
            ]
            _ = try expectResult(
                try client.call("taas.autorouter.record", ["sessionId": .string(session), "headers": headers]))
            let capture = try client.result("taas.autorouter.lastRoute", ["sessionId": .string(session)])["capture"]
            XCTAssertEqual(capture?["routedContextWindow"], item.expectedWindow, "window \(item.window)")
            XCTAssertEqual(capture?["autorouterModel"], item.expectedModel, "model \(item.model.prefix(20))")
            XCTAssertEqual(capture?["taasRequestId"], .string("taas-only-\(index)"))
            XCTAssertEqual(capture?["taasTraceId"], .string("trace-only-\(index)"))
            XCTAssertEqual(capture?["agentId"], .null)
            XCTAssertEqual(capture?["autorouterAlgo"], .null)
        }
    }

    func testRecordWithCaptureObjectIgnoresUnknownFields() throws {
        try startService()
        let client = try connect()
        let capture: JSON = [
            "autorouterModel": "m-cap", "autorouterAlgo": "latency", "autorouterAlgoSource": "header",
            "thinkingApplied": "off", "routedContextWindow": 4096, "taasRequestId": "cap-req-1",
            "taasTraceId": "cap-trace", "openclawTurnId": "t9", "openclawAttempt": "1", "somethingNew": ["x": 1],
        ]
        let result = try client.result(
            "taas.autorouter.record", ["sessionId": "oc:cap", "agentId": "agent-cap", "capture": capture])
        XCTAssertEqual(result["recorded"], true)
        XCTAssertEqual(result["duplicate"], false)
        let stored = try client.result("taas.autorouter.lastRoute", ["sessionId": "oc:cap"])["capture"]
        XCTAssertEqual(stored?["id"], result["id"])
        XCTAssertEqual(stored?["autorouterModel"], "m-cap")
        XCTAssertEqual(stored?["routedContextWindow"], 4096)
        XCTAssertEqual(stored?["taasRequestId"], "cap-req-1")
        XCTAssertEqual(stored?["agentId"], "agent-cap")
        XCTAssertNil(stored?["somethingNew"])
        let capturedAt = try XCTUnwrap(stored?["capturedAt"]?.int)
        XCTAssertLessThan(abs(capturedAt - nowMs()), 60_000, "capturedAt defaults to now")
    }

    func testRepeatedIdempotencyKeyReturnsTheFirstIdAsDuplicate() throws {
        try startService()
        let client = try connect()
        let first = try client.result(
            "taas.autorouter.record",
            ["sessionId": "oc:idem", "headers": autoroutedHeaders(requestId: "r-1"), "idempotencyKey": "k-1"])
        let again = try client.result(
            "taas.autorouter.record",
            ["sessionId": "oc:idem", "headers": autoroutedHeaders(model: "other", requestId: "r-2"),
             "idempotencyKey": "k-1"])
        XCTAssertEqual(first["duplicate"], false)
        XCTAssertEqual(again, ["recorded": true, "id": first["id"]!, "duplicate": true])
        // The key is scoped to the session.
        let elsewhere = try client.result(
            "taas.autorouter.record",
            ["sessionId": "oc:idem-2", "headers": autoroutedHeaders(requestId: "r-1"), "idempotencyKey": "k-1"])
        XCTAssertEqual(elsewhere["duplicate"], false)
        XCTAssertNotEqual(elsewhere["id"], first["id"])
        let stored = try client.fullHistory(["sessionId": "oc:idem"])
        XCTAssertEqual(stored.count, 1)
        XCTAssertEqual(stored.first?["autorouterModel"], "model-a", "the duplicate did not overwrite")
    }

    func testRepeatedRequestIdWithoutKeyIsDuplicateAndNoKeyAlwaysStores() throws {
        try startService()
        let client = try connect()
        let first = try client.result(
            "taas.autorouter.record", ["sessionId": "oc:rid", "headers": autoroutedHeaders(requestId: "same-req")])
        let again = try client.result(
            "taas.autorouter.record", ["sessionId": "oc:rid", "headers": autoroutedHeaders(requestId: "same-req")])
        XCTAssertEqual(again, ["recorded": true, "id": first["id"]!, "duplicate": true])
        let viaCapture = try client.result(
            "taas.autorouter.record", ["sessionId": "oc:rid", "capture": ["taasRequestId": "same-req"]])
        XCTAssertEqual(viaCapture["duplicate"], true, "dedupe key is the request id whichever way it came")
        XCTAssertEqual(viaCapture["id"], first["id"])

        let a = try client.result("taas.autorouter.record", ["sessionId": "oc:nokey", "headers": autoroutedHeaders()])
        let b = try client.result("taas.autorouter.record", ["sessionId": "oc:nokey", "headers": autoroutedHeaders()])
        XCTAssertEqual(a["duplicate"], false)
        XCTAssertEqual(b["duplicate"], false)
        XCTAssertGreaterThan(try XCTUnwrap(b["id"]?.int), try XCTUnwrap(a["id"]?.int), "ids increase")
        XCTAssertEqual(try client.fullHistory(["sessionId": "oc:nokey"]).count, 2)
    }

    func testHeadersWithoutAutoroutedTrueAreNotRecorded() throws {
        try startService()
        let client = try connect()
        for headers: JSON in [
            ["x-taas-autorouter-model": "m", "x-request-id": "n-1"],
            ["x-taas-autorouted": "false", "x-taas-autorouter-model": "m"],
            [:],
        ] {
            let result = try client.result("taas.autorouter.record", ["sessionId": "oc:notrouted", "headers": headers])
            XCTAssertEqual(result, ["recorded": false, "reason": "not_autorouted"], headers.encoded)
        }
        let last = try client.result("taas.autorouter.lastRoute", ["sessionId": "oc:notrouted"])
        XCTAssertEqual(last, ["sessionId": "oc:notrouted", "capture": nil])
        XCTAssertEqual(try client.result("taas.autorouter.stats", [:])["total"], 0)
    }

    func testCapturedAtBoundsAreEnforced() throws {
        try startService()
        let client = try connect()
        let jan2020: Int64 = 1_577_836_800_000
        let day: Int64 = 86_400_000
        for accepted in [jan2020, nowMs() + day - 60_000] {
            let result = try client.result(
                "taas.autorouter.record",
                ["sessionId": "oc:bounds", "capturedAt": .int(accepted), "headers": autoroutedHeaders()])
            XCTAssertEqual(result["recorded"], true, "capturedAt \(accepted)")
        }
        for rejected in [jan2020 - 1, nowMs() + day + 60_000, -1, 0] {
            let response = try client.call(
                "taas.autorouter.record",
                ["sessionId": "oc:bounds", "capturedAt": .int(rejected), "headers": autoroutedHeaders()])
            assertError(response, code: -32602, fields: ["capturedAt"], "capturedAt \(rejected)")
        }
        XCTAssertEqual(try client.fullHistory(["sessionId": "oc:bounds"]).count, 2)
    }
}
