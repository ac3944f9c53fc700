import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import test from "node:test";
import plugin, { PLUGIN_VERSION, pluginState, registerPlugin } from "../index.js";
import { sha16 } from "../lib/identity.js";
import {
  PLUGIN_DIR,
  autoroutedHeaders,
  fakeApi,
  removeDir,
  runStream,
  startFakeService,
  tempDir,
  waitFor,
} from "../testkit/harness.js";

const manifest = JSON.parse(readFileSync(path.join(PLUGIN_DIR, "openclaw.plugin.json"), "utf8"));
const pkg = JSON.parse(readFileSync(path.join(PLUGIN_DIR, "package.json"), "utf8"));

/**
 * Register the plugin against a fake API with a fixed host.
 * @param {{socketPath: string, env?: Record<string, string>, registrationMode?: string, pluginConfig?: any}} o
 */
function setup(o) {
  const fake = fakeApi({
    registrationMode: o.registrationMode,
    pluginConfig: { socketPath: o.socketPath, requestTimeoutMs: 500, ...o.pluginConfig },
  });
  registerPlugin(fake.api, {
    host: { env: () => ({ ...o.env }), hostname: () => "box-1", home: () => "/home/u", cwd: () => "/" },
  });
  const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(fake.api));
  return { ...fake, provider: fake.providers[0], state, close: () => state.client?.close() };
}

/**
 * `setup` against a fake service on a fresh socket; both are closed and removed after the test.
 * A mode set on the service right after (e.g. "silent") applies before the first request.
 * @param {import("node:test").TestContext} t
 * @param {{env?: Record<string, string>, registrationMode?: string, pluginConfig?: any}} [o]
 */
async function setupWithService(t, o = {}) {
  const dir = tempDir();
  const socketPath = path.join(dir, "c.sock");
  const service = await startFakeService(socketPath);
  const s = setup({ ...o, socketPath });
  t.after(async () => {
    await s.close();
    await service.close();
    removeDir(dir);
  });
  return { s, service };
}

/** The record requests the fake service received. @param {{state: {requests: any[]}}} service */
const recordRequests = (service) => service.state.requests.filter((r) => r.method === "taas.autorouter.record");

const workspaceCtx = { provider: "cloudsigma", modelId: "auto", workspaceDir: "/home/u/.openclaw/workspace-new-agent-2" };
const workspaceSession = `oc:${sha16("/home/u/.openclaw/workspace-new-agent-2")}`;

test("manifest starts the plugin with the gateway and declares its config", () => {
  assert.equal(manifest.id, "openclaw-taas-affinity");
  assert.deepEqual(manifest.activation, { onStartup: true, onProviders: ["cloudsigma", "cloudsigma-staging"] });
  assert.equal(manifest.configSchema.type, "object");
  assert.equal(manifest.configSchema.additionalProperties, false);
  assert.deepEqual(Object.keys(manifest.configSchema.properties).sort(), ["mode", "queueLimit", "requestTimeoutMs", "sessionIdentity", "socketPath", "spillMaxBytes"]);
  assert.deepEqual(manifest.configSchema.properties.mode.enum, ["auto", "standalone", "alongside"]);
  assert.deepEqual(manifest.configSchema.properties.sessionIdentity.enum, ["hashed", "native"]);
  assert.equal(manifest.configSchema.properties.socketPath.type, "string");
  assert.equal(manifest.configSchema.properties.queueLimit.type, "integer");
  assert.equal(manifest.configSchema.properties.requestTimeoutMs.type, "integer");
  assert.equal(manifest.configSchema.properties.spillMaxBytes.type, "integer");
  assert.equal(manifest.configSchema.properties.spillMaxBytes.default, 16 * 1024 * 1024, "SPEC v3: 16 MiB");
  assert.equal(pkg.type, "module");
  assert.deepEqual(pkg.openclaw.extensions, ["./index.js"]);
  assert.equal(plugin.id, manifest.id);
  assert.equal(typeof plugin.register, "function");
  assert.equal(PLUGIN_VERSION, pkg.version);
});

