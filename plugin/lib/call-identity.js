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
 * The identity of one call. With `environmentTiers: false` (background and simple completions,
 * whose context names no conversation) only tiers 1–2 count and the result is null without
 * them: the environment tiers would give every such call in the gateway process one shared id.
 * @param {CallInputs} inputs
 * @param {HostFacts} host
 * @param {{mode: SessionIdentityMode, environmentTiers: boolean}} options
 * @returns {CallIdentity | null}
 */
export function callIdentity(inputs, host, options) {
  const nativeSessionId = boundedIdentity(inputs.nativeSessionId);
  const workspaceDir = nonEmpty(inputs.workspaceDir);
  if (!options.environmentTiers && nativeSessionId === null && boundedIdentity(workspaceDir) === null) return null;
  const derived = deriveSessionIdentity(
    sessionInputFromEnvironment(
      { localSessionId: nativeSessionId ?? undefined, workspaceDir: workspaceDir ?? undefined },
      { env: host.env(), home: host.home(), cwd: host.cwd() },
    ),
  );
  const sessionId = options.mode === "native" && derived.source === "session" && nativeSessionId !== null ? nativeSessionId : derived.sessionId;
  return { ...derived, sessionId, agentId: callAgentId(inputs), workspaceDir };
}
