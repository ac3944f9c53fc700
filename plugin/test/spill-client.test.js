// The client with a spill file (lib/client.js adoptSpill, lib/spill-file.js) and the fake service:
// what one gateway could not deliver, the next resends with the same idempotency keys; drops are
// the oldest, marked done in the file, and counted and warned about once across the restart.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";
import { createCaptureClient } from "../lib/client.js";
import { createSpill } from "../lib/spill-file.js";
import { liveBytesBound, recordLineBytes, replayOf } from "../lib/spill-format.js";
import { autoroutedHeaders, removeDir, startFakeService, tempDir, waitFor } from "../testkit/harness.js";

/** @param {number} n */
const capture = (n) => ({ sessionId: "oc:00000000000000aa", agentId: "a", headers: autoroutedHeaders({ "x-request-id": `req-${n}` }) });

/**
 * One gateway's client with its spill in `dir` (as lib/lifecycle.js makes them), started.
 * @param {import("node:test").TestContext} t
 * @param {string} dir
 * @param {{maxBytes?: number}} [o]
 */
async function gatewayClient(t, dir, o = {}) {
  const maxBytes = o.maxBytes ?? 1024 * 1024;
  /** @type {string[]} */
  const warnings = [];
  const logger = { warn: (/** @type {string} */ m) => warnings.push(m), info: () => {} };
  const client = createCaptureClient({ socketPath: path.join(dir, "c.sock"), queueMaxBytes: liveBytesBound(maxBytes), logger, backoffMinMs: 10, backoffMaxMs: 40 });
  const spill = createSpill({ dir: path.join(dir, "pending"), fileName: "p.spill", maxBytes, flushMs: 5, logger });
  client.adoptSpill(spill, await spill.open());
  const written = () => waitFor(() => client.counters().spill?.unwritten === 0, 5000, "the spill to be written");
  // A gateway killed: nothing more reaches the file, nothing is drained.
  const kill = async () => {
    await written();
    await client.close();
  };
  t.after(async () => {
    await client.close();
    await spill.close();
  });
  return { client, spill, warnings, written, kill, file: path.join(dir, "pending", "p.spill") };
}

test("what a gateway could not deliver the next resends with the same idempotency keys, and it is stored once", async (t) => {
  const dir = tempDir("taas-spc-");
  t.after(() => removeDir(dir));
  const first = await gatewayClient(t, dir);
  for (let i = 0; i < 5; i++) first.client.record(capture(i));
  await first.kill();
  const keys = replayOf(readFileSync(first.file, "utf8")).records.map((r) => r.key);
  assert.equal(keys.length, 5);

  const service = await startFakeService(path.join(dir, "c.sock"));
  t.after(() => service.close());
  const second = await gatewayClient(t, dir);
  second.client.record(capture(5));
  assert.equal(await second.client.drain(5000), true);
  assert.deepEqual(service.captures.map((c) => c.headers["x-request-id"]), ["req-0", "req-1", "req-2", "req-3", "req-4", "req-5"], "the kept ones first");
  const sent = service.state.requests.filter((r) => r.method === "taas.autorouter.record").map((r) => r.params.idempotencyKey);
  assert.deepEqual(sent.slice(0, 5), keys);
  assert.equal(second.client.counters().replayed, 5);
  await second.written();
  assert.deepEqual(replayOf(readFileSync(second.file, "utf8")).records, [], "every one done in the file");
});

test("one the service stored before the restart, its answer lost, is answered duplicate and stored once", async (t) => {
  const dir = tempDir("taas-spd-");
  t.after(() => removeDir(dir));
  const service = await startFakeService(path.join(dir, "c.sock"));
  t.after(() => service.close());
  service.state.mode = "hangUpAfterStoring";
  const first = await gatewayClient(t, dir);
  first.client.record(capture(1));
  await waitFor(() => service.captures.length === 1, 5000, "the capture to be stored");
  await first.kill();
  service.state.mode = "normal";
  const second = await gatewayClient(t, dir);
  assert.equal(await second.client.drain(5000), true);
  assert.equal(service.captures.length, 1);
  assert.equal(second.client.counters().duplicates, 1);
});

test("past the byte bound the oldest are dropped and marked done; the count and its one warning carry over a restart", async (t) => {
  const dir = tempDir("taas-spb-");
  t.after(() => removeDir(dir));
  const lineBytes = recordLineBytes(JSON.stringify({ ...capture(10), idempotencyKey: `cap:${"0".repeat(32)}` }));
  // Room for three captures of this size.
  const maxBytes = Math.ceil(((3 * lineBytes + 40) * 4) / 3);
  const first = await gatewayClient(t, dir, { maxBytes });
  for (let i = 10; i < 16; i++) first.client.record(capture(i));
  assert.equal(first.client.counters().dropped, 3);
  assert.equal(first.warnings.filter((w) => w.includes("queue full")).length, 1);
  await first.kill();
  assert.deepEqual(
    replayOf(readFileSync(first.file, "utf8")).records.map((r) => JSON.parse(r.paramsJson).headers["x-request-id"]),
    ["req-13", "req-14", "req-15"],
  );

  const second = await gatewayClient(t, dir, { maxBytes });
  assert.equal(second.client.counters().dropped, 3, "carried from the file");
  second.client.record(capture(16));
  assert.equal(second.client.counters().dropped, 4);
  assert.deepEqual(second.warnings.filter((w) => w.includes("queue full")), [], "the episode's warning was given already");
  const service = await startFakeService(path.join(dir, "c.sock"));
  t.after(() => service.close());
  assert.equal(await second.client.drain(5000), true);
  assert.deepEqual(service.captures.map((c) => c.headers["x-request-id"]), ["req-14", "req-15", "req-16"], "exactly the newest");
  const drainedLines = () => second.warnings.filter((w) => w.includes("queue drained"));
  await waitFor(() => drainedLines().length > 0, 5000, "the drained line");
  assert.deepEqual(drainedLines(), ["[taas-affinity] taas-capture queue drained; 4 captures were dropped while the service was away"]);
  await second.written();
  assert.equal(replayOf(readFileSync(second.file, "utf8")).drops, 0, "the episode is over");
});

test("the plugin keeps its spill under the host's state directory, and none with spillMaxBytes 0", async (t) => {
  const { createHost } = await import("../testkit/host.js");
  const plugin = await import("../index.js");
  const { existsSync } = await import("node:fs");
  for (const [spillMaxBytes, expected] of /** @type {const} */ ([[undefined, true], [0, false]])) {
    const stateDir = tempDir("taas-sps-");
    t.after(() => removeDir(stateDir));
    const host = createHost();
    const api = host.load(plugin, { pluginConfig: { socketPath: path.join(stateDir, "absent.sock"), spillMaxBytes, requestTimeoutMs: 100 } });
    await host.startServices(stateDir);
    plugin.pluginState(api)?.client?.record(capture(1));
    await host.stop();
    const file = path.join(stateDir, "taas-capture", "pending", "openclaw-taas-affinity.spill");
    assert.equal(existsSync(file), expected, `spillMaxBytes ${spillMaxBytes}`);
    if (expected) assert.deepEqual(replayOf(readFileSync(file, "utf8")).records.map((r) => JSON.parse(r.paramsJson).headers["x-request-id"]), ["req-1"], "written on stop");
    assert.deepEqual(host.logs.filter((l) => l.message.includes(stateDir) && !l.message.includes("absent.sock")), [], "the state directory is never logged");
  }
});
