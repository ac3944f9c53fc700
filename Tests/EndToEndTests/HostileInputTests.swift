import Foundation
import XCTest

/// Malformed and abusive input: each kind is answered as the SPEC says, the service stays up, another
/// client is served promptly afterwards, and the stored captures are exactly as before.
final class HostileInputTests: EndToEndTestCase {
    /// What the SPEC requires for one hostile input.
    enum Expectation {
        /// One error response with this code; the connection stays usable.
        case error(Int64)
        /// One error response with one of these codes (where the SPEC allows either reading); stays.
        case errorIn([Int64])
        /// A batch array of `count` errors, each with `code`; stays.
        case batch(count: Int, code: Int64)
        /// One error response with this code, then the connection is closed.
        case errorThenClosed(Int64)
        /// No response at all, or one error with this code; stays.
        case nothingOr(Int64)
        /// Either -32700 (a parser depth limit) or a batch whose one entry is -32600; stays.
        case parseErrorOrInvalidBatchEntry
        /// A successful result that satisfies the check (read-only queries with hostile values); stays.
        case result((JSON) -> Bool)
    }

    struct Case {
        var name: String
        var bytes: [UInt8]
        var expectation: Expectation
    }

    private func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

    private func request(_ method: String, _ params: JSON) -> [UInt8] {
        line(Request.line(method, params, id: 1))
    }

    private func raw(_ prefix: String, _ bytes: [UInt8], _ suffix: String) -> [UInt8] {
        Array(prefix.utf8) + bytes + Array((suffix + "\n").utf8)
    }

