import AffinityCore
@testable import CaptureServer
import CaptureStore
import NIOCore
import XCTest

final class JSONRPCTests: XCTestCase {
    private func message(_ text: String) -> RPCMessage { RPCMessage.parse(ByteBuffer(string: text)) }

    private func code(_ message: RPCMessage) -> Int? {
        switch message {
        case .failure(let e): return e.code
        case .single(.invalid(_, let e)): return e.code
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
        XCTAssertEqual(RPCError(StoreError(code: .full, message: "disk full")).code, -32000)
        XCTAssertEqual(RPCError(StoreError(code: .full, message: "disk full")).detail, .retryable(true))
        XCTAssertEqual(RPCError(StoreError(code: .busy, message: "busy")).detail, .retryable(true))
        XCTAssertEqual(RPCError(StoreError(code: .corrupt, message: "bad")).detail, .retryable(false))
        XCTAssertEqual(RPCError(StoreError(code: .invalidCursor, message: "c")).code, -32602)
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
