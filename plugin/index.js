// openclaw-taas-affinity: stable TaaS affinity session ids for the cloudsigma providers, and
// autorouter route captures pushed to the local taas-capture service (SPEC "The plugin", v2
// "The plugin on today's OpenClaw hosts").
//
// Two modes. Standalone: this plugin owns the cloudsigma provider hooks (identity, headers,
// route capture). Alongside: CloudSigma's own provider plugin is enabled and owns them, so this
// one registers no provider hook and no taas.autorouter.* method, and records each call's usage
// from the host's llm_output hook. Both register taas.capture.* and persist through the service.
import os from "node:os";
import { readFileSync } from "node:fs";
import { readSettings } from "./lib/config.js";
import { errorText } from "./lib/errors.js";
import { gatewayMethodsFor } from "./lib/gateway.js";
import { createOverrideSync } from "./lib/override-sync.js";
import { createOverrideMemory } from "./lib/overrides.js";
import { createGitHintsCache } from "./lib/git.js";
import { lazyClient, onHook, registerLifecycle } from "./lib/lifecycle.js";
import { pluginMode } from "./lib/host-config.js";
import { boundedIdentity } from "./lib/identity.js";
import { providerHooks } from "./lib/provider.js";
import { createRouteMemory } from "./lib/routes.js";
import { createTraceSessions } from "./lib/trace-sessions.js";
import { usageRecordFromLlmOutput } from "./lib/usage.js";

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
 * @property {import("./lib/client.js").CaptureClient | null} client  made on first use; null when sockets may not be opened or the gateway stopped before any use
 * @property {import("./lib/routes.js").RouteMemory} memory
 * @property {import("./lib/config.js").PluginSettings} settings
 * @property {import("./lib/host-config.js").PluginMode} mode
 * @property {import("./lib/trace-sessions.js").TraceSessions} traces
 * @property {import("./lib/overrides.js").OverrideMemory} overrides
 * @property {import("./lib/override-sync.js").OverrideSync} sync
 * @property {ReturnType<typeof providerHooks> | null} hooks  null in alongside mode
 * @property {string[]} methods  the gateway method names registered
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

/** @typedef {import("./lib/lifecycle.js").PluginLogger} PluginLogger */

/**
 * @param {any} api
 * @param {Record<string, string | undefined>} env
 * @returns {PluginLogger}
 */
function pluginLogger(api, env) {
  const logger = api.logger ?? console;
  const warn = (/** @type {string} */ m) => (logger.warn ?? console.warn).call(logger, m);
  const info = (/** @type {string} */ m) => (logger.info ?? logger.warn ?? console.info).call(logger, m);
  const debug = env.OPENCLAW_DEBUG
    ? (/** @type {string} */ m) => (logger.debug ?? logger.info ?? console.debug).call(logger, m)
    : () => {};
  return { warn, info, debug };
}

/**
 * @param {any} api  OpenClawPluginApi
 * @param {{host?: Partial<import("./lib/provider.js").Host>}} [testing]  for tests
 */
