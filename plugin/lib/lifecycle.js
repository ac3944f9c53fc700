// The plugin's long-lived parts and the host's lifecycle: the service client made on first use,
// host hooks that tolerate older hosts, and the stop path within the host's budget.
import { createCaptureClient } from "./client.js";
import { socketPathIn } from "./config.js";
import { errorText } from "./errors.js";

/**
 * @typedef {object} PluginLogger
 * @property {(m: string) => void} warn
 * @property {(m: string) => void} info
 * @property {(m: string) => void} debug  a no-op unless OPENCLAW_DEBUG is set
 */

/**
 * The service client, made on first use so that nothing is opened at register time. A default
 * socket path follows the host's real state directory once the host's service lifecycle
 * reports it (`registerService` start ctx `stateDir`).
 * @param {import("./lib/config.js").PluginSettings} settings
 * @param {PluginLogger} log
 * @param {boolean} opensSockets
 */
export function lazyClient(settings, log, opensSockets) {
  /** @type {import("./lib/client.js").CaptureClient | null} */
  let client = null;
  let socketPath = settings.socketPath;
  let stopped = false;
  return {
    socketPath: () => socketPath,
    /** The client if one was made; never makes one (for background work that must not open sockets). */
    current: () => client,
    get() {
      if (!opensSockets) return null;
      if (stopped) return client;
      client ??= createCaptureClient({
        socketPath,
        queueLimit: settings.queueLimit,
        requestTimeoutMs: settings.requestTimeoutMs,
        logger: log,
        debug: log.debug,
      });
      return client;
    },
    /** @param {unknown} stateDir */
    adoptStateDir(stateDir) {
      if (client === null && settings.socketPathFrom === "default" && typeof stateDir === "string" && stateDir.trim() !== "") {
        socketPath = socketPathIn(stateDir);
      }
    },
    /** Let queued captures reach the service for up to `drainMs`, then close. @param {number} drainMs */
    async close(drainMs) {
      stopped = true;
      if (client === null) return;
      await client.drain(drainMs);
      await client.close();
    },
  };
}

/**
 * `api.on` that tolerates hosts without the hook (older hosts throw on unknown names).
 * @param {any} api
 * @param {string} name
 * @param {Function} handler
 * @param {PluginLogger} log
 */
export function onHook(api, name, handler, log) {
  if (typeof api.on !== "function") return false;
  try {
    api.on(name, handler);
    return true;
  } catch (error) {
    log.debug(`[taas-affinity] no ${name} hook: ${errorText(error)}`);
    return false;
  }
}

/**
 * The client's lifecycle: the host's service (`registerService`) gives the real state
 * directory; `gateway_stop` (5 s budget per handler on current hosts) drains for at most a
 * second and closes; the service's stop closes whatever is left.
 * @param {any} api
 * @param {ReturnType<typeof lazyClient>} clients
 * @param {import("./lib/config.js").PluginSettings} settings
 * @param {PluginLogger} log
 * @param {import("./lib/override-sync.js").OverrideSync | null} sync  standalone mode: follows the overrides from start
 * @param {import("./lib/budget-watch.js").BudgetWatch} budgets  both modes: the budget warnings, from start
 */
export function registerLifecycle(api, clients, settings, log, sync, budgets) {
  const drainMs = Math.min(settings.requestTimeoutMs, 1000);
  if (typeof api.registerService === "function") {
    api.registerService({
      id: "taas-capture-client",
      start: (/** @type {any} */ ctx) => {
        clients.adoptStateDir(ctx?.stateDir);
        sync?.start();
        budgets.start();
      },
      stop: () => {
        sync?.stop();
        budgets.stop();
        return clients.close(0);
      },
    });
  } else {
    // An older host without services: the watch only looks at a client that already exists.
    budgets.start();
  }
  onHook(
    api,
    "gateway_stop",
    () => {
      sync?.stop();
      budgets.stop();
      return clients.close(drainMs);
    },
    log,
  );
}

