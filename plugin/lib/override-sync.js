// Keeps the in-memory overrides current: every `intervalMs` (1 s, inside the SPEC's 2 s) it writes
// what was set while the service was away, then asks the service for the changes since the last
// version it applied (all active pins the first time, or when the service's version went back,
// as with a new database). One small query per second on the connection the client already holds.
import { errorText } from "./errors.js";

export const SYNC_INTERVAL_MS = 1000;

/**
 * @typedef {object} OverrideSync
 * @property {() => void} start   idempotent
 * @property {() => Promise<void>} syncNow  one round (tests, and the first round at start)
 * @property {() => void} stop
 */

/**
 * @param {object} deps
 * @param {() => import("./client.js").CaptureClient | null} deps.client
 * @param {import("./overrides.js").OverrideMemory} deps.overrides
 * @param {(message: string) => void} deps.debug
 * @param {number} [deps.intervalMs]
 * @returns {OverrideSync}
 */
export function createOverrideSync(deps) {
  const intervalMs = deps.intervalMs ?? SYNC_INTERVAL_MS;
  /** @type {NodeJS.Timeout | null} */
  let timer = null;
  let running = false;

  const round = async () => {
    const client = deps.client();
    if (client === null || running) return;
    running = true;
    try {
      await writePending(client, deps.overrides);
      const since = deps.overrides.version();
      const listing = await client.call("taas.autorouter.algorithms", since === null ? {} : { sinceVersion: since });
      const wentBack = since !== null && typeof listing?.version === "number" && listing.version < since;
      if (wentBack) deps.overrides.apply(await client.call("taas.autorouter.algorithms", {}), true);
      else deps.overrides.apply(listing, since === null);
    } catch (error) {
      deps.debug(`[taas-affinity] override sync: ${errorText(error)}`);
    } finally {
      running = false;
    }
  };

  return {
    start() {
      if (timer !== null) return;
      timer = setInterval(round, intervalMs);
      timer.unref();
      void round();
    },
    syncNow: round,
    stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
  };
}

/**
 * Writes each override set while the service was away; stops at the first failure (the next round retries).
 * @param {import("./client.js").CaptureClient} client
 * @param {import("./overrides.js").OverrideMemory} overrides
 */
async function writePending(client, overrides) {
  for (const { subject, algorithm } of overrides.pendingWrites()) {
    try {
      await client.call("taas.autorouter.setAlgorithm", { ...subject, algorithm });
    } catch (error) {
      // Refused for good (e.g. the service's limit of active pins): retrying would never succeed.
      if (/** @type {any} */ (error)?.code !== -32602) throw error;
    }
    overrides.written(subject, algorithm);
  }
}
