// The recorder with its own id, `taas-capture` (../plugin-recorder): the same code, always in
// alongside mode, beside a stand-in for CloudSigma's provider whose coexistence check is the one
// CloudSigma ships; and when both ids are enabled, exactly one steps aside with one log line.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import * as recorder from "../../plugin-recorder/index.js";
import * as ours from "../index.js";
import { pluginState } from "../index.js";
import { PLUGIN_DIR, removeDir, startFakeService, tempDir, waitFor } from "../testkit/harness.js";
import { CLOUDSIGMA_LEGACY_WARNING, cloudsigmaProviderPlugin, createHost, legacyAffinityIsEnabled } from "../testkit/host.js";

const RECORDER_DIR = path.resolve(PLUGIN_DIR, "..", "plugin-recorder");
/** @param {string} dir @param {string} file */
const json = (dir, file) => JSON.parse(readFileSync(path.join(dir, file), "utf8"));
const conversation = { sessionId: "7d1e0c1a-0b5e-4c3b-9a55-2f4b8e6c1d20", agentId: "rec-agent", sessionKey: "agent:rec-agent:main" };

/**
 * A host with the given plugin entries, loading `mods` in order.
 * @param {Record<string, any>} entries  plugins.entries
 * @param {any[]} mods
 * @param {{registrationMode?: string, socketPath?: string, allow?: string[]}} [o]
 */
function hostWith(entries, mods, o = {}) {
  const config = { plugins: { entries, ...(o.allow ? { allow: o.allow } : {}) } };
  const host = createHost({ config, registrationMode: o.registrationMode });
  // As the host does: each plugin's config is its entry's `config` (here with a socket path added).
  const pluginConfig = (/** @type {any} */ mod) => ({ socketPath: o.socketPath ?? "/nonexistent/rec.sock", requestTimeoutMs: 1000, ...entries[mod.default.id]?.config });
  const apis = mods.map((mod) => host.load(mod, { pluginConfig: pluginConfig(mod) }));
  /** @param {string} pluginId */
  const linesOf = (pluginId) => host.logs.filter((l) => l.pluginId === pluginId && l.level !== "debug");
  /** @param {string} pluginId */
  const methodsOf = (pluginId) => [...host.methods].filter(([, m]) => m.pluginId === pluginId).map(([name]) => name).sort();
  return { host, apis, linesOf, methodsOf };
}

test("the recorder package: id taas-capture everywhere, entry inside its directory, the same version and config minus the provider-only keys", async () => {
  const pkg = json(RECORDER_DIR, "package.json");
  const manifest = json(RECORDER_DIR, "openclaw.plugin.json");
  const affinityPkg = json(PLUGIN_DIR, "package.json");
  const affinity = json(PLUGIN_DIR, "openclaw.plugin.json");
  assert.equal(manifest.id, "taas-capture");
  assert.equal(pkg.name, "taas-capture", "the host's id hint comes from the package name");
  assert.equal(recorder.default.id, manifest.id, "the host refuses an export whose id is not the manifest's");
  assert.equal(typeof recorder.default.register, "function");
  assert.deepEqual(pkg.openclaw.extensions, ["./index.js"]);
  const entry = path.resolve(RECORDER_DIR, pkg.openclaw.extensions[0]);
  assert.ok(entry.startsWith(`${RECORDER_DIR}${path.sep}`) && existsSync(entry), "the entry lies inside the package directory");
  assert.deepEqual(manifest.activation, { onStartup: true });
  assert.equal(manifest.version, affinityPkg.version);
  assert.equal(pkg.version, affinityPkg.version);
  assert.deepEqual(pkg.openclaw.compat, affinityPkg.openclaw.compat);
  assert.deepEqual(pkg.openclaw.install, affinityPkg.openclaw.install);
  assert.deepEqual(pkg.openclaw.build, affinityPkg.openclaw.build);
  const { mode, sessionIdentity, ...shared } = affinity.configSchema.properties;
  assert.deepEqual(manifest.configSchema, { ...affinity.configSchema, properties: shared });
  assert.deepEqual(manifest.cliCommands, affinity.cliCommands, "the same openclaw commands");
});

