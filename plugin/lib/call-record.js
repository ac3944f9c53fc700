// One LLM call's record (SPEC v2 "Usage and prompt-cache figures"): the route when the response
// arrives (remembered at once, so lastRoute sees it), then one push when the stream ends, fails or
// is aborted, with its usage, duration and outcome. The stream itself is never touched: its
// `result()` promise (pi-ai's event stream) tells when and how it ended.
import { attributionParams } from "./attribution.js";
import { pickCaptureHeaders, parseCapture } from "./capture.js";
import { newIdempotencyKey } from "./client.js";
import { errorText } from "./errors.js";
import { boundedIdentity } from "./identity.js";
import { objectOrEmpty } from "./objects.js";
import { reportedCostUsd, usageCounts } from "./usage.js";

// A stream that has not ended this long after its response is recorded with what is known.
export const END_WAIT_MS = 10 * 60 * 1000;

/**
 * The usage fields of a record from a stream's final assistant message and the model it ran on:
 * the counts, the host's reported cost, the cache saving estimated from the model's prices
 * (USD per 1M tokens), and the outcome from `stopReason`.
 * @param {unknown} message  `{usage: {input, output, cacheRead, cacheWrite, cost?}, stopReason}`
 * @param {unknown} model    `{cost: {input, cacheRead, …}}`
 * @returns {{usage?: Record<string, number>, costUsd?: number, cacheSavedUsd?: number, outcome: "ok" | "error" | "aborted"}}
 */
export function usageFieldsFromMessage(message, model) {
  const m = objectOrEmpty(message);
  /** @type {{usage?: Record<string, number>, costUsd?: number, cacheSavedUsd?: number, outcome: "ok" | "error" | "aborted"}} */
  const fields = { outcome: m.stopReason === "aborted" ? "aborted" : m.stopReason === "error" ? "error" : "ok" };
  const usage = usageCounts(m.usage);
  if (usage !== null) fields.usage = usage;
  const costUsd = reportedCostUsd(m.usage);
  if (costUsd !== undefined) fields.costUsd = costUsd;
  const saved = cacheSavedUsd(usage?.cacheRead, model);
  if (saved !== undefined) fields.cacheSavedUsd = saved;
  return fields;
}

/**
 * cacheRead × (input price − cache-read price), prices in USD per 1M tokens, when the model has both.
 * @param {number | undefined} cacheRead
 * @param {unknown} model
 * @returns {number | undefined}
 */
export function cacheSavedUsd(cacheRead, model) {
  const cost = /** @type {any} */ (model)?.cost;
  if (cacheRead === undefined || cost === null || typeof cost !== "object") return undefined;
  const { input, cacheRead: readPrice } = cost;
  if (typeof input !== "number" || typeof readPrice !== "number" || !Number.isFinite(input) || !Number.isFinite(readPrice)) return undefined;
  const saved = (cacheRead * (input - readPrice)) / 1_000_000;
  return Number.isFinite(saved) && saved >= 0 ? saved : undefined;
}

/**
 * @typedef {object} CallFacts
 * @property {() => import("./call-identity.js").CallIdentity | null} identity  read when the record is made (a trace match may come late)
 * @property {string | null} provider
 * @property {string | null} modelId
 * @property {unknown} model  the model the stream ran on, for its prices
 * @property {number} startedAt
 * @property {() => import("./attribution.js").RunAttribution} [attribution]  the run's trigger and channel, read when the record is made
 */

/**
 * @typedef {object} CallRecorder
 * @property {(headers: unknown) => import("./capture.js").CaptureFields | null} onResponse  the response headers (lower-case record); returns the route, if autorouted
 * @property {(returned: unknown) => unknown} watch    the stream function's return value, returned unchanged
 */

/**
 * @param {import("./provider.js").HookDeps} deps
 * @param {CallFacts} facts
 * @returns {CallRecorder}
 */
