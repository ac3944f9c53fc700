import AffinityCore
@testable import CaptureServer
import CaptureStore
import NIOCore
import XCTest

final class JSONRPCTests: XCTestCase {
    private func message(_ text: String) -> RPCMessage { RPCMessage.parse(ByteBuffer(string: text)) }

    private func code(_ message: RPCMessage) -> Int? {
        switch message {
        case .failure(let e): return e.code.rawValue
        case .single(.invalid(_, let e)): return e.code.rawValue
        default: return nil
        }
    }

    func testLineLevelFailures() {
        XCTAssertEqual(code(message("{")), -32700)
        XCTAssertEqual(code(message("[]")), -32600)
        let big = "[" + Array(repeating: "1", count: 1001).joined(separator: ",") + "]"
        XCTAssertEqual(code(message(big)), -32600)
    }

    func testInvalidRequestsKeepUsableIds() {
        XCTAssertEqual(message(#"{"jsonrpc":"1.0","id":7,"method":"x"}"#), .single(.invalid(id: .int(7), error: .invalidRequest("jsonrpc must be \"2.0\""))))
        XCTAssertEqual(code(message(#"{"jsonrpc":"2.0","id":"a","method":5}"#)), -32600)
        XCTAssertEqual(message(#"{"jsonrpc":"2.0","id":{},"method":"m"}"#), .single(.invalid(id: .null, error: .invalidRequest("id must be a number, a string or null"))))
        XCTAssertEqual(code(message("42")), -32600)
    }

    func testNotificationsAndNullIds() {
        guard case .single(.call(let n)) = message(#"{"jsonrpc":"2.0","method":"m"}"#) else { return XCTFail() }
        XCTAssertTrue(n.isNotification)
        guard case .single(.call(let r)) = message(#"{"jsonrpc":"2.0","method":"m","id":null}"#) else { return XCTFail() }
        XCTAssertFalse(r.isNotification)
        XCTAssertEqual(r.id, .null)
    }

    func testBatchEntriesAreInterpretedOneByOne() {
        guard case .batch(let entries) = message(#"[1,{"jsonrpc":"2.0","method":"m","id":"x"}]"#) else { return XCTFail() }
        XCTAssertEqual(entries.count, 2)
        XCTAssertEqual(entries[1], .call(RPCRequest(id: .string("x"), method: "m", params: nil)))
    }

    func testStoreErrorsMapInOnePlace() {
        XCTAssertEqual(RPCError(StoreError(code: .full, message: "disk full")).code.rawValue, -32000)
        XCTAssertEqual(RPCError(StoreError(code: .full, message: "disk full")).detail, .storage(retryable: true, kind: "full"))
        XCTAssertEqual(RPCError(StoreError(code: .busy, message: "busy")).detail, .storage(retryable: true, kind: "busy"))
        // A damaged file: the client keeps the capture until the service runs on a salvaged one (README).
        XCTAssertEqual(RPCError(StoreError(code: .corrupt, message: "bad")).detail, .storage(retryable: true, kind: "corrupt"))
        XCTAssertEqual(RPCError(StoreError(code: .invalidCursor, message: "c")).code.rawValue, -32602)
        XCTAssertEqual(RPCError(StoreError(code: .internal, message: "bug")), .internalError)
    }

    func testResponsesPutIdBeforeResultAndCarryErrorData() {
        var buffer = ByteBuffer()
        buffer.writeRPCResponse(id: .int(3), outcome: .success(RPCResult { $0.writeStaticString("{\"id\":9}") }))
        XCTAssertEqual(String(buffer: buffer), #"{"jsonrpc":"2.0","id":3,"result":{"id":9}}"#)
        buffer.clear()
        buffer.writeRPCError(id: .string("a"), error: .invalidParams("limit", "too big"))
        XCTAssertEqual(
            String(buffer: buffer),
            #"{"jsonrpc":"2.0","id":"a","error":{"code":-32602,"message":"Invalid params","data":{"field":"limit","reason":"too big"}}}"#
        )
        XCTAssertTrue(RPCError.lineTooLong(limit: 1).closesConnection)
        XCTAssertFalse(RPCError.internalError.closesConnection)
    }
}

/// A capture is written into one reservation: the worst case fits, and the text parses back to the capture.
final class CaptureEncodingTests: XCTestCase {
    func testEveryFieldAtItsWorstCaseFitsAndRoundTrips() throws {
        // 200 control characters: each is written as \u00XX, the bound's worst case.
        let worst = String(repeating: "\u{1}", count: 200)
        let quotes = String(repeating: "\"\\", count: 100)
        let capture = Capture(
            id: .max, sessionId: worst, agentId: quotes, capturedAt: .min,
            fields: CaptureFields(
                taasRequestId: worst, taasTraceId: quotes, openclawTurnId: "é😀\u{7f}", openclawAttempt: worst,
                autorouterModel: worst, autorouterAlgo: worst, autorouterAlgoSource: worst, thinkingApplied: worst,
                routedContextWindow: Int(Int32.max)
            ),
            usage: CallUsage(
                autorouted: false, provider: worst, requestedModel: worst, inputTokens: .min, outputTokens: .max,
                cacheReadTokens: -1, cacheWriteTokens: 0, costUsd: -1.7976931348623157e+308,
                cacheSavedUsd: 2.2250738585072014e-308, durationMs: .max, outcome: .error
            ),
            attribution: CallAttribution(trigger: worst, channel: quotes, timeToFirstByteMs: .min, failureKind: worst),
            routeChanged: false
        )
        for hostId in [nil, worst] {
            var buffer = ByteBuffer()
            buffer.writeStaticString("[")
            buffer.writeCapture(capture, hostId: hostId)
            buffer.writeStaticString(",null]")
            let parsed = try JSONParser.parse(String(buffer: buffer))
            guard case .array(let items) = parsed, items.count == 2, let object = items.first else {
                return XCTFail("not a two-item array: \(String(buffer: buffer).prefix(200))")
            }
            XCTAssertEqual(object["hostId"], hostId.map { .string($0) })
            XCTAssertEqual(object["id"], .int(.max))
            XCTAssertEqual(object["sessionId"], .string(worst))
            XCTAssertEqual(object["agentId"], .string(quotes))
            XCTAssertEqual(object["capturedAt"], .int(.min))
            XCTAssertEqual(object["openclawTurnId"], .string("é😀\u{7f}"))
            XCTAssertEqual(object["routedContextWindow"], .int(Int64(Int32.max)))
            XCTAssertEqual(object["autorouted"], .bool(false))
            XCTAssertEqual(object["inputTokens"], .int(.min))
            XCTAssertEqual(object["costUsd"], .double(-1.7976931348623157e+308))
            XCTAssertEqual(object["cacheSavedUsd"], .double(2.2250738585072014e-308))
            XCTAssertEqual(object["outcome"], .string("error"))
            XCTAssertEqual(object["trigger"], .string(worst))
            XCTAssertEqual(object["channel"], .string(quotes))
            XCTAssertEqual(object["timeToFirstByteMs"], .int(.min))
            XCTAssertEqual(object["failureKind"], .string(worst))
            XCTAssertEqual(object["routeChanged"], .bool(false))
            XCTAssertEqual(items[1], .null, "nothing written past the capture")
        }
    }

    func testNullsAndNonFiniteNumbers() throws {
        let capture = Capture(
            id: 1, sessionId: "oc:s", agentId: nil, capturedAt: 0, fields: CaptureFields(),
            usage: CallUsage(costUsd: .infinity, cacheSavedUsd: .nan)
        )
        var buffer = ByteBuffer()
        buffer.writeCapture(capture)
        let text = String(buffer: buffer)
        XCTAssertTrue(text.hasPrefix(#"{"id":1,"sessionId":"oc:s","agentId":null,"capturedAt":0,"taasRequestId":null"#), text)
        XCTAssertTrue(text.contains(#""costUsd":null,"cacheSavedUsd":null"#), text)
        XCTAssertTrue(
            text.hasSuffix(#""outcome":null,"trigger":null,"channel":null,"timeToFirstByteMs":null,"failureKind":null,"routeChanged":null}"#),
            text)
    }
}
