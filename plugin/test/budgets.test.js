// Budgets, warn only (SPEC v3): the gateway methods `taas.capture.budgets` / `setBudget`, `openclaw
// taas budgets` / `set-budget`, and the gateway's one warning line per subject per UTC day. The
// service side is a fake (testkit/harness.js) until the real binary serves these methods.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import * as recorder from "../../plugin-recorder/index.js";
import * as ours from "../index.js";
import { pluginState } from "../index.js";
import { BUDGET_POLL_MS, WARNED_LIMIT, createBudgetWatch } from "../lib/budget-watch.js";
import { budgetFrom, exceededLine, subjectName, utcDay } from "../lib/budgets.js";
import { CaptureServiceError } from "../lib/client.js";
import { usdFlag } from "../lib/cli-commands.js";
import { sha16 } from "../lib/identity.js";
import { removeDir, startFakeService, tempDir, waitFor } from "../testkit/harness.js";
import { cloudsigmaProviderPlugin, createHost } from "../testkit/host.js";
import { runOpenclaw } from "../testkit/host-cli.js";

/** @param {string} text */
const lines = (text) => text.split("\n").filter((l) => l !== "");

/**
 * A simulated host with our plugin against a fake service (or none, with `absent`).
 * @param {import("node:test").TestContext} t
 * @param {{absent?: boolean, entries?: Record<string, any>, mods?: any[]}} [o]
 */
async function gateway(t, o = {}) {
  const dir = tempDir("taas-bud-");
  const socketPath = path.join(dir, "c.sock");
  const service = o.absent ? null : await startFakeService(socketPath);
  const config = { plugins: { entries: o.entries ?? {} } };
  const host = createHost({ config });
  const mods = o.mods ?? [ours];
  const apis = mods.map((mod) => host.load(mod, { pluginConfig: { socketPath, requestTimeoutMs: 2000 } }));
  const api = apis[apis.length - 1];
  t.after(async () => {
    await host.stop();
    await service?.close();
    removeDir(dir);
  });
  const openclaw = (/** @type {string[]} */ argv) => runOpenclaw(host.cliRegistrars, ["taas", ...argv], { config });
  const sent = () => (service?.state.requests ?? []).filter((r) => r.method.startsWith("taas.capture."));
  return { host, service, api, openclaw, sent, socketPath };
}

test("setBudget params: exactly one of agentId and sessionId, usdPerDay a number > 0 or null", () => {
  assert.deepEqual(budgetFrom({ agentId: "a", usdPerDay: 10 }), { params: { agentId: "a", usdPerDay: 10 } });
  assert.deepEqual(budgetFrom({ sessionId: " oc:1 ", usdPerDay: 0.5 }), { params: { sessionId: "oc:1", usdPerDay: 0.5 } });
  assert.deepEqual(budgetFrom({ agentId: "a", usdPerDay: null }), { params: { agentId: "a", usdPerDay: null } });
  for (const bad of [
    {},
    { usdPerDay: 1 },
    { agentId: "a", sessionId: "s", usdPerDay: 1 },
    { agentId: "", usdPerDay: 1 },
    { agentId: "a\nb", usdPerDay: 1 },
    { agentId: "a" },
    { agentId: "a", usdPerDay: 0 },
    { agentId: "a", usdPerDay: -1 },
    { agentId: "a", usdPerDay: "10" },
    { agentId: "a", usdPerDay: Number.POSITIVE_INFINITY },
    { agentId: "a", usdPerDay: Number.NaN },
    [],
    null,
  ]) {
    assert.ok("error" in budgetFrom(bad), JSON.stringify(bad));
  }
});

