// Gateway methods: validate the params, forward to the taas-capture service, and for lastRoute
// merge the in-memory routes (the newer of memory and service wins). One table says which
// method takes what; one function builds every handler from it.
import path from "node:path";
import { errorText, isUnknownMethod, refusalText } from "./errors.js";
import { selectorSessionId } from "./call-identity.js";
import { boundedIdentity } from "./identity.js";
import { isPlainObject } from "./objects.js";
import { budgetFrom } from "./budgets.js";
import { ALGORITHMS } from "./overrides.js";

export const READ_SCOPE = "operator.read";
export const WRITE_SCOPE = "operator.write";

/**
 * @typedef {{code: string, message: string}} GatewayError
 * @typedef {(ok: boolean, payload?: unknown, error?: GatewayError) => void} Respond
 * @typedef {{agentId: string} | {sessionId: string}} Selector
 * @typedef {(opts: {params?: unknown, respond: Respond}) => Promise<void>} GatewayHandler
 * @typedef {{name: string, handler: GatewayHandler, scope: string}} GatewayMethod
 */

/**
 * @typedef {object} MethodSpec
 * @property {string} serviceMethod   what is asked of taas-capture
 * @property {"required" | "optional" | "none"} selector
 * @property {string[]} extra         params passed through as given (the service validates them)
 * @property {boolean} [memoryFallback]  lastRoute: merge and fall back to the in-memory routes
 * @property {(params: Record<string, unknown>) => {params: Record<string, unknown>} | {error: string}} [parse]
 *   the service params from the caller's, checked here, in place of `selector` and `extra`
 * @property {string} [scope]  the gateway scope; `operator.read` when absent
 * @property {boolean} [captureOnly]  registered only as `taas.capture.<name>` (no `taas.autorouter.` twin)
 */

/** @type {Record<"lastRoute" | "history" | "stats" | "algorithms" | "budgets" | "setBudget", MethodSpec>} */
export const METHOD_SPECS = {
  lastRoute: { serviceMethod: "taas.autorouter.lastRoute", selector: "required", extra: [], memoryFallback: true },
  history: { serviceMethod: "taas.autorouter.history", selector: "required", extra: ["limit", "cursor", "since", "until"] },
  stats: { serviceMethod: "taas.autorouter.stats", selector: "optional", extra: ["since", "until", "groupBy", "limit"] },
  algorithms: { serviceMethod: "taas.autorouter.algorithms", selector: "none", extra: ["sinceVersion"], captureOnly: true },
  budgets: { serviceMethod: "taas.capture.budgets", selector: "none", extra: [], captureOnly: true },
  setBudget: { serviceMethod: "taas.capture.setBudget", selector: "none", extra: [], parse: (p) => budgetFrom(p), scope: WRITE_SCOPE, captureOnly: true },
};

const IDENTITY_RULE = "a non-empty string of at most 200 characters without control characters";

/**
 * The selector in `params`: `agentId` > `sessionId` > `localSessionId` / `workspaceDir`
 * (resolved to the id the provider path sends for that conversation, tiers 1–2: in "native"
 * mode a `localSessionId` is the session id itself). Returns an error message for bad params.
 * @param {unknown} params
 * @param {{required: boolean, sessionIdentity: import("./call-identity.js").SessionIdentityMode}} options
 * @returns {{selector: Selector | null} | {error: string}}
 */
export function selectorFrom(params, options) {
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
  const derived = selectorSessionId({ localSessionId: p.localSessionId, workspaceDir: p.workspaceDir }, options.sessionIdentity);
  if (derived !== null) return { selector: { sessionId: derived } };
  if (options.required) return { error: "give one of agentId, sessionId, workspaceDir or localSessionId" };
  return { selector: null };
}

/**
 * The service params for a call of `spec`, or an error message for bad params.
 * @param {MethodSpec} spec
 * @param {unknown} params
 * @param {import("./call-identity.js").SessionIdentityMode} sessionIdentity  how the recorded sessions are keyed
 * @returns {{params: Record<string, unknown>, selector: Selector | null} | {error: string}}
 */
export function serviceParams(spec, params, sessionIdentity) {
  if (params !== undefined && params !== null && !isPlainObject(params)) {
    return { error: "params must be an object" };
  }
  const p = /** @type {Record<string, unknown>} */ (params ?? {});
  if (spec.parse !== undefined) {
    const parsed = spec.parse(p);
    return "error" in parsed ? parsed : { params: parsed.params, selector: null };
  }
  /** @type {Selector | null} */
  let selector = null;
  if (spec.selector !== "none") {
    const parsed = selectorFrom(p, { required: spec.selector === "required", sessionIdentity });
    if ("error" in parsed) return parsed;
    selector = parsed.selector;
  }
  /** @type {Record<string, unknown>} */
  const out = { ...(selector ?? {}) };
  for (const key of spec.extra) if (p[key] !== undefined) out[key] = p[key];
  return { params: out, selector };
}

