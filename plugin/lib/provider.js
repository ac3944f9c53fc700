// The provider hooks for cloudsigma / cloudsigma-staging (standalone mode): identity, metadata,
// headers and a pinned algorithm on the way out; the route, usage and outcome on the way back
// (call-record.js). Nothing here may delay or fail the LLM call: every step is wrapped, and the
// record is handed to the client without being awaited.
import path from "node:path";
import { callIdentity } from "./call-identity.js";
import { createCallRecorder } from "./call-record.js";
import { errorText } from "./errors.js";
import { boundedIdentity, hostId, sha16 } from "./identity.js";
import { buildCorrelationHeaders, mergeHeadersNoOverwrite, patchPayloadMetadata } from "./metadata.js";
import { objectOrEmpty } from "./objects.js";
import { ALGORITHM_HEADER } from "./overrides.js";
import { traceparentOf } from "./trace-sessions.js";

export const PLUGIN_VERSION_HEADER = "X-OpenClaw-Plugin-Version";

/**
 * What the hooks read from the machine, at call time (injectable for tests).
 * @typedef {object} Host
 * @property {() => Record<string, string | undefined>} env
 * @property {() => string} hostname
 * @property {() => string} home
 * @property {() => string} cwd
 * @property {() => number} now
 */

/**
 * @typedef {object} HookDeps
 * @property {Host} host
 * @property {import("./routes.js").RouteMemory} memory
 * @property {() => import("./client.js").CaptureClient | null} client  null when sockets may not be opened
 * @property {(workspaceDir: string) => Promise<import("./git.js").GitHints>} gitHints
 * @property {string} pluginVersion
 * @property {import("./call-identity.js").SessionIdentityMode} sessionIdentity
 * @property {import("./trace-sessions.js").TraceSessions} traces
 * @property {import("./overrides.js").OverrideMemory} overrides
 * @property {(traceparent: string | null) => import("./attribution.js").RunAttribution} [runAttribution]
 *   the trigger and channel of the run a call's `traceparent` belongs to (model_call_started, then llm_input), else {}
 * @property {() => void} onStream  called on every stream call (starts the override sync lazily)
 * @property {(message: string) => void} debug  no-op unless OPENCLAW_DEBUG is set
 */

/** "agent": wrapStreamFn (agent and tool runs); "simple": wrapSimpleCompletionStreamFn. @typedef {"agent" | "simple"} StreamKind */

/** A session id safe for logs. @param {string} sessionId */
export function identityRef(sessionId) {
  return `session:${sha16(sessionId)}`;
}

/**
 * The three provider hooks.
 * @param {HookDeps} deps
 */
export function providerHooks(deps) {
  return {
    wrapStreamFn: wrapStreamWith(deps, "agent"),
    wrapSimpleCompletionStreamFn: wrapStreamWith(deps, "simple"),
    resolveTransportTurnState: (/** @type {unknown} */ ctx) => turnState(deps, ctx),
  };
}

/**
 * A `wrapStreamFn`-shaped hook: the inner stream function with affinity options; when
 * preparing them fails, the inner function gets the caller's options as they were.
 * @param {HookDeps} deps
 * @param {StreamKind} kind
 */
function wrapStreamWith(deps, kind) {
  /** @param {unknown} ctx  ProviderWrapStreamFnContext */
  return (ctx) => {
    const inner = objectOrEmpty(ctx).streamFn;
    if (typeof inner !== "function") return undefined;
    /** @param {unknown} model @param {unknown} context @param {unknown} options */
    return function taasAffinityStreamFn(model, context, options) {
      let next = options;
      /** @type {import("./call-record.js").CallRecorder | null} */
      let recorder = null;
      try {
        deps.onStream();
        ({ options: next, recorder } = affinityOptions(deps, objectOrEmpty(ctx), model, objectOrEmpty(options), kind));
      } catch (error) {
        deps.debug(`[taas-affinity] affinity skipped: ${errorText(error)}`);
      }
      const returned = inner(model, context, next);
      return recorder === null ? returned : recorder.watch(returned);
    };
  };
}