test("gateway: taas.capture.budgets (read) and setBudget (write) forward to the service exactly", async (t) => {
  const g = await gateway(t);
  assert.equal(g.host.methods.get("taas.capture.budgets")?.scope, "operator.read");
  assert.equal(g.host.methods.get("taas.capture.setBudget")?.scope, "operator.write");
  assert.equal(g.host.methods.has("taas.autorouter.setBudget"), false, "budgets are taas.capture.* only");
  const set = await g.host.gatewayCall("taas.capture.setBudget", { agentId: "spender", usdPerDay: 10, ignored: true });
  assert.equal(set.ok, true, JSON.stringify(set.error));
  assert.deepEqual(set.payload.subject, { agentId: "spender" });
  assert.equal(set.payload.usdPerDay, 10);
  assert.equal(set.payload.previous, null);
  assert.deepEqual(g.sent().map((r) => [r.method, r.params]), [["taas.capture.setBudget", { agentId: "spender", usdPerDay: 10 }]]);
  g.service?.state.spent.set("agent:spender", 12.5);
  const listed = await g.host.gatewayCall("taas.capture.budgets", {});
  assert.equal(listed.ok, true, JSON.stringify(listed.error));
  assert.equal(listed.payload.count, 1);
  assert.equal(listed.payload.budgets[0].exceeded, true);
  assert.deepEqual(g.sent().at(-1), { jsonrpc: "2.0", id: g.sent().at(-1).id, method: "taas.capture.budgets", params: {} });
  const cleared = await g.host.gatewayCall("taas.capture.setBudget", { agentId: "spender", usdPerDay: null });
  assert.equal(cleared.payload.previous, 10);
  const readOnly = await g.host.gatewayCall("taas.capture.setBudget", { agentId: "spender", usdPerDay: 3 }, ["operator.read"]);
  assert.equal(readOnly.error?.code, "FORBIDDEN", "a change needs operator.write");
});

test("gateway: bad setBudget params are INVALID_REQUEST and reach no service", async (t) => {
  const g = await gateway(t);
  for (const params of [{ usdPerDay: 5 }, { agentId: "a", sessionId: "s", usdPerDay: 5 }, { agentId: "a" }, { agentId: "a", usdPerDay: 0 }, { sessionId: "s", usdPerDay: "5" }, { agentId: 7, usdPerDay: 5 }]) {
    const r = await g.host.gatewayCall("taas.capture.setBudget", params);
    assert.equal(r.ok, false, JSON.stringify(params));
    assert.equal(r.error.code, "INVALID_REQUEST", JSON.stringify(params));
    assert.match(r.error.message, /^taas\.capture\.setBudget: /);
  }
  const notObject = await g.host.gatewayCall("taas.capture.budgets", ["x"]);
  assert.equal(notObject.error?.code, "INVALID_REQUEST");
  assert.deepEqual(g.sent(), []);
});

test("gateway: an older service (-32601) is too old; no service is unavailable; both modes register the methods", async (t) => {
  const g = await gateway(t);
  /** @type {any} */ (g.service).state.budgets = false;
  const old = await g.host.gatewayCall("taas.capture.budgets", {});
  assert.equal(old.error?.code, "UNAVAILABLE");
  assert.match(old.error.message, /too old for taas\.capture\.budgets; upgrade it/);
  const away = await gateway(t, { absent: true });
  const r = await away.host.gatewayCall("taas.capture.setBudget", { sessionId: "oc:1", usdPerDay: 2 });
  assert.equal(r.error?.code, "UNAVAILABLE");
  assert.match(r.error.message, /unreachable at .*c\.sock/);
  const beside = await gateway(t, { entries: { cloudsigma: {}, "taas-capture": {} }, mods: [cloudsigmaProviderPlugin, recorder] });
  assert.equal(beside.host.methods.get("taas.capture.budgets")?.pluginId, "taas-capture");
  assert.equal(beside.host.methods.get("taas.capture.setBudget")?.scope, "operator.write");
});

