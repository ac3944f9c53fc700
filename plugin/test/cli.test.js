// `openclaw taas …` through a commander-compatible program (testkit/commander.js) driven the way
// the host drives plugin commands (testkit/host-cli.js), against the real taas-capture binary.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as ours from "../index.js";
import { pluginState } from "../index.js";
import { TAAS_COMMAND, addTaasCommand } from "../lib/cli.js";
import { sha16 } from "../lib/identity.js";
import { callServiceOnce } from "../lib/service-call.js";
import { Command } from "../testkit/commander.js";
import { PLUGIN_DIR, autoroutedHeaders, removeDir, serviceBinary, startRealService, tempDir } from "../testkit/harness.js";
import { createHost } from "../testkit/host.js";
import { runOpenclaw } from "../testkit/host-cli.js";

const bin = serviceBinary();
const haveBinary = existsSync(bin);
const manifest = JSON.parse(readFileSync(path.join(PLUGIN_DIR, "openclaw.plugin.json"), "utf8"));
const agentCall = {
  sessionId: "7d1e2c3b-0a9f-4e8d-8c7b-6a5f4e3d2c1b",
  agentId: "cli-agent",
  agentDir: "/home/u/.openclaw/agents/cli-agent/agent",
  workspaceDir: "/home/u/.openclaw/workspace-cli-agent",
};
const agentSession = `oc:${sha16(`session:${agentCall.sessionId}`)}`;
const SUBCOMMANDS = ["status", "last-route", "history", "stats", "algorithms", "set-algorithm", "budgets", "set-budget", "report"];

/** A simulated host with our plugin loaded, its `openclaw` runner, and the plugin's state. */
function hostWith(/** @type {{socketPath: string, pluginConfig?: any, config?: any}} */ o) {
  const host = createHost({ config: o.config });
  const api = host.load(ours, { pluginConfig: { socketPath: o.socketPath, requestTimeoutMs: 3000, ...o.pluginConfig } });
  const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(api));
  const openclaw = (/** @type {string[]} */ argv, /** @type {any} */ options = {}) => runOpenclaw(host.cliRegistrars, ["taas", ...argv], { config: o.config, ...options });
  return { host, state, openclaw };
}

/** A Unix socket that counts connections and bytes: "nothing was sent" is zero of both. */
async function countingSocket(/** @type {string} */ dir) {
  const socketPath = path.join(dir, "count.sock");
  const seen = { connections: 0, bytes: 0 };
  const server = net.createServer((c) => {
    seen.connections += 1;
    c.on("data", (d) => (seen.bytes += d.length));
    c.on("error", () => {});
  });
  await new Promise((r) => server.listen(socketPath, () => r(undefined)));
  return { socketPath, seen, close: () => new Promise((r) => server.close(() => r(undefined))) };
}

/** @param {string} text */
const lines = (text) => text.split("\n").filter((l) => l !== "");

test("the descriptor and the manifest's cliCommands row name the same command, and registerCli gets both", () => {
  assert.deepEqual(manifest.cliCommands, [{ name: TAAS_COMMAND.name, description: TAAS_COMMAND.description, hasSubcommands: true }]);
  const host = createHost();
  host.load(ours, { pluginConfig: { socketPath: "/nonexistent/c.sock" } });
  assert.equal(host.cliRegistrars.length, 1);
  const { opts } = host.cliRegistrars[0];
  assert.deepEqual(opts.commands, ["taas"]);
  assert.equal(opts.descriptors.length, 1);
  const { machineOutput, ...descriptor } = opts.descriptors[0];
  assert.deepEqual(descriptor, manifest.cliCommands[0]);
  assert.equal(machineOutput({ argv: ["node", "openclaw", "taas", "stats", "--json"], stdoutIsTTY: true }), true);
  assert.equal(machineOutput({ argv: ["node", "openclaw", "taas", "stats"], stdoutIsTTY: true }), false);
});

test("the subcommands are taas-capture's query commands, budgets and set-budget included", () => {
  const program = new Command("openclaw");
  const taas = addTaasCommand(program, /** @type {any} */ ({ pluginId: "x", pluginVersion: "0", host: {} }));
  assert.deepEqual(taas.commands.map((/** @type {any} */ c) => c.name()), SUBCOMMANDS);
});

