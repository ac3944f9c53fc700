import AffinityCore
import XCTest

/// Every case of `Tests/Fixtures/affinity-vectors.json`, which the plugin's tests assert too.
final class GoldenVectorTests: XCTestCase {
    func testVectorFileHasEveryGroupAndEnoughCases() throws {
        let vectors = try AffinityVectors.load()
        XCTAssertNotNil(vectors["about"]?.string)
        var total = 0
        for group in [
            "sha16", "resolve", "sessionIdentity", "hostId", "agentId", "boundedIdentity", "capture", "payloadPatch",
            "correlationHeaders",
        ] {
            guard case .array(let cases)? = vectors[group] else { return XCTFail("missing group \(group)") }
            XCTAssertFalse(cases.isEmpty, group)
            total += cases.count
        }
        XCTAssertGreaterThanOrEqual(total, 60)
    }

    func testSha16Vectors() throws {
        for (name, vector) in try AffinityVectors.cases("sha16") {
            XCTAssertEqual(sha16(vector["input"]?.string ?? "?"), vector["expected"]?.string, name)
        }
    }

    func testResolveVectors() throws {
        for (name, vector) in try AffinityVectors.cases("resolve") {
            let resolved = PosixPath.resolve(vector["path"]?.string ?? "?", cwd: vector["cwd"]?.string ?? "?")
            XCTAssertEqual(resolved, vector["expected"]?.string, name)
        }
    }

    func testSessionIdentityVectors() throws {
        for (name, vector) in try AffinityVectors.cases("sessionIdentity") {
            let identity = SessionIdentity.derive(from: vector["input"]?.sessionIdentityInput ?? .init(cwd: "?"))
            let expected = vector["expected"]
            XCTAssertEqual(identity.sessionId, expected?["sessionId"]?.string, name)
            XCTAssertEqual(identity.source.rawValue, expected?["source"]?.string, name)
            XCTAssertEqual(identity.sessionSourceHint, expected?["sessionSourceHint"]?.string, name)
        }
    }

    func testHostIdVectors() throws {
        for (name, vector) in try AffinityVectors.cases("hostId") {
            XCTAssertEqual(requesterHostId(hostname: vector["hostname"]?.string ?? "?"), vector["expected"]?.string, name)
        }
    }

    func testAgentIdVectors() throws {
        for (name, vector) in try AffinityVectors.cases("agentId") {
            let input = vector["input"]
            let agentId = deriveAgentId(
                sessionKey: input?["sessionKey"]?.string, agentDir: input?["agentDir"]?.string,
                workspaceDir: input?["workspaceDir"]?.string
            )
            XCTAssertEqual(agentId, try XCTUnwrap(vector["expected"], name).string, name)
        }
    }

    func testBoundedIdentityVectors() throws {
        for (name, vector) in try AffinityVectors.cases("boundedIdentity") {
            let input = try XCTUnwrap(vector["input"], name)
            let expected = try XCTUnwrap(vector["expected"], name).string
            XCTAssertEqual(BoundedIdentity.normalize(input), expected, name)
            if let string = input.string {
                XCTAssertEqual(BoundedIdentity(string)?.value, expected, name)
            }
        }
    }

    func testCaptureVectors() throws {
        for (name, vector) in try AffinityVectors.cases("capture") {
            let headers = try XCTUnwrap(vector["headers"], name).members.map { (name: $0.key, value: $0.value.string ?? "") }
            let parsed = CaptureFields.parse(headers: headers)
            XCTAssertEqual(parsed?.json ?? .null, vector["expected"], name)
        }
    }

    func testPayloadPatchVectors() throws {
        for (name, vector) in try AffinityVectors.cases("payloadPatch") {
            let patched = patchPayloadMetadata(
                payload: try XCTUnwrap(vector["payload"], name),
                context: try XCTUnwrap(vector["context"], name).requestContext
            )
            XCTAssertEqual(patched, vector["expected"], name)
        }
    }

    func testCorrelationHeaderVectors() throws {
        for (name, vector) in try AffinityVectors.cases("correlationHeaders") {
            let headers = buildCorrelationHeaders(context: try XCTUnwrap(vector["context"], name).requestContext)
            let expected = try XCTUnwrap(vector["expected"], name).members
            XCTAssertEqual(headers.map(\.name), expected.map(\.key), name)
            XCTAssertEqual(headers.map(\.value), expected.map { $0.value.string ?? "" }, name)
        }
    }
}