test("CLI: set-budget and budgets against the service; --json prints the raw result", async (t) => {
  const g = await gateway(t);
  const set = await g.openclaw(["set-budget", "--agent-id", "spender", "10"]);
  assert.equal(set.code, 0, set.stderr);
  assert.equal(set.stdout, "agent spender: $10.00/day (was none)\n");
  const session = await g.openclaw(["set-budget", "--session-id", "oc:0123456789abcdef", "2.5", "--json"]);
  assert.equal(session.code, 0, session.stderr);
  assert.deepEqual(JSON.parse(session.stdout).subject, { sessionId: "oc:0123456789abcdef" });
  g.service?.state.spent.set("agent:spender", 12.345);
  const table = await g.openclaw(["budgets"]);
  assert.equal(table.code, 0, table.stderr);
  const rows = lines(table.stdout);
  assert.match(rows[0], /^subject +USD\/day +spent today +exceeded$/);
  assert.match(rows[1], /^agent spender +\$10\.00 +\$12\.3\d +yes$/);
  assert.match(rows[2], /^session oc:0123456789abcdef +\$2\.50 +\$0\.00 +no$/);
  assert.match(rows[3], /^day \d{4}-\d{2}-\d{2} \(UTC\): 2 budgets, 1 exceeded; calls are never blocked$/);
  const json = await g.openclaw(["budgets", "--json"]);
  assert.equal(json.code, 0);
  const raw = JSON.parse(json.stdout);
  assert.deepEqual(Object.keys(raw).sort(), ["budgets", "count", "day", "exceeded"]);
  const cleared = await g.openclaw(["set-budget", "--agent-id", "spender", "--clear"]);
  assert.equal(cleared.stdout, "agent spender: no budget (was $10.00/day)\n");
  assert.deepEqual(g.sent().find((r) => r.method === "taas.capture.setBudget" && r.params.usdPerDay === null)?.params, { agentId: "spender", usdPerDay: null });
});

test("CLI: bad usage exits 2 with one line and sends nothing; failures exit 1", async (t) => {
  const g = await gateway(t);
  for (const argv of [
    ["set-budget", "10"],
    ["set-budget", "--agent-id", "a", "--session-id", "s", "10"],
    ["set-budget", "--agent-id", "a"],
    ["set-budget", "--agent-id", "a", "0"],
    ["set-budget", "--agent-id", "a", "ten"],
    ["set-budget", "--agent-id", "a", "1e3"],
    ["set-budget", "--agent-id", "a", "Infinity"],
    ["set-budget", "--agent-id", "a", "-5"],
    ["set-budget", "--agent-id", "a", "10", "--clear"],
    ["set-budget", "--agent-id", "", "10"],
    ["set-budget", "--agent-id", "a", "10", "11"],
    ["budgets", "extra"],
    ["budgets", "--agent-id", "a"],
  ]) {
    const r = await g.openclaw(argv);
    assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
    assert.equal(lines(r.stderr).length, 1, `${argv.join(" ")}: ${JSON.stringify(r.stderr)}`);
    assert.equal(r.stdout, "", argv.join(" "));
  }
  assert.deepEqual(g.sent(), [], "nothing was asked of the service");
  /** @type {any} */ (g.service).state.budgets = false;
  for (const argv of [["budgets"], ["set-budget", "--agent-id", "a", "10"]]) {
    const r = await g.openclaw(argv);
    assert.equal(r.code, 1, argv.join(" "));
    assert.match(r.stderr, /is too old for taas\.capture\.(budgets|setBudget); upgrade it/);
  }
  const away = await gateway(t, { absent: true });
  for (const argv of [["budgets", "--json"], ["set-budget", "--session-id", "s", "--clear"]]) {
    const r = await away.openclaw(argv);
    assert.equal(r.code, 1, argv.join(" "));
    assert.equal(lines(r.stderr).length, 1);
    assert.match(r.stderr, /cannot connect to the taas-capture service at .*c\.sock \(ENOENT\)/);
  }
});

test("USD on the command line: a plain decimal greater than 0", () => {
  assert.equal(usdFlag("10"), 10);
  assert.equal(usdFlag("2.50"), 2.5);
  assert.equal(usdFlag(".75"), 0.75);
  for (const bad of ["0", "0.0", "-1", "1e3", "0x10", "ten", "", " ", "Infinity", "1,5"]) assert.throws(() => usdFlag(bad), /greater than 0/, bad);
});

/**
 * A client stand-in: connected or not, answering `taas.capture.budgets` with `answer()`.
 * @param {() => any} answer
 */
