// The plugin's long-lived parts and the host's lifecycle: the service client made on first use,
// the spill file under the host's state directory, host hooks that tolerate older hosts, and the
// stop path within the host's budget.
import { createCaptureClient } from "./client.js";
import { socketPathIn, spillDirIn } from "./config.js";
import { errorText } from "./errors.js";
import { createSpill } from "./spill-file.js";
import { liveBytesBound } from "./spill-format.js";

/**
 * @typedef {object} PluginLogger
 * @property {(m: string) => void} warn
 * @property {(m: string) => void} info
 * @property {(m: string) => void} debug  a no-op unless OPENCLAW_DEBUG is set
 */

/** @param {unknown} dir @returns {dir is string} */
const usableDir = (dir) => typeof dir === "string" && dir.trim() !== "";

/**
 * The service client, made on first use so that nothing is opened at register time. A default
 * socket path follows the host's real state directory once the host's service lifecycle
 * reports it (`registerService` start ctx `stateDir`); so does the spill file, opened then.
 * @param {import("./lib/config.js").PluginSettings} settings
 * @param {PluginLogger} log
 * @param {boolean} opensSockets
 * @param {string} [pluginId]  names the spill file
 */
export function lazyClient(settings, log, opensSockets, pluginId = "openclaw-taas-affinity") {
  /** @type {import("./lib/client.js").CaptureClient | null} */
  let client = null;
  let socketPath = settings.socketPath;
  let stopped = false;
  /** @type {import("./lib/spill-file.js").Spill | null} */
  let spill = null;
  /** @type {Promise<void> | null} */
  let spillOpening = null;
  /** What the spill held, for a client not made yet. @type {import("./lib/spill-format.js").SpillReplay | null} */
  let replayForClient = null;
  const get = () => {
    if (!opensSockets) return null;
    if (stopped) return client;
    client ??= createCaptureClient({
      socketPath,
      queueLimit: settings.queueLimit,
      queueMaxBytes: settings.spillMaxBytes > 0 ? liveBytesBound(settings.spillMaxBytes) : Infinity,
      requestTimeoutMs: settings.requestTimeoutMs,
      logger: log,
      debug: log.debug,
    });
    if (spill !== null && replayForClient !== null) {
      client.adoptSpill(spill, replayForClient);
      replayForClient = null;
    }
    return client;
  };
  /** @param {import("./lib/spill-file.js").Spill} opened */
  const replayInto = async (opened) => {
    const replay = await opened.open();
    if (stopped) return;
    try {
      // Captures left by a previous gateway are resent now; otherwise the client is made on first use.
      if (client === null && replay.records.length === 0 && replay.drops === 0) replayForClient = replay;
      else get()?.adoptSpill(opened, replay);
    } catch (error) {
      log.warn(`[taas-affinity] could not restore the spilled captures: ${errorText(error)}`);
    }
  };
  return {
    socketPath: () => socketPath,
    /** The client if one was made; never makes one (for background work that must not open sockets). */
    current: () => client,
    get,
    /**
     * Open the spill file under the host's state directory and replay it; resolves when its
     * captures are queued again. Never rejects: a file error leaves the client in memory only.
     * @param {unknown} stateDir
     */
    openSpill(stateDir) {
      if (!opensSockets || stopped || spill !== null || settings.spillMaxBytes === 0 || !usableDir(stateDir)) return Promise.resolve();
      spill = createSpill({ dir: spillDirIn(stateDir), fileName: `${pluginId}.spill`, maxBytes: settings.spillMaxBytes, logger: log });
      spillOpening = replayInto(spill);
      return spillOpening;
    },
    /** @param {unknown} stateDir */
    adoptStateDir(stateDir) {
      if (client === null && settings.socketPathFrom === "default" && usableDir(stateDir)) {
        socketPath = socketPathIn(stateDir);
      }
    },
    /**
     * Let queued captures reach the service for up to `drainMs`, then close; what is still owed
     * stays in the spill file for the next start. @param {number} drainMs
     */
    async close(drainMs) {
      stopped = true;
      await spillOpening;
      if (client !== null) {
        await client.drain(drainMs);
        await client.close();
      }
      await spill?.close();
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
 * directory, where the spill file is opened and replayed; `gateway_stop` (5 s budget per handler on
 * current hosts) drains for at most a second and closes; the service's stop closes whatever is left.
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
        // Awaited by the host, so the captures a previous gateway left are queued before the first call.
        return clients.openSpill(ctx?.stateDir);
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