test("standalone: one provider hook for both cloudsigma ids, and gateway methods under both names (writes write-scoped)", (t) => {
  const s = setup({ socketPath: "/nonexistent/c.sock" });
  t.after(s.close);
  assert.equal(s.providers.length, 1);
  assert.deepEqual(s.provider.hookAliases, ["cloudsigma", "cloudsigma-staging"]);
  assert.equal(typeof s.provider.wrapStreamFn, "function");
  assert.equal(typeof s.provider.wrapSimpleCompletionStreamFn, "function");
  assert.equal(typeof s.provider.resolveTransportTurnState, "function");
  assert.deepEqual(Object.keys(s.methods).sort(), [
    "taas.autorouter.history",
    "taas.autorouter.lastRoute",
    "taas.autorouter.setAlgorithm",
    "taas.autorouter.stats",
    "taas.capture.algorithms",
    "taas.capture.budgets",
    "taas.capture.history",
    "taas.capture.lastRoute",
    "taas.capture.setBudget",
    "taas.capture.stats",
  ]);
  const writes = ["taas.autorouter.setAlgorithm", "taas.capture.setBudget"];
  for (const [name, m] of Object.entries(s.methods)) {
    assert.deepEqual(m.options, { scope: writes.includes(name) ? "operator.write" : "operator.read" }, name);
  }
});

test("wrapStreamFn: metadata and headers from the workspace identity, caller values kept", async (t) => {
  const s = setup({ socketPath: "/nonexistent/c.sock" });
  t.after(s.close);
  const seen = await runStream(s.provider.wrapStreamFn, workspaceCtx, {
    options: { headers: { "x-session-id": "caller-choice", "X-Other": "1" } },
    payload: { model: "auto", metadata: { sticky_key: "caller-sticky" }, messages: [] },
  });
  assert.equal(seen.result, seen.inner, "the stream passes through unchanged");
  assert.deepEqual(seen.options.headers, {
    "x-session-id": "caller-choice",
    "X-Other": "1",
    "X-OpenClaw-Session-Id": workspaceSession,
    "X-OpenClaw-Agent-Id": "new-agent-2",
    "X-OpenClaw-Plugin-Version": PLUGIN_VERSION,
  });
  const meta = seen.payload.metadata;
  assert.equal(meta.session_id, workspaceSession);
  assert.equal(meta.sticky_key, "caller-sticky");
  assert.equal(meta.requester_runtime.requester_host_id, `host:${sha16("box-1")}`);
  assert.equal(meta.requester_runtime.session_source_hint, `source:${sha16("workspaceDir:/home/u/.openclaw/workspace-new-agent-2")}`);
  assert.equal(meta.openclaw_correlation.agent_id, "new-agent-2");
  assert.equal(meta.openclaw_correlation.plugin_version, PLUGIN_VERSION);
  assert.equal(JSON.stringify(seen.payload).includes("/home/u"), false, "no raw local paths");
});

test("OpenClaw's native session id is options.sessionId (tier 1); the agent id is ctx.agentId first", async (t) => {
  const s = setup({ socketPath: "/nonexistent/c.sock" });
  t.after(s.close);
  const ctx = { ...workspaceCtx, agentId: "ops", agentDir: "/home/u/.openclaw/agents/other/agent" };
  const seen = await runStream(s.provider.wrapStreamFn, ctx, { options: { sessionId: "opt-sid" } });
  assert.equal(seen.payload.metadata.session_id, `oc:${sha16("session:opt-sid")}`);
  assert.equal(seen.options.headers["X-OpenClaw-Agent-Id"], "ops");
  const fromDir = await runStream(s.provider.wrapStreamFn, { provider: "cloudsigma", agentDir: "/home/u/.openclaw/agents/other/agent" }, { options: { sessionId: "opt-sid" } });
  assert.equal(fromDir.options.headers["X-OpenClaw-Agent-Id"], "other");
  // The wrap context has no sessionId or sessionKey on any host: they are not read.
  const ignored = await runStream(s.provider.wrapStreamFn, { ...workspaceCtx, sessionId: "ctx-sid", sessionKey: "agent:x:y" }, {});
  assert.equal(ignored.payload.metadata.session_id, workspaceSession);
  assert.equal(ignored.options.headers["X-OpenClaw-Agent-Id"], "new-agent-2");
});

