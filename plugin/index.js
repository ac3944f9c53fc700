// openclaw-taas-affinity: stable TaaS affinity session ids for the cloudsigma providers, and
// autorouter route captures pushed to the local taas-capture service (SPEC "The plugin", v2
// "The plugin on today's OpenClaw hosts").
//
// Two modes. Standalone: this plugin owns the cloudsigma provider hooks (identity, headers,
// route capture). Alongside: CloudSigma's own provider plugin is enabled and owns them, so this
// one registers no provider hook and no taas.autorouter.* method, and records each call's usage
// from the host's llm_output hook. Both register taas.capture.* and the dashboard tab, and
// persist through the service.
//
// Each record carries what the host says started the call's run (trigger, channel) and, beside
// CloudSigma's provider, how its calls began or failed (lib/attribution.js, lib/run-hooks.js). The
// gateway log names each exceeded budget once a UTC day (lib/budget-watch.js).
//
// The same code is two plugins: `openclaw-taas-affinity` (this package, either mode) and the
// recorder `taas-capture` (../plugin-recorder, always alongside). When the host config enables
// both, one steps aside (lib/host-config.js `stepAsideLine`).
import os from "node:os";
import { readFileSync } from "node:fs";
import { createRunMemory } from "./lib/attribution.js";
import { createBudgetWatch } from "./lib/budget-watch.js";
import { recordedSessionIdentity } from "./lib/call-identity.js";
import { registerTaasCli } from "./lib/cli.js";
import { readSettings } from "./lib/config.js";
import { PAGE_TIMEOUT_CAP_MS, registerDashboard } from "./lib/dashboard.js";
import { errorText } from "./lib/errors.js";
import { gatewayMethodsFor } from "./lib/gateway.js";
import { createOverrideSync } from "./lib/override-sync.js";
import { createOverrideMemory } from "./lib/overrides.js";
import { createGitHintsCache } from "./lib/git.js";
import { lazyClient, onHook, registerLifecycle } from "./lib/lifecycle.js";
import { AFFINITY_PLUGIN_ID, RECORDER_PLUGIN_ID, conversationAccessGranted, pluginMode, stepAsideLine } from "./lib/host-config.js";
import { providerHooks } from "./lib/provider.js";
import { rememberCallEnd, rememberRun, rememberTrace, runAttributionFor } from "./lib/run-hooks.js";
import { createRouteMemory } from "./lib/routes.js";
import { createTraceSessions } from "./lib/trace-sessions.js";
import { usageRecordFromLlmOutput } from "./lib/usage.js";

export const PLUGIN_ID = AFFINITY_PLUGIN_ID;
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
 * Which of the two plugins this registration is.
 * @typedef {{id: string, name: string, description: string}} PluginIdentity
 */

/** @type {PluginIdentity} */
export const AFFINITY_PLUGIN = Object.freeze({
  id: AFFINITY_PLUGIN_ID,
  name: "CloudSigma TaaS affinity",
  description:
    "Injects a stable per-conversation session id into cloudsigma LLM requests so TaaS can pin them to " +
    "the same upstream slot, and records autorouter route captures and usage in the local taas-capture service.",
});

/** @type {PluginIdentity} */
export const RECORDER_PLUGIN = Object.freeze({
  id: RECORDER_PLUGIN_ID,
  name: "TaaS capture recorder",
  description:
    "Records each cloudsigma call's usage, cache hits and cost in the local taas-capture service beside " +
    "CloudSigma's provider plugin, with taas.capture.* queries and a dashboard tab.",
});

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
 * @property {import("./lib/budget-watch.js").BudgetWatch} budgets  the once-a-day budget warnings
 * @property {import("./lib/attribution.js").RunMemory<import("./lib/attribution.js").RunAttribution>} runs  standalone: trigger and channel by run id (llm_input)
 * @property {import("./lib/attribution.js").RunMemory<import("./lib/attribution.js").CallEnd>} callEnds  alongside: model_call_ended by run id
 * @property {ReturnType<typeof providerHooks> | null} hooks  null in alongside mode
 * @property {string[]} methods  the gateway method names registered
 * @property {string | null} dashboard  the dashboard tab's path, or null when the host offers no tab
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
 * The host's logger, every line starting `[<plugin id>] ` (a line written with the older fixed
 * `[taas-affinity] ` tag gets the id instead).
 * @param {any} api
 * @param {Record<string, string | undefined>} env
 * @param {string} pluginId
 * @returns {PluginLogger}
 */
