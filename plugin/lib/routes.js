// The in-memory latest route per affinity session and per agent (the original plugin's map),
// kept so lastRoute can answer while the taas-capture service is away. Bounded, LRU.

export const SESSION_LIMIT = 256;
export const AGENT_LIMIT = 256;

/**
 * A capture in the wire shape of the service; `id` is null until the service stores it.
 * @typedef {import("./capture.js").CaptureFields & {
 *   id: number | null, sessionId: string, agentId: string | null, capturedAt: number
 * }} Capture
 */

/**
 * @typedef {object} RouteMemory
 * @property {(capture: Capture) => void} remember
 * @property {(sessionId: string) => Capture | null} bySession
 * @property {(agentId: string) => Capture | null} byAgent
 * @property {() => {sessions: number, agents: number}} size
 * @property {() => {sessions: Capture[], agents: Capture[]}} recent  every entry, most recently used first; reading does not reorder
 */

/**
 * @param {Map<string, Capture>} map
 * @param {string} key
 * @param {Capture} value
 * @param {number} limit
 */
function setLru(map, key, value, limit) {
  map.delete(key);
  map.set(key, value);
  while (map.size > limit) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
}

/**
 * @param {Map<string, Capture>} map
 * @param {string} key
 * @returns {Capture | null}
 */
function getLru(map, key) {
  const value = map.get(key);
  if (value === undefined) return null;
  map.delete(key);
  map.set(key, value);
  return value;
}

/**
 * @param {{sessionLimit?: number, agentLimit?: number}} [options]
 * @returns {RouteMemory}
 */
export function createRouteMemory(options = {}) {
  const sessionLimit = options.sessionLimit ?? SESSION_LIMIT;
  const agentLimit = options.agentLimit ?? AGENT_LIMIT;
  /** @type {Map<string, Capture>} */
  const sessions = new Map();
  /** @type {Map<string, Capture>} */
  const agents = new Map();
  return {
    remember(capture) {
      setLru(sessions, capture.sessionId, capture, sessionLimit);
      if (capture.agentId) setLru(agents, capture.agentId, capture, agentLimit);
    },
    bySession: (sessionId) => getLru(sessions, sessionId),
    byAgent: (agentId) => getLru(agents, agentId),
    size: () => ({ sessions: sessions.size, agents: agents.size }),
    recent: () => ({ sessions: [...sessions.values()].reverse(), agents: [...agents.values()].reverse() }),
  };
}
