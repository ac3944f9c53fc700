// Background and simple completions get a session id only from OpenClaw's native session id
// (`options.sessionId`) or an exact trace match, never from a workspace or the environment.
import assert from "node:assert/strict";
import test from "node:test";
import { pluginState, registerPlugin } from "../index.js";
import { callIdentity } from "../lib/call-identity.js";
import { sha16 } from "../lib/identity.js";
import { fakeApi, runStream } from "../testkit/harness.js";

const host = { env: () => ({ OPENCLAW_AGENT_ID: "env-agent" }), home: () => "/home/u", cwd: () => "/" };
const workspaceDir = "/home/u/.openclaw/workspace-bg";
const nativeId = "3c2b1a09-8f7e-4d6c-5b4a-39281706f5e4";

test("a simple completion's identity: the native session id, else none (no workspace, no environment)", () => {
  const simple = { mode: /** @type {const} */ ("hashed"), environmentTiers: false };
  assert.equal(callIdentity({ workspaceDir }, host, simple), null, "a workspace alone names no conversation");
  assert.equal(callIdentity({}, host, simple), null);
  const withSession = callIdentity({ nativeSessionId: nativeId, workspaceDir }, host, simple);
  assert.equal(withSession?.sessionId, `oc:${sha16(`session:${nativeId}`)}`);
  assert.equal(withSession?.source, "session");
  assert.equal(withSession?.agentId, "bg", "the workspace still names the agent");
  const agent = callIdentity({ workspaceDir }, host, { mode: "hashed", environmentTiers: true });
  assert.equal(agent?.sessionId, `oc:${sha16(workspaceDir)}`, "agent calls keep tier 2");
});

test("a simple completion whose context carries a workspace still takes its conversation's id from the exact trace match", async (t) => {
  const fake = fakeApi({ registrationMode: "full", pluginConfig: { socketPath: "/nonexistent/c.sock" } });
  registerPlugin(fake.api, { host: { ...host, hostname: () => "box", now: () => Date.now() } });
  t.after(() => pluginState(fake.api)?.client?.close());
  const provider = fake.providers[0];
  const trace = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" };
  for (const handler of fake.hooks.model_call_started ?? []) {
    handler({ provider: "cloudsigma", sessionId: nativeId }, { sessionId: nativeId, agentId: "bg", trace, modelProviderId: "cloudsigma" });
  }
  // A hypothetical host that passes workspaceDir to wrapSimpleCompletionStreamFn (none read so far does).
  const ctx = { provider: "cloudsigma", modelId: "auto", workspaceDir };
  const matched = await runStream(provider.wrapSimpleCompletionStreamFn, ctx, {
    options: { headers: { traceparent: `00-${trace.traceId}-${trace.spanId}-01` } },
    payload: { model: "auto", messages: [] },
  });
  assert.equal(matched.payload.metadata.session_id, `oc:${sha16(`session:${nativeId}`)}`, "the conversation's own slot, not the workspace's");
  const unmatched = await runStream(provider.wrapSimpleCompletionStreamFn, ctx, { options: { headers: {} }, payload: { model: "auto", messages: [] } });
  assert.equal(unmatched.payload.metadata, undefined, "no id rather than one shared by the workspace's background calls");
  assert.equal(unmatched.options.headers["X-OpenClaw-Session-Id"], undefined);
});
