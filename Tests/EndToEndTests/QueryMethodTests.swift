import XCTest

/// `lastRoute`, `history` and `stats` over the real socket.
final class QueryMethodTests: EndToEndTestCase {
    /// `oc:` + sha16("session:abc"), computed independently with Node's crypto.
    static let sessionOfLocalAbc = "oc:a29d803b477eb420"
    /// `oc:` + sha16("/home/u/.openclaw/workspace-a").
    static let sessionOfWorkspaceA = "oc:4418c0cfc47bf768"

    func testLastRouteBySessionAndByAgentReturnTheNewestCapture() throws {
        try startService()
        let client = try connect()
        let base = nowMs() - 60_000
        try client.record(session: "oc:s1", agent: "agent-x", capturedAt: base, model: "old")
        let newest = try client.record(session: "oc:s2", agent: "agent-x", capturedAt: base + 2_000, model: "newest")
        try client.record(session: "oc:s1", agent: "agent-x", capturedAt: base + 1_000, model: "middle")

        let byAgent = try client.result("taas.autorouter.lastRoute", ["agentId": "agent-x"])
        XCTAssertEqual(byAgent["agentId"], "agent-x")
        XCTAssertEqual(byAgent["sessionId"], "oc:s2")
        XCTAssertEqual(byAgent["capture"]?["id"], .int(newest))
        XCTAssertEqual(byAgent["capture"]?["autorouterModel"], "newest")
        XCTAssertEqual(Set(byAgent.object?.keys.map { $0 } ?? []), ["agentId", "sessionId", "capture"])

        let bySession = try client.result("taas.autorouter.lastRoute", ["sessionId": "oc:s1"])
        XCTAssertEqual(Set(bySession.object?.keys.map { $0 } ?? []), ["sessionId", "capture"])
        XCTAssertEqual(bySession["capture"]?["autorouterModel"], "middle", "newest by capturedAt, not by id")

        XCTAssertEqual(
            try client.result("taas.autorouter.lastRoute", ["agentId": "nobody"]),
            ["agentId": "nobody", "sessionId": nil, "capture": nil])
        XCTAssertEqual(
            try client.result("taas.autorouter.lastRoute", ["sessionId": "oc:none"]),
            ["sessionId": "oc:none", "capture": nil])
    }

    func testLastRouteDerivesTheSessionFromWorkspaceAndLocalSessionIds() throws {
        try startService()
        let client = try connect()
        let local = try client.record(session: Self.sessionOfLocalAbc, model: "by-local")
        let workspace = try client.record(session: Self.sessionOfWorkspaceA, model: "by-workspace")

        let selectors: [(JSON, String, Int64)] = [
            (["localSessionId": "abc"], Self.sessionOfLocalAbc, local),
            (["workspaceDir": "/home/u/.openclaw/workspace-a", "localSessionId": "abc"], Self.sessionOfLocalAbc, local),
            (["workspaceDir": "/home/u/.openclaw/workspace-a/"], Self.sessionOfWorkspaceA, workspace),
            (["workspaceDir": "/home/u//.openclaw/x/../workspace-a"], Self.sessionOfWorkspaceA, workspace),
            // Precedence: sessionId beats the derived selectors.
            (["sessionId": .string(Self.sessionOfWorkspaceA), "localSessionId": "abc"], Self.sessionOfWorkspaceA,
             workspace),
        ]
        for (selector, session, id) in selectors {
            let result = try client.result("taas.autorouter.lastRoute", selector)
            XCTAssertEqual(result["sessionId"], .string(session), selector.encoded)
            XCTAssertEqual(result["capture"]?["id"], .int(id), selector.encoded)
        }
        // Precedence: agentId beats everything.
        let byAgent = try client.result(
            "taas.autorouter.lastRoute", ["agentId": "ghost", "sessionId": .string(Self.sessionOfLocalAbc)])
        XCTAssertEqual(byAgent, ["agentId": "ghost", "sessionId": nil, "capture": nil])

        assertError(
            try client.call("taas.autorouter.lastRoute", ["workspaceDir": "relative/ws"]), code: -32602,
            fields: ["workspaceDir"])
        assertError(try client.call("taas.autorouter.lastRoute", [:]), code: -32602)
    }