export function createCallRecorder(deps, facts) {
  /** @type {{capturedAt: number, headers: Record<string, string>} | null} */
  let route = null;
  let pushed = false;
  let endUnobservable = false;
  /** @type {NodeJS.Timeout | null} */
  let endTimer = null;

  /** @param {{usage?: Record<string, number>, costUsd?: number, cacheSavedUsd?: number, outcome?: string}} end */
  const push = (end) => {
    if (pushed) return;
    pushed = true;
    try {
      if (endTimer !== null) clearTimeout(endTimer);
      const identity = facts.identity();
      const client = deps.client();
      if (identity === null || client === null) return;
      if (route === null && end.usage === undefined) return;
      client.record(recordParams(deps, facts, identity, route, end));
    } catch (error) {
      deps.debug(`[taas-affinity] record skipped: ${errorText(error)}`);
    }
  };

  return {
    onResponse(headers) {
      const fields = parseCapture(headers);
      const identity = facts.identity();
      route = { capturedAt: deps.host.now(), headers: pickCaptureHeaders(headers) };
      if (fields !== null && identity !== null) {
        deps.memory.remember({ id: null, sessionId: identity.sessionId, agentId: identity.agentId, capturedAt: route.capturedAt, ...fields });
      }
      if (endUnobservable) push({});
      else {
        endTimer = setTimeout(() => push({}), END_WAIT_MS);
        endTimer.unref();
      }
      return fields;
    },
    watch(returned) {
      try {
        observeEnd(returned, {
          ended: (message) => push({ ...usageFieldsFromMessage(message, facts.model), durationMs: deps.host.now() - facts.startedAt }),
          failed: () => push({ outcome: "error", durationMs: deps.host.now() - facts.startedAt }),
          unobservable: () => {
            endUnobservable = true;
            if (route !== null) push({});
          },
        });
      } catch {
        endUnobservable = true;
      }
      return returned;
    },
  };
}

/**
 * Calls `ended(finalMessage)` when a pi-ai event stream (or a promise of one) ends, `failed` when it
 * or its promise rejects, `unobservable` when it has no `result()`. Never consumes an event.
 * @param {unknown} returned
 * @param {{ended: (message: unknown) => void, failed: () => void, unobservable: () => void}} on
 */
function observeEnd(returned, on) {
  /** @param {any} stream */
  const watchStream = (stream) => {
    if (stream === null || typeof stream !== "object" || typeof stream.result !== "function") return on.unobservable();
    Promise.resolve()
      .then(() => stream.result())
      .then(on.ended, on.failed)
      .catch(() => {});
  };
  const r = /** @type {any} */ (returned);
  if (r !== null && typeof r === "object" && typeof r.then === "function" && typeof r.result !== "function") {
    r.then(watchStream, on.failed).catch(() => {});
  } else {
    watchStream(r);
  }
}

/**
 * @param {import("./provider.js").HookDeps} deps
 * @param {CallFacts} facts
 * @param {import("./call-identity.js").CallIdentity} identity
 * @param {{capturedAt: number, headers: Record<string, string>} | null} route
 * @param {{usage?: Record<string, number>, costUsd?: number, cacheSavedUsd?: number, durationMs?: number, outcome?: string}} end
 * @returns {Record<string, unknown>}
 */
function recordParams(deps, facts, identity, route, end) {
  /** @type {Record<string, unknown>} */
  const params = { sessionId: identity.sessionId };
  if (identity.agentId !== null) params.agentId = identity.agentId;
  params.capturedAt = route?.capturedAt ?? deps.host.now();
  params.headers = route?.headers ?? {};
  if (end.usage !== undefined) params.usage = end.usage;
  const provider = boundedIdentity(facts.provider);
  if (provider !== null) params.provider = provider;
  const requested = provider !== null && facts.modelId !== null ? boundedIdentity(`${provider}/${facts.modelId}`) : null;
  if (requested !== null) params.requestedModel = requested;
  if (end.costUsd !== undefined) params.costUsd = end.costUsd;
  if (end.cacheSavedUsd !== undefined) params.cacheSavedUsd = end.cacheSavedUsd;
  if (end.durationMs !== undefined && end.durationMs >= 0) params.durationMs = Math.min(end.durationMs, 2 ** 31 - 1);
  if (end.outcome !== undefined) params.outcome = end.outcome;
  // Trigger and channel only: the host's model_call_ended (TTFB, failure kind) comes after this
  // record is made, and the record is never held back for it (attribution.js).
  Object.assign(params, attributionParams(facts.attribution?.() ?? {}, null));
  params.idempotencyKey = newIdempotencyKey();
  return params;
}
