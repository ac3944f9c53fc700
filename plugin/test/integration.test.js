// End to end against the real taas-capture binary (TAAS_CAPTURE_BIN, else ../.build/debug/taas-capture).
// Without the binary these tests fail when CI is set and are skipped otherwise.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { pluginState, registerPlugin } from "../index.js";
import { sha16 } from "../lib/identity.js";
import {
  autoroutedHeaders,
  fakeApi,
  removeDir,
  runStream,
  serviceBinary,
  startRealService,
  tempDir,
} from "../testkit/harness.js";

const bin = serviceBinary();
const haveBinary = existsSync(bin);
const workspaceDir = "/home/u/.openclaw/workspace-e2e-agent";
const ctx = { provider: "cloudsigma", modelId: "auto", workspaceDir };
const sessionId = `oc:${sha16(workspaceDir)}`;

/** A gateway process: a fresh plugin registration talking to `socketPath`. */
function startGateway(/** @type {string} */ socketPath) {
  const fake = fakeApi({ registrationMode: "full", pluginConfig: { socketPath, requestTimeoutMs: 3000 } });
  registerPlugin(fake.api, {
    host: { env: () => ({}), hostname: () => "e2e-host", home: () => "/home/u", cwd: () => "/" },
  });
  const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(fake.api));
  const client = /** @type {import("../lib/client.js").CaptureClient} */ (state.client);
  return { ...fake, provider: fake.providers[0], client, state };
}

/** One LLM call through the wrapped stream whose response was autorouted. */
function llmCall(/** @type {ReturnType<typeof startGateway>} */ gateway, /** @type {string} */ requestId) {
  return runStream(gateway.provider.wrapStreamFn, ctx, {
    payload: { model: "auto", messages: [{ role: "user", content: "hi" }] },
    responseHeaders: autoroutedHeaders({ "x-request-id": requestId, "x-openclaw-turn-id": `turn-${requestId}` }),
  });
}