function pluginLogger(api, env, pluginId) {
  const logger = api.logger ?? console;
  const tagged = (/** @type {string} */ m) => `[${pluginId}] ${m.replace(/^\[taas-affinity\] /, "")}`;
  const warn = (/** @type {string} */ m) => (logger.warn ?? console.warn).call(logger, tagged(m));
  const info = (/** @type {string} */ m) => (logger.info ?? logger.warn ?? console.info).call(logger, tagged(m));
  const debug = env.OPENCLAW_DEBUG
    ? (/** @type {string} */ m) => (logger.debug ?? logger.info ?? console.debug).call(logger, tagged(m))
    : () => {};
  return { warn, info, debug };
}

/**
 * @param {any} api  OpenClawPluginApi
 * @param {{host?: Partial<import("./lib/provider.js").Host>, budgetWatch?: {pollMs?: number, tickMs?: number}}} [testing]
 *   for tests: the host's clock and environment; how often the budget watch polls (default once a minute)
 * @param {PluginIdentity} [plugin]  which of the two plugins registers
 */
export function registerPlugin(api, testing = {}, plugin = AFFINITY_PLUGIN) {
  /** @type {import("./lib/provider.js").Host} */
  const host = {
    env: () => process.env,
    hostname: () => os.hostname(),
    home: () => os.homedir(),
    cwd: () => process.cwd(),
    now: () => Date.now(),
    ...testing.host,
  };
  const log = pluginLogger(api, host.env(), plugin.id);
  // Discovery, setup and CLI-metadata loads must stay side-effect free: no sockets there.
  const opensSockets = api.registrationMode === undefined || api.registrationMode === "full";
  const asideLine = stepAsideLine(plugin.id, api.config);
  if (asideLine !== null) {
    if (opensSockets) log.warn(asideLine);
    return;
  }
  // `openclaw taas`: descriptors in every mode; a command opens the socket only when it runs.
  registerTaasCli(api, {
    pluginId: plugin.id,
    pluginVersion: PLUGIN_VERSION,
    pluginConfig: api.pluginConfig,
    hostConfig: api.config,
    host,
    modeFor: (settings, hostConfig) => modeOf(plugin, settings, hostConfig),
  });
  // A CLI-metadata load wants the command descriptors only (and its api.runtime throws).
  if (api.registrationMode === "cli-metadata") return;
  const settings = readSettings(api.pluginConfig, { env: host.env(), home: host.home() });
  for (const w of settings.warnings) log.warn(`config: ${w}`);
  const { mode, reason } = modeOf(plugin, settings, api.config);
  const clients = lazyClient(settings, log, opensSockets, plugin.id);
  const memory = createRouteMemory();
  const traces = createTraceSessions({ now: host.now });
  const overrides = createOverrideMemory();
  const sync = createOverrideSync({ client: clients.get, overrides, debug: log.debug });
  const budgets = createBudgetWatch({ client: clients.current, warn: log.warn, debug: log.debug, now: host.now, ...testing.budgetWatch });
  /** @type {import("./lib/attribution.js").RunMemory<import("./lib/attribution.js").RunAttribution>} */
  const runs = createRunMemory({ now: host.now });
  /** @type {import("./lib/attribution.js").RunMemory<import("./lib/attribution.js").CallEnd>} */
  const callEnds = createRunMemory({ now: host.now });

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
      runAttribution: (/** @type {string | null} */ traceparent) => runAttributionFor(traces, runs, traceparent),
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
    onHook(api, "model_call_started", (/** @type {unknown} */ event, /** @type {unknown} */ ctx) => rememberTrace(traces, PROVIDER_IDS, event, ctx), log);
    // llm_input is a conversation hook: the host drops its registration, with a diagnostic, unless
    // the config grants access, so it is asked for only then. Without it no call has a trigger.
    if (conversationAccessGranted(api.config, plugin.id)) {
      onHook(api, "llm_input", (/** @type {unknown} */ event, /** @type {unknown} */ ctx) => rememberRun(runs, PROVIDER_IDS, event, ctx), log);
    }
  } else {
    log.info(
      `alongside CloudSigma's provider plugin (${reason}): registering no provider hooks and no ` +
        `taas.autorouter.* methods; recording each cloudsigma call's usage from llm_output into taas-capture ` +
        `(needs plugins.entries.${plugin.id}.hooks.allowConversationAccess: true); queries: taas.capture.*`,
    );
    onHook(api, "model_call_ended", (/** @type {unknown} */ event, /** @type {unknown} */ ctx) => rememberCallEnd(callEnds, PROVIDER_IDS, event, ctx), log);
    onHook(api, "llm_output", (/** @type {unknown} */ event, /** @type {unknown} */ ctx) => recordUsage(clients, host, callEnds, event, ctx, log), log);
  }

  const methods = gatewayMethodsFor(mode, {
    client: clients.get,
    memory,
    socketPath: clients.socketPath,
    overrides,
    now: host.now,
    sessionIdentity: recordedSessionIdentity(mode, settings.sessionIdentity),
  });
  if (typeof api.registerGatewayMethod === "function") {
    for (const m of methods) api.registerGatewayMethod(m.name, m.handler, { scope: m.scope });
  }

  const dashboard = opensSockets
    ? registerDashboard(api, {
        pluginId: plugin.id,
        socketPath: clients.socketPath,
        memory,
        timeoutMs: Math.min(settings.requestTimeoutMs, PAGE_TIMEOUT_CAP_MS),
        debug: log.debug,
      })
    : null;

  if (opensSockets) registerLifecycle(api, clients, settings, log, mode === "standalone" ? sync : null, budgets);

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
    budgets,
    runs,
    callEnds,
    hooks,
    methods: methods.map((m) => m.name),
    dashboard,
  });
  log.debug(
    `registered mode=${mode} registration=${api.registrationMode ?? "full"} sockets=${opensSockets} ` +
      `sessionIdentity=${settings.sessionIdentity} queueLimit=${settings.queueLimit} spillMaxBytes=${settings.spillMaxBytes} requestTimeoutMs=${settings.requestTimeoutMs}`,
  );
}

