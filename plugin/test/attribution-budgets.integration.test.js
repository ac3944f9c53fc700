// Attribution and budgets end to end: the plugin loaded by the simulated host (testkit/host.js),
// talking over its socket to the real taas-capture binary (TAAS_CAPTURE_BIN, else
// ../.build/debug/taas-capture); what was stored is asked of the service itself. A tap in front of
// the socket (testkit/harness.js `startSocketTap`) shows what reached the service. Without the
// binary these tests fail when CI is set and are skipped otherwise.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as recorder from "../../plugin-recorder/index.js";
import * as ours from "../index.js";
import { AFFINITY_PLUGIN, pluginState, registerPlugin } from "../index.js";
import { sha16 } from "../lib/identity.js";
import { callServiceOnce } from "../lib/service-call.js";
import { autoroutedHeaders, removeDir, serviceBinary, startRealService, startSocketTap, tempDir, waitFor } from "../testkit/harness.js";
import { cloudsigmaProviderPlugin, createHost } from "../testkit/host.js";
import { runOpenclaw } from "../testkit/host-cli.js";
import { realServiceForSuite } from "../testkit/real-service.js";

const bin = serviceBinary();
const skip = existsSync(bin) ? false : `no taas-capture binary at ${bin} (set TAAS_CAPTURE_BIN)`;
if (skip && process.env.CI) test("the taas-capture binary is available for the attribution and budget tests", () => assert.fail(skip));

/** The stored fields attribution decides, with the outcome they go with. */
const ATTRIBUTION = ["trigger", "channel", "timeToFirstByteMs", "failureKind", "outcome", "routeChanged"];
/** @param {any} capture */
const attributionOf = (capture) => Object.fromEntries(ATTRIBUTION.map((k) => [k, capture[k]]));
const NOTHING = { trigger: null, channel: null, timeToFirstByteMs: null, failureKind: null };

/** A final assistant message whose usage the host priced at `usd`. @param {number} usd */
const pricedAt = (usd) => ({ role: "assistant", stopReason: "stop", usage: { input: 100, output: 20, cacheRead: 900, cacheWrite: 0, totalTokens: 1020, cost: { total: usd } } });

/** @param {string} text */
const lines = (text) => text.split("\n").filter((l) => l !== "");

/**
 * A simulated gateway with `mods` loaded in order (ours last), its plugin config pointing at `socketPath`.
 * @param {string} socketPath
 * @param {Record<string, any>} entries  the host config's `plugins.entries`
 * @param {any[]} mods
 */
function gatewayHost(socketPath, entries, mods) {
  const config = { plugins: { entries } };
  const host = createHost({ config });
  const apis = mods.map((mod) => host.load(mod, { pluginConfig: { socketPath, requestTimeoutMs: 3000 } }));
  const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(apis[apis.length - 1]));
  const openclaw = (/** @type {string[]} */ argv) => runOpenclaw(host.cliRegistrars, ["taas", ...argv], { config });
  return { host, state, openclaw };
}

/** The session's captures as the service stored them, oldest first. @param {string} socketPath @param {string} sessionId */
async function storedCaptures(socketPath, sessionId) {
  const page = await callServiceOnce(socketPath, "taas.autorouter.history", { sessionId, limit: 100 }, 5000);
  return [...page.captures].sort((a, b) => a.id - b.id);
}

