import Foundation
import XCTest

/// SPEC v2 "Ordered effects on one connection": a query sees every write sent before it on its
/// connection — ids, notifications and batch entries alike — as if the client had waited for each answer.
final class OrderedEffectsTests: EndToEndTestCase {
    private func recordParams(_ session: String, _ requestId: String) -> JSON {
        ["sessionId": .string(session), "headers": autoroutedHeaders(requestId: requestId)]
    }

    func testEveryPipelinedQuerySeesTheRecordSentJustBeforeIt() throws {
        try startService()
        let client = try connect()
        var text = ""
        var expected: [Int64: String] = [:]
        var nextId: Int64 = 1
        for i in 0..<150 {
            let session = "oc:order-\(i)"
            let requestId = "req-\(i)"
            let lastRoute = Request.object("taas.autorouter.lastRoute", ["sessionId": .string(session)], id: .int(nextId + 1))
            switch i % 3 {
            case 0:  // record with an id, then the query
                text += Request.line("taas.autorouter.record", recordParams(session, requestId), id: .int(nextId)) + "\n"
                text += lastRoute.encoded + "\n"
            case 1:  // record as a notification, then the query
                text += Request.line("taas.autorouter.record", recordParams(session, requestId), id: nil) + "\n"
                text += lastRoute.encoded + "\n"
            default:  // both inside one batch: a notification record, then the query
                let record = Request.object("taas.autorouter.record", recordParams(session, requestId), id: nil)
                text += JSON.array([record, lastRoute]).encoded + "\n"
            }
            expected[nextId + 1] = requestId
            nextId += 2
        }
        try client.send(Array(text.utf8))
        var seen = 0
        var answers = 0
        while answers < 150 {
            let line = try client.readJSON()
            for response in line.array ?? [line] {
                guard let id = response["id"]?.int, let requestId = expected[id] else { continue }
                answers += 1
                XCTAssertEqual(response["result"]?["capture"]?["taasRequestId"], .string(requestId), "query \(id)")
                if response["result"]?["capture"]?["taasRequestId"] == .string(requestId) { seen += 1 }
            }
        }
        XCTAssertEqual(seen, 150, "every query saw the record sent before it")
    }

    func testAQueryDoesNotSeeARecordSentAfterIt() throws {
        try startService()
        let client = try connect()
        let text = [
            Request.line("taas.autorouter.record", recordParams("oc:after", "first"), id: 1),
            Request.line("taas.autorouter.lastRoute", ["sessionId": "oc:after"], id: 2),
            Request.line("taas.autorouter.record", recordParams("oc:after", "second"), id: 3),
            Request.line("taas.autorouter.stats", ["sessionId": "oc:after"], id: 4),
        ].joined(separator: "\n") + "\n"
        try client.send(Array(text.utf8))
        var byId: [Int64: JSON] = [:]
        for _ in 0..<4 {
            let response = try client.readJSON()
            byId[try XCTUnwrap(response["id"]?.int)] = response
        }
        XCTAssertEqual(byId[2]?["result"]?["capture"]?["taasRequestId"], "first")
        XCTAssertEqual(byId[4]?["result"]?["total"], 2)
    }

    func testOverridesAreOrderedLikeRecords() throws {
        try startService()
        let client = try connect()
        let text = [
            Request.line("taas.autorouter.setAlgorithm", ["agentId": "ops", "algorithm": "cost"], id: nil),
            Request.line("taas.autorouter.algorithms", [:], id: 1),
        ].joined(separator: "\n") + "\n"
        try client.send(Array(text.utf8))
        let response = try client.readJSON()
        XCTAssertEqual(response["result"]?["overrides"]?[0]?["agentId"], "ops")
    }

    func testQueriesOfOneConnectionDoNotWaitForAnotherConnectionsWrites() throws {
        try startService()
        let writer = try connect()
        let reader = try connect()
        try writer.record(session: "oc:other", requestId: "w")
        // A reader that never wrote answers at once, in order, without any write of its own to wait for.
        let text = (1...50).map { Request.line("taas.autorouter.lastRoute", ["sessionId": "oc:other"], id: .int($0)) }
            .joined(separator: "\n") + "\n"
        try reader.send(Array(text.utf8))
        for id in 1...50 {
            let response = try reader.readJSON()
            XCTAssertEqual(response["id"], .int(Int64(id)))
            XCTAssertEqual(response["result"]?["capture"]?["taasRequestId"], "w")
        }
    }
}