/**
 * The mode `plugin` runs in: the recorder always beside CloudSigma's provider; the affinity
 * plugin as its config and the host config say.
 * @param {PluginIdentity} plugin
 * @param {import("./lib/config.js").PluginSettings} settings
 * @param {unknown} hostConfig
 * @returns {{mode: import("./lib/host-config.js").PluginMode, reason: string}}
 */
function modeOf(plugin, settings, hostConfig) {
  return plugin.id === RECORDER_PLUGIN_ID
    ? { mode: "alongside", reason: `${RECORDER_PLUGIN_ID} always records beside CloudSigma's provider` }
    : pluginMode(settings.mode, hostConfig);
}

/**
 * llm_output (alongside mode): one usage record per attempt of a cloudsigma run, with what its
 * model_call_ended events said (taken, so the next attempt of the run starts afresh).
 * @param {ReturnType<typeof lazyClient>} clients
 * @param {import("./lib/provider.js").Host} host
 * @param {import("./lib/attribution.js").RunMemory<import("./lib/attribution.js").CallEnd>} callEnds
 * @param {unknown} event
 * @param {unknown} ctx
 * @param {PluginLogger} log
 */
function recordUsage(clients, host, callEnds, event, ctx, log) {
  try {
    const callEnd = callEnds.take(/** @type {any} */ (event)?.runId ?? /** @type {any} */ (ctx)?.runId);
    const params = usageRecordFromLlmOutput(event, ctx, { now: host.now(), providerIds: PROVIDER_IDS, callEnd });
    if (params !== null) clients.get()?.record(params);
  } catch (error) {
    log.debug(`usage record skipped: ${errorText(error)}`);
  }
}

/**
 * The module export the host loads for `plugin`: `{id, name, description, register(api)}`. The
 * host refuses a module whose `id` differs from its manifest's (src/plugins/loader.ts).
 * @param {PluginIdentity} plugin
 */
export function pluginEntry(plugin) {
  return {
    ...plugin,
    /** @param {any} api OpenClawPluginApi */
    register(api) {
      registerPlugin(api, {}, plugin);
    },
  };
}

export default pluginEntry(AFFINITY_PLUGIN);
