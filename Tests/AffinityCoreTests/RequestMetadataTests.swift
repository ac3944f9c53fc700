import AffinityCore
import XCTest

final class RequestMetadataTests: XCTestCase {
    private let context = RequestContext(
        sessionId: "oc:0123456789abcdef", sessionSourceHint: "source:1a2b3c4d5e6f7890",
        requesterHostId: "host:1a2b3c4d5e6f7890", agentId: "new-agent-2", provider: "cloudsigma",
        modelId: "cloudsigma/auto", pluginVersion: "0.6.0", repoName: "example-repo", gitBranchHint: "dev",
        gitDirtyHint: false, turnId: "turn-7", attempt: 1
    )

    private func metadata(of payload: JSON) -> JSON? {
        patchPayloadMetadata(payload: payload, context: context)["metadata"]
    }

    func testPayloadPatchNeverOverwritesCallerMetadata() {
        let caller: JSON = obj([
            ("session_id", .string("mine")), ("sticky_key", .null), ("requester_runtime", obj([])),
            ("openclaw_correlation", .string("x")),
        ])
        let payload: JSON = obj([("model", .string("m")), ("metadata", caller)])
        XCTAssertEqual(patchPayloadMetadata(payload: payload, context: context), payload)
    }

    func testPayloadPatchAddsOnlyTheMissingKeys() {
        let patched = metadata(of: obj([("metadata", obj([("session_id", .string("mine")), ("user", .string("u"))]))]))
        XCTAssertEqual(patched?["session_id"], .string("mine"))
        XCTAssertEqual(patched?["user"], .string("u"))
        XCTAssertEqual(patched?["sticky_key"], .string(context.sessionId))
        XCTAssertEqual(patched?["requester_runtime"], RequesterRuntimeEnvelope(context: context).json)
        XCTAssertEqual(patched?["openclaw_correlation"], OpenClawCorrelationEnvelope(context: context).json)
    }

    func testNonObjectMetadataLeavesThePayloadUntouched() {
        for metadata: JSON in [.null, .string("tag"), .array([]), .int(1), .bool(false)] {
            let payload: JSON = obj([("model", .string("m")), ("metadata", metadata)])
            XCTAssertEqual(patchPayloadMetadata(payload: payload, context: context), payload)
        }
    }

    func testNonObjectPayloadIsReturnedAsIs() {
        for payload: JSON in [.null, .string("x"), .array([obj([])])] {
            XCTAssertEqual(patchPayloadMetadata(payload: payload, context: context), payload)
        }
    }

    func testToolPayloadPassesThroughUntouched() {
        let tools: JSON = .array([obj([("type", .string("function")), ("function", obj([("name", .string("f"))]))])])
        let messages: JSON = .array([
            obj([("role", .string("assistant")), ("tool_calls", .array([obj([("id", .string("call_1"))])]))]),
            obj([("role", .string("tool")), ("tool_call_id", .string("call_1")), ("content", .string("ok"))]),
        ])
        let payload: JSON = obj([("tools", tools), ("tool_choice", .string("auto")), ("messages", messages)])
        let patched = patchPayloadMetadata(payload: payload, context: context)
        XCTAssertEqual(patched["tools"], tools)
        XCTAssertEqual(patched["tool_choice"], .string("auto"))
        XCTAssertEqual(patched["messages"], messages)
        guard case .object(let members) = patched else { return XCTFail("not an object") }
        XCTAssertEqual(members.keys, ["tools", "tool_choice", "messages", "metadata"])
    }

    func testEnvelopesHaveExactlyTheSeedReadmeFieldsInOrder() {
        guard case .object(let runtime) = RequesterRuntimeEnvelope(context: context).json,
            case .object(let correlation) = OpenClawCorrelationEnvelope(context: context).json
        else { return XCTFail("envelopes must be objects") }
        XCTAssertEqual(runtime.keys, [
            "schema_version", "source", "session_key", "openclaw_session_id", "requester_host_id", "repo_name",
            "git_branch_hint", "git_dirty_hint", "provider", "model_id", "session_source_hint", "tool_execution",
            "metadata_classification", "redaction_policy",
        ])
        XCTAssertEqual(correlation.keys, [
            "schema_version", "source", "plugin_version", "session_id", "sticky_key", "session_source_hint", "agent_id",
            "provider", "model_id",
        ])
        XCTAssertEqual(runtime.members.first?.value, .string("2026-06-04"))
        XCTAssertEqual(correlation.members.first?.value, .string("2026-06-05"))
    }

    func testRepositoryFieldsAppearOnlyWithAKnownRepository() {
        var withoutRepo = context
        withoutRepo.repoName = "  "
        let runtime = RequesterRuntimeEnvelope(context: withoutRepo).json
        XCTAssertNil(runtime["repo_name"])
        XCTAssertNil(runtime["git_branch_hint"])
        XCTAssertNil(runtime["git_dirty_hint"])
    }

    func testEnvelopesCarryNoBridgeDescriptorsOrRawPaths() {
        let runtime = RequesterRuntimeEnvelope(context: context).json
        for key in ["available_bridges", "capture_mode", "workspace_dir", "agent_dir", "repo_root_hint"] {
            XCTAssertNil(runtime[key], key)
        }
    }

    func testCorrelationHeadersIncludeOnlyKnownValuesInOrder() {
        XCTAssertEqual(buildCorrelationHeaders(context: context).map(\.name), [
            "X-Session-Id", "X-OpenClaw-Session-Id", "X-OpenClaw-Turn-Id", "X-OpenClaw-Attempt", "X-OpenClaw-Agent-Id",
        ])
        let minimal = RequestContext(
            sessionId: "oc:1", sessionSourceHint: "source:1", requesterHostId: "host:1", provider: "cloudsigma",
            modelId: "m", pluginVersion: "0.6.0", attempt: -1
        )
        let headers = buildCorrelationHeaders(context: minimal)
        XCTAssertEqual(headers.map(\.name), ["X-Session-Id", "X-OpenClaw-Session-Id"])
        XCTAssertEqual(headers.map(\.value), ["oc:1", "oc:1"])
    }

    func testJSONEqualityIgnoresObjectKeyOrderButNotArrayOrder() {
        XCTAssertEqual(
            obj([("a", .int(1)), ("b", .null)]), obj([("b", .null), ("a", .int(1))])
        )
        XCTAssertNotEqual(JSON.array([.int(1), .int(2)]), JSON.array([.int(2), .int(1)]))
        XCTAssertNotEqual(obj([("a", .null)]), obj([("a", .null), ("b", .null)]))
        XCTAssertNotEqual(JSON.string("\u{E9}"), JSON.string("e\u{301}"))
    }
}

/// An object value from pairs in order.
private func obj(_ pairs: [(key: String, value: JSON)]) -> JSON { .object(JSONObject(pairs)) }
