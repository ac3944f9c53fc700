// Attribution (SPEC v3): trigger, channel, time to first byte and failure kind in each record, only
// from what the host passes. The host is simulated by testkit/host.js with the contexts its source
// builds (HOST-NOTES-attribution.md); records reach a fake service, which keeps their params.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import * as recorder from "../../plugin-recorder/index.js";
import * as ours from "../index.js";
import { pluginState } from "../index.js";
import { MAX_TTFB_MS, attributionParams, createRunMemory, runAttributionOf, timeToFirstByteMs, withCallEnd } from "../lib/attribution.js";
import { usageRecordFromLlmOutput } from "../lib/usage.js";
import { autoroutedHeaders, removeDir, serviceBinary, startFakeService, startRealService, tempDir, waitFor } from "../testkit/harness.js";
import { cloudsigmaProviderPlugin, createHost } from "../testkit/host.js";

const ATTRIBUTION_KEYS = ["trigger", "channel", "timeToFirstByteMs", "failureKind"];
const conversation = { sessionId: "0b7c2f4e-9d1a-4c3e-8f5b-6a7d8e9f0a1b", agentId: "attr-agent", sessionKey: "agent:attr-agent:main" };
const cronRun = { trigger: "cron", messageChannel: "telegram", messageProvider: "telegram", jobId: "job-7" };

/** The params of every record the fake service received. @param {{state: {requests: any[]}}} service */
const records = (service) => service.state.requests.filter((r) => r.method === "taas.autorouter.record").map((r) => r.params);

/** @param {Record<string, unknown>} params */
const attributionOf = (params) => Object.fromEntries(ATTRIBUTION_KEYS.filter((k) => k in params).map((k) => [k, params[k]]));

/**
 * A simulated host with a fake service and the plugins `mods`, the given plugin entries.
 * @param {import("node:test").TestContext} t
 * @param {Record<string, any>} entries
 * @param {any[]} mods
 */
async function hostWithService(t, entries, mods) {
  const dir = tempDir("taas-attr-");
  const socketPath = path.join(dir, "c.sock");
  const service = await startFakeService(socketPath);
  const host = createHost({ config: { plugins: { entries } } });
  const apis = mods.map((mod) => host.load(mod, { pluginConfig: { socketPath, requestTimeoutMs: 2000 } }));
  t.after(async () => {
    await host.stop();
    await service.close();
    removeDir(dir);
  });
  return { host, service, apis };
}

/** @param {{state: {requests: any[]}}} service @param {number} n */
const recordsArrive = (service, n) => waitFor(() => records(service).length >= n, 5000, `${n} record(s)`);

test("a hook context's trigger and channel: channelId, else messageProvider; only bounded identities", () => {
  assert.deepEqual(runAttributionOf({ trigger: "cron", channelId: "telegram", messageProvider: "slack" }), { trigger: "cron", channel: "telegram" });
  assert.deepEqual(runAttributionOf({ trigger: "user", messageProvider: "discord" }), { trigger: "user", channel: "discord" });
  assert.deepEqual(runAttributionOf({ trigger: undefined, channelId: undefined, messageProvider: undefined }), {});
  assert.deepEqual(runAttributionOf({}), {});
  assert.deepEqual(runAttributionOf(null), {});
  assert.deepEqual(runAttributionOf({ trigger: "  ", channelId: "bad\nid", messageProvider: "x".repeat(201) }), {}, "never sent: the service would refuse the record");
  assert.deepEqual(runAttributionOf({ trigger: 5, channelId: {}, messageProvider: " telegram " }), { channel: "telegram" });
});

test("model_call_ended: the first reported TTFB, the last call's outcome, a failure kind only for an error", () => {
  assert.equal(timeToFirstByteMs(0), 0);
  assert.equal(timeToFirstByteMs(MAX_TTFB_MS), MAX_TTFB_MS);
  for (const bad of [-1, 1.5, MAX_TTFB_MS + 1, "12", null, undefined, Number.NaN]) assert.equal(timeToFirstByteMs(bad), undefined, String(bad));
  const first = withCallEnd(undefined, { outcome: "completed", timeToFirstByteMs: 120 });
  assert.deepEqual(first, { lastOutcome: "completed", timeToFirstByteMs: 120 });
  const second = withCallEnd(first, { outcome: "error", timeToFirstByteMs: 30, failureKind: "timeout" });
  assert.deepEqual(second, { lastOutcome: "error", timeToFirstByteMs: 120, lastFailureKind: "timeout" });
  assert.deepEqual(withCallEnd(undefined, { outcome: "completed", failureKind: "timeout" }), { lastOutcome: "completed" }, "no failure kind without an error");
  assert.deepEqual(withCallEnd(undefined, { outcome: "error" }), { lastOutcome: "error" });
  assert.deepEqual(attributionParams({}, null), {});
  assert.deepEqual(attributionParams({ trigger: "cron" }, second), { trigger: "cron", timeToFirstByteMs: 120, outcome: "error", failureKind: "timeout" });
});