describe("attribution reaches the real taas-capture service", { skip }, () => {
  const dir = tempDir("taas-attr-e2e-");
  const service = realServiceForSuite(bin, dir);

  for (const [pluginId, mod] of /** @type {const} */ ([["taas-capture", recorder], ["openclaw-taas-affinity", ours]])) {
    test(`alongside (${pluginId}): llm_output's trigger and channel, model_call_ended's TTFB and failure kind are stored exactly; a bare run stores nulls`, async (t) => {
      const g = gatewayHost(service.socketPath, { cloudsigma: {}, [pluginId]: { hooks: { allowConversationAccess: true } } }, [cloudsigmaProviderPlugin, mod]);
      t.after(() => g.host.stop());
      assert.equal(g.state.mode, "alongside");
      const run = { sessionId: `4c1d7e2a-${pluginId}`, agentId: "attr-agent", sessionKey: "agent:attr-agent:main" };
      await g.host.llmCall({ ...run, trigger: "cron", messageChannel: "telegram", messageProvider: "telegram", jobId: "job-7", ended: { timeToFirstByteMs: 187 } });
      await g.host.llmCall({ ...run, trigger: "heartbeat", messageProvider: "discord", ended: { outcome: "error", timeToFirstByteMs: 95, failureKind: "connection_reset", errorCategory: "NetworkError" } });
      await g.host.llmCall({ ...run });
      assert.equal(await g.state.client?.drain(10_000), true, "acknowledged");
      assert.equal(g.state.client?.counters().failed, 0, "no record refused");

      const stored = await storedCaptures(service.socketPath, run.sessionId);
      assert.deepEqual(stored.map(attributionOf), [
        { trigger: "cron", channel: "telegram", timeToFirstByteMs: 187, failureKind: null, outcome: "ok", routeChanged: false },
        { trigger: "heartbeat", channel: "discord", timeToFirstByteMs: 95, failureKind: "connection_reset", outcome: "error", routeChanged: false },
        { ...NOTHING, outcome: "ok", routeChanged: false },
      ]);
      assert.deepEqual(stored.map((c) => c.agentId), ["attr-agent", "attr-agent", "attr-agent"]);
    });
  }

  test("provider mode: the run's trigger and channel (traceparent → model_call_started → llm_input) are stored; TTFB never; no traceparent or a bare run stores nulls", async (t) => {
    const g = gatewayHost(service.socketPath, { "openclaw-taas-affinity": { hooks: { allowConversationAccess: true } } }, [ours]);
    t.after(() => g.host.stop());
    assert.equal(g.state.mode, "standalone");
    const run = { sessionId: "9e8f7a6b-provider", agentId: "attr-provider", agentDir: "/home/u/.openclaw/agents/attr-provider/agent", workspaceDir: "/home/u/.openclaw/workspace-attr-provider" };
    const first = await g.host.llmCall({ ...run, trigger: "cron", messageChannel: "telegram", jobId: "job-7", withTraceparent: true, responseHeaders: autoroutedHeaders({ "x-request-id": "p-1" }), ended: { timeToFirstByteMs: 42 } });
    await g.host.llmCall({ ...run, trigger: "user", messageProvider: "discord", withTraceparent: true, responseHeaders: autoroutedHeaders({ "x-request-id": "p-2", "x-taas-autorouter-model": "glm-4.6" }) });
    await g.host.llmCall({ ...run, withTraceparent: true, responseHeaders: autoroutedHeaders({ "x-request-id": "p-3", "x-taas-autorouter-model": "glm-4.6" }) });
    await g.host.llmCall({ ...run, trigger: "cron", messageChannel: "telegram", withTraceparent: false, responseHeaders: autoroutedHeaders({ "x-request-id": "p-4", "x-taas-autorouter-model": "glm-4.6" }) });
    assert.equal(await g.state.client?.drain(10_000), true, "acknowledged");
    assert.equal(g.state.client?.counters().failed, 0, "no record refused");

    const sessionId = first.payload.metadata.session_id;
    assert.match(sessionId, /^oc:[0-9a-f]{16}$/);
    const stored = await storedCaptures(service.socketPath, sessionId);
    assert.deepEqual(stored.map((c) => c.taasRequestId), ["p-1", "p-2", "p-3", "p-4"]);
    assert.deepEqual(stored.map(attributionOf), [
      { trigger: "cron", channel: "telegram", timeToFirstByteMs: null, failureKind: null, outcome: "ok", routeChanged: false },
      { trigger: "user", channel: "discord", timeToFirstByteMs: null, failureKind: null, outcome: "ok", routeChanged: true },
      { ...NOTHING, outcome: "ok", routeChanged: false },
      { ...NOTHING, outcome: "ok", routeChanged: false },
    ]);
  });
});