function fakeClient(answer) {
  const state = { connected: true, calls: 0 };
  return {
    state,
    client: /** @type {any} */ ({
      counters: () => ({ connected: state.connected }),
      call: async (/** @type {string} */ method) => {
        assert.equal(method, "taas.capture.budgets");
        state.calls += 1;
        const a = answer();
        if (a instanceof Error) throw a;
        return a;
      },
    }),
  };
}

const DEC_3_LATE = Date.UTC(2026, 11, 3, 23, 50, 0);

test("budget warning: one line per subject per UTC day, a session only hashed; again after midnight UTC", async () => {
  let now = DEC_3_LATE;
  /** @type {any[]} */
  let budgets = [
    { subject: { agentId: "spender" }, usdPerDay: 10, spentTodayUsd: 12.34, exceeded: true, updatedAt: 1 },
    { subject: { sessionId: "5f0c8a52-6a1e-4a57-9f4a-1d2c3b4a5e6f" }, usdPerDay: 1, spentTodayUsd: 1.5, exceeded: true, updatedAt: 1 },
    { subject: { agentId: "frugal" }, usdPerDay: 10, spentTodayUsd: 0.1, exceeded: false, updatedAt: 1 },
  ];
  const { client, state } = fakeClient(() => ({ day: utcDay(now), budgets, count: budgets.length, exceeded: 2 }));
  /** @type {string[]} */
  const warnings = [];
  const watch = createBudgetWatch({ client: () => client, warn: (m) => warnings.push(m), debug: () => {}, now: () => now });
  await watch.checkNow();
  assert.deepEqual(warnings, [
    "budget exceeded: agent spender spent $12.34 of $10.00 today (UTC 2026-12-03); calls are not blocked",
    `budget exceeded: session:${sha16("5f0c8a52-6a1e-4a57-9f4a-1d2c3b4a5e6f")} spent $1.50 of $1.00 today (UTC 2026-12-03); calls are not blocked`,
  ]);
  assert.ok(!warnings.join("\n").includes("5f0c8a52"), "never the raw session id");
  now += 30_000;
  await watch.checkNow();
  assert.equal(state.calls, 1, "at most one poll a minute");
  now += BUDGET_POLL_MS;
  await watch.checkNow();
  assert.equal(state.calls, 2);
  assert.equal(warnings.length, 2, "the same subjects the same day: no new line");
  budgets = [...budgets, { subject: { agentId: "late" }, usdPerDay: 1, spentTodayUsd: 2, exceeded: true, updatedAt: 2 }];
  now += BUDGET_POLL_MS;
  await watch.checkNow();
  assert.equal(warnings.length, 3);
  assert.match(warnings[2], /^budget exceeded: agent late spent \$2\.00 of \$1\.00 today \(UTC 2026-12-03\)/);
  // Midnight UTC: a new day, and each subject still over its budget is named once more.
  now = Date.UTC(2026, 11, 4, 0, 1, 0);
  await watch.checkNow();
  assert.equal(warnings.length, 6);
  assert.ok(warnings.slice(3).every((w) => w.includes("(UTC 2026-12-04)")), JSON.stringify(warnings.slice(3)));
});

test("budget warning: only on a connection the client holds; stops for good on -32601; other errors retry", async () => {
  let now = DEC_3_LATE;
  /** @type {any} */
  let answer = new CaptureServiceError("timeout", "slow");
  const { client, state } = fakeClient(() => answer);
  /** @type {string[]} */
  const warnings = [];
  /** @type {() => any} */
  let current = () => null;
  const watch = createBudgetWatch({ client: () => current(), warn: (m) => warnings.push(m), debug: () => {}, now: () => now });
  await watch.checkNow();
  assert.equal(state.calls, 0, "no client yet: none is made for this");
  current = () => client;
  state.connected = false;
  await watch.checkNow();
  assert.equal(state.calls, 0, "not connected: no poll, and no connection opened for it");
  state.connected = true;
  await watch.checkNow();
  assert.equal(state.calls, 1);
  assert.equal(watch.retired(), false, "a timeout is tried again next minute");
  now += BUDGET_POLL_MS;
  answer = new CaptureServiceError("rpc", "Method not found", { code: -32601 });
  await watch.checkNow();
  assert.equal(watch.retired(), true);
  now += 10 * BUDGET_POLL_MS;
  await watch.checkNow();
  watch.start();
  assert.equal(state.calls, 2, "an older service is never asked again");
  assert.deepEqual(warnings, []);
});

