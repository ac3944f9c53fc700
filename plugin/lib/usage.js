// Usage records (SPEC v2 "Usage and prompt-cache figures"): one `taas.autorouter.record`
// params object per LLM call, from what the host reports.
import { attributionParams, runAttributionOf } from "./attribution.js";
import { callAgentId } from "./call-identity.js";
import { boundedIdentity } from "./identity.js";
import { objectOrEmpty } from "./objects.js";

/** @param {unknown} v @returns {number | undefined} a token count the service accepts */
function tokenCount(v) {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/** @param {unknown} v @returns {number | undefined} */
function usd(v) {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/**
 * The record's `usage` object from an OpenClaw usage object (`{input, output, cacheRead,
 * cacheWrite, …}`; `input` excludes cached tokens), or null when it has no count at all.
 * @param {unknown} usage
 * @returns {{input?: number, output?: number, cacheRead?: number, cacheWrite?: number} | null}
 */
export function usageCounts(usage) {
  if (usage === null || typeof usage !== "object") return null;
  const u = /** @type {Record<string, unknown>} */ (usage);
  /** @type {Record<string, number>} */
  const counts = {};
  for (const key of ["input", "output", "cacheRead", "cacheWrite"]) {
    const n = tokenCount(u[key]);
    if (n !== undefined) counts[key] = n;
  }
  return Object.keys(counts).length > 0 ? counts : null;
}

/**
 * The cost in USD a host usage object reports (`usage.cost.total`), when it does.
 * @param {unknown} usage
 * @returns {number | undefined}
 */
export function reportedCostUsd(usage) {
  return usd(objectOrEmpty(objectOrEmpty(usage).cost).total);
}

/**
 * The record for one `llm_output` event of a cloudsigma call (alongside mode), or null when
 * it is not one or carries no usage. The session is OpenClaw's native session id: that is
 * what CloudSigma's provider sends TaaS. The host emits `llm_output` once per attempt of a run,
 * with the attempt's usage totals; `callEnd` is what its `model_call_ended` events said
 * (attribution.js), matched by run id.
 * @param {unknown} event  `{runId, sessionId, provider, model, usage?}`
 * @param {unknown} ctx    `{runId, agentId, sessionKey, sessionId, trigger?, channelId?, messageProvider?, …}`
 * @param {{now: number, providerIds: readonly string[], callEnd?: import("./attribution.js").CallEnd | null}} options
 * @returns {Record<string, unknown> | null}
 */
export function usageRecordFromLlmOutput(event, ctx, options) {
  const e = objectOrEmpty(event);
  const c = objectOrEmpty(ctx);
  const provider = boundedIdentity(e.provider) ?? boundedIdentity(c.modelProviderId);
  if (provider === null || !options.providerIds.includes(provider)) return null;
  const sessionId = boundedIdentity(e.sessionId) ?? boundedIdentity(c.sessionId);
  const usage = usageCounts(e.usage);
  if (sessionId === null || usage === null) return null;
  /** @type {Record<string, unknown>} */
  const params = { sessionId };
  const agentId = callAgentId({ agentId: c.agentId, sessionKey: c.sessionKey ?? e.sessionKey });
  if (agentId !== null) params.agentId = agentId;
  params.capturedAt = options.now;
  // No response headers reach this plugin here: an empty set says "not autorouted" (SPEC v2).
  params.headers = {};
  params.usage = usage;
  params.provider = provider;
  const model = boundedIdentity(e.model) ?? boundedIdentity(c.modelId);
  const requestedModel = model === null ? null : boundedIdentity(`${provider}/${model}`);
  if (requestedModel !== null) params.requestedModel = requestedModel;
  const costUsd = reportedCostUsd(e.usage);
  if (costUsd !== undefined) params.costUsd = costUsd;
  params.outcome = "ok";
  Object.assign(params, attributionParams(runAttributionOf(c), options.callEnd ?? null));
  return params;
}
