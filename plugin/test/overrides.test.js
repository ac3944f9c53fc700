import assert from "node:assert/strict";
import test from "node:test";
import { overrideFrom, newerSource } from "../lib/gateway.js";
import { sha16 } from "../lib/identity.js";
import { createOverrideMemory } from "../lib/overrides.js";

test("a session's pin wins over its agent's; a full load replaces, changes merge, null clears", () => {
  const m = createOverrideMemory();
  assert.equal(m.version(), null);
  m.apply({ overrides: [{ agentId: "ops", algorithm: "cost" }, { sessionId: "oc:1", algorithm: "ttft" }], version: 2 }, true);
  assert.equal(m.algorithmFor("oc:1", "ops"), "ttft");
  assert.equal(m.algorithmFor("oc:2", "ops"), "cost");
  assert.equal(m.algorithmFor("oc:2", null), null);
  m.apply({ overrides: [{ sessionId: "oc:1", algorithm: null }, { agentId: "x", algorithm: "warp" }], version: 4 }, false);
  assert.equal(m.algorithmFor("oc:1", "ops"), "cost", "cleared session pin falls back to the agent's");
  assert.equal(m.algorithmFor(null, "x"), null, "an unknown algorithm is never sent");
  assert.equal(m.version(), 4);
  m.apply({ overrides: [{ sessionId: "oc:9", algorithm: "tps" }], version: 1 }, true);
  assert.equal(m.algorithmFor(null, "ops"), null, "a full load replaces everything");
});

test("a pin set while the service is away survives loads until it is written", () => {
  const m = createOverrideMemory();
  assert.equal(m.setLocal({ agentId: "ops" }, "tps"), null);
  m.queueWrite({ agentId: "ops" }, "tps");
  m.apply({ overrides: [{ agentId: "ops", algorithm: "cost" }], version: 7 }, true);
  assert.equal(m.algorithmFor(null, "ops"), "tps");
  assert.deepEqual(m.pendingWrites(), [{ subject: { agentId: "ops" }, algorithm: "tps" }]);
  m.written({ agentId: "ops" }, "tps");
  assert.deepEqual(m.pendingWrites(), []);
});

test("setAlgorithm params: exactly one selector and a known algorithm or null", () => {
  assert.deepEqual(overrideFrom({ agentId: "ops", algorithm: "cost" }, "hashed"), { subject: { agentId: "ops" }, algorithm: "cost" });
  assert.deepEqual(overrideFrom({ sessionId: "oc:1", algorithm: null }, "hashed"), { subject: { sessionId: "oc:1" }, algorithm: null });
  for (const bad of [{ agentId: "ops" }, { algorithm: "cost" }, { agentId: "ops", sessionId: "oc:1", algorithm: "cost" }, { agentId: "ops", algorithm: "warp" }, { agentId: "", algorithm: "cost" }, [], null]) {
    assert.ok("error" in overrideFrom(bad, "hashed"), JSON.stringify(bad));
  }
});

test("setAlgorithm params: a localSessionId names the session the provider path sends for it", () => {
  const native = "5f0c8a52-6a1e-4a57-9f4a-1d2c3b4a5e6f";
  assert.deepEqual(overrideFrom({ localSessionId: native, algorithm: "ttft" }, "native"), { subject: { sessionId: native }, algorithm: "ttft" });
  assert.deepEqual(overrideFrom({ localSessionId: native, algorithm: "ttft" }, "hashed"), {
    subject: { sessionId: `oc:${sha16(`session:${native}`)}` },
    algorithm: "ttft",
  });
  // Tier 2 is hashed in both modes: only a native session id is ever sent unchanged.
  const workspaceDir = "/home/u/.openclaw/workspace-a";
  assert.deepEqual(overrideFrom({ workspaceDir, algorithm: "cost" }, "native"), { subject: { sessionId: `oc:${sha16(workspaceDir)}` }, algorithm: "cost" });
});

test("lastRoute: the newer of memory and service wins, the same call prefers the service's stored copy", () => {
  const stored = { id: 5, capturedAt: 100, taasRequestId: "r1", openclawTurnId: null, autorouterModel: "m", autorouterAlgo: "a" };
  const memory = /** @type {any} */ ({ ...stored, id: null });
  assert.equal(newerSource(stored, memory), "service");
  assert.equal(newerSource(stored, { ...memory, capturedAt: 101 }), "memory");
  assert.equal(newerSource(stored, { ...memory, taasRequestId: "r2" }), "memory", "same millisecond, another call");
  assert.equal(newerSource({ ...stored, capturedAt: 200 }, memory), "service");
  assert.equal(newerSource(null, memory), "memory");
  assert.equal(newerSource(stored, null), "service");
});