    func testHistoryPagesNewestFirstAndStaysExactWhileCapturesArrive() throws {
        try startService()
        let client = try connect()
        let base = nowMs() - 3_600_000
        var expected: [(at: Int64, id: Int64)] = []
        for index in 0..<23 {
            // Three captures share one timestamp so a page boundary falls inside a tie.
            let at = base + Int64(index < 12 ? index : (index < 15 ? 12 : index)) * 1_000
            let id = try client.record(session: "oc:paged", agent: "agent-p", capturedAt: at, requestId: "p-\(index)")
            expected.append((at, id))
        }
        expected.sort { ($0.at, $0.id) > ($1.at, $1.id) }
        var all = expected

        var seen: [Int64] = []
        var cursor: JSON? = nil
        var pages = 0
        repeat {
            var params: [String: JSON] = ["sessionId": "oc:paged", "limit": 9]
            if let cursor { params["cursor"] = cursor }
            let page = try client.result("taas.autorouter.history", .object(params))
            XCTAssertEqual(page["sessionId"], "oc:paged")
            let captures = try XCTUnwrap(page["captures"]?.array, page.encoded)
            XCTAssertLessThanOrEqual(captures.count, 9)
            seen += captures.compactMap { $0["id"]?.int }
            if let next = page["nextCursor"], !next.isNull { cursor = next } else { cursor = nil }
            pages += 1
            // New captures arrive between pages: one newer, one tied with the oldest row seen so far.
            let newer = nowMs()
            all.append((newer, try client.record(session: "oc:paged", capturedAt: newer, requestId: "late-new-\(pages)")))
            let tie = expected[min(seen.count, 23) - 1].at
            all.append((tie, try client.record(session: "oc:paged", capturedAt: tie, requestId: "late-tie-\(pages)")))
        } while cursor != nil && pages < 10
        XCTAssertEqual(seen, expected.map(\.id), "pages are exactly the captures present at the first page")

        // since <= capturedAt < until
        let window = try client.result(
            "taas.autorouter.history",
            ["sessionId": "oc:paged", "since": .int(base + 3_000), "until": .int(base + 8_000), "limit": 100])
        let times = window["captures"]?.array?.compactMap { $0["capturedAt"]?.int } ?? []
        let inWindow = all.filter { $0.at >= base + 3_000 && $0.at < base + 8_000 }.sorted { ($0.at, $0.id) > ($1.at, $1.id) }
        XCTAssertEqual(times, inWindow.map(\.at))
        XCTAssertEqual(window["captures"]?.array?.compactMap { $0["id"]?.int }, inWindow.map(\.id))

        let byAgent = try client.result("taas.autorouter.history", ["agentId": "agent-p", "limit": 5])
        XCTAssertEqual(byAgent["agentId"], "agent-p")
        XCTAssertEqual(byAgent["captures"]?.array?.count, 5)
        XCTAssertFalse(byAgent["nextCursor"]?.isNull ?? true)

        let defaultLimit = try client.result("taas.autorouter.history", ["sessionId": "oc:paged"])
        XCTAssertEqual(defaultLimit["captures"]?.array?.count, min(50, all.count))
    }

    func testHistoryCursorIsBoundToItsSelector() throws {
        try startService()
        let client = try connect()
        for index in 0..<4 { try client.record(session: "oc:cur-a", capturedAt: nowMs() - Int64(index) * 1000) }
        try client.record(session: "oc:cur-b")
        let page = try client.result("taas.autorouter.history", ["sessionId": "oc:cur-a", "limit": 2])
        let cursor = try XCTUnwrap(page["nextCursor"]?.string, page.encoded)
        assertError(
            try client.call("taas.autorouter.history", ["sessionId": "oc:cur-b", "cursor": .string(cursor)]),
            code: -32602, fields: ["cursor"])
        var tampered = Array(cursor)
        tampered[tampered.count / 2] = tampered[tampered.count / 2] == "A" ? "B" : "A"
        assertError(
            try client.call("taas.autorouter.history", ["sessionId": "oc:cur-a", "cursor": .string(String(tampered))]),
            code: -32602, fields: ["cursor"])
        let second = try client.result("taas.autorouter.history", ["sessionId": "oc:cur-a", "cursor": .string(cursor)])
        XCTAssertEqual(second["captures"]?.array?.count, 2)
    }

    func testStatsCountsByDimensionWithNullsUnderUnknown() throws {
        try startService()
        let client = try connect()
        let base = nowMs() - 100_000
        try client.record(session: "oc:st1", agent: "ag-1", capturedAt: base, model: "m1", algo: "cost")
        try client.record(session: "oc:st1", agent: "ag-1", capturedAt: base + 10, model: "m1", algo: "latency")
        try client.record(session: "oc:st2", agent: "ag-2", capturedAt: base + 20, model: "m2", algo: "cost")
        _ = try client.result(
            "taas.autorouter.record",
            ["sessionId": "oc:st3", "capturedAt": .int(base + 30),
             "capture": ["thinkingApplied": "high", "autorouterAlgoSource": "policy"]])

        let all = try client.result("taas.autorouter.stats", [:])
        XCTAssertEqual(all["total"], 4)
        XCTAssertEqual(all["sessions"], 3)
        XCTAssertEqual(all["agents"], 2)
        XCTAssertEqual(all["firstCapturedAt"], .int(base))
        XCTAssertEqual(all["lastCapturedAt"], .int(base + 30))
        XCTAssertEqual(all["byModel"], ["m1": 2, "m2": 1, "unknown": 1])
        XCTAssertEqual(all["byAlgo"], ["cost": 2, "latency": 1, "unknown": 1])
        XCTAssertEqual(all["byAlgoSource"], ["policy": 1, "unknown": 3])
        XCTAssertEqual(all["byThinking"], ["high": 1, "unknown": 3])

        let session = try client.result("taas.autorouter.stats", ["sessionId": "oc:st1"])
        XCTAssertEqual(session["total"], 2)
        XCTAssertEqual(session["byAlgo"], ["cost": 1, "latency": 1])

        let agent = try client.result("taas.autorouter.stats", ["agentId": "ag-2"])
        XCTAssertEqual(agent["total"], 1)
        XCTAssertEqual(agent["byModel"], ["m2": 1])

        let window = try client.result("taas.autorouter.stats", ["since": .int(base + 10), "until": .int(base + 30)])
        XCTAssertEqual(window["total"], 2)
        XCTAssertEqual(window["firstCapturedAt"], .int(base + 10))
        XCTAssertEqual(window["lastCapturedAt"], .int(base + 20))

        let empty = try client.result("taas.autorouter.stats", ["sessionId": "oc:nothing"])
        XCTAssertEqual(empty["total"], 0)
        XCTAssertEqual(empty["firstCapturedAt"], .null)
        XCTAssertEqual(empty["byModel"], [:])
    }
}