describe("budgets through the gateway methods and openclaw taas, against the real service", { skip }, () => {
  const dir = tempDir("taas-budget-e2e-");
  /** @type {Awaited<ReturnType<typeof startRealService>>} */
  let service;
  /** @type {Awaited<ReturnType<typeof startSocketTap>>} */
  let tap;
  /** @type {ReturnType<typeof gatewayHost>} */
  let g;
  const run = { sessionId: "b7d0c3e1-budget", agentId: "spender", agentDir: "/home/u/.openclaw/agents/spender/agent", workspaceDir: "/home/u/.openclaw/workspace-spender" };
  /** the session id as recorded (oc:…), known after the first call */
  let recordedSession = "";
  /** @param {string} method @param {Record<string, unknown>} params */
  const direct = (method, params) => callServiceOnce(service.socketPath, method, params, 5000);

  before(async () => {
    service = await startRealService(bin, dir, { args: ["--budget-check-interval", "100ms"] });
    tap = await startSocketTap(service.socketPath, path.join(dir, "tap.sock"));
    g = gatewayHost(tap.socketPath, { "openclaw-taas-affinity": {} }, [ours]);
  });
  after(async () => {
    await g?.host.stop();
    await tap?.close();
    await service?.stop();
    removeDir(dir);
  });

  test("setBudget: both ids, neither, usdPerDay 0, negative or missing are the plugin's INVALID_REQUEST and never reach the service", async () => {
    const sentBefore = tap.methods("taas.capture.").length;
    for (const params of [
      { agentId: "spender", sessionId: "oc:0123456789abcdef", usdPerDay: 5 },
      { usdPerDay: 5 },
      {},
      { agentId: "spender", usdPerDay: 0 },
      { agentId: "spender", usdPerDay: -1 },
      { sessionId: "oc:0123456789abcdef", usdPerDay: -0.01 },
      { agentId: "spender" },
      { agentId: "spender", usdPerDay: "5" },
    ]) {
      const r = await g.host.gatewayCall("taas.capture.setBudget", params);
      assert.equal(r.ok, false, JSON.stringify(params));
      assert.equal(r.error.code, "INVALID_REQUEST", JSON.stringify(params));
      assert.match(r.error.message, /^taas\.capture\.setBudget: (give exactly one of agentId and sessionId|usdPerDay )/, JSON.stringify(params));
    }
    assert.equal(tap.methods("taas.capture.").length, sentBefore, "nothing reached the service");
    const listed = await direct("taas.capture.budgets", {});
    assert.equal(listed.count, 0, "and nothing was set");
  });

  test("a real set, a record costing more than the budget, and taas.capture.budgets shows it exceeded", async () => {
    const set = await g.host.gatewayCall("taas.capture.setBudget", { agentId: "spender", usdPerDay: 2 });
    assert.equal(set.ok, true, JSON.stringify(set.error));
    assert.deepEqual({ ...set.payload, updatedAt: typeof set.payload.updatedAt }, { subject: { agentId: "spender" }, usdPerDay: 2, previous: null, updatedAt: "number" });
    assert.deepEqual(tap.requests.filter((r) => r.method === "taas.capture.setBudget").map((r) => r.params), [{ agentId: "spender", usdPerDay: 2 }], "sent as given, once");
    const lowered = await g.host.gatewayCall("taas.capture.setBudget", { agentId: "spender", usdPerDay: 1 });
    assert.equal(lowered.payload.previous, 2);
    assert.equal((await g.host.gatewayCall("taas.capture.setBudget", { agentId: "frugal", usdPerDay: 100 })).ok, true);

    const first = await g.host.llmCall({ ...run, responseHeaders: autoroutedHeaders({ "x-request-id": "b-1" }), finalMessage: pricedAt(0.25) });
    recordedSession = first.payload.metadata.session_id;
    const session = await g.host.gatewayCall("taas.capture.setBudget", { sessionId: recordedSession, usdPerDay: 0.5 });
    assert.deepEqual(session.payload.subject, { sessionId: recordedSession });
    assert.equal(await g.state.client?.drain(10_000), true);
    const under = await g.host.gatewayCall("taas.capture.budgets", {});
    assert.equal(under.ok, true, JSON.stringify(under.error));
    assert.deepEqual([under.payload.count, under.payload.exceeded], [3, 0], "0.25 spent: under every budget");

    await g.host.llmCall({ ...run, responseHeaders: autoroutedHeaders({ "x-request-id": "b-2" }), finalMessage: pricedAt(2.5) });
    assert.equal(await g.state.client?.drain(10_000), true);
    const over = await g.host.gatewayCall("taas.capture.budgets", {});
    assert.equal(over.ok, true, JSON.stringify(over.error));
    assert.deepEqual(over.payload, await direct("taas.capture.budgets", {}), "the service's answer, unchanged");
    assert.deepEqual([over.payload.count, over.payload.exceeded], [3, 2]);
    const bySubject = Object.fromEntries(over.payload.budgets.map((/** @type {any} */ b) => [JSON.stringify(b.subject), [b.usdPerDay, b.spentTodayUsd, b.exceeded]]));
    assert.deepEqual(bySubject, {
      [JSON.stringify({ agentId: "spender" })]: [1, 2.75, true],
      [JSON.stringify({ sessionId: recordedSession })]: [0.5, 2.75, true],
      [JSON.stringify({ agentId: "frugal" })]: [100, 0, false],
    });
    // health reports them as the service's watch last checked them (every 100 ms here).
    await waitFor(async () => {
      const { count, exceeded } = (await direct("taas.capture.health", {})).budgets;
      return count === 3 && exceeded === 2;
    }, 5000, "health.budgets as the watch last found them");
  });

  test("over the service's limit is refused before sending; a refusal by the service carries its field and reason", async () => {
    const before = tap.requests.filter((r) => r.method === "taas.capture.setBudget").length;
    const r = await g.host.gatewayCall("taas.capture.setBudget", { agentId: "spender", usdPerDay: 2_000_000 });
    assert.equal(r.ok, false);
    assert.equal(r.error.code, "INVALID_REQUEST");
    assert.match(r.error.message, /^taas\.capture\.setBudget: usdPerDay must be a number greater than 0 and at most 1000000/);
    assert.equal(tap.requests.filter((r) => r.method === "taas.capture.setBudget").length, before, "nothing sent");
    const listed = await direct("taas.capture.budgets", {});
    assert.equal(listed.budgets.find((/** @type {any} */ b) => b.subject.agentId === "spender")?.usdPerDay, 1, "unchanged");
    // A value only the service checks: its -32602 names the field and why.
    const refused = await g.host.gatewayCall("taas.autorouter.stats", { groupBy: "weekday" });
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, "INVALID_REQUEST");
    assert.match(refused.error.message, /^taas\.autorouter\.stats: Invalid params: groupBy must be one of agent, session, model, trigger, channel$/);
  });

  test("openclaw taas set-budget and budgets: the service's table, --json its raw result, exit 0; bad usage exits 2 and sends nothing", async () => {
    const set = await g.openclaw(["set-budget", "--agent-id", "cli-spender", "3"]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, "agent cli-spender: $3.00/day (was none)\n");
    const json = await g.openclaw(["set-budget", "--agent-id", "cli-spender", "4.5", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const raw = JSON.parse(json.stdout);
    assert.deepEqual({ ...raw, updatedAt: typeof raw.updatedAt }, { subject: { agentId: "cli-spender" }, usdPerDay: 4.5, previous: 3, updatedAt: "number" });

    const table = await g.openclaw(["budgets"]);
    assert.equal(table.code, 0, table.stderr);
    const { day } = await direct("taas.capture.budgets", {});
    const rows = lines(table.stdout);
    assert.match(rows[0], /^subject +USD\/day +spent today +exceeded$/);
    assert.deepEqual(rows.slice(1, -1).map((r) => r.split(/ {2,}/)).sort(), [
      ["agent cli-spender", "$4.50", "$0.00", "no"],
      ["agent frugal", "$100.00", "$0.00", "no"],
      ["agent spender", "$1.00", "$2.75", "yes"],
      [`session ${recordedSession}`, "$0.50", "$2.75", "yes"],
    ]);
    assert.equal(rows.at(-1), `day ${day} (UTC): 4 budgets, 2 exceeded; calls are never blocked`);
    const listed = await g.openclaw(["budgets", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout), await direct("taas.capture.budgets", {}));

    const cleared = await g.openclaw(["set-budget", "--agent-id", "cli-spender", "--clear"]);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.equal(cleared.stdout, "agent cli-spender: no budget (was $4.50/day)\n");
    assert.equal((await direct("taas.capture.budgets", {})).count, 3);

    const sentBefore = tap.methods("taas.capture.").length;
    for (const argv of [
      ["set-budget", "10"],
      ["set-budget", "--agent-id", "a", "--session-id", "oc:0123456789abcdef", "10"],
      ["set-budget", "--agent-id", "a"],
      ["set-budget", "--agent-id", "a", "0"],
      ["set-budget", "--agent-id", "a", "-5"],
      ["set-budget", "--agent-id", "a", "10", "--clear"],
      ["budgets", "extra"],
    ]) {
      const r = await g.openclaw(argv);
      assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, `${argv.join(" ")}: ${JSON.stringify(r.stderr)}`);
      assert.equal(r.stdout, "", argv.join(" "));
    }
    assert.equal(tap.methods("taas.capture.").length, sentBefore, "bad usage sent nothing");
  });
});

