import XCTest

/// Framing, pipelining, batches and notifications on one connection.
final class TransportTests: EndToEndTestCase {
    func testPipelinedRequestsAreAnsweredInRequestOrder() throws {
        try startService()
        try assertPipelineAnsweredInOrder(try connect())
    }

    /// `--event-loops 1`: every connection on one loop (and its one reader), still answered in order.
    func testOneEventLoopServesSeveralPipelinedConnections() throws {
        try startService(arguments: ["--event-loops", "1"])
        let clients = try (0..<3).map { _ in try connect() }
        for client in clients { try assertPipelineAnsweredInOrder(client) }
        let refused = try runCLI(["serve", "--event-loops", "0", "--socket", workDirectory + "/x.sock", "--db", workDirectory + "/x.db"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--event-loops must be 1-64"), refused.stderr)
    }

    private func assertPipelineAnsweredInOrder(_ client: LineClient) throws {
        var text = ""
        for index in 1...300 {
            switch index % 3 {
            case 0:
                text += Request.line(
                    "taas.autorouter.record",
                    ["sessionId": "oc:pipe", "headers": autoroutedHeaders(requestId: "pipe-\(index)")],
                    id: .int(Int64(index))) + "\n"
            case 1: text += Request.line("taas.capture.health", [:], id: .int(Int64(index))) + "\n"
            default: text += Request.line("taas.autorouter.lastRoute", ["sessionId": "oc:pipe"], id: .int(Int64(index))) + "\n"
            }
        }
        try client.send(Array(text.utf8))
        var recordIds: [Int64] = []
        for index in 1...300 {
            let response = try client.readJSON()
            XCTAssertEqual(response["id"], .int(Int64(index)), "responses come in request order")
            let result = try expectResult(response)
            if index % 3 == 0 { recordIds.append(try XCTUnwrap(result["id"]?.int)) }
        }
        XCTAssertEqual(recordIds, recordIds.sorted(), "records from one connection are stored in order")
        XCTAssertEqual(Set(recordIds).count, 100)
    }

    func testLinesMaySplitAcrossWritesAndEndWithCRLF() throws {
        try startService()
        let client = try connect()
        let first = Array((Request.line("taas.capture.health", [:], id: "a") + "\r\n").utf8)
        let second = Array((Request.line("taas.capture.health", [:], id: "b") + "\r\n").utf8)
        let bytes = first + second
        for chunk in stride(from: 0, to: bytes.count, by: 7) {
            try client.send(Array(bytes[chunk..<min(chunk + 7, bytes.count)]))
            usleep(1_000)
        }
        XCTAssertEqual(try client.readJSON()["id"], "a")
        XCTAssertEqual(try client.readJSON()["id"], "b")
    }

    func testIdsAreEchoedAndNullIdIsNotANotification() throws {
        try startService()
        let client = try connect()
        for id: JSON in ["text-id", 0, -7, 9_007_199_254_740_993, "", nil] {
            let response = try client.call("taas.capture.health", [:], id: id)
            XCTAssertEqual(response["jsonrpc"], "2.0")
            XCTAssertEqual(try expectResult(response)["status"], "ok", id.encoded)
        }
    }

    func testNotificationsAreExecutedButNeverAnswered() throws {
        try startService()
        let client = try connect()
        try client.sendLine(
            Request.line("taas.autorouter.record", ["sessionId": "oc:notify", "headers": autoroutedHeaders()], id: nil))
        try client.sendLine(Request.line("no.such.method", [:], id: nil))
        try client.sendLine(Request.line("taas.autorouter.record", ["sessionId": 5], id: nil))
        let response = try client.call("taas.capture.health", [:], id: 77)
        XCTAssertEqual(response["id"], 77, "the first line back answers the first request with an id")
        // The record notification was executed (committed before or soon after the health answer).
        let deadline = Date().addingTimeInterval(5)
        var stored = 0
        while Date() < deadline {
            stored = try client.fullHistory(["sessionId": "oc:notify"]).count
            if stored > 0 { break }
            usleep(20_000)
        }
        XCTAssertEqual(stored, 1)
    }

    func testMixedBatchAnswersEveryRequestButNoNotification() throws {
        try startService()
        let client = try connect()
        let batch: JSON = [
            Request.object("taas.capture.health", [:], id: 1),
            Request.object("taas.autorouter.record", ["sessionId": "oc:batch", "headers": autoroutedHeaders()], id: nil),
            Request.object("taas.autorouter.record", ["sessionId": "oc:batch", "headers": autoroutedHeaders()], id: 2),
            42,
            Request.object("no.such.method", [:], id: 3),
            Request.object("taas.autorouter.history", ["sessionId": "oc:batch", "limit": 0], id: 4),
            Request.object("no.such.method", [:], id: nil),
        ]
        try client.sendLine(batch.encoded)
        let responses = try XCTUnwrap(try client.readJSON().array, "a batch is answered with an array")
        XCTAssertEqual(responses.count, 5)
        var byId: [JSON: JSON] = [:]
        for response in responses { byId[response["id"] ?? "missing"] = response }
        XCTAssertEqual(byId[1]?["result"]?["status"], "ok")
        XCTAssertEqual(byId[2]?["result"]?["recorded"], true)
        assertError(try XCTUnwrap(byId[3]), code: -32601)
        assertError(try XCTUnwrap(byId[4]), code: -32602, fields: ["limit"])
        assertError(try XCTUnwrap(byId[nil]), code: -32600)
        XCTAssertEqual(try client.fullHistory(["sessionId": "oc:batch"]).count, 2, "the notification was executed")
    }

    func testBatchOfOnlyNotificationsProducesNoLine() throws {
        try startService()
        let client = try connect()
        let batch: JSON = [
            Request.object("taas.autorouter.record", ["sessionId": "oc:silent", "headers": autoroutedHeaders()], id: nil),
            Request.object("taas.capture.health", [:], id: nil),
        ]
        try client.sendLine(batch.encoded)
        XCTAssertEqual(try client.call("taas.capture.health", [:], id: "after")["id"], "after")
    }

    func testBatchOfExactlyOneThousandIsAnsweredInFull() throws {
        try startService()
        let client = try connect()
        let batch = JSON.array((0..<1000).map { Request.object("taas.capture.health", [:], id: .int(Int64($0))) })
        try client.sendLine(batch.encoded)
        let responses = try XCTUnwrap(try client.readJSON(timeout: 30).array)
        XCTAssertEqual(responses.count, 1000)
        XCTAssertEqual(Set(responses.compactMap { $0["id"]?.int }), Set(0..<1000))
    }
}