export function registerPlugin(api, testing = {}) {
  /** @type {import("./lib/provider.js").Host} */
  const host = {
    env: () => process.env,
    hostname: () => os.hostname(),
    home: () => os.homedir(),
    cwd: () => process.cwd(),
    now: () => Date.now(),
    ...testing.host,
  };
  const log = pluginLogger(api, host.env());
  const settings = readSettings(api.pluginConfig, { env: host.env(), home: host.home() });
  for (const w of settings.warnings) log.warn(`[taas-affinity] config: ${w}`);
  const { mode, reason } = pluginMode(settings.mode, api.config);

  // Discovery, setup and CLI-metadata loads must stay side-effect free: no sockets there.
  const opensSockets = api.registrationMode === undefined || api.registrationMode === "full";
  const clients = lazyClient(settings, log, opensSockets);
  const memory = createRouteMemory();
  const traces = createTraceSessions({ now: host.now });
  const overrides = createOverrideMemory();
  const sync = createOverrideSync({ client: clients.get, overrides, debug: log.debug });

  let hooks = null;
  if (mode === "standalone") {
    hooks = providerHooks({
      host,
      memory,
      client: clients.get,
      gitHints: createGitHintsCache(),
      pluginVersion: PLUGIN_VERSION,
      sessionIdentity: settings.sessionIdentity,
      traces,
      overrides,
      onStream: opensSockets ? sync.start : () => {},
      debug: log.debug,
    });
    api.registerProvider({
      id: "taas-affinity-hook",
      label: "CloudSigma TaaS affinity",
      hookAliases: [...PROVIDER_IDS],
      auth: [],
      ...hooks,
    });
    onHook(api, "model_call_started", (/** @type {any} */ event, /** @type {any} */ ctx) => rememberTrace(traces, event, ctx), log);
  } else {
    log.info(
      `[taas-affinity] alongside CloudSigma's provider plugin (${reason}): registering no provider hooks and no ` +
        `taas.autorouter.* methods; recording each cloudsigma call's usage from llm_output into taas-capture ` +
        `(needs plugins.entries.${PLUGIN_ID}.hooks.allowConversationAccess: true); queries: taas.capture.*`,
    );
    onHook(api, "llm_output", (/** @type {unknown} */ event, /** @type {unknown} */ ctx) => recordUsage(clients, host, event, ctx, log), log);
  }

  const methods = gatewayMethodsFor(mode, { client: clients.get, memory, socketPath: clients.socketPath, overrides, now: host.now });
  if (typeof api.registerGatewayMethod === "function") {
    for (const m of methods) api.registerGatewayMethod(m.name, m.handler, { scope: m.scope });
  }

  if (opensSockets) registerLifecycle(api, clients, settings, log, mode === "standalone" ? sync : null);

  states.set(api, {
    get client() {
      return clients.get();
    },
    memory,
    settings,
    mode,
    traces,
    overrides,
    sync,
    hooks,
    methods: methods.map((m) => m.name),
  });
  log.debug(
    `[taas-affinity] registered mode=${mode} registration=${api.registrationMode ?? "full"} sockets=${opensSockets} ` +
      `sessionIdentity=${settings.sessionIdentity} queueLimit=${settings.queueLimit} requestTimeoutMs=${settings.requestTimeoutMs}`,
  );
}

/**
 * model_call_started: remember which native session a trace/span belongs to.
 * @param {import("./lib/trace-sessions.js").TraceSessions} traces
 * @param {any} event
 * @param {any} ctx
 */
function rememberTrace(traces, event, ctx) {
  try {
    const provider = boundedIdentity(event?.provider) ?? boundedIdentity(ctx?.modelProviderId);
    const nativeSessionId = boundedIdentity(ctx?.sessionId) ?? boundedIdentity(event?.sessionId);
    if (provider === null || !PROVIDER_IDS.includes(provider) || nativeSessionId === null) return;
    traces.remember(ctx?.trace, { nativeSessionId, agentId: boundedIdentity(ctx?.agentId) });
  } catch {
    // A hook must never throw into the host.
  }
}

/**
 * llm_output (alongside mode): one usage record per cloudsigma call.
 * @param {ReturnType<typeof lazyClient>} clients
 * @param {import("./lib/provider.js").Host} host
 * @param {unknown} event
 * @param {unknown} ctx
 * @param {PluginLogger} log
 */
function recordUsage(clients, host, event, ctx, log) {
  try {
    const params = usageRecordFromLlmOutput(event, ctx, { now: host.now(), providerIds: PROVIDER_IDS });
    if (params !== null) clients.get()?.record(params);
  } catch (error) {
    log.debug(`[taas-affinity] usage record skipped: ${errorText(error)}`);
  }
}

export default {
  id: PLUGIN_ID,
  name: "CloudSigma TaaS affinity",
  description:
    "Injects a stable per-conversation session id into cloudsigma LLM requests so TaaS can pin them to " +
    "the same upstream slot, and records autorouter route captures and usage in the local taas-capture service.",
  /** @param {any} api OpenClawPluginApi */
  register(api) {
    registerPlugin(api);
  },
};
