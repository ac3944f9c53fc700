import assert from "node:assert/strict";
import test from "node:test";
import { createRecordQueue } from "../lib/record-queue.js";
import { isRetryableServiceError, reconnectDelayMs } from "../lib/retry.js";

/** @param {import("../lib/record-queue.js").RecordQueue} q */
const drain = (q) => {
  const out = [];
  for (let e = q.takeNext(); e !== null; e = q.takeNext()) out.push(e.paramsJson);
  return out;
};

test("records leave in the order they were queued", () => {
  const q = createRecordQueue(10);
  for (const p of ["a", "b", "c"]) assert.equal(q.push(p), 0);
  assert.deepEqual(drain(q), ["a", "b", "c"]);
  assert.equal(q.size(), 3, "in flight until settled");
  assert.equal(q.waitingCount(), 0);
});

test("a lost connection puts every record in flight back, ahead of newer ones, in order", () => {
  const q = createRecordQueue(10);
  q.push("a");
  q.push("b");
  const a = q.takeNext();
  const b = q.takeNext();
  q.push("c");
  q.settle(/** @type {any} */ (a).seq);
  q.putBackInflight();
  assert.deepEqual(drain(q), ["b", "c"]);
  assert.equal(/** @type {any} */ (b).writes, 2, "b is written a second time");
});

test("a record answered 'retry' waits again in its place", () => {
  const q = createRecordQueue(10);
  for (const p of ["a", "b", "c"]) q.push(p);
  const a = /** @type {any} */ (q.takeNext());
  q.putBack(a.seq);
  assert.deepEqual(drain(q), ["a", "b", "c"]);
});

test("past the limit the oldest waiting records are dropped, never one in flight", () => {
  const q = createRecordQueue(2);
  q.push("a");
  const a = /** @type {any} */ (q.takeNext());
  q.push("b");
  assert.equal(q.push("c"), 1, "b dropped");
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
  for (const p of ["a", "b", "c"]) q.push(p);
  q.takeNext();
  q.takeNext();
  q.putBackInflight();
  assert.equal(q.push("d"), 1);
  assert.deepEqual(drain(q), ["b", "c", "d"], "a, the oldest, was dropped");
});