test("budget warning: the day from the service, else the clock; subjects that are neither are skipped; the set is bounded", async () => {
  const now = DEC_3_LATE;
  /** @type {any} */
  let answer = { budgets: [{ subject: { agentId: "x" }, usdPerDay: 1, spentTodayUsd: 2, exceeded: true }, { subject: {}, exceeded: true }, { subject: { agentId: "bad\nid" }, exceeded: true }, "junk"] };
  const { client } = fakeClient(() => answer);
  /** @type {string[]} */
  const warnings = [];
  let clock = now;
  const watch = createBudgetWatch({ client: () => client, warn: (m) => warnings.push(m), debug: () => {}, now: () => clock });
  await watch.checkNow();
  assert.deepEqual(warnings, ["budget exceeded: agent x spent $2.00 of $1.00 today (UTC 2026-12-03); calls are not blocked"]);
  answer = { day: "2026-12-05", budgets: Array.from({ length: WARNED_LIMIT + 5 }, (_, i) => ({ subject: { agentId: `a${i}` }, usdPerDay: 1, spentTodayUsd: 2, exceeded: true })) };
  clock += BUDGET_POLL_MS;
  await watch.checkNow();
  assert.equal(warnings.length, 1 + WARNED_LIMIT + 1, "each up to the bound, then one line for the rest");
  assert.match(warnings.at(-1) ?? "", /more than 1000 budgets today \(UTC 2026-12-05\)/);
  clock += BUDGET_POLL_MS;
  await watch.checkNow();
  assert.equal(warnings.length, 1 + WARNED_LIMIT + 1, "and not again that day");
  assert.deepEqual(subjectName({ sessionId: "s" }), { key: "session\u0000s", name: `session:${sha16("s")}` });
  assert.equal(subjectName({ agentId: 3 }), null);
  assert.equal(exceededLine("agent a", { spentTodayUsd: "x", usdPerDay: 2 }, "2026-12-03"), "budget exceeded: agent a spent $? of $2.00 today (UTC 2026-12-03); calls are not blocked");
});

test("the gateway logs the warning once, tagged with the plugin id, from the service it is connected to", async (t) => {
  const g = await gateway(t, { entries: { cloudsigma: {}, "taas-capture": {} }, mods: [cloudsigmaProviderPlugin, recorder] });
  const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(g.api));
  await g.host.gatewayCall("taas.capture.setBudget", { agentId: "spender", usdPerDay: 10 });
  g.service?.state.spent.set("agent:spender", 11);
  await waitFor(() => state.client?.counters().connected, 5000, "the client's connection");
  await state.budgets.checkNow();
  await state.budgets.checkNow();
  const warned = g.host.logs.filter((l) => l.level === "warn" && l.message.includes("budget exceeded"));
  assert.equal(warned.length, 1, JSON.stringify(warned));
  assert.match(warned[0].message, /^\[taas-capture\] budget exceeded: agent spender spent \$11\.00 of \$10\.00 today \(UTC \d{4}-\d{2}-\d{2}\); calls are not blocked$/);
});

test("the budget watch starts with the host's services and never opens a socket on its own", async (t) => {
  // Alongside: no override sync, which would open the client's connection itself.
  const g = await gateway(t, { entries: { cloudsigma: {}, "taas-capture": {} }, mods: [cloudsigmaProviderPlugin, recorder] });
  const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(g.api));
  const stateDir = tempDir("taas-bud-state-");
  t.after(() => removeDir(stateDir));
  await g.host.startServices(stateDir);
  await state.budgets.checkNow();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(g.service?.state.connections, 0, "no client made, no connection");
  assert.equal(state.budgets.retired(), false);
});