if (!haveBinary && process.env.CI) {
  test("the taas-capture binary is available for the end-to-end tests", () => {
    assert.fail(`no taas-capture binary at ${bin}: build it (swift build) or set TAAS_CAPTURE_BIN`);
  });
} else if (!haveBinary) {
  test("end to end with the real service", { skip: `no taas-capture binary at ${bin} (set TAAS_CAPTURE_BIN)` }, () => {});
} else {
  describe("end to end with the real taas-capture service", () => {
    const dir = tempDir("taas-e2e-");
    /** @type {Awaited<ReturnType<typeof startRealService>>} */
    let service;
    /** @type {ReturnType<typeof startGateway>} */
    let gateway;

    before(async () => {
      service = await startRealService(bin, dir);
      gateway = startGateway(service.socketPath);
    });
    after(async () => {
      await gateway?.client.close();
      await service?.stop();
      removeDir(dir);
    });

    test("a capture pushed through a wrapped stream reaches lastRoute and history", async () => {
      const seen = await llmCall(gateway, "req-1");
      assert.equal(seen.result, seen.inner, "the stream passes through unchanged");
      assert.equal(seen.payload.metadata.session_id, sessionId);
      assert.equal(await gateway.client.drain(10_000), true, "the capture was acknowledged");

      const last = await gateway.call("taas.autorouter.lastRoute", { agentId: "e2e-agent" });
      assert.equal(last.ok, true, JSON.stringify(last.error));
      assert.equal(last.payload.store, undefined, "answered by the service");
      assert.equal(last.payload.agentId, "e2e-agent");
      assert.equal(last.payload.sessionId, sessionId);
      assert.equal(typeof last.payload.capture.id, "number");
      assert.equal(last.payload.capture.taasRequestId, "req-1");
      assert.equal(last.payload.capture.openclawTurnId, "turn-req-1");
      assert.equal(last.payload.capture.autorouterModel, "qwen3-coder");
      assert.equal(last.payload.capture.autorouterAlgo, "best_fit");
      assert.equal(last.payload.capture.routedContextWindow, 131072);

      const byWorkspace = await gateway.call("taas.autorouter.lastRoute", { workspaceDir });
      assert.equal(byWorkspace.payload.sessionId, sessionId);
      assert.equal(byWorkspace.payload.capture.id, last.payload.capture.id);

      const history = await gateway.call("taas.autorouter.history", { agentId: "e2e-agent", limit: 100 });
      assert.equal(history.ok, true, JSON.stringify(history.error));
      assert.equal(history.payload.captures.length, 1);
      assert.equal(history.payload.nextCursor, null);

      const stats = await gateway.call("taas.autorouter.stats", {});
      assert.equal(stats.ok, true, JSON.stringify(stats.error));
      assert.equal(stats.payload.total, 1);
    });

    test("with the service stopped, LLM calls go on and lastRoute answers from memory", async () => {
      await service.stop("SIGTERM");
      for (const id of ["req-2", "req-3", "req-4"]) {
        const seen = await llmCall(gateway, id);
        assert.equal(seen.result, seen.inner, "the stream passes through unchanged");
        assert.equal(seen.payload.metadata.session_id, sessionId);
      }
      assert.equal(gateway.client.counters().queued, 3);

      const last = await gateway.call("taas.autorouter.lastRoute", { agentId: "e2e-agent" });
      assert.equal(last.ok, true);
      assert.equal(last.payload.store, "memory");
      assert.equal(last.payload.capture.taasRequestId, "req-4");

      const history = await gateway.call("taas.autorouter.history", { agentId: "e2e-agent" });
      assert.equal(history.ok, false);
      assert.equal(history.error.code, "UNAVAILABLE");
      assert.match(history.error.message, /unreachable/);
    });

    test("when the service returns, the queued captures arrive exactly once", async () => {
      service = await startRealService(bin, dir);
      assert.equal(await gateway.client.drain(20_000), true, "the queue drained");
      const history = await gateway.call("taas.autorouter.history", { agentId: "e2e-agent", limit: 1000 });
      assert.equal(history.ok, true, JSON.stringify(history.error));
      assert.deepEqual(
        history.payload.captures.map((/** @type {any} */ c) => c.taasRequestId),
        ["req-4", "req-3", "req-2", "req-1"],
      );
      const last = await gateway.call("taas.autorouter.lastRoute", { agentId: "e2e-agent" });
      assert.equal(last.payload.store, undefined);
      assert.equal(last.payload.capture.taasRequestId, "req-4");
    });

    test("a resent capture (same idempotency key) is stored once", async () => {
      const params = { sessionId, agentId: "e2e-agent", headers: autoroutedHeaders({ "x-request-id": "req-dup" }), idempotencyKey: "cap:e2e-duplicate" };
      const first = await gateway.client.call("taas.autorouter.record", params);
      const again = await gateway.client.call("taas.autorouter.record", params);
      assert.equal(first.recorded, true);
      assert.equal(first.duplicate, false);
      assert.deepEqual(again, { recorded: true, id: first.id, duplicate: true });
      const stats = await gateway.call("taas.autorouter.stats", { agentId: "e2e-agent" });
      assert.equal(stats.payload.total, 5);
    });

    test("after a gateway restart a new plugin instance answers lastRoute from the service", async () => {
      await gateway.client.close();
      const restarted = startGateway(service.socketPath);
      try {
        assert.equal(restarted.state.memory.byAgent("e2e-agent"), null, "the new instance starts with empty memory");
        const last = await restarted.call("taas.autorouter.lastRoute", { agentId: "e2e-agent" });
        assert.equal(last.ok, true, JSON.stringify(last.error));
        assert.equal(last.payload.store, undefined);
        assert.equal(last.payload.capture.taasRequestId, "req-dup");
        const bySession = await restarted.call("taas.autorouter.lastRoute", { sessionId });
        assert.equal(bySession.payload.capture.id, last.payload.capture.id);
      } finally {
        await restarted.client.close();
      }
    });
  });
}