test("sessionIdentity native sends OpenClaw's native session id unchanged; other tiers stay hashed", async (t) => {
  const s = setup({ socketPath: "/nonexistent/c.sock", pluginConfig: { sessionIdentity: "native" } });
  t.after(s.close);
  const native = await runStream(s.provider.wrapStreamFn, workspaceCtx, { options: { sessionId: "7f1c2a9e-native" } });
  assert.equal(native.payload.metadata.session_id, "7f1c2a9e-native");
  assert.equal(native.options.headers["X-Session-Id"], "7f1c2a9e-native");
  const workspace = await runStream(s.provider.wrapStreamFn, workspaceCtx, {});
  assert.equal(workspace.payload.metadata.session_id, workspaceSession);
});

test("obsolete bridge variables change nothing and add no bridge fields", async (t) => {
  const plain = setup({ socketPath: "/nonexistent/c.sock" });
  const bridged = setup({
    socketPath: "/nonexistent/c.sock",
    env: { TAAS_REQUESTER_BRIDGE_PLUGIN_ENABLED: "1", TAAS_REQUESTER_BRIDGE_LEASE_URL: "http://x", TAAS_REQUESTER_BRIDGE_POLL_INTERVAL_MS: "5" },
  });
  t.after(() => Promise.all([plain.close(), bridged.close()]));
  const payload = { model: "auto", tools: [{ type: "function", function: { name: "f" } }], tool_choice: "auto", messages: [] };
  const a = await runStream(plain.provider.wrapStreamFn, workspaceCtx, { payload: structuredClone(payload) });
  const b = await runStream(bridged.provider.wrapStreamFn, workspaceCtx, { payload: structuredClone(payload) });
  assert.deepEqual(b.payload, a.payload);
  assert.deepEqual(b.payload.tools, payload.tools);
  assert.equal(JSON.stringify(b.payload).includes("bridge"), false);
});

test("the caller's onPayload and onResponse still run, in order, with the patched payload", async (t) => {
  const s = setup({ socketPath: "/nonexistent/c.sock" });
  t.after(s.close);
  /** @type {any[]} */
  const calls = [];
  const seen = await runStream(s.provider.wrapStreamFn, workspaceCtx, {
    options: {
      onPayload: (/** @type {any} */ p) => {
        calls.push(["payload", p.metadata.session_id]);
        return { ...p, extra: true };
      },
      onResponse: (/** @type {any} */ r) => calls.push(["response", r.status]),
    },
  });
  assert.deepEqual(calls, [["payload", workspaceSession], ["response", 200]]);
  assert.equal(seen.payload.extra, true);
});

test("resolveTransportTurnState adds turn headers, and session headers from its sessionId only", (t) => {
  const s = setup({ socketPath: "/nonexistent/c.sock", env: { OPENCLAW_SESSION_ID: "env-session" } });
  t.after(s.close);
  const withSession = s.provider.resolveTransportTurnState({ provider: "cloudsigma", modelId: "auto", sessionId: "sid-1", turnId: "turn-7", attempt: 1, transport: "stream" });
  assert.deepEqual(withSession, {
    headers: {
      "X-Session-Id": `oc:${sha16("session:sid-1")}`,
      "X-OpenClaw-Session-Id": `oc:${sha16("session:sid-1")}`,
      "X-OpenClaw-Turn-Id": "turn-7",
      "X-OpenClaw-Attempt": "1",
    },
  });
  const bare = s.provider.resolveTransportTurnState({ provider: "cloudsigma", modelId: "auto", turnId: "turn-8", attempt: 0, transport: "websocket" });
  assert.deepEqual(bare, { headers: { "X-OpenClaw-Turn-Id": "turn-8", "X-OpenClaw-Attempt": "0" } }, "no env-tier session id");
  assert.equal(s.provider.resolveTransportTurnState(undefined), null);
});

