// Algorithm overrides held in memory (SPEC v2 "Algorithm overrides"), so that no LLM request ever
// waits on the service to learn one: the request path reads this map only; override-sync.js keeps
// it current from the service.

export const ALGORITHMS = Object.freeze(["best_fit", "price_performance", "savings_curve", "cost", "ttft", "tps"]);
export const ALGORITHM_HEADER = "X-TaaS-Autorouter-Algorithm";
// The service holds at most 10,000 active overrides; memory never holds more.
const MAX_HELD = 10_000;

/** @typedef {{sessionId: string} | {agentId: string}} OverrideSubject */

/** @param {OverrideSubject} subject @returns {string} */
export function subjectKey(subject) {
  return "agentId" in subject ? `agent:${subject.agentId}` : `session:${subject.sessionId}`;
}

/**
 * The subject of an override as the service writes it, or null when it names none.
 * @param {any} item
 * @returns {OverrideSubject | null}
 */
function subjectOf(item) {
  if (typeof item?.agentId === "string") return { agentId: item.agentId };
  if (typeof item?.sessionId === "string") return { sessionId: item.sessionId };
  return null;
}

/**
 * @typedef {object} OverrideMemory
 * @property {(sessionId: string | null, agentId: string | null) => string | null} algorithmFor  the session's wins over its agent's
 * @property {(listing: any, full: boolean) => void} apply  an `algorithms` answer: all active pins (full) or the changes since `version`
 * @property {() => number | null} version  the last version applied; null before the first full load
 * @property {(subject: OverrideSubject, algorithm: string | null) => string | null} setLocal  set now; returns the previous value
 * @property {(subject: OverrideSubject, algorithm: string | null) => void} queueWrite  remember to write it when the service is back
 * @property {() => Array<{subject: OverrideSubject, algorithm: string | null}>} pendingWrites
 * @property {(subject: OverrideSubject, algorithm: string | null) => void} written  the service has it: no longer pending
 * @property {() => number} size
 */

/** @returns {OverrideMemory} */
export function createOverrideMemory() {
  /** @type {Map<string, string>} */
  let pins = new Map();
  /** @type {Map<string, {subject: OverrideSubject, algorithm: string | null}>} */
  const pending = new Map();
  /** @type {number | null} */
  let version = null;

  /** @param {Map<string, string>} map @param {string} key @param {string | null} algorithm */
  const put = (map, key, algorithm) => {
    if (algorithm === null) map.delete(key);
    else if (map.has(key) || map.size < MAX_HELD) map.set(key, algorithm);
  };

  return {
    algorithmFor(sessionId, agentId) {
      return (sessionId === null ? undefined : pins.get(`session:${sessionId}`)) ?? (agentId === null ? undefined : pins.get(`agent:${agentId}`)) ?? null;
    },
    apply(listing, full) {
      const items = Array.isArray(listing?.overrides) ? listing.overrides : [];
      const next = full ? new Map() : pins;
      for (const item of items) {
        const subject = subjectOf(item);
        const algorithm = typeof item?.algorithm === "string" && ALGORITHMS.includes(item.algorithm) ? item.algorithm : null;
        if (subject !== null) put(next, subjectKey(subject), algorithm);
      }
      // A change made here while the service was away wins until it is written.
      for (const [key, write] of pending) put(next, key, write.algorithm);
      pins = next;
      if (typeof listing?.version === "number") version = listing.version;
    },
    version: () => version,
    setLocal(subject, algorithm) {
      const key = subjectKey(subject);
      const previous = pins.get(key) ?? null;
      put(pins, key, algorithm);
      return previous;
    },
    queueWrite(subject, algorithm) {
      pending.set(subjectKey(subject), { subject, algorithm });
    },
    pendingWrites: () => [...pending.values()],
    written(subject, algorithm) {
      const key = subjectKey(subject);
      if (pending.get(key)?.algorithm === algorithm) pending.delete(key);
    },
    size: () => pins.size,
  };
}
