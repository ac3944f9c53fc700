import AffinityCore
import CaptureServer
import XCTest

final class ServerMethodTests: XCTestCase {
    func testEveryMethodOverARealSocket() async throws {
        let server = try await ServerHarness.start()
        defer { server.remove() }
        let client = try server.client()

        let first = try client.call("taas.autorouter.record", params: try JSONParser.parse(
            #"{"sessionId":"oc:0123456789abcdef","agentId":"new-agent-2","capturedAt":1700000000000,"headers":{"X-TaaS-Autorouted":"true","x-taas-autorouter-model":"anthropic/claude","x-taas-autorouter-mode":"best_fit","x-request-id":"r1","x-taas-thinking-applied":"medium"}}"#))
        XCTAssertEqual(first["recorded"], .bool(true))
        XCTAssertEqual(first["duplicate"], .bool(false))
        let id = try XCTUnwrap(first["id"]?.integerValue)

        let repeatCall = try client.call("taas.autorouter.record", params: try JSONParser.parse(
            #"{"sessionId":"oc:0123456789abcdef","headers":{"x-taas-autorouted":"true","x-request-id":"r1"}}"#))
        XCTAssertEqual(repeatCall["id"]?.integerValue, id)
        XCTAssertEqual(repeatCall["duplicate"], .bool(true))

        let skipped = try client.call("taas.autorouter.record", params: try JSONParser.parse(
            #"{"sessionId":"oc:0123456789abcdef","headers":{"x-taas-autorouted":"false"}}"#))
        XCTAssertEqual(skipped.jsonText, #"{"recorded":false,"reason":"not_autorouted"}"#)

        let typed = try client.call("taas.autorouter.record", params: try JSONParser.parse(
            #"{"sessionId":"oc:0123456789abcdef","capturedAt":1700000001000,"capture":{"autorouterModel":"m2","routedContextWindow":5,"extra":1}}"#))
        XCTAssertEqual(typed["recorded"], .bool(true))

        let last = try client.call("taas.autorouter.lastRoute", params: try JSONParser.parse(#"{"sessionId":"oc:0123456789abcdef"}"#))
        XCTAssertEqual(last["capture"]?["autorouterModel"], .string("m2"))
        XCTAssertEqual(last["capture"]?.objectValue?.keys, [
            "id", "sessionId", "agentId", "capturedAt", "taasRequestId", "taasTraceId", "openclawTurnId",
            "openclawAttempt", "autorouterModel", "autorouterAlgo", "autorouterAlgoSource", "thinkingApplied",
            "routedContextWindow", "autorouted", "provider", "requestedModel", "inputTokens", "outputTokens",
            "cacheReadTokens", "cacheWriteTokens", "costUsd", "cacheSavedUsd", "durationMs", "outcome", "trigger", "channel",
            "timeToFirstByteMs", "failureKind", "routeChanged",
        ])
        let byAgent = try client.call("taas.autorouter.lastRoute", params: try JSONParser.parse(#"{"agentId":"new-agent-2"}"#))
        XCTAssertEqual(byAgent.objectValue?.keys, ["agentId", "sessionId", "capture"])
        XCTAssertEqual(byAgent["sessionId"], .string("oc:0123456789abcdef"))
        XCTAssertEqual(byAgent["capture"]?["thinkingApplied"], .string("medium"))
        let none = try client.call("taas.autorouter.lastRoute", params: try JSONParser.parse(#"{"agentId":"nobody"}"#))
        XCTAssertEqual(none.jsonText, #"{"agentId":"nobody","sessionId":null,"capture":null}"#)

        let page1 = try client.call("taas.autorouter.history", params: try JSONParser.parse(#"{"sessionId":"oc:0123456789abcdef","limit":1}"#))
        XCTAssertEqual(page1["captures"]?.arrayValue?.count, 1)
        let cursor = try XCTUnwrap(page1["nextCursor"]?.stringValue)
        let page2 = try client.call("taas.autorouter.history", params: .object(JSONObject([
            "sessionId": .string("oc:0123456789abcdef"), "cursor": .string(cursor),
        ])))
        XCTAssertEqual(page2["captures"]?.arrayValue?.first?["id"]?.integerValue, id)
        XCTAssertEqual(page2["nextCursor"], .null)

        let stats = try client.call("taas.autorouter.stats")
        XCTAssertEqual(stats["total"], .int(2))
        XCTAssertEqual(stats["byModel"]?["m2"], .int(1))
        XCTAssertEqual(stats["byAlgo"]?["unknown"], .int(1))

        let dry = try client.call("taas.capture.prune", params: try JSONParser.parse(#"{"maxAgeMs":0,"maxPerSession":1,"dryRun":true}"#))
        XCTAssertEqual(dry["deleted"], .int(1))
        XCTAssertEqual(dry["dryRun"], .bool(true))
        XCTAssertEqual(dry["byRule"]?["perSession"], .int(1))

        let health = try client.call("taas.capture.health")
        XCTAssertEqual(health["status"], .string("ok"))
        XCTAssertEqual(health["captures"], .int(2))
        XCTAssertEqual(health["durability"], .string("normal"))
        XCTAssertNotNil(health["retention"]?["maxRows"])

        let derived = try client.call("taas.affinity.deriveSessionId", params: try JSONParser.parse(#"{"localSessionId":"abc"}"#))
        XCTAssertEqual(derived["source"], .string("session"))
        XCTAssertEqual(derived["sessionId"]?.stringValue?.count, 19)
        let viaSelector = try client.call("taas.autorouter.lastRoute", params: try JSONParser.parse(#"{"localSessionId":"abc"}"#))
        XCTAssertEqual(viaSelector["sessionId"], derived["sessionId"])

        try await server.stop()
    }

    func testInvalidParamsNameTheField() async throws {
        let server = try await ServerHarness.start()
        defer { server.remove() }
        let client = try server.client()
        let cases: [(String, String, String)] = [
            ("taas.autorouter.record", #"{"headers":{}}"#, "sessionId"),
            ("taas.autorouter.record", #"{"sessionId":"s","headers":{"a":1}}"#, "headers.a"),
            ("taas.autorouter.record", #"{"sessionId":"s"}"#, "headers"),
            ("taas.autorouter.record", #"{"sessionId":"s","headers":{},"capture":{}}"#, "headers"),
            ("taas.autorouter.record", #"{"sessionId":"s","capture":{"routedContextWindow":0}}"#, "capture.routedContextWindow"),
            ("taas.autorouter.record", #"{"sessionId":"s","capture":{"autorouterModel":7}}"#, "capture.autorouterModel"),
            ("taas.autorouter.record", #"{"sessionId":"s","capturedAt":1000,"capture":{}}"#, "capturedAt"),
            ("taas.autorouter.record", #"{"sessionId":"   ","capture":{}}"#, "sessionId"),
            ("taas.autorouter.history", #"{"sessionId":"s","limit":1001}"#, "limit"),
            ("taas.autorouter.history", #"{"sessionId":"s","cursor":"garbage"}"#, "cursor"),
            ("taas.autorouter.lastRoute", #"{}"#, "params"),
            ("taas.autorouter.lastRoute", #"{"workspaceDir":"relative/dir"}"#, "workspaceDir"),
            ("taas.autorouter.lastRoute", #"[1]"#, "params"),
            ("taas.affinity.deriveSessionId", #"{}"#, "params"),
        ]
        for (i, (method, params, field)) in cases.enumerated() {
            let reply = try response(try client.sendLine(Line.request(i, method, params)))
            XCTAssertEqual(reply["error"]?["code"], .int(-32602), "\(method) \(params)")
            XCTAssertEqual(reply["error"]?["data"]?["field"], .string(field), "\(method) \(params)")
            XCTAssertEqual(reply["id"], .int(Int64(i)))
        }
        let unknown = try response(try client.sendLine(Line.request(99, "nope")))
        XCTAssertEqual(unknown["error"]?["code"], .int(-32601))
        try await server.stop()
    }
}