test("the request path never throws, whatever the hook context, options or response hold", async (t) => {
  const s = setup({ socketPath: "/nonexistent/c.sock" });
  t.after(s.close);
  const hostile = {
    provider: "cloudsigma",
    get workspaceDir() {
      throw new Error("boom");
    },
  };
  const seen = await runStream(s.provider.wrapStreamFn, hostile, { options: { headers: { a: "1" } }, payload: { m: 1 } });
  assert.equal(seen.result, seen.inner, "the stream passes through unchanged");
  assert.deepEqual(seen.options.headers, { a: "1" }, "the caller's options went through as-is");

  // A client that throws, and headers that are not headers.
  /** @type {any} */ (s.state.client).record = () => {
    throw new Error("client exploded");
  };
  for (const responseHeaders of [autoroutedHeaders(), null, 42, "x-taas-autorouted: true", new Headers(autoroutedHeaders())]) {
    const r = await runStream(s.provider.wrapStreamFn, workspaceCtx, { responseHeaders });
    assert.equal(r.result, r.inner, "the stream passes through unchanged");
  }
});

test("onResponse does not wait for the service, even when it never answers", async (t) => {
  const { s, service } = await setupWithService(t, { pluginConfig: { requestTimeoutMs: 60_000 } });
  service.state.mode = "silent";
  const r = await runStream(s.provider.wrapStreamFn, workspaceCtx, { responseHeaders: autoroutedHeaders() });
  assert.equal(r.result, r.inner, "the stream passes through unchanged");
  await waitFor(() => recordRequests(service).length === 1, 5000, "the record to be written");
  assert.equal(s.state.client?.counters().acked, 0);
});

test("one record per call when its stream ends: the route's headers only, the final message's usage, duration and outcome", async (t) => {
  const { s, service } = await setupWithService(t);
  await runStream(s.provider.wrapStreamFn, workspaceCtx, { responseHeaders: autoroutedHeaders({ "X-Request-Id": "req-1" }) });
  await runStream(s.provider.wrapStreamFn, workspaceCtx, {
    responseHeaders: { ...autoroutedHeaders(), "x-taas-autorouted": "false" },
    finalMessage: { role: "assistant", stopReason: "aborted", usage: { input: 7, output: 0, cacheRead: 0, cacheWrite: 0 } },
  });
  assert.equal(await s.state.client?.drain(5000), true);
  assert.equal(service.captures.length, 2);
  assert.deepEqual(service.captures.map((c) => c.autorouted), [true, false], "a call TaaS did not route is kept for its usage");
  const [, unrouted] = recordRequests(service);
  assert.equal(unrouted.params.headers["x-taas-autorouted"], "false");
  assert.equal(unrouted.params.headers.authorization, undefined, "only capture headers leave the gateway");
  assert.equal(unrouted.params.outcome, "aborted");
  assert.deepEqual(unrouted.params.usage, { input: 7, output: 0, cacheRead: 0, cacheWrite: 0 });
  const [req] = recordRequests(service);
  assert.equal(req.params.sessionId, workspaceSession);
  assert.equal(req.params.agentId, "new-agent-2");
  assert.match(req.params.idempotencyKey, /^cap:[0-9a-f]{32}$/);
  assert.equal(typeof req.params.capturedAt, "number");
  assert.deepEqual(Object.keys(req.params.headers).sort(), [
    "x-request-id",
    "x-taas-autorouted",
    "x-taas-autorouter-algorithm-source",
    "x-taas-autorouter-mode",
    "x-taas-autorouter-model",
    "x-taas-routed-context-window",
    "x-taas-thinking-applied",
  ]);
  assert.deepEqual(req.params.usage, { input: 120, output: 40, cacheRead: 880, cacheWrite: 0 });
  assert.equal(req.params.costUsd, 0.0125);
  assert.equal(req.params.outcome, "ok");
  assert.equal(req.params.provider, "cloudsigma");
  assert.equal(req.params.requestedModel, "cloudsigma/auto");
  assert.equal(typeof req.params.durationMs, "number");
  const memory = s.state.memory.byAgent("new-agent-2");
  assert.equal(memory?.taasRequestId, "req-1");
  assert.equal(memory?.routedContextWindow, 131072);
});

