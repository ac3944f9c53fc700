// The host hooks that say which run a call belongs to and what that run was, for the records'
// attribution (attribution.js) and for the background completions' sessions (trace-sessions.js).
// Each is fire-and-forget on the host's side and must never throw into it.
import { runAttributionOf, withCallEnd } from "./attribution.js";
import { boundedIdentity } from "./identity.js";

/**
 * model_call_started: remember which native session (and run) a trace/span belongs to.
 * @param {import("./trace-sessions.js").TraceSessions} traces
 * @param {readonly string[]} providerIds
 * @param {any} event
 * @param {any} ctx
 */
export function rememberTrace(traces, providerIds, event, ctx) {
  try {
    const nativeSessionId = boundedIdentity(ctx?.sessionId) ?? boundedIdentity(event?.sessionId);
    if (!isProviderCall(providerIds, event, ctx) || nativeSessionId === null) return;
    const runId = boundedIdentity(ctx?.runId) ?? boundedIdentity(event?.runId);
    traces.remember(ctx?.trace, { nativeSessionId, agentId: boundedIdentity(ctx?.agentId), runId });
  } catch {
    // A hook must never throw into the host.
  }
}

/**
 * Whether a hook's event or context names one of `providerIds`.
 * @param {readonly string[]} providerIds
 * @param {unknown} event
 * @param {unknown} ctx
 */
export function isProviderCall(providerIds, event, ctx) {
  const provider = boundedIdentity(/** @type {any} */ (event)?.provider) ?? boundedIdentity(/** @type {any} */ (ctx)?.modelProviderId);
  return provider !== null && providerIds.includes(provider);
}

/**
 * llm_input (standalone, with conversation access): the run's trigger and channel, by run id. The
 * host emits it before the run's first model call.
 * @param {import("./attribution.js").RunMemory<import("./attribution.js").RunAttribution>} runs
 * @param {readonly string[]} providerIds
 * @param {unknown} event  `{runId, provider, …}`
 * @param {unknown} ctx    `{runId, trigger?, channelId?, messageProvider?, …}`
 */
export function rememberRun(runs, providerIds, event, ctx) {
  try {
    if (!isProviderCall(providerIds, event, ctx)) return;
    const attribution = runAttributionOf(ctx);
    if (Object.keys(attribution).length === 0) return;
    runs.update(/** @type {any} */ (ctx)?.runId ?? /** @type {any} */ (event)?.runId, () => attribution);
  } catch {
    // A hook must never throw into the host.
  }
}

/**
 * The trigger and channel of the run a call's `traceparent` belongs to: an exact trace match
 * (model_call_started) gives the run id, llm_input gave its attribution. Else nothing.
 * @param {import("./trace-sessions.js").TraceSessions} traces
 * @param {import("./attribution.js").RunMemory<import("./attribution.js").RunAttribution>} runs
 * @param {string | null} traceparent
 * @returns {import("./attribution.js").RunAttribution}
 */
export function runAttributionFor(traces, runs, traceparent) {
  const runId = traces.sessionFor(traceparent)?.runId;
  return (runId ? runs.get(runId) : null) ?? {};
}

/**
 * model_call_ended (alongside): the run's time to first byte and last outcome, by run id, for the
 * llm_output record that ends the attempt.
 * @param {import("./attribution.js").RunMemory<import("./attribution.js").CallEnd>} callEnds
 * @param {readonly string[]} providerIds
 * @param {unknown} event  `{runId, provider, outcome, timeToFirstByteMs?, failureKind?, …}`
 * @param {unknown} ctx    `{runId, modelProviderId, …}`
 */
export function rememberCallEnd(callEnds, providerIds, event, ctx) {
  try {
    if (!isProviderCall(providerIds, event, ctx)) return;
    callEnds.update(/** @type {any} */ (event)?.runId ?? /** @type {any} */ (ctx)?.runId, (known) => withCallEnd(known, event));
  } catch {
    // A hook must never throw into the host.
  }
}