test("CloudSigma's coexistence check warns about openclaw-taas-affinity and never about taas-capture", () => {
  assert.equal(legacyAffinityIsEnabled({ plugins: { entries: { "taas-capture": {} } } }), false);
  assert.equal(legacyAffinityIsEnabled({ plugins: { allow: ["cloudsigma", "taas-capture"] } }), false);
  assert.equal(legacyAffinityIsEnabled({ plugins: { entries: { "openclaw-taas-affinity": {} } } }), true);
  assert.equal(legacyAffinityIsEnabled({ plugins: { entries: { "openclaw-taas-affinity": { enabled: false } } } }), false);
  assert.equal(legacyAffinityIsEnabled({ plugins: { allow: ["openclaw-taas-affinity"] } }), true);

  const beside = hostWith({ cloudsigma: {}, "taas-capture": { hooks: { allowConversationAccess: true } } }, [cloudsigmaProviderPlugin, recorder]);
  assert.deepEqual(beside.linesOf("cloudsigma"), [], "no warning for taas-capture");
  const legacy = hostWith({ cloudsigma: {}, "openclaw-taas-affinity": {} }, [cloudsigmaProviderPlugin, ours]);
  assert.deepEqual(legacy.linesOf("cloudsigma").map((l) => l.message), [CLOUDSIGMA_LEGACY_WARNING]);
  return Promise.all([beside.host.stop(), legacy.host.stop()]);
});

test("taas-capture always records alongside: no provider hook, no taas.autorouter.*, taas.capture.* and its own tab, lines named taas-capture", async (t) => {
  for (const entries of [{ cloudsigma: {}, "taas-capture": {} }, { "taas-capture": { config: { mode: "standalone" } } }]) {
    const h = hostWith(entries, [cloudsigmaProviderPlugin, recorder]);
    t.after(() => h.host.stop());
    assert.equal(h.host.providers.filter((p) => p.pluginId === "taas-capture").length, 0, JSON.stringify(entries));
    assert.equal(h.host.providerFor("cloudsigma")?.pluginId, "cloudsigma");
    assert.deepEqual(h.methodsOf("taas-capture"), ["taas.capture.algorithms", "taas.capture.budgets", "taas.capture.history", "taas.capture.lastRoute", "taas.capture.setBudget", "taas.capture.stats"]);
    assert.deepEqual(h.methodsOf("cloudsigma"), ["taas.autorouter.lastRoute", "taas.autorouter.setAlgorithm"]);
    assert.deepEqual(h.host.diagnostics, [], "no method or route taken twice");
    assert.deepEqual(h.host.web.routes.map((r) => [r.pluginId, r.path]), [["taas-capture", "/plugins/taas-capture"]]);
    assert.equal(h.host.web.controlUiTabs(["operator.read"])[0]?.pluginId, "taas-capture");
    assert.equal(pluginState(h.apis[1])?.mode, "alongside");
    const lines = h.linesOf("taas-capture");
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.match(lines[0].message, /^\[taas-capture\] alongside CloudSigma's provider plugin \(taas-capture always records beside CloudSigma's provider\)/);
    assert.match(lines[0].message, /plugins\.entries\.taas-capture\.hooks\.allowConversationAccess/);
  }
});

test("taas-capture records each cloudsigma call's usage from llm_output under OpenClaw's native session id", async (t) => {
  const dir = tempDir("taas-rec-");
  t.after(() => removeDir(dir));
  const service = await startFakeService(path.join(dir, "c.sock"));
  t.after(service.close);
  const h = hostWith({ cloudsigma: {}, "taas-capture": { hooks: { allowConversationAccess: true } } }, [cloudsigmaProviderPlugin, recorder], { socketPath: path.join(dir, "c.sock") });
  t.after(() => h.host.stop());
  const seen = await h.host.llmCall(conversation);
  assert.equal(seen.owner, "cloudsigma");
  await waitFor(() => service.captures.length === 1, 5000, "the usage record");
  const [capture] = service.captures;
  assert.equal(capture.sessionId, conversation.sessionId);
  assert.equal(capture.agentId, "rec-agent");
  assert.equal(capture.autorouted, false);
  assert.deepEqual(capture.usage, { input: 100, output: 20, cacheRead: 900, cacheWrite: 0 });
});