test("lastRoute answers from memory with store: memory while the service is away", async (t) => {
  const dir = tempDir();
  const s = setup({ socketPath: path.join(dir, "none.sock") });
  t.after(async () => {
    await s.close();
    removeDir(dir);
  });
  await runStream(s.provider.wrapStreamFn, workspaceCtx, { responseHeaders: autoroutedHeaders({ "x-request-id": "req-m" }) });
  const byAgent = await s.call("taas.autorouter.lastRoute", { agentId: "new-agent-2" });
  assert.equal(byAgent.ok, true);
  assert.equal(byAgent.payload.store, "memory");
  assert.equal(byAgent.payload.agentId, "new-agent-2");
  assert.equal(byAgent.payload.sessionId, workspaceSession);
  assert.equal(byAgent.payload.capture.taasRequestId, "req-m");
  const byWorkspace = await s.call("taas.autorouter.lastRoute", { workspaceDir: "/home/u/.openclaw/workspace-new-agent-2/" });
  assert.deepEqual(byWorkspace.payload, { sessionId: workspaceSession, capture: byAgent.payload.capture, store: "memory" });
  const unknown = await s.call("taas.autorouter.lastRoute", { sessionId: "oc:ffffffffffffffff" });
  assert.deepEqual(unknown.payload, { sessionId: "oc:ffffffffffffffff", capture: null, store: "memory" });
});

test("history and stats say clearly that the service is unreachable", async (t) => {
  const dir = tempDir();
  const s = setup({ socketPath: path.join(dir, "none.sock") });
  t.after(async () => {
    await s.close();
    removeDir(dir);
  });
  for (const [method, params] of [["taas.autorouter.history", { agentId: "a" }], ["taas.autorouter.stats", {}]]) {
    const r = await s.call(method, params);
    assert.equal(r.ok, false);
    assert.equal(r.payload, undefined);
    assert.equal(r.error.code, "UNAVAILABLE");
    assert.match(r.error.message, /unreachable/);
    assert.match(r.error.message, /none\.sock/);
  }
});

test("bad params are refused with a message that says what to give", async (t) => {
  const s = setup({ socketPath: "/nonexistent/c.sock" });
  t.after(s.close);
  const cases = [
    ["taas.autorouter.lastRoute", {}, /one of agentId, sessionId, workspaceDir or localSessionId/],
    ["taas.autorouter.lastRoute", { agentId: "" }, /agentId must be/],
    ["taas.autorouter.lastRoute", { workspaceDir: "relative/ws" }, /absolute/],
    ["taas.autorouter.history", ["x"], /params must be an object/],
    ["taas.autorouter.history", { sessionId: "a\u0000b" }, /sessionId must be/],
    ["taas.autorouter.stats", { localSessionId: 5 }, /localSessionId must be/],
  ];
  for (const [method, params, message] of cases) {
    const r = await s.call(/** @type {string} */ (method), params);
    assert.equal(r.ok, false, `${method} ${JSON.stringify(params)}`);
    assert.equal(r.error.code, "INVALID_REQUEST");
    assert.match(r.error.message, /** @type {RegExp} */ (message));
  }
});

