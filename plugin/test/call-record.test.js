import assert from "node:assert/strict";
import test from "node:test";
import { cacheSavedUsd, createCallRecorder, usageFieldsFromMessage } from "../lib/call-record.js";
import { createRouteMemory } from "../lib/routes.js";
import { usageRecordFromLlmOutput } from "../lib/usage.js";
import { autoroutedHeaders, fakeEventStream } from "../testkit/harness.js";

/** A recorder whose client keeps what it is given. */
function recorderWith(/** @type {{identity?: any}} */ o = {}) {
  /** @type {any[]} */
  const records = [];
  let now = 1000;
  const deps = /** @type {any} */ ({
    host: { now: () => now },
    memory: createRouteMemory(),
    client: () => ({ record: (/** @type {any} */ p) => records.push(p) }),
    debug: () => {},
  });
  const identity = o.identity === undefined ? { sessionId: "oc:1", agentId: "a", source: "session" } : o.identity;
  const recorder = createCallRecorder(deps, { identity: () => identity, provider: "cloudsigma", modelId: "auto", model: { cost: { input: 2, cacheRead: 0.5 } }, startedAt: 900 });
  return { recorder, records, deps, advance: (/** @type {number} */ ms) => (now += ms) };
}

const tick = () => new Promise((r) => setImmediate(r));

test("the stream is returned unchanged and one record is pushed when it ends", async () => {
  const { recorder, records, deps, advance } = recorderWith();
  const stream = fakeEventStream();
  assert.equal(recorder.watch(stream), stream);
  recorder.onResponse(autoroutedHeaders({ "x-request-id": "r" }));
  assert.equal(deps.memory.bySession("oc:1")?.taasRequestId, "r", "remembered at once");
  assert.equal(records.length, 0, "nothing pushed before the end");
  advance(250);
  stream.end({ stopReason: "stop", usage: { input: 10, output: 1, cacheRead: 1000, cacheWrite: 0 } });
  await tick();
  assert.equal(records.length, 1);
  assert.equal(records[0].durationMs, 350);
  assert.equal(records[0].cacheSavedUsd, 0.0015);
  assert.equal(records[0].headers["x-request-id"], "r");
});

test("a promise of a stream is followed; a rejected stream records an error outcome once", async () => {
  const { recorder, records } = recorderWith();
  const stream = fakeEventStream();
  const promised = Promise.resolve(stream);
  assert.equal(recorder.watch(promised), promised);
  recorder.onResponse(autoroutedHeaders());
  stream.fail(new Error("socket hang up"));
  await tick();
  await tick();
  assert.equal(records.length, 1);
  assert.equal(records[0].outcome, "error");
  assert.equal(records[0].usage, undefined);
});

test("a return value without result() is recorded from its response alone", async () => {
  const { recorder, records } = recorderWith();
  recorder.watch("a plain value");
  assert.equal(records.length, 0);
  recorder.onResponse(autoroutedHeaders());
  assert.equal(records.length, 1);
  assert.equal(records[0].headers["x-taas-autorouted"], "true");
});

test("a call without identity or without anything to say pushes nothing", async () => {
  const nobody = recorderWith({ identity: null });
  const s1 = fakeEventStream();
  nobody.recorder.watch(s1);
  nobody.recorder.onResponse(autoroutedHeaders());
  s1.end({ stopReason: "stop", usage: { input: 1 } });
  await tick();
  assert.equal(nobody.records.length, 0);
  const silent = recorderWith();
  const s2 = fakeEventStream();
  silent.recorder.watch(s2);
  s2.end({ stopReason: "error" });
  await tick();
  assert.equal(silent.records.length, 0, "no response and no usage");
});

test("cache savings need both prices and are never negative", () => {
  assert.equal(cacheSavedUsd(1_000_000, { cost: { input: 3, cacheRead: 0.3 } }), 2.7);
  assert.equal(cacheSavedUsd(10, { cost: { input: 3 } }), undefined);
  assert.equal(cacheSavedUsd(10, { cost: { input: 0.1, cacheRead: 0.2 } }), undefined);
  assert.equal(cacheSavedUsd(undefined, { cost: { input: 3, cacheRead: 0.3 } }), undefined);
  assert.equal(cacheSavedUsd(10, null), undefined);
});

test("a final message's outcome, counts and reported cost are read only from objects", () => {
  const message = { stopReason: "aborted", usage: { input: 3, output: 1, cost: { total: 0.25 } } };
  assert.deepEqual(usageFieldsFromMessage(message, null), { outcome: "aborted", usage: { input: 3, output: 1 }, costUsd: 0.25 });
  for (const odd of [null, "stop", [], [message]]) assert.deepEqual(usageFieldsFromMessage(odd, null), { outcome: "ok" });
  assert.deepEqual(usageFieldsFromMessage({ usage: { input: 3, cost: [0.25] } }, null), { outcome: "ok", usage: { input: 3 } });
  assert.deepEqual(usageFieldsFromMessage({ usage: { input: 3, cost: 0.25 } }, null), { outcome: "ok", usage: { input: 3 } });
});

test("llm_output: cloudsigma calls with usage become records under the native session id", () => {
  const options = { now: 5, providerIds: ["cloudsigma", "cloudsigma-staging"] };
  const record = usageRecordFromLlmOutput(
    { runId: "r", sessionId: "native-1", provider: "cloudsigma", model: "auto", usage: { input: 5, output: 2, cacheRead: 40, cacheWrite: 0, total: 47 } },
    { agentId: "ops", sessionKey: "agent:ops:main" },
    options,
  );
  assert.deepEqual(record, {
    sessionId: "native-1", agentId: "ops", capturedAt: 5, headers: {}, usage: { input: 5, output: 2, cacheRead: 40, cacheWrite: 0 },
    provider: "cloudsigma", requestedModel: "cloudsigma/auto", outcome: "ok",
  });
  assert.equal(usageRecordFromLlmOutput({ sessionId: "n", provider: "openai", usage: { input: 1 } }, {}, options), null);
  assert.equal(usageRecordFromLlmOutput({ sessionId: "n", provider: "cloudsigma" }, {}, options), null, "no usage");
  assert.equal(usageRecordFromLlmOutput({ provider: "cloudsigma", usage: { input: 1 } }, {}, options), null, "no session");
  assert.equal(usageRecordFromLlmOutput({ sessionId: "n", provider: "cloudsigma", usage: { input: 1, cost: { total: 0.2 } } }, { sessionKey: "agent:k:x" }, options)?.agentId, "k");
});