test("the run memory is bounded, expires, and forgets what it hands over", () => {
  let now = 0;
  const runs = createRunMemory({ limit: 2, ttlMs: 1000, now: () => now });
  runs.update("r1", () => "a");
  runs.update("r2", () => "b");
  runs.update("r3", () => "c");
  assert.equal(runs.size(), 2);
  assert.equal(runs.get("r1"), null, "the oldest went first");
  assert.equal(runs.take("r2"), "b");
  assert.equal(runs.get("r2"), null);
  now = 1001;
  assert.equal(runs.get("r3"), null, "expired");
  runs.update("", () => "x");
  runs.update(undefined, () => "x");
  assert.equal(runs.size(), 0, "no key from a value that is not a run id");
});

test("llm_output record: the context's trigger and channel, the run's TTFB; nothing when the host gives nothing", () => {
  const event = { runId: "r", sessionId: "s", provider: "cloudsigma", model: "auto", usage: { input: 1, output: 2 } };
  const options = { now: 5, providerIds: ["cloudsigma"] };
  const bare = usageRecordFromLlmOutput(event, { runId: "r", agentId: "a", trigger: undefined, channelId: undefined, messageProvider: undefined }, options);
  assert.deepEqual(attributionOf(/** @type {any} */ (bare)), {});
  assert.equal(bare?.outcome, "ok");
  const full = usageRecordFromLlmOutput(event, { runId: "r", trigger: "heartbeat", channelId: "whatsapp" }, { ...options, callEnd: { lastOutcome: "completed", timeToFirstByteMs: 250 } });
  assert.deepEqual(attributionOf(/** @type {any} */ (full)), { trigger: "heartbeat", channel: "whatsapp", timeToFirstByteMs: 250 });
  assert.equal(full?.outcome, "ok");
  const failed = usageRecordFromLlmOutput(event, {}, { ...options, callEnd: { lastOutcome: "error", lastFailureKind: "connection_reset" } });
  assert.equal(failed?.outcome, "error");
  assert.equal(failed?.failureKind, "connection_reset");
});

test("alongside (taas-capture): trigger, channel and TTFB of a cron run on telegram; none invented for a plain run", async (t) => {
  const { host, service } = await hostWithService(t, { cloudsigma: {}, "taas-capture": { hooks: { allowConversationAccess: true } } }, [cloudsigmaProviderPlugin, recorder]);
  await host.llmCall({ ...conversation, ...cronRun, ended: { timeToFirstByteMs: 187 } });
  await recordsArrive(service, 1);
  assert.deepEqual(attributionOf(records(service)[0]), { trigger: "cron", channel: "telegram", timeToFirstByteMs: 187 });
  assert.equal(records(service)[0].outcome, "ok");
  await host.llmCall({ ...conversation });
  await recordsArrive(service, 2);
  assert.deepEqual(attributionOf(records(service)[1]), {}, "no trigger, channel, TTFB or failure kind from a host that gave none");
  assert.equal(records(service)[1].outcome, "ok");
  assert.equal(service.captures[0].trigger, "cron");
});

test("alongside: the attempt's last call ended in error: outcome error with the host's failure kind", async (t) => {
  const { host, service } = await hostWithService(t, { cloudsigma: {}, "taas-capture": { hooks: { allowConversationAccess: true } } }, [cloudsigmaProviderPlugin, recorder]);
  await host.llmCall({ ...conversation, trigger: "user", ended: { outcome: "error", failureKind: "timeout", errorCategory: "TimeoutError" } });
  await recordsArrive(service, 1);
  const [params] = records(service);
  assert.equal(params.outcome, "error");
  assert.equal(params.failureKind, "timeout");
  assert.equal(params.trigger, "user");
  assert.equal("timeToFirstByteMs" in params, false, "no byte arrived, none reported");
});

test("alongside: each attempt of a run gets its own calls' TTFB; another provider's calls are not remembered", async (t) => {
  const { host, service, apis } = await hostWithService(t, { cloudsigma: {}, "taas-capture": { hooks: { allowConversationAccess: true } } }, [cloudsigmaProviderPlugin, recorder]);
  const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(apis[1]));
  await host.llmCall({ ...conversation, runId: "run-a", ended: { timeToFirstByteMs: 10 } });
  await host.llmCall({ ...conversation, runId: "run-a", ended: { timeToFirstByteMs: 20 } });
  await recordsArrive(service, 2);
  assert.deepEqual(records(service).map((p) => p.timeToFirstByteMs), [10, 20]);
  assert.equal(state.callEnds.size(), 0, "taken by each llm_output");
  await host.llmCall({ ...conversation, provider: "openai", ended: { timeToFirstByteMs: 5 } });
  assert.equal(state.callEnds.size(), 0);
});

test("alongside without conversation access: no llm_output, so no record; model_call_ended alone records nothing", async (t) => {
  const { host, service, apis } = await hostWithService(t, { cloudsigma: {}, "taas-capture": {} }, [cloudsigmaProviderPlugin, recorder]);
  await host.llmCall({ ...conversation, ...cronRun, ended: { timeToFirstByteMs: 9 } });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(records(service), []);
  assert.equal(/** @type {any} */ (pluginState(apis[1])).callEnds.size(), 1, "kept, bounded and expiring, for an llm_output that never comes");
});