test("cli-metadata registration: descriptors only, nothing opened, nothing else registered, runtime untouched", async (t) => {
  const dir = tempDir("taas-clim-");
  const counting = await countingSocket(dir);
  t.after(async () => {
    await counting.close();
    removeDir(dir);
  });
  /** @type {any[]} */
  const registered = [];
  const refuse = (/** @type {string} */ what) => () => {
    throw new Error(`${what} called in cli-metadata mode`);
  };
  const api = {
    id: "openclaw-taas-affinity",
    config: {},
    pluginConfig: { socketPath: counting.socketPath },
    registrationMode: "cli-metadata",
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    get runtime() {
      throw new Error('Plugin runtime is intentionally unavailable during "cli-metadata" registration.');
    },
    registerCli: (/** @type {any} */ registrar, /** @type {any} */ opts) => registered.push({ registrar, opts }),
    registerProvider: refuse("registerProvider"),
    registerGatewayMethod: refuse("registerGatewayMethod"),
    registerService: refuse("registerService"),
    registerHttpRoute: refuse("registerHttpRoute"),
    on: refuse("on"),
    session: { controls: { registerControlUiDescriptor: refuse("registerControlUiDescriptor") } },
  };
  ours.default.register(api);
  assert.equal(registered.length, 1);
  assert.equal(registered[0].opts.descriptors[0].name, "taas");
  assert.equal(pluginState(api), undefined);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(counting.seen, { connections: 0, bytes: 0 });
});