test("gateway methods forward to the service when it is up", async (t) => {
  const { s, service } = await setupWithService(t);
  await runStream(s.provider.wrapStreamFn, workspaceCtx, { responseHeaders: autoroutedHeaders() });
  await s.state.client?.drain(5000);
  const last = await s.call("taas.autorouter.lastRoute", { agentId: "new-agent-2" });
  assert.equal(last.ok, true);
  assert.equal(last.payload.store, undefined);
  assert.equal(last.payload.capture.id, 1);
  const history = await s.call("taas.autorouter.history", { localSessionId: undefined, workspaceDir: "/home/u/.openclaw/workspace-new-agent-2", limit: 5, junk: 1 });
  const forwarded = service.state.requests.find((r) => r.method === "taas.autorouter.history");
  assert.deepEqual(forwarded.params, { sessionId: workspaceSession, limit: 5 });
  assert.equal(history.payload.captures.length, 1);
});

test("no socket is opened unless the registration mode is full", async (t) => {
  const dir = tempDir();
  const socketPath = path.join(dir, "c.sock");
  let connections = 0;
  const server = net.createServer((c) => {
    connections += 1;
    c.destroy();
  });
  await new Promise((r) => server.listen(socketPath, () => r(undefined)));
  t.after(async () => {
    await new Promise((r) => server.close(() => r(undefined)));
    removeDir(dir);
  });
  // cli-metadata registers the CLI descriptor only (test/cli.test.js); these register everything.
  for (const mode of ["discovery", "setup-only", "setup-runtime"]) {
    const s = setup({ socketPath, registrationMode: mode });
    assert.equal(s.state.client, null, mode);
    await runStream(s.provider.wrapStreamFn, workspaceCtx, { responseHeaders: autoroutedHeaders() });
    const last = await s.call("taas.autorouter.lastRoute", { agentId: "new-agent-2" });
    assert.equal(last.payload.store, "memory");
  }
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(connections, 0);
});

test("debug lines only with OPENCLAW_DEBUG, and never with raw paths or session ids", async (t) => {
  const quiet = setup({ socketPath: "/nonexistent/c.sock" });
  const loud = setup({ socketPath: "/nonexistent/c.sock", env: { OPENCLAW_DEBUG: "1" } });
  t.after(() => Promise.all([quiet.close(), loud.close()]));
  for (const s of [quiet, loud]) {
    await runStream(s.provider.wrapStreamFn, workspaceCtx, { responseHeaders: autoroutedHeaders() });
  }
  assert.equal(quiet.logs.filter((l) => l.level === "debug").length, 0);
  const lines = loud.logs.filter((l) => l.level === "debug").map((l) => l.message);
  assert.ok(lines.some((l) => l.includes("captured autorouter")));
  assert.ok(lines.some((l) => l.includes("source=workspace")));
  for (const l of lines) {
    assert.equal(l.includes("/home/u"), false, l);
    assert.equal(l.includes(workspaceSession), false, l);
  }
});

test("gateway_stop closes the client", async (t) => {
  const s = setup({ socketPath: "/nonexistent/c.sock" });
  t.after(s.close);
  assert.equal(s.hooks.gateway_stop?.length, 1);
  const client = s.state.client;
  assert.equal(client?.record({ sessionId: "oc:1" }), true);
  await s.emit("gateway_stop");
  assert.equal(client?.record({ sessionId: "oc:1" }), false);
  assert.equal(s.state.client, client, "no new client after the stop");
});

test("bad config values are ignored with a warning", (t) => {
  const s = setup({ socketPath: "/nonexistent/c.sock", pluginConfig: { queueLimit: -1, requestTimeoutMs: "fast", spillMaxBytes: 2.5 } });
  t.after(s.close);
  assert.equal(s.state.settings.queueLimit, 5000);
  assert.equal(s.state.settings.requestTimeoutMs, 2000);
  assert.equal(s.state.settings.spillMaxBytes, 16 * 1024 * 1024);
  assert.equal(s.logs.filter((l) => l.level === "warn" && l.message.includes("config")).length, 3);
});