test("standalone with conversation access: the record carries the run's trigger and channel (trace → run → llm_input), never TTFB", async (t) => {
  const { host, service } = await hostWithService(t, { "openclaw-taas-affinity": { hooks: { allowConversationAccess: true } } }, [ours]);
  assert.ok(host.hooks.some((h) => h.pluginId === "openclaw-taas-affinity" && h.name === "llm_input"));
  await host.llmCall({ ...conversation, ...cronRun, withTraceparent: true, responseHeaders: autoroutedHeaders(), ended: { timeToFirstByteMs: 42, outcome: "completed" } });
  await recordsArrive(service, 1);
  const [params] = records(service);
  assert.deepEqual(attributionOf(params), { trigger: "cron", channel: "telegram" }, "model_call_ended comes after the record is made: no TTFB in this mode");
  assert.equal(params.headers["x-taas-autorouted"], "true");
  await host.llmCall({ ...conversation, withTraceparent: true, responseHeaders: autoroutedHeaders({ "x-request-id": "plain" }) });
  await recordsArrive(service, 2);
  assert.deepEqual(attributionOf(records(service)[1]), {}, "a run the host gave no trigger or channel");
  await host.llmCall({ ...conversation, ...cronRun, withTraceparent: false, responseHeaders: autoroutedHeaders({ "x-request-id": "no-trace" }) });
  await recordsArrive(service, 3);
  assert.deepEqual(attributionOf(records(service)[2]), {}, "no traceparent (an otel exporter replaced it): the run cannot be told, nothing is guessed");
});

test("standalone without conversation access: llm_input is not asked for, and records carry no attribution", async (t) => {
  const { host, service } = await hostWithService(t, { "openclaw-taas-affinity": {} }, [ours]);
  assert.equal(host.hooks.some((h) => h.pluginId === "openclaw-taas-affinity" && h.name === "llm_input"), false, "the host would drop it with a diagnostic");
  await host.llmCall({ ...conversation, ...cronRun, withTraceparent: true, responseHeaders: autoroutedHeaders() });
  await recordsArrive(service, 1);
  assert.deepEqual(attributionOf(records(service)[0]), {});
});

test("a background completion the host reports under a run id: that run's trigger, matched by trace like its session", async (t) => {
  const { host, service } = await hostWithService(t, { "openclaw-taas-affinity": { hooks: { allowConversationAccess: true } } }, [ours]);
  await host.llmCall({ ...conversation, ...cronRun, runId: "run-bg", withTraceparent: true, responseHeaders: autoroutedHeaders() });
  await recordsArrive(service, 1);
  await host.llmCall({ ...conversation, runId: "run-bg", simple: true, withTraceparent: true, responseHeaders: autoroutedHeaders({ "x-request-id": "bg" }) });
  await recordsArrive(service, 2);
  assert.deepEqual(attributionOf(records(service)[1]), { trigger: "cron", channel: "telegram" }, "the run's llm_input said so");
});

const bin = serviceBinary();
if (!existsSync(bin) && process.env.CI) {
  test("the taas-capture binary is available for the attribution tests", () => assert.fail(`no taas-capture binary at ${bin}`));
} else if (!existsSync(bin)) {
  test("attribution against the real service", { skip: `no taas-capture binary at ${bin}` }, () => {});
} else {
  test("the real service takes records with attribution (an older one ignores the new params; a newer one stores them)", async (t) => {
    const dir = tempDir("taas-attr-real-");
    const service = await startRealService(bin, dir);
    const host = createHost({ config: { plugins: { entries: { cloudsigma: {}, "taas-capture": { hooks: { allowConversationAccess: true } } } } } });
    host.load(cloudsigmaProviderPlugin);
    const api = host.load(recorder, { pluginConfig: { socketPath: service.socketPath, requestTimeoutMs: 3000 } });
    t.after(async () => {
      await host.stop();
      await service.stop();
      removeDir(dir);
    });
    const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(api));
    await host.llmCall({ ...conversation, ...cronRun, ended: { timeToFirstByteMs: 187 } });
    await host.llmCall({ ...conversation, trigger: "user", ended: { outcome: "error", failureKind: "timeout" } });
    assert.equal(await state.client?.drain(10_000), true);
    const counters = state.client?.counters();
    assert.equal(counters?.acked, 2, JSON.stringify(counters));
    assert.equal(counters?.failed, 0, "no record refused");
    const history = await host.gatewayCall("taas.capture.history", { sessionId: conversation.sessionId });
    assert.equal(history.ok, true, JSON.stringify(history.error));
    const [failed, cron] = history.payload.captures;
    assert.equal(failed.outcome, "error");
    if ("trigger" in cron) {
      assert.equal(cron.trigger, "cron");
      assert.equal(cron.channel, "telegram");
      assert.equal(cron.timeToFirstByteMs, 187);
      assert.equal(failed.failureKind, "timeout");
    }
  });
}