test("bad usage exits 2 with one line on stderr and sends nothing", async (t) => {
  const dir = tempDir("taas-cliu-");
  const counting = await countingSocket(dir);
  t.after(async () => {
    await counting.close();
    removeDir(dir);
  });
  const { host, openclaw } = hostWith({ socketPath: counting.socketPath });
  t.after(() => host.stop());
  const cases = [
    ["last-route"],
    ["last-route", "--agent-id"],
    ["last-route", "--agent-id", ""],
    ["last-route", "--agent-id", "a", "extra"],
    ["history"],
    ["history", "--agent-id", "a", "--limit", "0"],
    ["history", "--agent-id", "a", "--limit", "many"],
    ["history", "--agent-id", "a", "--since", "yesterday"],
    ["stats", "--by", "day"],
    ["stats", "--limit", "5"],
    ["stats", "--by", "agent", "--limit", "1001"],
    ["algorithms", "--since-version", "-1"],
    ["set-algorithm", "cost"],
    ["set-algorithm", "--agent-id", "a"],
    ["set-algorithm", "--agent-id", "a", "fastest"],
    ["set-algorithm", "--agent-id", "a", "cost", "--clear"],
    ["set-algorithm", "--agent-id", "a", "--session-id", "oc:1", "cost"],
    ["report"],
    ["report", "--out", path.join(dir, "r.html"), "--since", "1h", "--until", "2h"],
    ["report", "--out", path.join(dir, "r.html"), "--json"],
    ["status", "--bogus"],
    ["bogus"],
  ];
  for (const argv of cases) {
    const r = await openclaw(argv);
    assert.equal(r.code, 2, `${argv.join(" ")}: ${r.stderr}`);
    assert.equal(lines(r.stderr).length, 1, `${argv.join(" ")}: ${JSON.stringify(r.stderr)}`);
    assert.equal(r.stdout, "", argv.join(" "));
  }
  const bare = await openclaw([]);
  assert.equal(bare.code, 2, "no subcommand: help on stderr, bad usage");
  assert.match(bare.stderr, /set-algorithm/);
  const help = await openclaw(["history", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--local-session-id/);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(counting.seen, { connections: 0, bytes: 0 });
  assert.equal(existsSync(path.join(dir, "r.html")), false);
});

test("on a host that leaves commander's default exit, bad usage still exits 2", async () => {
  const program = new Command("openclaw");
  const errors = [];
  program.configureOutput({ writeOut: () => {}, writeErr: (/** @type {string} */ s) => errors.push(s) });
  /** @type {number[]} */
  const exits = [];
  addTaasCommand(program, /** @type {any} */ ({
    pluginId: "openclaw-taas-affinity",
    pluginVersion: "0",
    host: {},
    exit: (/** @type {number} */ code) => {
      exits.push(code);
      throw new Error("exited");
    },
  }));
  await assert.rejects(program.parseAsync(["taas", "status", "--bogus"], { from: "user" }), /exited/);
  assert.deepEqual(exits, [2]);
  assert.deepEqual(errors, ["error: unknown option '--bogus'\n"]);
});

test("with the service away every subcommand exits 1 with one line naming the socket", async (t) => {
  const dir = tempDir("taas-clia-");
  t.after(() => removeDir(dir));
  const socketPath = path.join(dir, "absent.sock");
  const { host, openclaw } = hostWith({ socketPath });
  t.after(() => host.stop());
  const cases = [
    ["status"],
    ["status", "--json"],
    ["last-route", "--agent-id", "a"],
    ["history", "--local-session-id", "s-1"],
    ["stats"],
    ["stats", "--by", "model", "--json"],
    ["algorithms"],
    ["set-algorithm", "--agent-id", "a", "cost"],
    ["report", "--out", path.join(dir, "r.html")],
  ];
  for (const argv of cases) {
    const r = await openclaw(argv);
    assert.equal(r.code, 1, `${argv.join(" ")}: ${r.stderr}`);
    assert.equal(lines(r.stderr).length, 1, argv.join(" "));
    assert.match(r.stderr, /cannot connect to the taas-capture service at .*absent\.sock \(ENOENT\); is 'taas-capture serve' running\?/);
    assert.equal(r.stdout, "");
  }
  const flag = await openclaw(["status", "--socket", path.join(dir, "other.sock")]);
  assert.match(flag.stderr, /other\.sock/, "--socket wins over the plugin's socketPath");
});

if (!haveBinary && process.env.CI) {
  test("the taas-capture binary is available for the CLI tests", () => assert.fail(`no taas-capture binary at ${bin}`));
} else if (!haveBinary) {
  test("openclaw taas against the real service", { skip: `no taas-capture binary at ${bin}` }, () => {});
} else {
  describe("openclaw taas against the real taas-capture service", () => {
    const dir = tempDir("taas-cli-");
    /** @type {Awaited<ReturnType<typeof startRealService>>} */
    let service;
    /** @type {ReturnType<typeof hostWith>} */
    let gateway;
    /** @param {string} method @param {Record<string, unknown>} params */
    const direct = (method, params) => callServiceOnce(service.socketPath, method, params, 5000);

    before(async () => {
      service = await startRealService(bin, dir);
      gateway = hostWith({ socketPath: service.socketPath });
      for (const [i, model] of ["qwen3-coder", "qwen3-coder", "glm-4.6"].entries()) {
        await gateway.host.llmCall({ ...agentCall, responseHeaders: autoroutedHeaders({ "x-request-id": `cli-${i}`, "x-taas-autorouter-model": model }) });
      }
      await gateway.host.llmCall({ ...agentCall, agentId: "other-agent", sessionId: "other-session", responseHeaders: autoroutedHeaders({ "x-request-id": "cli-other" }) });
      assert.equal(await gateway.state.client?.drain(10_000), true);
    });
    after(async () => {
      await gateway?.host.stop();
      await service?.stop();
      removeDir(dir);
    });

    test("status: the service's health and forwarding, and the plugin's mode", async () => {
      const human = await gateway.openclaw(["status"]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^plugin: +openclaw-taas-affinity /m);
      assert.match(human.stdout, /^mode: +standalone \(/m);
      assert.match(human.stdout, /^service: +ok \(taas-capture /m);
      assert.match(human.stdout, /^captures: +4$/m);
      assert.match(human.stdout, /^forwarding: +off$/m);
      const json = await gateway.openclaw(["status", "--json"]);
      assert.equal(json.code, 0, json.stderr);
      const { plugin, health } = JSON.parse(json.stdout);
      assert.equal(plugin.mode, "standalone");
      assert.equal(plugin.socketPath, service.socketPath);
      assert.equal(plugin.socketPathFrom, "config");
      const now = await direct("taas.capture.health", {});
      assert.deepEqual(Object.keys(health).sort(), Object.keys(now).sort(), "the raw health result");
      assert.equal(health.captures, now.captures);
      assert.equal(health.schemaVersion, now.schemaVersion);
      assert.equal(health.forward, null);
    });

    test("last-route: the table of taas-capture, --json the raw result, selectors as the gateway resolves them", async () => {
      const human = await gateway.openclaw(["last-route", "--agent-id", agentCall.agentId]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^model: +glm-4\.6$/m);
      assert.match(human.stdout, /^model since \(UTC\): +\S+ \(1 capture\)$/m);
      assert.match(human.stdout, /^request id: +cli-2$/m);
      assert.match(human.stdout, /^cache hit ratio: +90\.0%$/m);
      for (const [argv, params] of /** @type {const} */ ([
        [["--agent-id", agentCall.agentId], { agentId: agentCall.agentId }],
        [["--local-session-id", agentCall.sessionId], { sessionId: agentSession }],
        [["--session-id", agentSession], { sessionId: agentSession }],
      ])) {
        const json = await gateway.openclaw(["last-route", ...argv, "--json"]);
        assert.equal(json.code, 0, json.stderr);
        assert.deepEqual(JSON.parse(json.stdout), await direct("taas.autorouter.lastRoute", params), argv.join(" "));
      }
      const none = await gateway.openclaw(["last-route", "--agent-id", "nobody"]);
      assert.equal(none.code, 0);
      assert.equal(none.stdout, "no capture yet for agent nobody\n");
    });

    test("history: pages, the next cursor, --all, and --json page by page", async () => {
      const page = await gateway.openclaw(["history", "--agent-id", agentCall.agentId, "--limit", "2"]);
      assert.equal(page.code, 0, page.stderr);
      const rows = lines(page.stdout);
      assert.match(rows[0], /^id +captured at \(UTC\) +session +agent +model/);
      assert.equal(rows.length, 4, "header, two captures, the next cursor");
      assert.match(rows[3], /^next page: --cursor \S+$/);
      const json = await gateway.openclaw(["history", "--agent-id", agentCall.agentId, "--limit", "2", "--json"]);
      assert.deepEqual(JSON.parse(json.stdout), await direct("taas.autorouter.history", { agentId: agentCall.agentId, limit: 2 }));
      const all = await gateway.openclaw(["history", "--agent-id", agentCall.agentId, "--limit", "2", "--all", "--json"]);
      const pages = lines(all.stdout).map((l) => JSON.parse(l));
      assert.deepEqual(pages.flatMap((p) => p.captures.map((/** @type {any} */ c) => c.taasRequestId)), ["cli-2", "cli-1", "cli-0"]);
      const cursor = rows[3].split(" ").pop();
      const next = await gateway.openclaw(["history", "--agent-id", agentCall.agentId, "--limit", "2", "--cursor", String(cursor), "--json"]);
      assert.equal(JSON.parse(next.stdout).captures[0].taasRequestId, "cli-0");
    });

    test("stats: totals and counts, --by groups, --json the raw result", async () => {
      const human = await gateway.openclaw(["stats"]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^captures: +4$/m);
      assert.match(human.stdout, /^model +captures\nqwen3-coder +3\nglm-4\.6 +1$/m);
      const json = await gateway.openclaw(["stats", "--agent-id", agentCall.agentId, "--json"]);
      assert.deepEqual(JSON.parse(json.stdout), await direct("taas.autorouter.stats", { agentId: agentCall.agentId }));
      for (const by of ["agent", "session", "model"]) {
        const grouped = await gateway.openclaw(["stats", "--by", by, "--limit", "10"]);
        assert.equal(grouped.code, 0, grouped.stderr);
        assert.match(lines(grouped.stdout)[0], new RegExp(`^${by} +calls +models +model +model since \\(UTC\\) +cache hit`));
        const raw = await gateway.openclaw(["stats", "--by", by, "--json"]);
        assert.deepEqual(JSON.parse(raw.stdout), await direct("taas.autorouter.stats", { groupBy: by }));
      }
    });

    test("set-algorithm and algorithms: the pin, its version, and the raw listing", async () => {
      const set = await gateway.openclaw(["set-algorithm", "--agent-id", "other-agent", "ttft"]);
      assert.equal(set.code, 0, set.stderr);
      assert.match(set.stdout, /^agent other-agent: ttft \(was -, version \d+\)\n$/);
      const session = await gateway.openclaw(["set-algorithm", "--local-session-id", agentCall.sessionId, "cost", "--json"]);
      assert.equal(JSON.parse(session.stdout).sessionId, agentSession);
      const listed = await gateway.openclaw(["algorithms"]);
      assert.match(listed.stdout, /^agent +other-agent +ttft +\S+$/m);
      assert.match(listed.stdout, new RegExp(`^session +${agentSession} +cost +\\S+$`, "m"));
      const json = await gateway.openclaw(["algorithms", "--json"]);
      assert.deepEqual(JSON.parse(json.stdout), await direct("taas.autorouter.algorithms", {}));
      const cleared = await gateway.openclaw(["set-algorithm", "--agent-id", "other-agent", "--clear"]);
      assert.match(cleared.stdout, /^agent other-agent: no pin \(was ttft, version \d+\)\n$/);
      await gateway.openclaw(["set-algorithm", "--local-session-id", agentCall.sessionId, "--clear"]);
    });

    test("report --out writes the service's page of the selected agent atomically, owner-only", async () => {
      const out = path.join(dir, "report.html");
      const r = await gateway.openclaw(["report", "--out", out, "--since", "30d", "--agent-id", agentCall.agentId]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^wrote .*report\.html \(\d+ bytes\)\n$/);
      assert.equal(statSync(out).mode & 0o777, 0o600);
      const html = readFileSync(out, "utf8");
      assert.match(html, /<html/i);
      assert.equal(html.length > 0 && html.includes(agentCall.agentId), true);
      assert.match(html, new RegExp(`<title>agent ${agentCall.agentId}</title>`), "the agent's page, not the overview");
      assert.ok(!html.includes("href="), "a page saved to a file links nowhere");
      const all = await gateway.openclaw(["report", "--out", out]);
      assert.equal(all.code, 0, all.stderr);
      assert.match(readFileSync(out, "utf8"), /<title>taas-capture<\/title>/, "no selector: the overview");
    });
  });
}
