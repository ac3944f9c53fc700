// openclaw-taas-affinity: stable TaaS affinity session ids for the cloudsigma providers, and
// autorouter route captures pushed to the local taas-capture service (SPEC "The plugin").
import os from "node:os";
import { readFileSync } from "node:fs";
import { createCaptureClient } from "./lib/client.js";
import { readSettings } from "./lib/config.js";
import { GATEWAY_SCOPE, createGatewayMethods } from "./lib/gateway.js";
import { createGitHintsCache } from "./lib/git.js";
import { createProviderHooks } from "./lib/provider.js";
import { createRouteMemory } from "./lib/routes.js";

export const PLUGIN_ID = "openclaw-taas-affinity";
export const PROVIDER_IDS = Object.freeze(["cloudsigma", "cloudsigma-staging"]);
export const PLUGIN_VERSION = readPluginVersion();

function readPluginVersion() {
  try {
    const manifest = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8"));
    return typeof manifest.version === "string" ? manifest.version : "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/**
 * What one registration holds; exposed through `pluginState(api)` for tests and diagnostics.
 * @typedef {object} PluginState
 * @property {import("./lib/client.js").CaptureClient | null} client
 * @property {import("./lib/routes.js").RouteMemory} memory
 * @property {import("./lib/config.js").PluginSettings} settings
 * @property {ReturnType<typeof createProviderHooks>} hooks
 * @property {ReturnType<typeof createGatewayMethods>} methods
 */

/** @type {WeakMap<object, PluginState>} */
const states = new WeakMap();

/**
 * The state created by `register(api)` for this `api`, or undefined.
 * @param {object} api
 * @returns {PluginState | undefined}
 */
export function pluginState(api) {
  return states.get(api);
}

/**
 * @param {any} api  OpenClawPluginApi
 * @param {{host?: Partial<import("./lib/provider.js").Host>}} [overrides]  for tests
 */
export function registerPlugin(api, overrides = {}) {
  /** @type {import("./lib/provider.js").Host} */
  const host = {
    env: () => process.env,
    hostname: () => os.hostname(),
    home: () => os.homedir(),
    cwd: () => process.cwd(),
    now: () => Date.now(),
    ...overrides.host,
  };
  const logger = api.logger ?? console;
  const warn = (/** @type {string} */ m) => (logger.warn ?? console.warn).call(logger, m);
  const debugEnabled = Boolean(host.env().OPENCLAW_DEBUG);
  const debug = debugEnabled
    ? (/** @type {string} */ m) => (logger.debug ?? logger.info ?? console.debug).call(logger, m)
    : () => {};

  const settings = readSettings(api.pluginConfig, { env: host.env(), home: host.home() });
  for (const w of settings.warnings) warn(`[taas-affinity] config: ${w}`);

  // Discovery, setup and CLI-metadata loads must stay side-effect free: no sockets there.
  const opensSockets = api.registrationMode === undefined || api.registrationMode === "full";
  const client = opensSockets
    ? createCaptureClient({
        socketPath: settings.socketPath,
        queueLimit: settings.queueLimit,
        requestTimeoutMs: settings.requestTimeoutMs,
        logger: { warn, info: (m) => (logger.info ?? logger.warn ?? console.info).call(logger, m) },
        debug,
      })
    : null;
  const memory = createRouteMemory();
  const hooks = createProviderHooks({
    host,
    memory,
    client,
    gitHints: createGitHintsCache(),
    pluginVersion: PLUGIN_VERSION,
    debug,
  });

  api.registerProvider({
    id: "taas-affinity-hook",
    label: "CloudSigma TaaS affinity",
    hookAliases: [...PROVIDER_IDS],
    auth: [],
    // Agent/tool runs use wrapStreamFn; internal and background completions go through the
    // simple-completion hook. Both must carry the same affinity identity.
    wrapStreamFn: hooks.wrapStreamFn,
    wrapSimpleCompletionStreamFn: hooks.wrapStreamFn,
    resolveTransportTurnState: hooks.resolveTransportTurnState,
  });

  const methods = createGatewayMethods({ client, memory, socketPath: settings.socketPath });
  if (typeof api.registerGatewayMethod === "function") {
    api.registerGatewayMethod("taas.autorouter.lastRoute", methods.lastRoute, { scope: GATEWAY_SCOPE });
    api.registerGatewayMethod("taas.autorouter.history", methods.history, { scope: GATEWAY_SCOPE });
    api.registerGatewayMethod("taas.autorouter.stats", methods.stats, { scope: GATEWAY_SCOPE });
  }

  if (client !== null && typeof api.on === "function") {
    try {
      api.on("gateway_stop", async () => {
        // Give queued captures a moment to reach the service, then let go of the socket.
        await client.drain(Math.min(settings.requestTimeoutMs, 1000));
        await client.close();
      });
    } catch (error) {
      debug(`[taas-affinity] no gateway_stop hook: ${error instanceof Error ? error.message : error}`);
    }
  }

  states.set(api, { client, memory, settings, hooks, methods });
  debug(
    `[taas-affinity] registered mode=${api.registrationMode ?? "full"} sockets=${opensSockets} ` +
      `queueLimit=${settings.queueLimit} requestTimeoutMs=${settings.requestTimeoutMs}`,
  );
}

export default {
  id: PLUGIN_ID,
  name: "CloudSigma TaaS affinity",
  description:
    "Injects a stable per-conversation session id into cloudsigma LLM requests so TaaS can pin them to " +
    "the same upstream slot, and records autorouter route captures in the local taas-capture service.",
  /** @param {any} api OpenClawPluginApi */
  register(api) {
    registerPlugin(api);
  },
};