/**
 * The identity of a stream call from what the host passes: `options.sessionId` and the wrap
 * context's `agentId` / `agentDir` / `workspaceDir` (the context has no session id or key).
 * @param {HookDeps} deps
 * @param {Record<string, any>} ctx
 * @param {Record<string, any>} options
 * @param {StreamKind} kind
 */
function streamIdentity(deps, ctx, options, kind) {
  return callIdentity(
    { nativeSessionId: options.sessionId, workspaceDir: ctx.workspaceDir, agentDir: ctx.agentDir, agentId: ctx.agentId },
    deps.host,
    { mode: deps.sessionIdentity, environmentTiers: kind === "agent" },
  );
}

/**
 * The headers the plugin adds for an identity (none of them replace a caller's): correlation, the
 * plugin version, and the pinned algorithm of the session (else of its agent), read from memory.
 * @param {HookDeps} deps
 * @param {import("./call-identity.js").CallIdentity | null} identity
 * @returns {Record<string, string>}
 */
function addedHeaders(deps, identity) {
  const headers = identity === null ? {} : buildCorrelationHeaders({ sessionId: identity.sessionId, agentId: identity.agentId });
  headers[PLUGIN_VERSION_HEADER] = deps.pluginVersion;
  const algorithm = identity === null ? null : deps.overrides.algorithmFor(identity.sessionId, identity.agentId);
  if (algorithm !== null) headers[ALGORITHM_HEADER] = algorithm;
  return headers;
}

/**
 * The stream options with affinity headers and the payload/response callbacks chained in, and the
 * recorder that pushes the call's record when the stream ends.
 * @param {HookDeps} deps
 * @param {Record<string, any>} ctx
 * @param {unknown} model
 * @param {Record<string, any>} options
 * @param {StreamKind} kind
 * @returns {{options: Record<string, any>, recorder: import("./call-record.js").CallRecorder}}
 */
function affinityOptions(deps, ctx, model, options, kind) {
  /** @type {{identity: import("./call-identity.js").CallIdentity | null}} */
  const call = { identity: streamIdentity(deps, ctx, options, kind) };
  const m = objectOrEmpty(model);
  // The host's model-call wrapper sets this call's own trace/span before ours runs; its run is
  // known once model_call_started has fired, long before the record is made.
  const traceparent = traceparentOf(options.headers);
  const recorder = createCallRecorder(deps, {
    identity: () => call.identity,
    provider: ctx.provider ?? m.provider ?? null,
    modelId: ctx.modelId ?? m.id ?? null,
    model,
    startedAt: deps.host.now(),
    attribution: () => deps.runAttribution?.(traceparent) ?? {},
  });
  deps.debug(
    `[taas-affinity] stream kind=${kind} ` +
      (call.identity === null ? "identity=pending-trace" : `identityRef=${identityRef(call.identity.sessionId)} source=${call.identity.source}`),
  );
  const headers = mergeHeadersNoOverwrite(options.headers, addedHeaders(deps, call.identity));
  const previousOnPayload = options.onPayload;
  const previousOnResponse = options.onResponse;

  /** @param {unknown} payload @param {unknown} payloadModel */
  const onPayload = async (payload, payloadModel) => {
    let patched = payload;
    try {
      if (call.identity === null) call.identity = await traceIdentity(deps, ctx, headers);
      if (call.identity !== null) {
        patched = patchPayloadMetadata(payload, await requestContext(deps, call.identity, ctx, payloadModel ?? model));
      }
    } catch (error) {
      deps.debug(`[taas-affinity] payload patch skipped: ${errorText(error)}`);
    }
    if (typeof previousOnPayload !== "function") return patched;
    const replaced = await previousOnPayload(patched, payloadModel);
    return replaced === undefined ? patched : replaced;
  };

  /** @param {unknown} response @param {unknown} responseModel */
  const onResponse = async (response, responseModel) => {
    try {
      debugRoute(deps, call.identity, recorder.onResponse(objectOrEmpty(response).headers));
    } catch (error) {
      deps.debug(`[taas-affinity] capture skipped: ${errorText(error)}`);
    }
    if (typeof previousOnResponse === "function") await previousOnResponse(response, responseModel);
  };

  return { options: { ...options, headers, onPayload, onResponse }, recorder };
}

