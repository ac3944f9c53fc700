// The one derivation of a call's affinity identity, used by the stream wrapper, the turn-state
// hook and the llm_output hook alike, from only what the host really passes
// (OPENCLAW-HOST.md: stream options `sessionId`; wrap context `agentId`, `agentDir`,
// `workspaceDir`; hook contexts `sessionId`, `sessionKey`, `agentId`).
import { agentIdFor, boundedIdentity, deriveSessionIdentity, sessionInputFromEnvironment } from "./identity.js";

/** @typedef {"hashed" | "native"} SessionIdentityMode */

/**
 * What the host passed for one call. Every field is optional and untrusted.
 * @typedef {object} CallInputs
 * @property {unknown} [nativeSessionId]  OpenClaw's transcript session id (stream `options.sessionId`, hook `ctx.sessionId`)
 * @property {unknown} [workspaceDir]     wrap context `workspaceDir`
 * @property {unknown} [agentDir]         wrap context `agentDir`
 * @property {unknown} [agentId]          wrap / hook context `agentId`
 * @property {unknown} [sessionKey]       hook context `sessionKey` (`agent:<id>:…`); the wrap context has none
 */

/**
 * @typedef {object} CallIdentity
 * @property {string} sessionId          what TaaS is sent: `oc:…`, or the native id in "native" mode
 * @property {"session" | "workspace" | "env" | "agent" | "stateDir"} source
 * @property {string} sessionSourceHint
 * @property {string | null} agentId
 * @property {string | null} workspaceDir
 */

/**
 * @typedef {object} HostFacts
 * @property {() => Record<string, string | undefined>} env
 * @property {() => string} home
 * @property {() => string} cwd
 */

/** @param {unknown} v @returns {string | null} */
function nonEmpty(v) {
  return typeof v === "string" && v.trim() !== "" ? v : null;
}

/**
 * The agent id of a call: the host's `agentId`, else the session key prefix, the agent
 * directory `<state>/agents/<id>/agent`, or the workspace name (SPEC "Agent id").
 * @param {CallInputs} inputs
 * @returns {string | null}
 */
export function callAgentId(inputs) {
  return (
    boundedIdentity(inputs.agentId) ??
    agentIdFor({ sessionKey: inputs.sessionKey, agentDir: inputs.agentDir, workspaceDir: nonEmpty(inputs.workspaceDir) })
  );
}

/**
 * What TaaS is sent for a derived identity: the `oc:` id, except that in "native" mode a tier-1
 * identity sends OpenClaw's native session id unchanged. The one place that rule lives: the
 * provider path and the selectors of queries and pins both use it.
 * @param {import("./identity.js").SessionIdentity} derived
 * @param {string | null} nativeSessionId  bounded
 * @param {SessionIdentityMode} mode
 * @returns {string}
 */
export function sentSessionId(derived, nativeSessionId, mode) {
  return mode === "native" && derived.source === "session" && nativeSessionId !== null ? nativeSessionId : derived.sessionId;
}

/**
 * The identity of one call. With `environmentTiers: false` (background and simple completions,
 * whose context names no conversation) only OpenClaw's native session id counts and the result
 * is null without it: the workspace and environment tiers would give every such call of a
 * workspace (or of the whole gateway process) one shared id that is not its conversation's, and
 * would pre-empt the exact trace match that finds the conversation's own id.
 * @param {CallInputs} inputs
 * @param {HostFacts} host
 * @param {{mode: SessionIdentityMode, environmentTiers: boolean}} options
 * @returns {CallIdentity | null}
 */
export function callIdentity(inputs, host, options) {
  const nativeSessionId = boundedIdentity(inputs.nativeSessionId);
  const workspaceDir = nonEmpty(inputs.workspaceDir);
  if (!options.environmentTiers && nativeSessionId === null) return null;
  const derived = deriveSessionIdentity(
    sessionInputFromEnvironment(
      { localSessionId: nativeSessionId ?? undefined, workspaceDir: workspaceDir ?? undefined },
      { env: host.env(), home: host.home(), cwd: host.cwd() },
    ),
  );
  const sessionId = sentSessionId(derived, nativeSessionId, options.mode);
  return { ...derived, sessionId, agentId: callAgentId(inputs), workspaceDir };
}

/**
 * The session id a query or pin selector names (`localSessionId` and/or an absolute
 * `workspaceDir`, tiers 1–2; never the environment): the id the provider path sends for that
 * conversation, so a selector finds what was recorded and a pin matches the next request.
 * @param {{localSessionId?: unknown, workspaceDir?: unknown}} selector
 * @param {SessionIdentityMode} mode
 * @returns {string | null}  null when the selector names neither
 */
export function selectorSessionId(selector, mode) {
  const nativeSessionId = boundedIdentity(selector.localSessionId);
  const workspaceDir = boundedIdentity(selector.workspaceDir);
  if (nativeSessionId === null && workspaceDir === null) return null;
  const derived = deriveSessionIdentity({
    cwd: "/",
    ...(nativeSessionId !== null ? { localSessionId: nativeSessionId } : {}),
    ...(workspaceDir !== null ? { workspaceDir } : {}),
  });
  return sentSessionId(derived, nativeSessionId, mode);
}

/**
 * The identity mode of the sessions this plugin records: alongside CloudSigma's provider the
 * `llm_output` records carry OpenClaw's native session id (what that provider sends TaaS),
 * whatever `sessionIdentity` says; standalone, `sessionIdentity` decides.
 * @param {import("./host-config.js").PluginMode} pluginMode
 * @param {SessionIdentityMode} sessionIdentity
 * @returns {SessionIdentityMode}
 */
export function recordedSessionIdentity(pluginMode, sessionIdentity) {
  return pluginMode === "alongside" ? "native" : sessionIdentity;
}