/** Our plugin as the host loads it, its budget watch looking every 20 ms and polling at most every 100 ms. */
const quickWatch = {
  default: { ...ours.default, register: (/** @type {any} */ api) => registerPlugin(api, { budgetWatch: { pollMs: 100, tickMs: 20 } }, AFFINITY_PLUGIN) },
};

describe("the budget warning poller against the real service", { skip }, () => {
  const dir = tempDir("taas-watch-e2e-");
  const stateDir = tempDir("taas-watch-state-");
  /** @type {Awaited<ReturnType<typeof startRealService>>} */
  let service;
  /** @type {Awaited<ReturnType<typeof startSocketTap>>} */
  let tap;
  /** @type {ReturnType<typeof gatewayHost>} */
  let g;

  before(async () => {
    service = await startRealService(bin, dir, { args: ["--budget-check-interval", "200ms"] });
    tap = await startSocketTap(service.socketPath, path.join(dir, "tap.sock"));
    g = gatewayHost(tap.socketPath, { "openclaw-taas-affinity": {} }, [quickWatch]);
  });
  after(async () => {
    await g?.host.stop();
    await tap?.close();
    await service?.stop();
    removeDir(dir);
    removeDir(stateDir);
  });

  const polls = () => tap.methods("taas.capture.budgets").length;
  /** @param {number} n */
  const morePolls = async (n) => {
    const target = polls() + n;
    await waitFor(() => polls() >= target, 10_000, `${n} more budget polls`);
  };
  const warnings = () => g.host.logs.filter((l) => l.level === "warn" && l.message.includes("budget exceeded")).map((l) => l.message);
  const serviceWarnings = () => lines(service.stderr()).filter((l) => l.includes("budget exceeded"));

  test("one warning per subject per UTC day across many polls; a session named session:<sha16>, never its id", async () => {
    const native = "c2a9e4f1-watched-session";
    const run = { sessionId: native, agentId: "watched", agentDir: "/home/u/.openclaw/agents/watched/agent", workspaceDir: "/home/u/.openclaw/workspace-watched" };
    assert.equal((await g.host.gatewayCall("taas.capture.setBudget", { agentId: "watched", usdPerDay: 1 })).ok, true);
    assert.equal((await g.host.gatewayCall("taas.capture.setBudget", { agentId: "calm", usdPerDay: 100 })).ok, true);
    const first = await g.host.llmCall({ ...run, responseHeaders: autoroutedHeaders({ "x-request-id": "w-1" }), finalMessage: pricedAt(0.25) });
    const recorded = first.payload.metadata.session_id;
    assert.equal((await g.host.gatewayCall("taas.capture.setBudget", { sessionId: recorded, usdPerDay: 0.5 })).ok, true);
    assert.equal(await g.state.client?.drain(10_000), true);

    await g.host.startServices(stateDir);
    await morePolls(3);
    assert.deepEqual(warnings(), [], "nothing exceeded yet");

    await g.host.llmCall({ ...run, responseHeaders: autoroutedHeaders({ "x-request-id": "w-2" }), finalMessage: pricedAt(2.5) });
    assert.equal(await g.state.client?.drain(10_000), true);
    await morePolls(6);
    const { day } = await callServiceOnce(service.socketPath, "taas.capture.budgets", {}, 5000);
    assert.deepEqual(warnings().sort(), [
      `[openclaw-taas-affinity] budget exceeded: agent watched spent $2.75 of $1.00 today (UTC ${day}); calls are not blocked`,
      `[openclaw-taas-affinity] budget exceeded: session:${sha16(recorded)} spent $2.75 of $0.50 today (UTC ${day}); calls are not blocked`,
    ]);

    // A subject that crosses later the same day gets its own line, once; the others are not repeated.
    await g.host.gatewayCall("taas.capture.setBudget", { agentId: "late", usdPerDay: 0.1 });
    await g.host.llmCall({ sessionId: "late-session", agentId: "late", agentDir: "/home/u/.openclaw/agents/late/agent", workspaceDir: "/home/u/.openclaw/workspace-late", responseHeaders: autoroutedHeaders({ "x-request-id": "w-3" }), finalMessage: pricedAt(0.25) });
    assert.equal(await g.state.client?.drain(10_000), true);
    await morePolls(6);
    assert.equal(warnings().length, 3, JSON.stringify(warnings()));
    assert.equal(warnings().filter((w) => w.includes("agent late spent $0.25 of $0.10")).length, 1);
    assert.equal(warnings().filter((w) => w.includes("calm")).length, 0, "a budget not exceeded is never named");

    const logged = g.host.logs.map((l) => l.message).join("\n");
    for (const raw of [recorded, native]) assert.ok(!logged.includes(raw), `the gateway log never carries the session id ${raw}`);

    // The service's own check (every 200 ms here) logs one line per subject per UTC day too.
    await waitFor(() => serviceWarnings().length >= 3, 5000, "the service's budget lines");
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(serviceWarnings().length, 3, serviceWarnings().join("\n"));
  });
});
