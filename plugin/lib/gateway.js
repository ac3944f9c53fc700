// Gateway methods taas.autorouter.lastRoute / history / stats: validate the selector, forward
// to the taas-capture service, and for lastRoute fall back to the in-memory map.
import path from "node:path";
import { boundedIdentity, deriveSessionIdentity } from "./identity.js";

export const GATEWAY_SCOPE = "operator.read";

/**
 * @typedef {{code: string, message: string}} GatewayError
 * @typedef {(ok: boolean, payload?: unknown, error?: GatewayError) => void} Respond
 * @typedef {{agentId: string} | {sessionId: string}} Selector
 */

const IDENTITY_RULE = "a non-empty string of at most 200 characters without control characters";

/**
 * The selector in `params`: `agentId` > `sessionId` > `localSessionId` / `workspaceDir`
 * (derived as the wrapper does, tiers 1–2). Returns an error message for bad params.
 * @param {unknown} params
 * @param {{required: boolean}} options
 * @returns {{selector: Selector | null} | {error: string}}
 */
export function selectorFrom(params, options) {
  if (params !== undefined && params !== null && (typeof params !== "object" || Array.isArray(params))) {
    return { error: "params must be an object" };
  }
  const p = /** @type {Record<string, unknown>} */ (params ?? {});
  for (const key of ["agentId", "sessionId", "localSessionId"]) {
    if (p[key] !== undefined && boundedIdentity(p[key]) === null) return { error: `${key} must be ${IDENTITY_RULE}` };
  }
  if (p.workspaceDir !== undefined) {
    const dir = boundedIdentity(p.workspaceDir);
    if (dir === null || !path.posix.isAbsolute(dir)) {
      return {
        error:
          "workspaceDir must be an absolute path of at most 200 characters " +
          "(the gateway's working directory is not the agent's)",
      };
    }
  }
  const agentId = boundedIdentity(p.agentId);
  if (agentId !== null) return { selector: { agentId } };
  const sessionId = boundedIdentity(p.sessionId);
  if (sessionId !== null) return { selector: { sessionId } };
  const localSessionId = boundedIdentity(p.localSessionId);
  if (localSessionId !== null || p.workspaceDir !== undefined) {
    const derived = deriveSessionIdentity({
      cwd: "/",
      ...(localSessionId !== null ? { localSessionId } : {}),
      ...(typeof p.workspaceDir === "string" ? { workspaceDir: p.workspaceDir } : {}),
    });
    return { selector: { sessionId: derived.sessionId } };
  }
  if (options.required) {
    return { error: "give one of agentId, sessionId, workspaceDir or localSessionId" };
  }
  return { selector: null };
}

/**
 * @param {Record<string, unknown>} params
 * @param {string[]} keys
 */
function pick(params, keys) {
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const key of keys) if (params[key] !== undefined) out[key] = params[key];
  return out;
}

/**
 * @param {unknown} error
 * @returns {boolean} true when the service answered that the params were bad
 */
function isBadParams(error) {
  const e = /** @type {{kind?: string, code?: number}} */ (error);
  return e?.kind === "rpc" && e.code === -32602;
}

/** @param {unknown} error @returns {string} */
function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * @param {object} deps
 * @param {import("./client.js").CaptureClient | null} deps.client
 * @param {import("./routes.js").RouteMemory} deps.memory
 * @param {string} deps.socketPath
 * @returns {Record<string, (opts: {params?: unknown, respond: Respond}) => Promise<void>>}
 */
export function createGatewayMethods(deps) {
  const { client, memory, socketPath } = deps;

  /** @param {unknown} error @param {string} method */
  const unavailable = (error, method) => ({
    code: "UNAVAILABLE",
    message:
      `taas.autorouter.${method} needs the taas-capture service, which is unreachable at ${socketPath} ` +
      `(${messageOf(error)}); start it with "taas-capture serve"`,
  });

  /**
   * @param {string} method
   * @param {Record<string, unknown>} params
   */
  const forward = (method, params) => {
    if (client === null) {
      return Promise.reject(new Error("this gateway process does not open sockets (registration mode is not full)"));
    }
    return client.call(`taas.autorouter.${method}`, params);
  };

  /** @param {Selector} selector */
  const fromMemory = (selector) => {
    if ("agentId" in selector) {
      const capture = memory.byAgent(selector.agentId);
      return { agentId: selector.agentId, sessionId: capture?.sessionId ?? null, capture, store: "memory" };
    }
    return { sessionId: selector.sessionId, capture: memory.bySession(selector.sessionId), store: "memory" };
  };

  return {
    async lastRoute({ params, respond }) {
      try {
        const parsed = selectorFrom(params, { required: true });
        if ("error" in parsed || parsed.selector === null) {
          respond(false, undefined, { code: "INVALID_REQUEST", message: `taas.autorouter.lastRoute: ${"error" in parsed ? parsed.error : ""}` });
          return;
        }
        try {
          respond(true, await forward("lastRoute", parsed.selector));
        } catch (error) {
          if (isBadParams(error)) {
            respond(false, undefined, { code: "INVALID_REQUEST", message: `taas.autorouter.lastRoute: ${messageOf(error)}` });
            return;
          }
          respond(true, fromMemory(parsed.selector));
        }
      } catch (error) {
        respond(false, undefined, { code: "UNAVAILABLE", message: `taas.autorouter.lastRoute failed: ${messageOf(error)}` });
      }
    },

    async history({ params, respond }) {
      try {
        const parsed = selectorFrom(params, { required: true });
        if ("error" in parsed || parsed.selector === null) {
          respond(false, undefined, { code: "INVALID_REQUEST", message: `taas.autorouter.history: ${"error" in parsed ? parsed.error : ""}` });
          return;
        }
        const extra = pick(/** @type {Record<string, unknown>} */ (params), ["limit", "cursor", "since", "until"]);
        try {
          respond(true, await forward("history", { ...parsed.selector, ...extra }));
        } catch (error) {
          if (isBadParams(error)) {
            respond(false, undefined, { code: "INVALID_REQUEST", message: `taas.autorouter.history: ${messageOf(error)}` });
          } else {
            respond(false, undefined, unavailable(error, "history"));
          }
        }
      } catch (error) {
        respond(false, undefined, { code: "UNAVAILABLE", message: `taas.autorouter.history failed: ${messageOf(error)}` });
      }
    },

    async stats({ params, respond }) {
      try {
        const parsed = selectorFrom(params, { required: false });
        if ("error" in parsed) {
          respond(false, undefined, { code: "INVALID_REQUEST", message: `taas.autorouter.stats: ${parsed.error}` });
          return;
        }
        const extra = pick(/** @type {Record<string, unknown>} */ (params ?? {}), ["since", "until"]);
        try {
          respond(true, await forward("stats", { ...(parsed.selector ?? {}), ...extra }));
        } catch (error) {
          if (isBadParams(error)) {
            respond(false, undefined, { code: "INVALID_REQUEST", message: `taas.autorouter.stats: ${messageOf(error)}` });
          } else {
            respond(false, undefined, unavailable(error, "stats"));
          }
        }
      } catch (error) {
        respond(false, undefined, { code: "UNAVAILABLE", message: `taas.autorouter.stats failed: ${messageOf(error)}` });
      }
    },
  };
}
