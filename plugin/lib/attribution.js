// Attribution (SPEC v3 "Attribution (schema migration 0005)"): what started a call's run and how the
// call's stream began or failed, only as the host tells it (HOST-NOTES-attribution.md).
//
// - `trigger` and `channel` come from the agent hook contexts (`llm_input`, `llm_output`: ctx
//   `trigger`, `channelId`, `messageProvider`). The wrap context, the stream options and the
//   `model_call_*` contexts carry none of them.
// - `timeToFirstByteMs` and `failureKind` come from `model_call_ended`, which the host emits when
//   the consumer has finished iterating the call's stream: after its final message, so after the
//   provider path has already made its record. Only the llm_output record (which comes at the end of
//   the attempt) can carry them.
//
// Runs are matched by the host's `runId`, kept in bounded, expiring maps; a value the service would
// refuse (not a bounded identity, a TTFB out of range) is left out, never repaired.
import { boundedIdentity } from "./identity.js";
import { objectOrEmpty } from "./objects.js";

export const RUN_LIMIT = 1024;
export const RUN_TTL_MS = 30 * 60 * 1000;
export const MAX_TTFB_MS = 2 ** 31 - 1;

/**
 * @typedef {object} RunAttribution
 * @property {string} [trigger]  what started the run, as the host names it
 * @property {string} [channel]  the host's `channelId`, else its `messageProvider`
 */

/**
 * @typedef {object} CallEnd
 * @property {number} [timeToFirstByteMs]  of the first of the run's calls that reported one
 * @property {"completed" | "error" | null} lastOutcome  of the run's last call to end
 * @property {string} [lastFailureKind]  of that call, when its outcome is `error`
 */

/**
 * The run attribution an agent hook context carries (`PluginHookAgentContext`): `trigger`, and
 * `channelId` else `messageProvider`; each only when a bounded identity.
 * @param {unknown} ctx
 * @returns {RunAttribution}
 */
export function runAttributionOf(ctx) {
  const c = objectOrEmpty(ctx);
  /** @type {RunAttribution} */
  const out = {};
  const trigger = boundedIdentity(c.trigger);
  if (trigger !== null) out.trigger = trigger;
  const channel = boundedIdentity(c.channelId) ?? boundedIdentity(c.messageProvider);
  if (channel !== null) out.channel = channel;
  return out;
}

/**
 * A time to first byte the service accepts (an integer 0…2^31−1), else undefined.
 * @param {unknown} value
 * @returns {number | undefined}
 */
export function timeToFirstByteMs(value) {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= MAX_TTFB_MS ? value : undefined;
}

/**
 * The run's calls so far with one more `model_call_ended` event folded in.
 * @param {CallEnd | undefined} known
 * @param {unknown} event  `{outcome: "completed" | "error", timeToFirstByteMs?, failureKind?, …}`
 * @returns {CallEnd}
 */
export function withCallEnd(known, event) {
  const e = objectOrEmpty(event);
  const outcome = e.outcome === "completed" || e.outcome === "error" ? e.outcome : null;
  /** @type {CallEnd} */
  const next = { lastOutcome: outcome };
  const ttfb = known?.timeToFirstByteMs ?? timeToFirstByteMs(e.timeToFirstByteMs);
  if (ttfb !== undefined) next.timeToFirstByteMs = ttfb;
  const failureKind = outcome === "error" ? boundedIdentity(e.failureKind) : null;
  if (failureKind !== null) next.lastFailureKind = failureKind;
  return next;
}

/**
 * The record fields of a run's attribution and its calls' ends: `trigger`, `channel`,
 * `timeToFirstByteMs`, and `outcome: "error"` with `failureKind` when the run's last call ended
 * with outcome `error`. Nothing the host did not give.
 * @param {RunAttribution} run
 * @param {CallEnd | null} end
 * @returns {Record<string, string | number>}
 */
export function attributionParams(run, end) {
  /** @type {Record<string, string | number>} */
  const params = {};
  if (run.trigger !== undefined) params.trigger = run.trigger;
  if (run.channel !== undefined) params.channel = run.channel;
  if (end?.timeToFirstByteMs !== undefined) params.timeToFirstByteMs = end.timeToFirstByteMs;
  if (end?.lastOutcome === "error") {
    params.outcome = "error";
    if (end.lastFailureKind !== undefined) params.failureKind = end.lastFailureKind;
  }
  return params;
}

/**
 * @template T
 * @typedef {object} RunMemory
 * @property {(runId: unknown, update: (known: T | undefined) => T) => void} update  keyed by a bounded run id; else ignored
 * @property {(runId: unknown) => T | null} get   unexpired value, else null
 * @property {(runId: unknown) => T | null} take  as get, and forgets it
 * @property {() => number} size
 */

/**
 * A bounded map from the host's run ids, oldest dropped first past `limit`, entries expiring
 * `ttlMs` after their last update.
 * @template T
 * @param {{limit?: number, ttlMs?: number, now?: () => number}} [options]
 * @returns {RunMemory<T>}
 */
export function createRunMemory(options = {}) {
  const limit = options.limit ?? RUN_LIMIT;
  const ttlMs = options.ttlMs ?? RUN_TTL_MS;
  const now = options.now ?? Date.now;
  /** @type {Map<string, {value: T, at: number}>} */
  const entries = new Map();

  /** @param {unknown} runId @returns {{key: string, value: T} | null} */
  const live = (runId) => {
    const key = boundedIdentity(runId);
    if (key === null) return null;
    const entry = entries.get(key);
    if (entry === undefined) return null;
    if (now() - entry.at > ttlMs) {
      entries.delete(key);
      return null;
    }
    return { key, value: entry.value };
  };

  return {
    update(runId, update) {
      const key = boundedIdentity(runId);
      if (key === null) return;
      const value = update(live(key)?.value);
      entries.delete(key);
      entries.set(key, { value, at: now() });
      while (entries.size > limit) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
    get: (runId) => live(runId)?.value ?? null,
    take(runId) {
      const found = live(runId);
      if (found === null) return null;
      entries.delete(found.key);
      return found.value;
    },
    size: () => entries.size,
  };
}
