// A `localSessionId` selector names the session the provider path sends for that conversation:
// with `sessionIdentity: "native"` that is OpenClaw's native session id itself (not its hash), and
// alongside CloudSigma's provider the llm_output records carry it too. End to end through the
// simulated host, the real service, the gateway methods and `openclaw taas`.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import * as ours from "../index.js";
import { pluginState } from "../index.js";
import { callIdentity, selectorSessionId } from "../lib/call-identity.js";
import { sha16 } from "../lib/identity.js";
import { autoroutedHeaders, serviceBinary, tempDir, waitFor } from "../testkit/harness.js";
import { cloudsigmaProviderPlugin, createHost } from "../testkit/host.js";
import { runOpenclaw } from "../testkit/host-cli.js";
import { realServiceForSuite } from "../testkit/real-service.js";

const bin = serviceBinary();
const haveBinary = existsSync(bin);
const nativeId = "0b8e7c6d-5a4f-4e3d-9c2b-1a0f9e8d7c6b";
const call = { sessionId: nativeId, agentId: "native-agent", workspaceDir: "/home/u/.openclaw/workspace-native-agent" };

test("one rule for what a session is sent as: the provider path and a selector agree in both modes", () => {
  const host = { env: () => ({}), home: () => "/home/u", cwd: () => "/" };
  for (const mode of /** @type {const} */ (["hashed", "native"])) {
    const sent = callIdentity({ nativeSessionId: nativeId, workspaceDir: call.workspaceDir }, host, { mode, environmentTiers: true })?.sessionId;
    assert.equal(selectorSessionId({ localSessionId: nativeId }, mode), sent, mode);
    assert.equal(selectorSessionId({ localSessionId: nativeId, workspaceDir: call.workspaceDir }, mode), sent, `${mode}, with a workspace`);
  }
  assert.equal(selectorSessionId({ localSessionId: nativeId }, "native"), nativeId);
  assert.equal(selectorSessionId({ localSessionId: nativeId }, "hashed"), `oc:${sha16(`session:${nativeId}`)}`);
  assert.equal(selectorSessionId({ workspaceDir: call.workspaceDir }, "native"), `oc:${sha16(call.workspaceDir)}`, "only tier 1 is ever sent unchanged");
  assert.equal(selectorSessionId({}, "native"), null);
});

if (!haveBinary && process.env.CI) {
  test("the taas-capture binary is available for the native-selector tests", () => assert.fail(`no taas-capture binary at ${bin}`));
} else if (!haveBinary) {
  test("native selectors against the real service", { skip: `no taas-capture binary at ${bin}` }, () => {});
} else {
  describe("localSessionId selectors against the real taas-capture service", () => {
    const dir = tempDir("taas-native-");
    const service = realServiceForSuite(bin, dir);

    test("sessionIdentity native: lastRoute, history and setAlgorithm by localSessionId find the call, and the pin applies to the next request", async () => {
      const host = createHost();
      const api = host.load(ours, { pluginConfig: { socketPath: service.socketPath, requestTimeoutMs: 3000, sessionIdentity: "native" } });
      const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(api));
      try {
        await host.startServices(dir);
        const first = await host.llmCall({ ...call, responseHeaders: autoroutedHeaders({ "x-request-id": "native-1" }) });
        assert.equal(first.headers["X-OpenClaw-Session-Id"], nativeId, "native mode sends the id unchanged");
        assert.equal(first.payload.metadata.session_id, nativeId);
        assert.equal(await state.client?.drain(10_000), true);

        for (const name of ["taas.autorouter.lastRoute", "taas.capture.lastRoute"]) {
          const last = await host.gatewayCall(name, { localSessionId: nativeId });
          assert.equal(last.ok, true, JSON.stringify(last.error));
          assert.equal(last.payload.store, undefined, `${name}: answered by the service`);
          assert.equal(last.payload.sessionId, nativeId, name);
          assert.equal(last.payload.capture?.taasRequestId, "native-1", name);
        }
        const history = await host.gatewayCall("taas.capture.history", { localSessionId: nativeId });
        assert.deepEqual(history.payload.captures.map((/** @type {any} */ c) => c.taasRequestId), ["native-1"]);

        const pinned = await host.gatewayCall("taas.autorouter.setAlgorithm", { localSessionId: nativeId, algorithm: "ttft" });
        assert.equal(pinned.ok, true, JSON.stringify(pinned.error));
        assert.equal(pinned.payload.sessionId, nativeId);
        const next = await host.llmCall({ ...call });
        assert.equal(next.headers["X-TaaS-Autorouter-Algorithm"], "ttft", "the pin made by localSessionId matches the request");

        const cli = (/** @type {string[]} */ argv) => runOpenclaw(host.cliRegistrars, ["taas", ...argv]);
        const last = await cli(["last-route", "--local-session-id", nativeId, "--json"]);
        assert.equal(last.code, 0, last.stderr);
        assert.equal(JSON.parse(last.stdout).sessionId, nativeId);
        assert.equal(JSON.parse(last.stdout).capture.taasRequestId, "native-1");
        const set = await cli(["set-algorithm", "--local-session-id", nativeId, "cost"]);
        assert.equal(set.code, 0, set.stderr);
        assert.match(set.stdout, new RegExp(`^session ${nativeId}: cost \\(was ttft, version \\d+\\)`));
        await waitFor(async () => (await host.llmCall({ ...call })).headers["X-TaaS-Autorouter-Algorithm"] === "cost", 2000, "the CLI's pin on the next request");
        await cli(["set-algorithm", "--local-session-id", nativeId, "--clear"]);
      } finally {
        await host.stop();
      }
    });

    test("alongside CloudSigma's provider, a localSessionId finds the usage recorded under the native id", async () => {
      const config = { plugins: { entries: { cloudsigma: {}, "openclaw-taas-affinity": { hooks: { allowConversationAccess: true } } } } };
      const host = createHost({ config });
      host.load(cloudsigmaProviderPlugin);
      const api = host.load(ours, { pluginConfig: { socketPath: service.socketPath, requestTimeoutMs: 3000 } });
      const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(api));
      try {
        assert.equal(state.mode, "alongside");
        await host.llmCall({ ...call, sessionId: "along-native-1" });
        assert.equal(await state.client?.drain(10_000), true);
        const history = await host.gatewayCall("taas.capture.history", { localSessionId: "along-native-1" });
        assert.equal(history.ok, true, JSON.stringify(history.error));
        assert.equal(history.payload.sessionId, "along-native-1");
        assert.equal(history.payload.captures.length, 1);
        const cli = await runOpenclaw(host.cliRegistrars, ["taas", "history", "--local-session-id", "along-native-1", "--json"], { config });
        assert.equal(JSON.parse(cli.stdout).captures.length, 1);
      } finally {
        await host.stop();
      }
    });
  });
}
