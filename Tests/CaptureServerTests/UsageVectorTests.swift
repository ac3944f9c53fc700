import AffinityCore
import CaptureStore
import Foundation
import XCTest

@testable import CaptureServer

/// `Tests/Fixtures/usage-vectors.json`: the record fields the plugin computes from a stream's final
/// message (asserted by `plugin/test/usage-vectors.test.js`) are stored as these usage values here.
final class UsageVectorTests: XCTestCase {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/usage-vectors.json")

    private func vectors() throws -> JSONObject {
        guard let object = try JSONParser.parse(Array(Data(contentsOf: Self.url))).objectValue else {
            throw XCTSkip("usage-vectors.json is not an object")
        }
        return object
    }

    /// The record params: the case's fields beside empty headers (no route), as the plugin sends them.
    private func params(_ record: JSON?) -> Params {
        var object = JSONObject()
        object["sessionId"] = .string("oc:00000000000000aa")
        object["headers"] = .object(JSONObject())
        for member in record?.objectValue?.members ?? [] { object[member.key] = member.value }
        return Params(object: object)
    }

    func testEveryCallIsStoredAsTheVectorsSay() throws {
        let calls = try XCTUnwrap(try vectors()["calls"]?.arrayValue)
        XCTAssertGreaterThan(calls.count, 0)
        for call in calls {
            let name = call.objectValue?["name"]?.stringValue ?? "?"
            let request = try params(call.objectValue?["record"]).recordRequest(now: 1_800_000_000_000)
            guard let stored = call.objectValue?["stored"]?.objectValue else {
                guard case .notAutorouted = request else { return XCTFail("\(name): expected not stored, got \(request)") }
                continue
            }
            guard case .store(let capture) = request else { return XCTFail("\(name): expected stored") }
            let u = capture.usage
            XCTAssertFalse(u.autorouted, name)
            XCTAssertEqual(u.inputTokens, stored["inputTokens"]?.integerValue, name)
            XCTAssertEqual(u.outputTokens, stored["outputTokens"]?.integerValue, name)
            XCTAssertEqual(u.cacheReadTokens, stored["cacheReadTokens"]?.integerValue, name)
            XCTAssertEqual(u.cacheWriteTokens, stored["cacheWriteTokens"]?.integerValue, name)
            XCTAssertEqual(u.costUsd, number(stored["costUsd"]), name)
            XCTAssertEqual(u.cacheSavedUsd, number(stored["cacheSavedUsd"]), name)
            XCTAssertEqual(u.outcome?.rawValue, stored["outcome"]?.stringValue, name)
        }
    }

    func testEveryInvalidRecordIsRefusedNamingItsField() throws {
        let invalid = try XCTUnwrap(try vectors()["invalid"]?.arrayValue)
        XCTAssertGreaterThan(invalid.count, 0)
        for item in invalid {
            let name = item.objectValue?["name"]?.stringValue ?? "?"
            XCTAssertThrowsError(try params(item.objectValue?["record"]).recordRequest(now: 1_800_000_000_000), name) { error in
                guard let rpc = error as? RPCError, case .param(let field, _)? = rpc.detail else {
                    return XCTFail("\(name): \(error)")
                }
                XCTAssertEqual(rpc.code.rawValue, -32602, name)
                XCTAssertEqual(field, item.objectValue?["field"]?.stringValue, name)
            }
        }
    }

    private func number(_ value: JSON?) -> Double? {
        switch value {
        case .int(let i)?: Double(i)
        case .double(let d)?: d
        default: nil
        }
    }
}
