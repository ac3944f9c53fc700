import assert from "node:assert/strict";
import test from "node:test";
import { createRecordQueue } from "../lib/record-queue.js";
import { isRetryableServiceError, reconnectDelayMs, storageRetryDelayMs } from "../lib/retry.js";

/** A record whose key and params are `p`, costing `bytes`. @param {string} p */
const rec = (p, bytes = 1) => ({ key: p, paramsJson: p, bytes });

/** @param {import("../lib/record-queue.js").RecordQueue} q */
const drain = (q) => {
  const out = [];
  for (let e = q.takeNext(); e !== null; e = q.takeNext()) out.push(e.paramsJson);
  return out;
};

test("records leave in the order they were queued", () => {
  const q = createRecordQueue(10);
  for (const p of ["a", "b", "c"]) assert.deepEqual(q.push(rec(p)), []);
  assert.deepEqual(drain(q), ["a", "b", "c"]);
  assert.equal(q.size(), 3, "in flight until settled");
  assert.equal(q.waitingCount(), 0);
});

test("a lost connection puts every record in flight back, ahead of newer ones, in order", () => {
  const q = createRecordQueue(10);
  q.push(rec("a"));
  q.push(rec("b"));
  const a = q.takeNext();
  const b = q.takeNext();
  q.push(rec("c"));
  q.settle(/** @type {any} */ (a).seq);
  q.putBackInflight();
  assert.deepEqual(drain(q), ["b", "c"]);
  assert.equal(/** @type {any} */ (b).writes, 2, "b is written a second time");
});

test("a record answered 'retry' waits again in its place", () => {
  const q = createRecordQueue(10);
  for (const p of ["a", "b", "c"]) q.push(rec(p));
  const a = /** @type {any} */ (q.takeNext());
  q.putBack(a.seq);
  assert.deepEqual(drain(q), ["a", "b", "c"]);
});

test("past the limit the oldest waiting records are dropped, never one in flight", () => {
  const q = createRecordQueue(2);
  q.push(rec("a"));
  const a = /** @type {any} */ (q.takeNext());
  q.push(rec("b"));
  assert.deepEqual(q.push(rec("c")).map((e) => e.key), ["b"], "b dropped");
  assert.equal(q.size(), 2);
  q.settle(a.seq);
  assert.deepEqual(drain(q), ["c"]);
});

test("reconnect delays double from the minimum, stay under the cap, and keep jitter in [base/2, base]", () => {
  assert.equal(reconnectDelayMs(0, { minMs: 100, maxMs: 1000 }, () => 0), 50);
  assert.equal(reconnectDelayMs(0, { minMs: 100, maxMs: 1000 }, () => 0.999999), 100);
  assert.equal(reconnectDelayMs(2, { minMs: 100, maxMs: 1000 }, () => 0.999999), 400);
  assert.equal(reconnectDelayMs(50, { minMs: 100, maxMs: 1000 }, () => 0.999999), 1000);
  assert.equal(reconnectDelayMs(-3, { minMs: 100, maxMs: 1000 }, () => 0), 50);
});

test("storage refusals in a row wait ever longer, 250 ms doubling to 30 s", () => {
  assert.deepEqual([0, 1, 2, 3].map(storageRetryDelayMs), [250, 500, 1000, 2000]);
  assert.equal(storageRetryDelayMs(7), 30_000);
  assert.equal(storageRetryDelayMs(1000), 30_000);
  assert.equal(storageRetryDelayMs(-1), 250);
});

test("only overload and retryable storage errors are retried", () => {
  assert.equal(isRetryableServiceError({ code: -32002 }), true);
  assert.equal(isRetryableServiceError({ code: -32000, data: { retryable: true } }), true);
  assert.equal(isRetryableServiceError({ code: -32000 }), true);
  assert.equal(isRetryableServiceError({ code: -32000, data: { retryable: false } }), false);
  assert.equal(isRetryableServiceError({ code: -32602 }), false);
  assert.equal(isRetryableServiceError(null), false);
});

test("past the limit after a lost connection, the oldest record is still the one dropped", () => {
  const q = createRecordQueue(3);
  for (const p of ["a", "b", "c"]) q.push(rec(p));
  q.takeNext();
  q.takeNext();
  q.putBackInflight();
  assert.deepEqual(q.push(rec("d")).map((e) => e.key), ["a"]);
  assert.deepEqual(drain(q), ["b", "c", "d"], "a, the oldest, was dropped");
});

test("past the byte bound the oldest waiting records are dropped until the rest fit", () => {
  const q = createRecordQueue(100, 10);
  q.push(rec("a", 4));
  q.push(rec("b", 4));
  assert.deepEqual(q.push(rec("c", 4)).map((e) => e.key), ["a"], "12 bytes > 10: the oldest goes");
  assert.equal(q.bytes(), 8);
  assert.deepEqual(q.push(rec("d", 9)).map((e) => e.key), ["b", "c"], "until 9 fits");
  assert.deepEqual(q.push(rec("huge", 11)).map((e) => e.key), ["d", "huge"], "one that cannot fit at all goes too");
  assert.equal(q.bytes(), 0);
  assert.equal(q.size(), 0);
});

test("settling frees a record's bytes and returns it", () => {
  const q = createRecordQueue(10, 10);
  q.push(rec("a", 6));
  const a = /** @type {any} */ (q.takeNext());
  assert.equal(q.settle(a.seq)?.key, "a");
  assert.equal(q.settle(a.seq), null, "only once");
  assert.equal(q.bytes(), 0);
  assert.deepEqual(q.push(rec("b", 6)), [], "there is room again");
});

test("records restored from before go ahead of those queued, oldest first, and the bounds drop the oldest of them", () => {
  const q = createRecordQueue(4);
  q.push(rec("new-1"));
  q.takeNext();
  q.push(rec("new-2"));
  assert.deepEqual(q.restoreOlder([rec("old-1"), rec("old-2"), rec("old-3")]).map((e) => e.key), ["old-1"]);
  assert.deepEqual(q.entries().map((e) => e.key), ["old-2", "old-3", "new-1", "new-2"], "in flight or waiting, oldest first");
  assert.deepEqual(drain(q), ["old-2", "old-3", "new-2"], "new-1 is in flight");
  assert.deepEqual(q.restoreOlder([rec("older")]).map((e) => e.key), ["older"], "four in flight: the only one waiting goes");
  for (const e of q.entries()) q.settle(e.seq);
  q.push(rec("newest"));
  assert.deepEqual(q.restoreOlder([rec("older")]).map((e) => e.key), []);
  assert.deepEqual(drain(q), ["older", "newest"], "a second restore goes further back");
});
