// The plugin driven exactly as the OpenClaw host drives it (testkit/host.js), and the real
// taas-capture binary for everything that reaches the service.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import * as ours from "../index.js";
import { PLUGIN_VERSION, pluginState } from "../index.js";
import { sha16 } from "../lib/identity.js";
import { autoroutedHeaders, removeDir, serviceBinary, tempDir, waitFor } from "../testkit/harness.js";
import { GATEWAY_STOP_BUDGET_MS, cloudsigmaProviderPlugin, createHost } from "../testkit/host.js";
import { realServiceForSuite } from "../testkit/real-service.js";

const run = promisify(execFile);
const bin = serviceBinary();
const haveBinary = existsSync(bin);
const agentCall = {
  sessionId: "5f0c8a52-6a1e-4a57-9f4a-1d2c3b4a5e6f",
  agentId: "new-agent-2",
  agentDir: "/home/u/.openclaw/agents/new-agent-2/agent",
  workspaceDir: "/home/u/.openclaw/workspace-new-agent-2",
};
const agentSession = `oc:${sha16(`session:${agentCall.sessionId}`)}`;

/** A host with our plugin (and optionally CloudSigma's, before or after it) loaded. */
function hostWith(/** @type {{config?: any, socketPath?: string, cloudsigma?: "before" | "after", selection?: "owner" | "first", version?: any, pluginConfig?: any, registrationMode?: string}} */ o = {}) {
  const host = createHost({ config: o.config, selection: o.selection, version: o.version, registrationMode: o.registrationMode });
  const pluginConfig = { socketPath: o.socketPath ?? "/nonexistent/c.sock", requestTimeoutMs: 1000, ...o.pluginConfig };
  if (o.cloudsigma === "before") host.load(cloudsigmaProviderPlugin);
  const api = host.load(ours, { pluginConfig });
  if (o.cloudsigma === "after") host.load(cloudsigmaProviderPlugin);
  const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(api));
  return { host, api, state };
}

const cloudsigmaOn = { plugins: { entries: { cloudsigma: {}, "openclaw-taas-affinity": { hooks: { allowConversationAccess: true } } } } };

test("standalone: the real wrap context and stream options give the identity, agent and headers", async (t) => {
  const { host, state } = hostWith();
  t.after(() => host.stop());
  const seen = await host.llmCall({ ...agentCall, headers: { "X-Session-Id": "caller" }, responseHeaders: autoroutedHeaders() });
  assert.equal(seen.owner, "openclaw-taas-affinity");
  assert.equal(seen.headers["X-Session-Id"], "caller", "a caller's header is never replaced");
  assert.equal(seen.headers["X-OpenClaw-Session-Id"], agentSession);
  assert.equal(seen.headers["X-OpenClaw-Agent-Id"], "new-agent-2");
  assert.equal(seen.headers["X-OpenClaw-Plugin-Version"], PLUGIN_VERSION);
  assert.equal(seen.payload.metadata.session_id, agentSession);
  assert.equal(state.memory.byAgent("new-agent-2")?.autorouterModel, "qwen3-coder");
});

test("on a 2026.8 host no turn/attempt header reaches TaaS on completions; from 2026.9.3 they do", async (t) => {
  for (const [version, expectTurn] of /** @type {const} */ ([["2026.8", false], ["2026.9.3", true]])) {
    const { host } = hostWith({ version });
    t.after(() => host.stop());
    const seen = await host.llmCall({ ...agentCall });
    assert.equal("X-OpenClaw-Turn-Id" in seen.headers, expectTurn, version);
    assert.equal("X-OpenClaw-Attempt" in seen.headers, expectTurn, version);
    assert.equal(seen.headers["X-OpenClaw-Session-Id"], agentSession, `${version}: the same session either way`);
  }
});

test("a background completion takes its session from an exact trace match, else sends none", async (t) => {
  const { host } = hostWith();
  t.after(() => host.stop());
  const matched = await host.llmCall({ sessionId: agentCall.sessionId, agentId: "ops", simple: true, withTraceparent: true });
  assert.equal(matched.payload.metadata?.session_id, agentSession);
  assert.equal(matched.headers["X-OpenClaw-Session-Id"], agentSession);
  const unmatched = await host.llmCall({ sessionId: agentCall.sessionId, simple: true, withTraceparent: false });
  assert.equal(unmatched.payload.metadata, undefined, "no shared id for calls nobody can tell apart");
  assert.equal(unmatched.headers["X-OpenClaw-Session-Id"], undefined);
  assert.equal(unmatched.headers["X-OpenClaw-Plugin-Version"], PLUGIN_VERSION);
});