/**
 * Whether a capture from the service and one from memory are the same call.
 * @param {any} a
 * @param {any} b
 */
function sameCall(a, b) {
  return (
    a.capturedAt === b.capturedAt &&
    a.taasRequestId === b.taasRequestId &&
    a.openclawTurnId === b.openclawTurnId &&
    a.autorouterModel === b.autorouterModel &&
    a.autorouterAlgo === b.autorouterAlgo
  );
}

/**
 * The newer of the service's capture and memory's: memory wins when it was captured later, or
 * at the same millisecond as a different call (the service has not stored it yet).
 * @param {any} fromService  a capture or null
 * @param {import("./routes.js").Capture | null} fromMemory
 * @returns {"service" | "memory"}
 */
export function newerSource(fromService, fromMemory) {
  if (fromMemory === null) return "service";
  if (fromService === null || typeof fromService !== "object") return "memory";
  if (fromMemory.capturedAt > fromService.capturedAt) return "memory";
  if (fromMemory.capturedAt === fromService.capturedAt && !sameCall(fromService, fromMemory)) return "memory";
  return "service";
}

/**
 * The lastRoute answer from memory, in the service's shape, marked `store: "memory"`.
 * @param {import("./routes.js").RouteMemory} memory
 * @param {Selector} selector
 */
function memoryAnswer(memory, selector) {
  if ("agentId" in selector) {
    const capture = memory.byAgent(selector.agentId);
    return { agentId: selector.agentId, sessionId: capture?.sessionId ?? null, capture, store: "memory" };
  }
  return { sessionId: selector.sessionId, capture: memory.bySession(selector.sessionId), store: "memory" };
}

/**
 * @param {import("./routes.js").RouteMemory} memory
 * @param {Selector} selector
 * @param {any} answer  the service's lastRoute result
 */
function freshestRoute(memory, selector, answer) {
  const remembered = memoryAnswer(memory, selector);
  return newerSource(answer?.capture ?? null, remembered.capture) === "memory" ? remembered : answer;
}

/**
 * @typedef {object} GatewayDeps
 * @property {() => import("./client.js").CaptureClient | null} client
 * @property {import("./routes.js").RouteMemory} memory
 * @property {() => string} socketPath
 * @property {import("./overrides.js").OverrideMemory} overrides
 * @property {() => number} now
 * @property {import("./call-identity.js").SessionIdentityMode} sessionIdentity  how the recorded sessions are keyed (`recordedSessionIdentity`)
 */

/** @param {unknown} error @returns {boolean} the service answered that the params were bad */
function isBadParams(error) {
  const e = /** @type {{kind?: string, code?: number}} */ (error);
  return e?.kind === "rpc" && e.code === -32602;
}

/**
 * One gateway handler for `spec`, registered as `name`.
 * @param {string} name
 * @param {MethodSpec} spec
 * @param {GatewayDeps} deps
 * @returns {GatewayHandler}
 */
export function gatewayHandler(name, spec, deps) {
  /** @param {string} message @returns {GatewayError} */
  const invalid = (message) => ({ code: "INVALID_REQUEST", message: `${name}: ${message}` });
  return async ({ params, respond }) => {
    try {
      const parsed = serviceParams(spec, params, deps.sessionIdentity);
      if ("error" in parsed) return respond(false, undefined, invalid(parsed.error));
      const client = deps.client();
      try {
        if (client === null) throw new Error("this gateway process does not open sockets (registration mode is not full)");
        const answer = await client.call(spec.serviceMethod, parsed.params);
        respond(true, spec.memoryFallback && parsed.selector ? freshestRoute(deps.memory, parsed.selector, answer) : answer);
      } catch (error) {
        if (isBadParams(error)) respond(false, undefined, invalid(refusalText(error)));
        else if (spec.memoryFallback && parsed.selector) respond(true, memoryAnswer(deps.memory, parsed.selector));
        else if (isUnknownMethod(error)) {
          respond(false, undefined, { code: "UNAVAILABLE", message: `${name}: the taas-capture service at ${deps.socketPath()} is too old for ${spec.serviceMethod}; upgrade it` });
        } else {
          respond(false, undefined, {
            code: "UNAVAILABLE",
            message:
              `${name} needs the taas-capture service, which is unreachable at ${deps.socketPath()} ` +
              `(${errorText(error)}); start it with "taas-capture serve"`,
          });
        }
      }
    } catch (error) {
      respond(false, undefined, { code: "UNAVAILABLE", message: `${name} failed: ${errorText(error)}` });
    }
  };
}