/**
 * A simple completion's identity from the `model_call_started` trace map: an exact match of
 * its `traceparent`, looked up after one microtask (the hook may fire just after the stream
 * starts). When found, its headers are added to this call's own header object, in case the
 * transport reads headers after the payload. Null when nothing matches exactly.
 * @param {HookDeps} deps
 * @param {Record<string, any>} ctx
 * @param {Record<string, unknown>} headers  the object this call's options carry
 */
async function traceIdentity(deps, ctx, headers) {
  await Promise.resolve();
  const session = deps.traces.sessionFor(traceparentOf(headers));
  if (session === null) {
    deps.debug("[taas-affinity] simple completion without a session or an exact trace match: no affinity id sent");
    return null;
  }
  const identity = callIdentity(
    { nativeSessionId: session.nativeSessionId, agentId: session.agentId ?? ctx.agentId },
    deps.host,
    { mode: deps.sessionIdentity, environmentTiers: false },
  );
  if (identity !== null) Object.assign(headers, mergeHeadersNoOverwrite(headers, addedHeaders(deps, identity)));
  return identity;
}

/**
 * @param {HookDeps} deps
 * @param {import("./call-identity.js").CallIdentity} identity
 * @param {Record<string, any>} ctx
 * @param {unknown} model
 * @returns {Promise<import("./metadata.js").RequestContext>}
 */
async function requestContext(deps, identity, ctx, model) {
  const m = objectOrEmpty(model);
  /** @type {import("./metadata.js").RequestContext} */
  const context = {
    sessionId: identity.sessionId,
    sessionSourceHint: identity.sessionSourceHint,
    requesterHostId: hostId(deps.host.hostname()),
    agentId: identity.agentId,
    provider: ctx.provider ?? m.provider,
    modelId: ctx.modelId ?? objectOrEmpty(ctx.model).id ?? m.id,
    pluginVersion: deps.pluginVersion,
  };
  if (identity.workspaceDir !== null) {
    Object.assign(context, await deps.gitHints(path.resolve(deps.host.cwd(), identity.workspaceDir)));
  }
  return context;
}

/**
 * One debug line per autorouted response (session ids only hashed).
 * @param {HookDeps} deps
 * @param {import("./call-identity.js").CallIdentity | null} identity
 * @param {import("./capture.js").CaptureFields | null} fields
 */
function debugRoute(deps, identity, fields) {
  if (fields === null || identity === null) return;
  const client = deps.client();
  deps.debug(
    `[taas-affinity] captured autorouter identityRef=${identityRef(identity.sessionId)} ` +
      `model=${fields.autorouterModel} algo=${fields.autorouterAlgo} source=${fields.autorouterAlgoSource} ` +
      `thinking=${fields.thinkingApplied} ctxWindow=${fields.routedContextWindow}` +
      (client === null ? "" : ` client=${JSON.stringify(client.counters())}`),
  );
}

/**
 * `resolveTransportTurnState`: correlation headers for one turn. Its context is
 * `{provider, modelId, model, sessionId, turnId, attempt, transport}`: session headers come
 * from `sessionId` (tier 1, the same derivation as the stream's), none without it.
 * @param {HookDeps} deps
 * @param {unknown} ctx
 * @returns {{headers: Record<string, string>} | null}
 */
function turnState(deps, ctx) {
  try {
    const c = objectOrEmpty(ctx);
    const identity = callIdentity({ nativeSessionId: c.sessionId }, deps.host, {
      mode: deps.sessionIdentity,
      environmentTiers: false,
    });
    const headers = buildCorrelationHeaders({ sessionId: identity?.sessionId, turnId: c.turnId, attempt: c.attempt });
    deps.debug(
      `[taas-affinity] resolveTransportTurnState identityRef=${identity ? identityRef(identity.sessionId) : "none"} ` +
        `attempt=${boundedIdentity(String(c.attempt))}`,
    );
    return Object.keys(headers).length > 0 ? { headers } : null;
  } catch (error) {
    deps.debug(`[taas-affinity] turn state skipped: ${errorText(error)}`);
    return null;
  }
}