for (const order of /** @type {const} */ (["before", "after"])) {
  for (const selection of /** @type {const} */ (["owner", "first"])) {
    test(`alongside CloudSigma's provider registered ${order} ours (${selection}-match host): it owns cloudsigma, nothing is dropped`, async (t) => {
      const { host, state } = hostWith({ config: cloudsigmaOn, cloudsigma: order, selection });
      t.after(() => host.stop());
      assert.equal(state.mode, "alongside");
      assert.equal(host.providers.filter((p) => p.pluginId === "openclaw-taas-affinity").length, 0, "no provider hook of ours");
      const seen = await host.llmCall({ ...agentCall });
      assert.equal(seen.owner, "cloudsigma");
      assert.equal(seen.headers["x-cloudsigma-provider"], "0.2.3");
      assert.equal(seen.headers["X-OpenClaw-Session-Id"], undefined, "we do not touch its requests");
      assert.deepEqual(host.diagnostics, [], "no method registration dropped");
      assert.equal(host.methods.get("taas.autorouter.lastRoute")?.pluginId, "cloudsigma");
      assert.equal(host.methods.get("taas.autorouter.setAlgorithm")?.pluginId, "cloudsigma");
      for (const m of ["lastRoute", "history", "stats", "algorithms"]) {
        assert.equal(host.methods.get(`taas.capture.${m}`)?.pluginId, "openclaw-taas-affinity", m);
      }
      const lines = host.logs.filter((l) => l.pluginId === "openclaw-taas-affinity" && l.message.includes("alongside"));
      assert.equal(lines.length, 1, "one clear line says so");
    });
  }
}

test("CloudSigma's plugin named but not enabled leaves us standalone", () => {
  const off = [
    { plugins: { entries: { cloudsigma: { enabled: false } } } },
    { plugins: { enabled: false, entries: { cloudsigma: {} } } },
    { plugins: { deny: ["cloudsigma"], entries: { cloudsigma: {} } } },
    { plugins: { allow: ["openclaw-taas-affinity"], entries: { cloudsigma: {} } } },
    { plugins: { entries: {} } },
    {},
  ];
  for (const config of off) {
    const { state } = hostWith({ config });
    assert.equal(state.mode, "standalone", JSON.stringify(config));
  }
  const { state } = hostWith({ config: { plugins: { allow: ["cloudsigma", "openclaw-taas-affinity"] } } });
  assert.equal(state.mode, "alongside", "named in plugins.allow counts as installed and on");
  const forced = hostWith({ config: cloudsigmaOn, pluginConfig: { mode: "standalone" } });
  assert.equal(forced.state.mode, "standalone", "config mode wins");
});

test("gateway_stop finishes well inside its 5 s budget with the service away and captures queued", async () => {
  const dir = tempDir();
  const { host, state } = hostWith({ socketPath: path.join(dir, "none.sock"), pluginConfig: { requestTimeoutMs: 600_000 } });
  for (let i = 0; i < 50; i++) await host.llmCall({ ...agentCall, responseHeaders: autoroutedHeaders({ "x-request-id": `q-${i}` }) });
  assert.equal(state.client?.counters().queued, 50);
  const stopped = await host.stop();
  removeDir(dir);
  assert.ok(stopped.ms < 1500, `stopped in ${stopped.ms} ms (budget ${GATEWAY_STOP_BUDGET_MS})`);
  assert.deepEqual(stopped.outcomes.filter((o) => o === "timed out"), []);
});

test("discovery and setup loads register everything but open nothing", async () => {
  for (const registrationMode of ["discovery", "setup-only"]) {
    const { host, state } = hostWith({ registrationMode });
    assert.equal(state.client, null, registrationMode);
    assert.equal(host.services.length, 0, `${registrationMode}: no service`);
    assert.equal(host.hooks.filter((h) => h.name === "gateway_stop").length, 0);
  }
});

