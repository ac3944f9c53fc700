import Foundation
import XCTest

/// `taas.capture.page` (SPEC v3 "The dashboard tab") from the built binary over its socket: the three views, their
/// links, the session view's cursor, and -32602 for every bad param.
final class DashboardPageTests: EndToEndTestCase {
    private func fill(_ client: LineClient) throws {
        let now = nowMs()
        for i in 0..<60 {
            let params: JSON = [
                "sessionId": .string("oc:page-\(i % 4)"), "agentId": .string(i % 2 == 0 ? "page-main" : "page-ops"),
                "capturedAt": .int(now - Int64(60 - i) * 60_000),
                "headers": autoroutedHeaders(model: i < 30 ? "model-a" : "model-b", requestId: "page-\(i)"),
                "usage": ["input": 100, "output": 20, "cacheRead": .int(Int64(i % 3) * 100), "cacheWrite": 0],
                "costUsd": 0.5,
            ]
            XCTAssertEqual(try client.result("taas.autorouter.record", params)["recorded"], true)
        }
    }

    private func page(_ client: LineClient, _ params: JSON) throws -> String {
        try XCTUnwrap(client.result("taas.capture.page", params)["html"]?.string, "\(params.encoded)")
    }

    func testTheThreeViewsLinkToEachOther() throws {
        try startService()
        let client = try connect()
        try fill(client)
        let overview = try page(client, [:])
        for text in ["page-main", "page-ops", "model-b", "oc:page-3", "Busiest sessions", "route changes"] {
            XCTAssertTrue(overview.contains(text), text)
        }
        XCTAssertTrue(overview.contains("href=\"?view=agent&amp;agentId=page-ops&amp;range=7d\"") == false)
        XCTAssertTrue(overview.contains("href=\"?view=agent&amp;agentId=page-ops\""), "the overview links each agent")
        XCTAssertTrue(overview.contains("href=\"?view=session&amp;sessionId=oc%3Apage-3\""), "and each session")
        XCTAssertFalse(overview.contains("<script"))

        let agent = try page(client, ["view": "agent", "agentId": "page-ops", "range": "24h"])
        XCTAssertTrue(agent.contains("agent page-ops"))
        XCTAssertTrue(agent.contains("href=\"?view=session&amp;sessionId=oc%3Apage-1&amp;range=24h\""), "keeps the range")
        XCTAssertTrue(agent.contains("href=\"?view=overview&amp;range=24h\""), "and links back")
        XCTAssertFalse(agent.contains("oc:page-0"), "only the agent's sessions")

        let session = try page(client, ["view": "session", "sessionId": "oc:page-1"])
        XCTAssertTrue(session.contains("session oc:page-1"))
        XCTAssertTrue(session.contains("href=\"?view=agent&amp;agentId=page-ops\""), "links its agent")
        XCTAssertEqual(session.components(separatedBy: "<tr>").count - 2, 15, "its 15 captures, under one header row")

        let saved = try page(client, ["view": "agent", "agentId": "page-ops", "links": false])
        XCTAssertTrue(saved.contains("agent page-ops"))
        XCTAssertFalse(saved.contains("href="), "a page for a file links nowhere")
    }

    func testBadParamsAreRefusedByName() throws {
        try startService()
        let client = try connect()
        let cases: [(JSON, String)] = [
            (["view": "graph"], "view"), (["view": 3], "view"), (["view": "agent"], "agentId"),
            (["view": "session"], "sessionId"), (["view": "agent", "agentId": .string(String(repeating: "a", count: 201))], "agentId"),
            (["range": "2d"], "range"), (["since": "yesterday"], "since"), (["since": 10, "until": 10], "since"),
            (["until": .int(Int64(1) << 61)], "until"),
            (["view": "session", "sessionId": "oc:x", "cursor": "not-a-cursor"], "cursor"), (["links": "no"], "links"),
        ]
        for (params, field) in cases {
            assertError(try client.call("taas.capture.page", params), code: -32602, fields: [field], params.encoded)
        }
        assertError(try client.call("taas.capture.page", [1, 2]), code: -32602, fields: ["params"])
        XCTAssertNotNil(try client.result("taas.capture.page", ["view": "agent", "agentId": "nobody"])["html"], "an empty agent")
    }

    func testSetAlgorithmRefusesAnUnknownValueBeforeSending() throws {
        // No service at this socket: a value sent would fail with 1; bad usage is 2 before any connection.
        let result = try runCLI(["set-algorithm", "--socket", workDirectory + "/none.sock", "--agent-id", "a1", "fastest"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("unknown algorithm 'fastest'"), result.stderr)
        XCTAssertTrue(result.stderr.contains("best_fit"), result.stderr)
        let known = try runCLI(["set-algorithm", "--socket", workDirectory + "/none.sock", "--agent-id", "a1", "cost"])
        XCTAssertEqual(known.status, 1, "a known value is sent, and fails without a service")
    }
}