/**
 * The subject and algorithm of a setAlgorithm call, or an error message: exactly one selector (an
 * agent, or a session given or derived) and `algorithm` present, one of the values or null.
 * @param {unknown} params
 * @param {import("./call-identity.js").SessionIdentityMode} sessionIdentity  how the recorded sessions are keyed
 * @returns {{subject: import("./overrides.js").OverrideSubject, algorithm: string | null} | {error: string}}
 */
export function overrideFrom(params, sessionIdentity) {
  if (!isPlainObject(params)) {
    return { error: "params must be an object" };
  }
  const p = /** @type {Record<string, unknown>} */ (params);
  const namesSession = ["sessionId", "workspaceDir", "localSessionId"].some((k) => p[k] !== undefined && p[k] !== null);
  if (p.agentId !== undefined && p.agentId !== null && namesSession) {
    return { error: "give either agentId or a session (sessionId, workspaceDir, localSessionId), not both" };
  }
  const parsed = selectorFrom(p, { required: true, sessionIdentity });
  if ("error" in parsed) return parsed;
  if (!("algorithm" in p)) return { error: `algorithm is required: one of ${ALGORITHMS.join(", ")}, or null to clear` };
  if (p.algorithm !== null && (typeof p.algorithm !== "string" || !ALGORITHMS.includes(p.algorithm))) {
    return { error: `algorithm must be one of ${ALGORITHMS.join(", ")}, or null to clear` };
  }
  return { subject: /** @type {import("./overrides.js").OverrideSubject} */ (parsed.selector), algorithm: /** @type {string | null} */ (p.algorithm) };
}

/**
 * `taas.autorouter.setAlgorithm`: persisted through the service and applied to memory at once;
 * while the service is away, applied in memory, answered with `store: "memory"`, and written by
 * the override sync when the service returns.
 * @param {string} name
 * @param {GatewayDeps} deps
 * @returns {GatewayHandler}
 */
export function setAlgorithmHandler(name, deps) {
  return async ({ params, respond }) => {
    try {
      const parsed = overrideFrom(params, deps.sessionIdentity);
      if ("error" in parsed) return respond(false, undefined, { code: "INVALID_REQUEST", message: `${name}: ${parsed.error}` });
      const { subject, algorithm } = parsed;
      try {
        const client = deps.client();
        if (client === null) throw new Error("this gateway process does not open sockets (registration mode is not full)");
        const answer = await client.call("taas.autorouter.setAlgorithm", { ...subject, algorithm });
        deps.overrides.setLocal(subject, algorithm);
        respond(true, answer);
      } catch (error) {
        if (isBadParams(error)) return respond(false, undefined, { code: "INVALID_REQUEST", message: `${name}: ${refusalText(error)}` });
        const previous = deps.overrides.setLocal(subject, algorithm);
        deps.overrides.queueWrite(subject, algorithm);
        respond(true, { ...subject, algorithm, previous, updatedAt: deps.now(), version: null, store: "memory" });
      }
    } catch (error) {
      respond(false, undefined, { code: "UNAVAILABLE", message: `${name} failed: ${errorText(error)}` });
    }
  };
}

/**
 * The gateway methods of a mode: `taas.capture.*` always (budgets included: `budgets` read,
 * `setBudget` write); in standalone mode also the seed's `taas.autorouter.lastRoute` / `history` /
 * `stats` and `setAlgorithm` (alongside, CloudSigma's provider owns `taas.autorouter.*`).
 * @param {import("./host-config.js").PluginMode} mode
 * @param {GatewayDeps} deps
 * @returns {GatewayMethod[]}
 */
export function gatewayMethodsFor(mode, deps) {
  /** @type {GatewayMethod[]} */
  const methods = [];
  for (const [short, spec] of Object.entries(METHOD_SPECS)) {
    const names = [`taas.capture.${short}`];
    if (mode === "standalone" && !spec.captureOnly) names.unshift(`taas.autorouter.${short}`);
    for (const name of names) methods.push({ name, handler: gatewayHandler(name, spec, deps), scope: spec.scope ?? READ_SCOPE });
  }
  if (mode === "standalone") {
    const name = "taas.autorouter.setAlgorithm";
    methods.push({ name, handler: setAlgorithmHandler(name, deps), scope: WRITE_SCOPE });
  }
  return methods;
}