test("both ids enabled, CloudSigma's provider on: openclaw-taas-affinity steps aside for taas-capture with one line, whatever the load order", async (t) => {
  const entries = { cloudsigma: {}, "openclaw-taas-affinity": {}, "taas-capture": {} };
  for (const order of [[ours, recorder], [recorder, ours]]) {
    const h = hostWith(entries, [cloudsigmaProviderPlugin, ...order]);
    t.after(() => h.host.stop());
    assert.deepEqual(h.methodsOf("openclaw-taas-affinity"), []);
    assert.equal(h.host.providers.filter((p) => p.pluginId === "openclaw-taas-affinity").length, 0);
    assert.deepEqual(h.host.web.routes.map((r) => r.pluginId), ["taas-capture"]);
    assert.equal(h.methodsOf("taas-capture").length, 6);
    const aside = h.host.logs.filter((l) => l.message.includes("stepping aside"));
    assert.equal(aside.length, 1, JSON.stringify(aside));
    assert.equal(aside[0].pluginId, "openclaw-taas-affinity");
    assert.match(aside[0].message, /^\[openclaw-taas-affinity\] stepping aside: taas-capture is also enabled/);
    assert.deepEqual(h.linesOf("openclaw-taas-affinity").length, 1, "that one line and no other");
    assert.deepEqual(h.host.diagnostics, [], "no method, route or CLI command claimed twice");
  }
});

test("both ids enabled and openclaw-taas-affinity standalone: taas-capture steps aside with one line", async (t) => {
  for (const entries of [
    { "openclaw-taas-affinity": {}, "taas-capture": {} },
    { cloudsigma: {}, "openclaw-taas-affinity": { config: { mode: "standalone" } }, "taas-capture": {} },
  ]) {
    const h = hostWith(entries, [recorder, ours]);
    t.after(() => h.host.stop());
    assert.deepEqual(h.methodsOf("taas-capture"), []);
    assert.deepEqual(h.host.web.routes.map((r) => r.pluginId), ["openclaw-taas-affinity"]);
    assert.equal(h.host.providers.filter((p) => p.pluginId === "openclaw-taas-affinity").length, 1, "the affinity plugin owns the hooks");
    const aside = h.host.logs.filter((l) => l.message.includes("stepping aside"));
    assert.deepEqual(aside.map((l) => l.pluginId), ["taas-capture"]);
    assert.match(aside[0].message, /^\[taas-capture\] stepping aside: openclaw-taas-affinity is also enabled and runs standalone/);
    assert.deepEqual(h.host.diagnostics, [], "no method, route or CLI command claimed twice");
  }
});

test("no step aside when the other id is disabled or denied, and no line outside full registration", async (t) => {
  for (const plugins of [
    { entries: { cloudsigma: {}, "openclaw-taas-affinity": { enabled: false }, "taas-capture": {} } },
    { entries: { cloudsigma: {}, "openclaw-taas-affinity": {}, "taas-capture": {} }, deny: ["openclaw-taas-affinity"] },
  ]) {
    const host = createHost({ config: { plugins } });
    t.after(() => host.stop());
    host.load(recorder, { pluginConfig: { socketPath: "/nonexistent/rec.sock" } });
    assert.equal([...host.methods.values()].filter((m) => m.pluginId === "taas-capture").length, 6, JSON.stringify(plugins));
    assert.equal(host.logs.filter((l) => l.message.includes("stepping aside")).length, 0);
  }
  const metadata = hostWith({ "openclaw-taas-affinity": {}, "taas-capture": {} }, [recorder, ours], { registrationMode: "cli-metadata" });
  t.after(() => metadata.host.stop());
  assert.equal(metadata.host.logs.filter((l) => l.message.includes("stepping aside")).length, 0);
  assert.deepEqual(metadata.methodsOf("taas-capture"), [], "it still steps aside, silently");
});