test("a cli-metadata load registers the openclaw taas descriptor and nothing else", () => {
  const { host, state } = hostWith({ registrationMode: "cli-metadata" });
  assert.equal(state, undefined, "no plugin state, no client");
  assert.deepEqual(host.cliRegistrars.map((r) => r.opts.descriptors.map((/** @type {any} */ d) => d.name)), [["taas"]]);
  assert.deepEqual([host.providers.length, host.methods.size, host.hooks.length, host.services.length], [0, 0, 0, 0]);
});

if (!haveBinary && process.env.CI) {
  test("the taas-capture binary is available for the host-contract tests", () => assert.fail(`no taas-capture binary at ${bin}`));
} else if (!haveBinary) {
  test("host contract with the real service", { skip: `no taas-capture binary at ${bin}` }, () => {});
} else {
  describe("host contract with the real taas-capture service", () => {
    const dir = tempDir("taas-host-");
    const service = realServiceForSuite(bin, dir);
    const cli = (/** @type {string[]} */ args) => run(bin, [...args, "--socket", service.socketPath]);

    test("captures carry the agent id from ctx.agentId and the stream's usage reaches stats", async () => {
      const { host, state } = hostWith({ socketPath: service.socketPath });
      try {
        await host.startServices(dir);
        await host.llmCall({ ...agentCall, agentId: "ctx-agent", agentDir: undefined, responseHeaders: autoroutedHeaders({ "x-request-id": "hc-1" }) });
        assert.equal(await state.client?.drain(5000), true);
        const last = await host.gatewayCall("taas.capture.lastRoute", { agentId: "ctx-agent" });
        assert.equal(last.ok, true, JSON.stringify(last.error));
        assert.equal(last.payload.capture.taasRequestId, "hc-1");
        assert.equal(last.payload.capture.inputTokens, 100);
        const stats = await host.gatewayCall("taas.capture.stats", { agentId: "ctx-agent" });
        assert.equal(stats.payload.usage.calls, 1);
        assert.equal(stats.payload.usage.cacheReadTokens, 900);
        assert.equal(stats.payload.usage.cacheHitRatio, 0.9);
        assert.equal(stats.payload.usage.costUsd, 0.00057);
        // 900 cached tokens × ($3 − $0.30) per 1M tokens.
        assert.ok(Math.abs(stats.payload.usage.cacheSavedUsd - 0.00243) < 1e-12, String(stats.payload.usage.cacheSavedUsd));
      } finally {
        await host.stop();
      }
    });

    test("lastRoute sees the capture just pushed, 30 times in a row, with the service up", async () => {
      const { host } = hostWith({ socketPath: service.socketPath });
      try {
        for (let i = 0; i < 30; i++) {
          await host.llmCall({ ...agentCall, agentId: "fresh", responseHeaders: autoroutedHeaders({ "x-request-id": `fresh-${i}`, "x-taas-autorouter-model": `m-${i}` }) });
          const last = await host.gatewayCall("taas.autorouter.lastRoute", { agentId: "fresh" });
          assert.equal(last.payload.capture?.taasRequestId, `fresh-${i}`, `try ${i}: ${JSON.stringify(last.payload)}`);
        }
      } finally {
        await host.stop();
      }
    });

    test("alongside mode records each cloudsigma call's usage from llm_output under the native session id", async () => {
      const { host, state } = hostWith({ socketPath: service.socketPath, config: cloudsigmaOn, cloudsigma: "before" });
      try {
        await host.llmCall({ ...agentCall, agentId: "along", sessionKey: "agent:along:main" });
        await host.llmCall({ ...agentCall, agentId: "along", provider: "openai" });
        assert.equal(await state.client?.drain(5000), true);
        const history = await host.gatewayCall("taas.capture.history", { sessionId: agentCall.sessionId });
        assert.equal(history.ok, true, JSON.stringify(history.error));
        assert.equal(history.payload.captures.length, 1, "only the cloudsigma call");
        const [capture] = history.payload.captures;
        assert.equal(capture.autorouted, false);
        assert.equal(capture.agentId, "along");
        assert.equal(capture.requestedModel, "cloudsigma/auto");
        assert.equal(capture.cacheReadTokens, 900);
      } finally {
        await host.stop();
      }
      const denied = hostWith({ socketPath: service.socketPath, config: { plugins: { entries: { cloudsigma: {} } } }, cloudsigma: "before" });
      await denied.host.llmCall({ ...agentCall, sessionId: "no-access-session" });
      await denied.host.stop();
      const none = await cli(["history", "--session-id", "no-access-session", "--json"]);
      assert.deepEqual(JSON.parse(none.stdout).captures, [], "without allowConversationAccess the host sends no llm_output");
    });

    test("an override set from the CLI is a header on the session's next request within 2 s", async () => {
      const { host } = hostWith({ socketPath: service.socketPath });
      try {
        await host.startServices(dir);
        const before = await host.llmCall({ ...agentCall });
        assert.equal(before.headers["X-TaaS-Autorouter-Algorithm"], undefined);
        const started = Date.now();
        await cli(["set-algorithm", "--session-id", agentSession, "ttft"]);
        /** @type {any} */
        let seen;
        await waitFor(async () => {
          seen = await host.llmCall({ ...agentCall });
          return seen.headers["X-TaaS-Autorouter-Algorithm"] === "ttft";
        }, 2000, "the override header");
        assert.ok(Date.now() - started <= 2000);
        const callerSet = await host.llmCall({ ...agentCall, headers: { "x-taas-autorouter-algorithm": "cost" } });
        assert.equal(callerSet.headers["x-taas-autorouter-algorithm"], "cost", "a caller's header is never overwritten");
        assert.equal(callerSet.headers["X-TaaS-Autorouter-Algorithm"], undefined);
        await cli(["set-algorithm", "--agent-id", agentCall.agentId, "cost"]);
        await cli(["set-algorithm", "--session-id", agentSession, "--clear"]);
        await waitFor(async () => (await host.llmCall({ ...agentCall })).headers["X-TaaS-Autorouter-Algorithm"] === "cost", 2000, "the agent's pin once the session's is cleared");
      } finally {
        await host.stop();
        await cli(["set-algorithm", "--agent-id", agentCall.agentId, "--clear"]);
      }
    });

    test("setAlgorithm through the gateway persists, survives a gateway restart, and applies from memory while the service is away", async () => {
      const first = hostWith({ socketPath: service.socketPath });
      const set = await first.host.gatewayCall("taas.autorouter.setAlgorithm", { agentId: "pinned", algorithm: "savings_curve" }, ["operator.write"]);
      assert.equal(set.ok, true, JSON.stringify(set.error));
      assert.equal(set.payload.store, undefined);
      const readOnly = await first.host.gatewayCall("taas.autorouter.setAlgorithm", { agentId: "pinned", algorithm: "cost" }, ["operator.read"]);
      assert.equal(readOnly.error.code, "FORBIDDEN", "scope operator.write");
      const bad = await first.host.gatewayCall("taas.autorouter.setAlgorithm", { agentId: "pinned", algorithm: "warp" });
      assert.equal(bad.error.code, "INVALID_REQUEST");
      await first.host.stop();

      const restarted = hostWith({ socketPath: service.socketPath });
      await restarted.host.startServices(dir);
      await waitFor(async () => (await restarted.host.llmCall({ ...agentCall, agentId: "pinned" })).headers["X-TaaS-Autorouter-Algorithm"] === "savings_curve", 2000, "the pin after a gateway restart");

      await service.stop();
      const away = await restarted.host.gatewayCall("taas.autorouter.setAlgorithm", { agentId: "pinned", algorithm: "tps" });
      assert.equal(away.payload.store, "memory");
      assert.equal(away.payload.previous, "savings_curve");
      assert.equal((await restarted.host.llmCall({ ...agentCall, agentId: "pinned" })).headers["X-TaaS-Autorouter-Algorithm"], "tps");
      await service.start();
      await waitFor(async () => {
        const listed = JSON.parse((await cli(["algorithms", "--json"])).stdout);
        return listed.overrides.some((/** @type {any} */ o) => o.agentId === "pinned" && o.algorithm === "tps");
      }, 5000, "the memory pin written when the service returned");
      await restarted.host.stop();
    });
  });
}
