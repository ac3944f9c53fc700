// Background and simple completions carry no session in their context. The host's
// `model_call_started` hook does (ctx.sessionId, with ctx.trace {traceId, spanId}), and the
// request it starts carries the same trace and span in its W3C `traceparent` header. This map
// joins the two: exact trace + span only, bounded, expiring, and failing closed when one
// trace/span was seen for two different sessions.

export const TRACE_LIMIT = 1024;
export const TRACE_TTL_MS = 30 * 60 * 1000;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * @typedef {object} TraceSession
 * @property {string} nativeSessionId
 * @property {string | null} agentId
 * @property {string | null} [runId]  the host's run of the call (model_call_started `runId`)
 */

/**
 * The trace and parent span of a W3C `traceparent` value, or null when it is not a valid one
 * (https://www.w3.org/TR/trace-context/#traceparent-header).
 * @param {unknown} value
 * @returns {{traceId: string, spanId: string} | null}
 */
export function parseTraceparent(value) {
  if (typeof value !== "string") return null;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (m === null || m[1] === "ff" || /^0+$/.test(m[2]) || /^0+$/.test(m[3])) return null;
  return { traceId: m[2], spanId: m[3] };
}

/**
 * The `traceparent` value among request headers (a plain object, names in any case), or null.
 * @param {unknown} headers
 * @returns {string | null}
 */
export function traceparentOf(headers) {
  if (headers === null || typeof headers !== "object") return null;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === "traceparent" && typeof value === "string") return value;
  }
  return null;
}

/**
 * @typedef {object} TraceSessions
 * @property {(trace: unknown, session: TraceSession) => void} remember  from model_call_started
 * @property {(traceparent: unknown) => TraceSession | null} sessionFor  exact match, else null
 * @property {() => number} size
 */

/**
 * @param {{limit?: number, ttlMs?: number, now?: () => number}} [options]
 * @returns {TraceSessions}
 */
export function createTraceSessions(options = {}) {
  const limit = options.limit ?? TRACE_LIMIT;
  const ttlMs = options.ttlMs ?? TRACE_TTL_MS;
  const now = options.now ?? Date.now;
  /** @type {Map<string, {session: TraceSession | "ambiguous", at: number}>} */
  const entries = new Map();

  return {
    remember(trace, session) {
      const t = /** @type {{traceId?: unknown, spanId?: unknown}} */ (trace ?? {});
      if (typeof t.traceId !== "string" || typeof t.spanId !== "string") return;
      const key = `${t.traceId.toLowerCase()}:${t.spanId.toLowerCase()}`;
      const known = entries.get(key);
      const sameSession = known !== undefined && known.session !== "ambiguous" && known.session.nativeSessionId === session.nativeSessionId;
      const value = known === undefined || sameSession || now() - known.at > ttlMs ? session : "ambiguous";
      entries.delete(key);
      entries.set(key, { session: value, at: now() });
      while (entries.size > limit) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
    sessionFor(traceparent) {
      const parsed = parseTraceparent(traceparent);
      if (parsed === null) return null;
      const entry = entries.get(`${parsed.traceId}:${parsed.spanId}`);
      if (entry === undefined || entry.session === "ambiguous" || now() - entry.at > ttlMs) return null;
      return entry.session;
    },
    size: () => entries.size,
  };
}
