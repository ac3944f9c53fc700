import AffinityCore
import XCTest

@testable import CaptureStore

final class QueryTests: StoreTestCase {
    func testLastRouteIsNewestByCapturedAtThenId() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record([capture(at: 30, model: "a"), capture(at: 10, model: "b")])
        let tie = try writer.record([capture(at: 30, model: "c"), capture(session: "oc:other", at: 99)])
        let reader = try CaptureReader(path: path())
        let last = try XCTUnwrap(reader.lastRoute(.session("oc:session-a")))
        XCTAssertEqual(last.id, tie[0].id)
        XCTAssertEqual(last.fields.autorouterModel, "c")
        XCTAssertNil(try reader.lastRoute(.session("oc:none")))
    }

    func testLastRouteByAgentSpansSessionsAndIgnoresOtherAgents() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record([
            capture(session: "oc:1", agent: "a", at: 5), capture(session: "oc:2", agent: "a", at: 7),
            capture(session: "oc:3", agent: "b", at: 9), capture(session: "oc:4", agent: nil, at: 11),
        ])
        let reader = try CaptureReader(path: path())
        XCTAssertEqual(try reader.lastRoute(.agent("a"))?.sessionId, "oc:2")
        XCTAssertEqual(try reader.lastRoute(.agent("b"))?.sessionId, "oc:3")
        XCTAssertNil(try reader.lastRoute(.agent("c")))
    }

    func testHistoryPagesNewestFirstAndEndsWithNilCursor() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<7).map { capture(at: Int64($0 % 3)) })
        let reader = try CaptureReader(path: path())
        let all = try pages(reader, HistoryQuery(selector: .session("oc:session-a"), limit: 3))
        XCTAssertEqual(all.map(\.captures.count), [3, 3, 1])
        XCTAssertNil(all.last?.nextCursor)
        let keys = all.flatMap(\.captures).map { [$0.capturedAt, $0.id] }
        XCTAssertEqual(keys, keys.sorted { ($0[0], $0[1]) > ($1[0], $1[1]) })
        XCTAssertEqual(Set(all.flatMap(\.captures).map(\.id)).count, 7)
    }

    func testExactPageSizeHasNoNextCursor() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<4).map { capture(at: Int64($0)) })
        let reader = try CaptureReader(path: path())
        XCTAssertNil(try reader.history(HistoryQuery(selector: .session("oc:session-a"), limit: 4)).nextCursor)
    }

    func testHistoryPagingStaysExactWhileCapturesArrive() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<10).map { capture(at: 1000 + Int64($0)) })
        let reader = try CaptureReader(path: path())
        var query = HistoryQuery(selector: .session("oc:session-a"), limit: 4)
        var seen: [Int64] = []
        var arrival: Int64 = 0
        while true {
            let page = try reader.history(query)
            seen += page.captures.map(\.id)
            // A newer capture arrives between pages: it must neither appear nor shift the pages.
            _ = try writer.record([capture(at: 2000 + arrival)])
            arrival += 1
            guard let next = page.nextCursor else { break }
            query.cursor = next
        }
        XCTAssertEqual(seen, Array((1...10).reversed()))
    }

    func testHistorySinceIsInclusiveAndUntilExclusive() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<10).map { capture(at: Int64($0) * 10) })
        let reader = try CaptureReader(path: path())
        let query = HistoryQuery(selector: .session("oc:session-a"), limit: 2, since: 20, until: 60)
        XCTAssertEqual(try pages(reader, query).flatMap(\.captures).map(\.capturedAt), [50, 40, 30, 20])
        let byAgent = HistoryQuery(selector: .agent("main"), limit: 100, since: 90)
        XCTAssertEqual(try reader.history(byAgent).captures.map(\.capturedAt), [90])
    }

    func testCursorIssuedForAnotherSelectorIsRejected() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<4).map { capture(at: Int64($0)) })
        let reader = try CaptureReader(path: path())
        let cursor = try XCTUnwrap(reader.history(HistoryQuery(selector: .session("oc:session-a"), limit: 1)).nextCursor)
        for selector in [CaptureSelector.session("oc:session-b"), .agent("oc:session-a"), .agent("main")] {
            XCTAssertThrowsError(try reader.history(HistoryQuery(selector: selector, cursor: cursor))) {
                XCTAssertEqual(($0 as? StoreError)?.code, .invalidCursor)
            }
        }
    }

    func testTamperedOrMalformedCursorIsRejected() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<4).map { capture(at: Int64($0)) })
        let reader = try CaptureReader(path: path())
        let selector = CaptureSelector.session("oc:session-a")
        let cursor = try XCTUnwrap(reader.history(HistoryQuery(selector: selector, limit: 1)).nextCursor)
        let decoded = String(decoding: try XCTUnwrap(Base64URL.decode(cursor)), as: UTF8.self)
        let parts = decoded.split(separator: ".").map(String.init)
        let forged = "v1.\(parts[1]).\(Int64(parts[2])! - 1).\(parts[3])"
        let candidates = [
            Base64URL.encode(Array(forged.utf8)), "", "!!!", "not-a-cursor", String(cursor.dropLast()), cursor + "A",
            Base64URL.encode(Array("v1.1.2".utf8)), Base64URL.encode(Array("v2.\(parts[1]).\(parts[2]).\(parts[3])".utf8)),
        ]
        for candidate in candidates {
            XCTAssertThrowsError(try reader.history(HistoryQuery(selector: selector, cursor: candidate)), candidate) {
                XCTAssertEqual(($0 as? StoreError)?.code, .invalidCursor)
            }
        }
        XCTAssertEqual(try reader.history(HistoryQuery(selector: selector, cursor: cursor)).captures.count, 3)
    }

    func testStatsCountsFieldsWithNullsUnderUnknown() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        var other = capture(session: "oc:b", agent: nil, at: 50, model: nil)
        other.fields.thinkingApplied = nil
        _ = try writer.record([
            capture(session: "oc:a", agent: "x", at: 10, model: "m1"), capture(session: "oc:a", agent: "y", at: 20, model: "m1"),
            capture(session: "oc:b", agent: "x", at: 30, model: "m2"), other,
        ])
        let reader = try CaptureReader(path: path())
        let all = try reader.stats(nil, since: nil, until: nil)
        XCTAssertEqual(
            all,
            Stats(
                total: 4, sessions: 2, agents: 2, firstCapturedAt: 10, lastCapturedAt: 50,
                byModel: ["m1": 2, "m2": 1, "unknown": 1], byAlgo: ["algo": 4], byAlgoSource: ["source": 4],
                byThinking: ["false": 3, "unknown": 1], routeChanges: 1
            )
        )
        let agentX = try reader.stats(.agent("x"), since: 15, until: nil)
        XCTAssertEqual(agentX.total, 1)
        XCTAssertEqual(agentX.firstCapturedAt, 30)
        let sessionA = try reader.stats(.session("oc:a"), since: nil, until: 20)
        XCTAssertEqual([sessionA.total, sessionA.sessions, sessionA.agents], [1, 1, 1])
        XCTAssertEqual(try reader.stats(.session("oc:none"), since: nil, until: nil), Stats(routeChanges: 0))
    }

    func testHealthReportsCountsAndSizes() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record([capture(), capture()])
        let health = try CaptureReader(path: path()).health()
        XCTAssertEqual(health.captures, 2)
        XCTAssertEqual(health.schemaVersion, Migrator.latestVersion)
        XCTAssertGreaterThan(health.dbBytes, 0)
        XCTAssertGreaterThan(health.walBytes, 0)
        try writer.checkpoint(truncate: true)
        XCTAssertEqual(try CaptureReader(path: path()).health().walBytes, 0)
    }

    private func pages(_ reader: CaptureReader, _ first: HistoryQuery) throws -> [HistoryPage] {
        var query = first
        var result: [HistoryPage] = []
        while true {
            let page = try reader.history(query)
            result.append(page)
            guard let next = page.nextCursor else { return result }
            query.cursor = next
        }
    }
}