    private func cases(cursor: String) -> [Case] {
        let health = #"{"jsonrpc":"2.0","method":"taas.capture.health","params":{},"id":1}"#
        let long201 = String(repeating: "s", count: 201)
        let nearlyMiB = String(repeating: "z", count: 900_000)
        var tampered = Array(cursor)
        tampered[tampered.count - 2] = tampered[tampered.count - 2] == "x" ? "y" : "x"
        let deepOpen = String(repeating: "[", count: 10_000)
        let deepClose = String(repeating: "]", count: 10_000)
        let deepObject = String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        let record = "taas.autorouter.record"
        let history = "taas.autorouter.history"
        let headers = autoroutedHeaders()
        let overLimit = #"{"jsonrpc":"2.0","method":"taas.capture.health","params":{"p":""#
            + String(repeating: "x", count: 1_100_000) + #""},"id":1}"#
        return [
            // Broken JSON
            Case(name: "truncated object", bytes: line(String(health.dropLast())), expectation: .error(-32700)),
            Case(name: "trailing comma", bytes: line(#"{"jsonrpc":"2.0","method":"x","id":1,}"#), expectation: .error(-32700)),
            Case(name: "single quotes", bytes: line("{'jsonrpc':'2.0','method':'x','id':1}"), expectation: .error(-32700)),
            Case(name: "unquoted keys", bytes: line(#"{jsonrpc:"2.0",method:"x",id:1}"#), expectation: .error(-32700)),
            Case(name: "plain text", bytes: line("hello, service"), expectation: .error(-32700)),
            Case(name: "two objects on one line", bytes: line(health + health), expectation: .error(-32700)),
            Case(name: "unterminated string", bytes: line(#"{"jsonrpc":"2.0","method":"taas"#), expectation: .error(-32700)),
            Case(name: "bad escape", bytes: line(#"{"jsonrpc":"2.0","method":"\q","id":1}"#), expectation: .error(-32700)),
            Case(name: "NaN id", bytes: line(#"{"jsonrpc":"2.0","method":"taas.capture.health","id":NaN}"#),
                 expectation: .error(-32700)),
            Case(name: "leading zero number", bytes: line(#"{"jsonrpc":"2.0","method":"taas.capture.health","id":01}"#),
                 expectation: .error(-32700)),
            Case(name: "invalid UTF-8 in a string", bytes: raw(#"{"jsonrpc":"2.0","method":"taas.capture.health","params":{"x":""#,
                 [0xFF, 0xFE], #""},"id":1}"#), expectation: .error(-32700)),
            Case(name: "overlong UTF-8 encoding", bytes: raw(#"{"jsonrpc":"2.0","method":"taas.capture.health","params":{"x":""#,
                 [0xC0, 0xAF], #""},"id":1}"#), expectation: .error(-32700)),
            Case(name: "truncated UTF-8 sequence", bytes: raw(#"{"jsonrpc":"2.0","method":"taas.autorouter.lastRoute","params":{"sessionId":"oc:"#,
                 [0xE6, 0x97], #""},"id":1}"#), expectation: .error(-32700)),
            Case(name: "NUL byte between tokens", bytes: raw(#"{"jsonrpc":"2.0","#, [0x00], #""method":"taas.capture.health","id":1}"#),
                 expectation: .error(-32700)),
            Case(name: "raw NUL inside a string", bytes: raw(#"{"jsonrpc":"2.0","method":"taas.capture.health"#, [0x00],
                 #"","id":1}"#), expectation: .error(-32700)),
            Case(name: "raw control character inside a string", bytes: raw(#"{"jsonrpc":"2.0","method":"taas."#, [0x01],
                 #"capture.health","id":1}"#), expectation: .error(-32700)),
            Case(name: "10k unbalanced [", bytes: line(deepOpen), expectation: .error(-32700)),
            Case(name: "10k nested [] (a batch of one non-request or too deep)", bytes: line(deepOpen + deepClose),
                 expectation: .parseErrorOrInvalidBatchEntry),
            Case(name: "10k nested objects in params", bytes: line(
                #"{"jsonrpc":"2.0","method":"taas.autorouter.record","params":{"sessionId":"oc:deep","headers":{"x-taas-autorouted":"true","x":"#
                    + deepObject + "}},\"id\":1}"), expectation: .errorIn([-32700, -32602])),
            Case(name: "number overflowing a double", bytes: line(
                #"{"jsonrpc":"2.0","method":"taas.autorouter.history","params":{"sessionId":"oc:x","limit":1e400},"id":1}"#),
                 expectation: .errorIn([-32700, -32602])),
            // Valid JSON that is not a request
            Case(name: "batch of numbers", bytes: line("[1,2,3]"), expectation: .batch(count: 3, code: -32600)),
            Case(name: "batch of an empty object", bytes: line("[{}]"), expectation: .batch(count: 1, code: -32600)),
            Case(name: "empty object", bytes: line("{}"), expectation: .error(-32600)),
            Case(name: "empty batch", bytes: line("[]"), expectation: .error(-32600)),
            Case(name: "batch of 1001", bytes: line(JSON.array(Array(repeating: try! JSON.parse(health), count: 1001)).encoded),
                 expectation: .error(-32600)),
            Case(name: "method is an object", bytes: line(#"{"jsonrpc":"2.0","method":{"m":1},"id":1}"#), expectation: .error(-32600)),
            Case(name: "jsonrpc missing", bytes: line(#"{"method":"taas.capture.health","id":1}"#), expectation: .error(-32600)),
            Case(name: "jsonrpc 3.0", bytes: line(#"{"jsonrpc":"3.0","method":"taas.capture.health","id":1}"#),
                 expectation: .error(-32600)),
            Case(name: "id is an object", bytes: line(#"{"jsonrpc":"2.0","method":"taas.capture.health","id":{"x":1}}"#),
                 expectation: .error(-32600)),
            Case(name: "params is a string", bytes: line(#"{"jsonrpc":"2.0","method":"taas.autorouter.record","params":"oc:x","id":1}"#),
                 expectation: .errorIn([-32600, -32602])),
            Case(name: "params is a number", bytes: line(#"{"jsonrpc":"2.0","method":"taas.autorouter.stats","params":7,"id":1}"#),
                 expectation: .errorIn([-32600, -32602])),
            // Unknown methods
            Case(name: "unknown method", bytes: request("taas.autorouter.recordd", [:]), expectation: .error(-32601)),
            Case(name: "method with an escaped NUL", bytes: request("taas.capture.health\u{0}", [:]), expectation: .error(-32601)),
            Case(name: "100 KB method name", bytes: request(String(repeating: "m", count: 100_000), [:]),
                 expectation: .error(-32601)),
            // Bad params
            Case(name: "201-char sessionId", bytes: request(record, ["sessionId": .string(long201), "headers": headers]),
                 expectation: .error(-32602)),
            Case(name: "900 KB sessionId", bytes: request(record, ["sessionId": .string(nearlyMiB), "headers": headers]),
                 expectation: .error(-32602)),
            Case(name: "sessionId with NUL", bytes: request(record, ["sessionId": "oc:a\u{0}b", "headers": headers]),
                 expectation: .error(-32602)),
            Case(name: "sessionId with newline", bytes: request(record, ["sessionId": "oc:a\nb", "headers": headers]),
                 expectation: .error(-32602)),
            Case(name: "sessionId null", bytes: request(record, ["sessionId": nil, "headers": headers]), expectation: .error(-32602)),
            Case(name: "agentId array", bytes: request(record, ["sessionId": "oc:x", "agentId": ["a"], "headers": headers]),
                 expectation: .error(-32602)),
            Case(name: "header value number", bytes: request(record, ["sessionId": "oc:x", "headers": ["x-taas-autorouted": "true",
                 "x-request-id": 5]]), expectation: .error(-32602)),
            Case(name: "header value object", bytes: request(record, ["sessionId": "oc:x", "headers": ["x-taas-autorouted": ["v": "true"]]]),
                 expectation: .error(-32602)),
            Case(name: "capture routedContextWindow negative", bytes: request(record, ["sessionId": "oc:x",
                 "capture": ["routedContextWindow": -5]]), expectation: .error(-32602)),
            Case(name: "capture routedContextWindow float", bytes: request(record, ["sessionId": "oc:x",
                 "capture": ["routedContextWindow": 1.5]]), expectation: .error(-32602)),
            Case(name: "capture field 201 chars", bytes: request(record, ["sessionId": "oc:x",
                 "capture": ["taasRequestId": .string(long201)]]), expectation: .error(-32602)),
            Case(name: "capture is an array", bytes: request(record, ["sessionId": "oc:x", "capture": [1, 2]]),
                 expectation: .error(-32602)),
            Case(name: "capturedAt 1e30", bytes: request(record, ["sessionId": "oc:x", "capturedAt": 1e30, "headers": headers]),
                 expectation: .error(-32602)),
            Case(name: "capturedAt beyond Int64", bytes: line(
                #"{"jsonrpc":"2.0","method":"taas.autorouter.record","params":{"sessionId":"oc:x","capturedAt":99999999999999999999999,"headers":{"x-taas-autorouted":"true"}},"id":1}"#),
                 expectation: .error(-32602)),
            Case(name: "capturedAt fractional", bytes: request(record, ["sessionId": "oc:x", "capturedAt": .double(1.7e12 + 0.5),
                 "headers": headers]), expectation: .error(-32602)),
            Case(name: "capturedAt in 2019", bytes: request(record, ["sessionId": "oc:x", "capturedAt": 1_546_300_800_000,
                 "headers": headers]), expectation: .error(-32602)),
            Case(name: "capturedAt next year", bytes: request(record, ["sessionId": "oc:x", "capturedAt": .int(nowMs() + 366 * 86_400_000),
                 "headers": headers]), expectation: .error(-32602)),
            Case(name: "capturedAt negative", bytes: request(record, ["sessionId": "oc:x", "capturedAt": -1, "headers": headers]),
                 expectation: .error(-32602)),
            Case(name: "idempotencyKey object", bytes: request(record, ["sessionId": "oc:x", "headers": headers,
                 "idempotencyKey": ["k": 1]]), expectation: .error(-32602)),
            Case(name: "both headers and capture", bytes: request(record, ["sessionId": "oc:x", "headers": headers, "capture": [:]]),
                 expectation: .error(-32602)),
            Case(name: "history limit negative", bytes: request(history, ["sessionId": "oc:x", "limit": -10]),
                 expectation: .error(-32602)),
            Case(name: "history limit float", bytes: request(history, ["sessionId": "oc:x", "limit": 10.5]),
                 expectation: .error(-32602)),
            Case(name: "history limit huge", bytes: request(history, ["sessionId": "oc:x", "limit": 9_223_372_036_854_775_807]),
                 expectation: .error(-32602)),
            Case(name: "history tampered cursor", bytes: request(history, ["sessionId": "oc:seed", "cursor": .string(String(tampered))]),
                 expectation: .error(-32602)),
            Case(name: "history cursor of another selector", bytes: request(history, ["sessionId": "oc:x", "cursor": .string(cursor)]),
                 expectation: .error(-32602)),
            Case(name: "history garbage cursor", bytes: request(history, ["sessionId": "oc:seed", "cursor": "AAAA"]),
                 expectation: .error(-32602)),
            Case(name: "history 10 KB cursor", bytes: request(history, ["sessionId": "oc:seed",
                 "cursor": .string(String(repeating: "Q", count: 10_000))]), expectation: .error(-32602)),
            Case(name: "history SQL in cursor", bytes: request(history, ["sessionId": "oc:seed", "cursor": "' OR 1=1 --"]),
                 expectation: .error(-32602)),
            Case(name: "stats since string", bytes: request("taas.autorouter.stats", ["since": "0 OR 1=1"]), expectation: .error(-32602)),
            Case(name: "prune maxAgeMs negative", bytes: request("taas.capture.prune", ["maxAgeMs": -1]), expectation: .error(-32602)),
            Case(name: "prune maxRows string", bytes: request("taas.capture.prune", ["maxRows": "0"]), expectation: .error(-32602)),
            Case(name: "derive relative workspaceDir", bytes: request("taas.affinity.deriveSessionId", ["workspaceDir": "../etc"]),
                 expectation: .error(-32602)),
            Case(name: "derive workspaceDir with NUL", bytes: request("taas.affinity.deriveSessionId", ["workspaceDir": "/tmp/a\u{0}b"]),
                 expectation: .error(-32602)),
            // SQL in ids: stored literally, so queries for them find nothing and change nothing
            Case(name: "SQL in sessionId (lastRoute)", bytes: request("taas.autorouter.lastRoute", ["sessionId": "' OR 1=1 --"]),
                 expectation: .result({ $0["capture"] == .null && $0["sessionId"] == "' OR 1=1 --" })),
            Case(name: "SQL in agentId (history)", bytes: request(history, ["agentId": #"x" OR "1"="1"#]),
                 expectation: .result({ $0["captures"] == [] })),
            Case(name: "SQL in sessionId (stats)", bytes: request("taas.autorouter.stats", ["sessionId": "'; DROP TABLE captures; --"]),
                 expectation: .result({ $0["total"] == 0 })),
            Case(name: "many unknown headers, not autorouted", bytes: request(record, ["sessionId": "oc:x",
                 "headers": .object(Dictionary(uniqueKeysWithValues: (0..<5_000).map { ("x-h-\($0)", JSON.string("v")) }))]),
                 expectation: .result({ $0 == ["recorded": false, "reason": "not_autorouted"] })),
            // Lines
            Case(name: "empty line", bytes: line(""), expectation: .nothingOr(-32700)),
            Case(name: "whitespace-only line", bytes: line(" \t "), expectation: .nothingOr(-32700)),
            Case(name: "line over the limit", bytes: line(overLimit), expectation: .errorThenClosed(-32001)),
            Case(name: "over the limit without any newline", bytes: Array(repeating: UInt8(ascii: "x"), count: 1_200_000),
                 expectation: .errorThenClosed(-32001)),
        ]
    }

    /// The stored state, as the service reports it.
    private func snapshot(_ client: LineClient) throws -> JSON {
        [
            try client.result("taas.autorouter.stats", [:]),
            .array(try client.fullHistory(["sessionId": "oc:seed"])),
            .array(try client.fullHistory(["agentId": "seed-agent"])),
        ]
    }

    func testHostileInputIsAnsweredAsSpecifiedAndChangesNothing() throws {
        let service = try startService()
        let bystander = try connect()
        for index in 0..<12 {
            try bystander.record(session: index % 3 == 0 ? "oc:other-seed" : "oc:seed", agent: "seed-agent",
                                 capturedAt: nowMs() - Int64(index) * 1_000, model: "seed-\(index % 4)",
                                 requestId: "seed-\(index)")
        }
        let firstPage = try bystander.result("taas.autorouter.history", ["sessionId": "oc:seed", "limit": 3])
        let cursor = try XCTUnwrap(firstPage["nextCursor"]?.string)
        let before = try snapshot(bystander)
        let all = cases(cursor: cursor)
        XCTAssertGreaterThanOrEqual(all.count, 50)

        for (index, item) in all.enumerated() {
            let client = try connect()
            _ = try? client.sendSome(item.bytes, timeout: 10)
            check(item, on: client)
            XCTAssertTrue(service.isRunning, "\(item.name): the service died; output: \(service.log)")
            guard service.isRunning else { return }
            let started = Date()
            let probe = try? bystander.call("taas.capture.health", [:], id: .int(Int64(1_000 + index)), timeout: 5)
            XCTAssertEqual(probe?["result"]?["status"], "ok", "\(item.name): another client is not served")
            XCTAssertLessThan(Date().timeIntervalSince(started), 5, item.name)
            let after = try snapshot(bystander)
            if after != before {
                XCTFail("\(item.name): stored captures changed: \(after.encoded.prefix(300)) vs \(before.encoded.prefix(300))")
                return
            }
        }
    }

    private func check(_ item: Case, on client: LineClient) {
        let name = item.name
        do {
            switch item.expectation {
            case .error(let code):
                assertError(try client.readJSON(), code: code, name)
                try assertStays(client, name)
            case .errorIn(let codes):
                let response = try client.readJSON()
                XCTAssertTrue(
                    codes.contains(response["error"]?["code"]?.int ?? 0), "\(name): \(response.encoded.prefix(300))")
                try assertStays(client, name)
            case .batch(let count, let code):
                let responses = try client.readJSON().array ?? []
                XCTAssertEqual(responses.count, count, name)
                for response in responses { assertError(response, code: code, name) }
                try assertStays(client, name)
            case .errorThenClosed(let code):
                assertError(try client.readJSON(timeout: 15), code: code, name)
                XCTAssertTrue(client.waitForClose(timeout: 5), "\(name): the connection must be closed")
            case .nothingOr(let code):
                try client.sendLine(Request.line("taas.capture.health", [:], id: "probe"))
                var response = try client.readJSON()
                if response["id"] != "probe" {
                    assertError(response, code: code, name)
                    response = try client.readJSON()
                }
                XCTAssertEqual(response["id"], "probe", name)
            case .result(let accept):
                let response = try client.readJSON()
                XCTAssertTrue(response["result"].map(accept) ?? false, "\(name): \(response.encoded.prefix(300))")
                try assertStays(client, name)
            case .parseErrorOrInvalidBatchEntry:
                let response = try client.readJSON()
                let parseError = response["error"]?["code"] == -32700
                let batchError = response.array?.count == 1 && response[0]?["error"]?["code"] == -32600
                XCTAssertTrue(parseError || batchError, "\(name): \(response.encoded.prefix(300))")
                try assertStays(client, name)
            }
        } catch {
            XCTFail("\(name): \(error)")
        }
    }

    /// The same connection still answers (every code but -32001/-32002/-32003 keeps it open).
    private func assertStays(_ client: LineClient, _ name: String) throws {
        let response = try client.call("taas.capture.health", [:], id: "stays", timeout: 5)
        XCTAssertEqual(response["result"]?["status"], "ok", "\(name): the connection must stay usable")
    }
}
