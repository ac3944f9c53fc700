import assert from "node:assert/strict";
import test from "node:test";
import {
  buildCorrelation,
  buildCorrelationHeaders,
  buildRequesterRuntime,
  mergeHeadersNoOverwrite,
  patchPayloadMetadata,
} from "../lib/metadata.js";

const context = {
  sessionId: "oc:0123456789abcdef",
  sessionSourceHint: "source:1a2b3c4d5e6f7890",
  requesterHostId: "host:1a2b3c4d5e6f7890",
  agentId: "new-agent-2",
  provider: "cloudsigma",
  modelId: "cloudsigma/auto",
  pluginVersion: "0.6.0",
  repoName: "example-repo",
  gitBranchHint: "dev",
  gitDirtyHint: false,
};

test("requester_runtime matches the original plugin's envelope", () => {
  assert.deepEqual(buildRequesterRuntime(context), {
    schema_version: "2026-06-04",
    source: "openclaw-taas-affinity",
    session_key: "oc:0123456789abcdef",
    openclaw_session_id: "oc:0123456789abcdef",
    requester_host_id: "host:1a2b3c4d5e6f7890",
    repo_name: "example-repo",
    git_branch_hint: "dev",
    git_dirty_hint: false,
    provider: "cloudsigma",
    model_id: "cloudsigma/auto",
    session_source_hint: "source:1a2b3c4d5e6f7890",
    tool_execution: "direction_2_gateway",
    metadata_classification: {
      identifiers: "hashed",
      repository: "name_branch_dirty_only",
      local_paths: "omitted_by_default",
    },
    redaction_policy:
      "no_secrets;no_raw_local_paths;no_env_values;no_git_remotes;no_status_or_diffs;no_extra_params",
  });
});

test("repository fields appear only inside a git repository", () => {
  const { repoName, gitBranchHint, gitDirtyHint, ...outside } = context;
  const runtime = buildRequesterRuntime(outside);
  assert.equal("repo_name" in runtime, false);
  assert.equal("git_branch_hint" in runtime, false);
  assert.equal("git_dirty_hint" in runtime, false);
});

test("openclaw_correlation matches the original plugin's envelope", () => {
  assert.deepEqual(buildCorrelation(context), {
    schema_version: "2026-06-05",
    source: "openclaw-taas-affinity",
    plugin_version: "0.6.0",
    session_id: "oc:0123456789abcdef",
    sticky_key: "oc:0123456789abcdef",
    session_source_hint: "source:1a2b3c4d5e6f7890",
    agent_id: "new-agent-2",
    provider: "cloudsigma",
    model_id: "cloudsigma/auto",
  });
});

test("metadata is added where absent and never overwritten", () => {
  const payload = {
    model: "auto",
    metadata: { session_id: "caller-session", requester_runtime: { mine: true }, other: 1 },
  };
  const patched = /** @type {any} */ (patchPayloadMetadata(payload, context));
  assert.equal(patched.metadata.session_id, "caller-session");
  assert.deepEqual(patched.metadata.requester_runtime, { mine: true });
  assert.equal(patched.metadata.sticky_key, context.sessionId);
  assert.equal(patched.metadata.other, 1);
  assert.equal(patched.metadata.openclaw_correlation.session_id, context.sessionId);
  // The caller's object is not mutated.
  assert.deepEqual(Object.keys(payload.metadata), ["session_id", "requester_runtime", "other"]);
});

test("a present key counts even when its value is empty", () => {
  const patched = /** @type {any} */ (patchPayloadMetadata({ metadata: { session_id: "" } }, context));
  assert.equal(patched.metadata.session_id, "");
});

test("a non-object metadata or payload is left untouched", () => {
  for (const metadata of ["text", 7, null, ["a"], true]) {
    const payload = { model: "auto", metadata };
    assert.equal(patchPayloadMetadata(payload, context), payload);
  }
  assert.equal(patchPayloadMetadata("raw", context), "raw");
  assert.equal(patchPayloadMetadata(null, context), null);
});

test("OpenAI tool payloads pass through untouched and no bridge descriptors are added", () => {
  const payload = {
    model: "auto",
    tools: [{ type: "function", function: { name: "read_file", parameters: { type: "object" } } }],
    tool_choice: "auto",
    messages: [
      { role: "user", content: "hi" },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "read_file", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "c1", content: "file" },
    ],
  };
  const before = structuredClone(payload);
  const patched = /** @type {any} */ (patchPayloadMetadata(payload, context));
  assert.deepEqual(patched.tools, before.tools);
  assert.equal(patched.tool_choice, before.tool_choice);
  assert.deepEqual(patched.messages, before.messages);
  assert.deepEqual(payload, before);
  const text = JSON.stringify(patched);
  for (const banned of ["available_bridges", "bridge_capable", "requester.tool.invoke", "openclaw.tool.invoke", "bridge.ping", "bridge.echo"]) {
    assert.equal(text.includes(banned), false, banned);
  }
});

test("correlation headers are emitted only when known", () => {
  assert.deepEqual(buildCorrelationHeaders({ sessionId: "oc:1", turnId: "t-1", attempt: 0, agentId: "a" }), {
    "X-Session-Id": "oc:1",
    "X-OpenClaw-Session-Id": "oc:1",
    "X-OpenClaw-Turn-Id": "t-1",
    "X-OpenClaw-Attempt": "0",
    "X-OpenClaw-Agent-Id": "a",
  });
  assert.deepEqual(buildCorrelationHeaders({ sessionId: "oc:1" }), {
    "X-Session-Id": "oc:1",
    "X-OpenClaw-Session-Id": "oc:1",
  });
  assert.deepEqual(buildCorrelationHeaders({ turnId: "t", attempt: 2 }), {
    "X-OpenClaw-Turn-Id": "t",
    "X-OpenClaw-Attempt": "2",
  });
});

test("header merge never overwrites, whatever the case of the existing name", () => {
  const merged = mergeHeadersNoOverwrite(
    { "x-session-id": "caller", Authorization: "Bearer k" },
    { "X-Session-Id": "oc:1", "X-OpenClaw-Session-Id": "oc:1" },
  );
  assert.deepEqual(merged, { "x-session-id": "caller", Authorization: "Bearer k", "X-OpenClaw-Session-Id": "oc:1" });
  const fromHeaders = mergeHeadersNoOverwrite(new Headers({ "X-Session-Id": "caller" }), { "X-Session-Id": "oc:1" });
  assert.deepEqual(fromHeaders, { "x-session-id": "caller" });
});
