import assert from "node:assert/strict";
import path from "node:path";
import test from "node:test";
import { createCaptureClient, newIdempotencyKey } from "../lib/client.js";
import { autoroutedHeaders, removeDir, startFakeService, tempDir, waitFor } from "../testkit/harness.js";

/** @param {number} n */
const capture = (n) => ({
  sessionId: "oc:00000000000000aa",
  agentId: "a",
  headers: autoroutedHeaders({ "x-request-id": `req-${n}` }),
  idempotencyKey: newIdempotencyKey(),
});

const quiet = { warn: () => {}, info: () => {} };

test("idempotency keys are fresh per capture", () => {
  const a = newIdempotencyKey();
  assert.match(a, /^cap:[0-9a-f]{32}$/);
  assert.notEqual(a, newIdempotencyKey());
});

test("captures queue while the service is away and arrive once it is up", async (t) => {
  const dir = tempDir();
  const socketPath = path.join(dir, "c.sock");
  const client = createCaptureClient({ socketPath, logger: quiet, backoffMinMs: 20, backoffMaxMs: 50 });
  t.after(async () => {
    await client.close();
    removeDir(dir);
  });
  for (let i = 0; i < 5; i++) assert.equal(client.record(capture(i)), true);
  assert.equal(client.counters().queued, 5);
  const service = await startFakeService(socketPath);
  t.after(() => service.close());
  assert.equal(await client.drain(10_000), true);
  assert.deepEqual(
    service.captures.map((c) => c.headers["x-request-id"]),
    ["req-0", "req-1", "req-2", "req-3", "req-4"],
  );
  const counters = client.counters();
  assert.equal(counters.acked, 5);
  assert.equal(counters.dropped, 0);
  assert.equal(counters.queued, 0);
});

test("past queueLimit the oldest captures are dropped, counted, and warned about once", async (t) => {
  const dir = tempDir();
  const socketPath = path.join(dir, "c.sock");
  /** @type {string[]} */
  const warnings = [];
  const client = createCaptureClient({
    socketPath,
    queueLimit: 3,
    logger: { warn: (m) => warnings.push(m), info: () => {} },
    backoffMinMs: 20,
    backoffMaxMs: 50,
  });
  t.after(async () => {
    await client.close();
    removeDir(dir);
  });
  for (let i = 0; i < 8; i++) client.record(capture(i));
  assert.equal(client.counters().dropped, 5);
  assert.equal(client.counters().queued, 3);
  assert.equal(warnings.filter((w) => w.includes("queue full")).length, 1);
  const service = await startFakeService(socketPath);
  t.after(() => service.close());
  assert.equal(await client.drain(10_000), true);
  assert.deepEqual(
    service.captures.map((c) => c.headers["x-request-id"]),
    ["req-5", "req-6", "req-7"],
  );
  await waitFor(() => warnings.some((w) => w.includes("5 captures were dropped")), 5000, "the burst summary");
});

test("a capture whose answer was lost with the connection is resent and stored once", async (t) => {
  const dir = tempDir();
  const socketPath = path.join(dir, "c.sock");
  const service = await startFakeService(socketPath);
  const client = createCaptureClient({ socketPath, logger: quiet, backoffMinMs: 20, backoffMaxMs: 50 });
  t.after(async () => {
    await client.close();
    await service.close();
    removeDir(dir);
  });
  // The service stores the capture, then hangs up before answering.
  service.state.mode = "hangUpAfterStoring";
  client.record(capture(1));
  await waitFor(() => service.captures.length === 1, 5000, "the first store");
  service.state.mode = "normal";
  assert.equal(await client.drain(10_000), true);
  assert.equal(service.captures.length, 1);
  const records = service.state.requests.filter((r) => r.method === "taas.autorouter.record");
  assert.ok(records.length >= 2, "the capture was sent again");
  assert.equal(new Set(records.map((r) => r.params.idempotencyKey)).size, 1);
  const counters = client.counters();
  assert.ok(counters.resent >= 1);
  assert.equal(counters.duplicates, 1);
  assert.equal(counters.acked, 1);
});

test("a silent service times out: queries reject, records go back to the queue", async (t) => {
  const dir = tempDir();
  const socketPath = path.join(dir, "c.sock");
  const service = await startFakeService(socketPath);
  const client = createCaptureClient({ socketPath, logger: quiet, requestTimeoutMs: 200, backoffMinMs: 20, backoffMaxMs: 50 });
  t.after(async () => {
    await client.close();
    await service.close();
    removeDir(dir);
  });
  service.state.mode = "silent";
  client.record(capture(1));
  await assert.rejects(client.call("taas.autorouter.stats", {}), (/** @type {any} */ e) => e.kind === "timeout");
  assert.equal(client.counters().queued, 1);
  service.state.mode = "normal";
  assert.equal(await client.drain(10_000), true);
  assert.equal(service.captures.length, 1);
});

test("queries fail fast when nothing listens; record never throws", async (t) => {
  const dir = tempDir();
  const client = createCaptureClient({ socketPath: path.join(dir, "none.sock"), logger: quiet });
  t.after(async () => {
    await client.close();
    removeDir(dir);
  });
  const started = Date.now();
  await assert.rejects(client.call("taas.autorouter.lastRoute", { agentId: "a" }), (/** @type {any} */ e) => e.kind === "unavailable");
  assert.ok(Date.now() - started < 1500, "failed without waiting for the request timeout");
  const circular = /** @type {any} */ ({ sessionId: "oc:1" });
  circular.self = circular;
  assert.equal(client.record(circular), false);
  assert.equal(client.record(/** @type {any} */ ({ sessionId: 1n })), false);
  await client.close();
  assert.equal(client.record(capture(1)), false);
  await assert.rejects(client.call("taas.autorouter.stats"), (/** @type {any} */ e) => e.kind === "closed");
});

test("service errors reach the caller with their JSON-RPC code", async (t) => {
  const dir = tempDir();
  const socketPath = path.join(dir, "c.sock");
  const service = await startFakeService(socketPath);
  const client = createCaptureClient({ socketPath, logger: quiet });
  t.after(async () => {
    await client.close();
    await service.close();
    removeDir(dir);
  });
  await assert.rejects(client.call("taas.nope", {}), (/** @type {any} */ e) => e.kind === "rpc" && e.code === -32601);
  assert.deepEqual(await client.call("taas.autorouter.stats", {}), { total: 0 });
});
