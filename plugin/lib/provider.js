// The provider hooks for cloudsigma / cloudsigma-staging: identity, metadata and headers on the
// way out, the route capture on the way back. Nothing here may delay or fail the LLM call:
// every step is wrapped, and the capture is handed to the client without being awaited.
import path from "node:path";
import { parseCapture, pickCaptureHeaders } from "./capture.js";
import { newIdempotencyKey } from "./client.js";
import {
  agentIdFor,
  boundedIdentity,
  deriveSessionIdentity,
  hostId,
  sessionInputFromEnvironment,
  sha16,
} from "./identity.js";
import {
  buildCorrelationHeaders,
  mergeHeadersNoOverwrite,
  patchPayloadMetadata,
} from "./metadata.js";

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
 * @property {import("./client.js").CaptureClient | null} client  null when sockets may not be opened
 * @property {(workspaceDir: string) => Promise<import("./git.js").GitHints>} gitHints
 * @property {string} pluginVersion
 * @property {(message: string) => void} debug  no-op unless OPENCLAW_DEBUG is set
 */

/**
 * @typedef {object} CallIdentity
 * @property {string} sessionId
 * @property {string} source
 * @property {string} sessionSourceHint
 * @property {string | null} agentId
 * @property {string | null} workspaceDir
 */

/** @param {unknown} v @returns {Record<string, any>} */
function record(v) {
  return v !== null && typeof v === "object" ? /** @type {Record<string, any>} */ (v) : {};
}

/** @param {unknown} v @returns {string | null} */
function nonEmpty(v) {
  return typeof v === "string" && v.trim() !== "" ? v : null;
}

/** A session id safe for logs. @param {string} sessionId */
function identityRef(sessionId) {
  return `session:${sha16(sessionId)}`;
}

/**
 * @param {HookDeps} deps
 */
export function createProviderHooks(deps) {
  const { host, memory, client, gitHints, pluginVersion, debug } = deps;

  /**
   * The identity of one call: OpenClaw's native session id (options first, then the hook
   * context) and the workspace, then the environment tiers.
   * @param {Record<string, any>} ctx
   * @param {Record<string, any>} options
   * @returns {CallIdentity}
   */
  function callIdentity(ctx, options) {
    const nativeSessionId = boundedIdentity(options.sessionId) ?? boundedIdentity(ctx.sessionId);
    const workspaceDir = nonEmpty(ctx.workspaceDir);
    const input = sessionInputFromEnvironment(
      { localSessionId: nativeSessionId ?? undefined, workspaceDir: workspaceDir ?? undefined },
      { env: host.env(), home: host.home(), cwd: host.cwd() },
    );
    const identity = deriveSessionIdentity(input);
    const agentId =
      agentIdFor({
        sessionKey: ctx.sessionKey ?? options.sessionKey ?? nativeSessionId,
        agentDir: ctx.agentDir,
        workspaceDir,
      }) ?? boundedIdentity(ctx.agentId);
    return { ...identity, agentId, workspaceDir };
  }

  /**
   * @param {CallIdentity} identity
   * @param {Record<string, any>} ctx
   * @param {unknown} model
   * @returns {Promise<import("./metadata.js").RequestContext>}
   */
  async function requestContext(identity, ctx, model) {
    const m = record(model);
    /** @type {import("./metadata.js").RequestContext} */
    const context = {
      sessionId: identity.sessionId,
      sessionSourceHint: identity.sessionSourceHint,
      requesterHostId: hostId(host.hostname()),
      agentId: identity.agentId,
      provider: ctx.provider ?? m.provider,
      modelId: ctx.modelId ?? record(ctx.model).id ?? m.id,
      pluginVersion,
    };
    if (identity.workspaceDir !== null) {
      const hints = await gitHints(path.resolve(host.cwd(), identity.workspaceDir));
      Object.assign(context, hints);
    }
    return context;
  }

  /**
   * Remember and push the route when the response says it was autorouted.
   * @param {CallIdentity} identity
   * @param {unknown} response
   */
  function captureResponse(identity, response) {
    const headers = record(response).headers;
    const fields = parseCapture(headers);
    if (fields === null) return;
    const capturedAt = host.now();
    memory.remember({ id: null, sessionId: identity.sessionId, agentId: identity.agentId, capturedAt, ...fields });
    if (client !== null) {
      /** @type {Record<string, unknown>} */
      const params = { sessionId: identity.sessionId };
      if (identity.agentId !== null) params.agentId = identity.agentId;
      params.capturedAt = capturedAt;
      params.headers = pickCaptureHeaders(headers);
      params.idempotencyKey = newIdempotencyKey();
      client.record(params);
    }
    debug(
      `[taas-affinity] captured autorouter identityRef=${identityRef(identity.sessionId)} ` +
        `model=${fields.autorouterModel} algo=${fields.autorouterAlgo} source=${fields.autorouterAlgoSource} ` +
        `thinking=${fields.thinkingApplied} ctxWindow=${fields.routedContextWindow}` +
        (client === null ? "" : ` client=${JSON.stringify(client.counters())}`),
    );
  }

  /**
   * The stream options with affinity headers and the payload/response callbacks chained in.
   * @param {Record<string, any>} ctx
   * @param {unknown} model
   * @param {Record<string, any>} options
   */
  function prepareOptions(ctx, model, options) {
    const identity = callIdentity(ctx, options);
    debug(`[taas-affinity] stream identityRef=${identityRef(identity.sessionId)} source=${identity.source}`);
    const headers = mergeHeadersNoOverwrite(
      options.headers,
      buildCorrelationHeaders({ sessionId: identity.sessionId, agentId: identity.agentId }),
    );
    const previousOnPayload = options.onPayload;
    const previousOnResponse = options.onResponse;

    /** @param {unknown} payload @param {unknown} payloadModel */
    const onPayload = async (payload, payloadModel) => {
      let patched = payload;
      try {
        patched = patchPayloadMetadata(payload, await requestContext(identity, ctx, payloadModel ?? model));
      } catch (error) {
        debug(`[taas-affinity] payload patch skipped: ${error instanceof Error ? error.message : error}`);
      }
      if (typeof previousOnPayload !== "function") return patched;
      const replaced = await previousOnPayload(patched, payloadModel);
      return replaced === undefined ? patched : replaced;
    };

    /** @param {unknown} response @param {unknown} responseModel */
    const onResponse = async (response, responseModel) => {
      try {
        captureResponse(identity, response);
      } catch (error) {
        debug(`[taas-affinity] capture skipped: ${error instanceof Error ? error.message : error}`);
      }
      if (typeof previousOnResponse === "function") await previousOnResponse(response, responseModel);
    };

    return { ...options, headers, onPayload, onResponse };
  }

  /**
   * `wrapStreamFn` / `wrapSimpleCompletionStreamFn`: the inner stream function with affinity
   * options; when preparing them fails, the inner function gets the caller's options as-is.
   * @param {Record<string, any>} ctx  ProviderWrapStreamFnContext
   */
  function wrapStreamFn(ctx) {
    const inner = record(ctx).streamFn;
    if (typeof inner !== "function") return undefined;
    /** @param {unknown} model @param {unknown} context @param {unknown} options */
    return function taasAffinityStreamFn(model, context, options) {
      let next = options;
      try {
        next = prepareOptions(record(ctx), model, record(options));
      } catch (error) {
        debug(`[taas-affinity] affinity skipped: ${error instanceof Error ? error.message : error}`);
      }
      return inner(model, context, next);
    };
  }

  /**
   * `resolveTransportTurnState`: correlation headers for one turn. Session headers only when
   * the turn carries a native session id or a workspace (tiers 1–2), so they can never
   * disagree with the ids `wrapStreamFn` put in the payload.
   * @param {Record<string, any>} ctx  ProviderResolveTransportTurnStateContext
   * @returns {{headers: Record<string, string>} | null}
   */
  function resolveTransportTurnState(ctx) {
    try {
      const c = record(ctx);
      const nativeSessionId = boundedIdentity(c.sessionId);
      const workspaceDir = nonEmpty(c.workspaceDir);
      /** @type {Partial<import("./metadata.js").RequestContext>} */
      const context = { turnId: c.turnId, attempt: c.attempt };
      if (nativeSessionId !== null || workspaceDir !== null) {
        const input = sessionInputFromEnvironment(
          { localSessionId: nativeSessionId ?? undefined, workspaceDir: workspaceDir ?? undefined },
          { env: host.env(), home: host.home(), cwd: host.cwd() },
        );
        context.sessionId = deriveSessionIdentity(input).sessionId;
      }
      context.agentId =
        agentIdFor({ sessionKey: c.sessionKey ?? nativeSessionId, agentDir: c.agentDir, workspaceDir }) ??
        boundedIdentity(c.agentId);
      const headers = buildCorrelationHeaders(context);
      debug(
        `[taas-affinity] resolveTransportTurnState ` +
          `identityRef=${context.sessionId ? identityRef(context.sessionId) : "none"} attempt=${c.attempt}`,
      );
      return Object.keys(headers).length > 0 ? { headers } : null;
    } catch (error) {
      debug(`[taas-affinity] turn state skipped: ${error instanceof Error ? error.message : error}`);
      return null;
    }
  }

  return { wrapStreamFn, resolveTransportTurnState, callIdentity };
}
