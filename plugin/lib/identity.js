// Affinity identity (SPEC "Affinity identity"): session ids, hints, host and agent ids.
// Pure functions: the environment, hostname and working directory come in as inputs.
import { createHash } from "node:crypto";
import path from "node:path";

const MAX_IDENTITY_LENGTH = 200;
// U+0000–U+001F and U+007F.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * The first 16 lowercase hex digits of SHA-256 over the UTF-8 bytes of `s`.
 * @param {string} s
 * @returns {string}
 */
export function sha16(s) {
  return createHash("sha256").update(s, "utf8").digest("hex").slice(0, 16);
}

/** What `boundedIdentity` accepts, in words, for error messages. */
export const BOUNDED_IDENTITY_RULE = `a non-empty string of at most ${MAX_IDENTITY_LENGTH} characters without control characters`;

/**
 * A trimmed string of 1–200 characters without control characters, else null. Trimming is
 * `String.prototype.trim` and length is in UTF-16 code units, as the golden vectors fix it.
 * @param {unknown} value
 * @returns {string | null}
 */
export function boundedIdentity(value) {
  if (typeof value !== "string") return null;
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_IDENTITY_LENGTH) return null;
  if (CONTROL_CHARACTER.test(trimmed)) return null;
  return trimmed;
}

/**
 * Node's POSIX `path.resolve(cwd, p)`: lexical, symlinks are not followed. A relative `cwd`
 * is taken against `/`, never against this process's own directory.
 * @param {string} cwd
 * @param {string} p
 * @returns {string}
 */
export function resolvePath(cwd, p) {
  return path.posix.resolve("/", cwd, p);
}

/**
 * @typedef {object} SessionInput
 * @property {string} [localSessionId]    OpenClaw's native session id for the call (tier 1)
 * @property {string} [workspaceDir]      the agent's workspace directory (tier 2)
 * @property {string} [openclawSessionId] env OPENCLAW_SESSION_ID (tier 3)
 * @property {string} [agentId]           env OPENCLAW_AGENT_ID (tier 4)
 * @property {string} [runId]             env OPENCLAW_RUN_ID (tier 4, after agentId)
 * @property {string} [stateDir]          env OPENCLAW_STATE_DIR (tier 5)
 * @property {string} [home]              $HOME, for the tier-5 default `$HOME/.openclaw`
 * @property {string} cwd                 the caller's working directory, for relative paths
 */

/**
 * @typedef {object} SessionIdentity
 * @property {string} sessionId          `oc:` + sha16(source)
 * @property {"session" | "workspace" | "env" | "agent" | "stateDir"} source  the tier that applied
 * @property {string} sessionSourceHint  `source:` + sha16(hint)
 */

/**
 * The affinity session id: the first of the SPEC's five tiers that applies.
 * @param {SessionInput} input
 * @returns {SessionIdentity}
 */
export function deriveSessionIdentity(input) {
  const cwd = input.cwd;
  const workspaceDir = boundedIdentity(input.workspaceDir);
  const workspaceHint = workspaceDir === null ? null : `workspaceDir:${workspaceDir}`;

  /**
   * @param {SessionIdentity["source"]} source
   * @param {string} material
   * @param {string} hint
   * @returns {SessionIdentity}
   */
  const identity = (source, material, hint) => ({
    sessionId: `oc:${sha16(material)}`,
    source,
    sessionSourceHint: `source:${sha16(workspaceHint ?? hint)}`,
  });

  const localSessionId = boundedIdentity(input.localSessionId);
  if (localSessionId !== null) {
    return identity("session", `session:${localSessionId}`, `session:${localSessionId}`);
  }
  if (workspaceDir !== null) {
    return identity("workspace", resolvePath(cwd, workspaceDir), `workspaceDir:${workspaceDir}`);
  }
  const envSession = boundedIdentity(input.openclawSessionId);
  if (envSession !== null) {
    return identity("env", `env:${envSession}`, `env:${envSession}`);
  }
  const envAgent = boundedIdentity(input.agentId) ?? boundedIdentity(input.runId);
  if (envAgent !== null) {
    return identity("agent", `agent:${envAgent}`, `agent:${envAgent}`);
  }
  const stateDir = boundedIdentity(input.stateDir) ?? path.posix.join(boundedIdentity(input.home) ?? "/", ".openclaw");
  return identity("stateDir", resolvePath(cwd, stateDir), `stateDir:${stateDir}`);
}

/**
 * The affinity session id (`oc:…`) for `input`; see `deriveSessionIdentity`.
 * @param {SessionInput} input
 * @returns {string}
 */
export function deriveSessionId(input) {
  return deriveSessionIdentity(input).sessionId;
}

/**
 * The session input the plugin sees at call time: native ids first, then the environment.
 * @param {{localSessionId?: unknown, workspaceDir?: unknown}} call
 * @param {{env: Record<string, string | undefined>, home: string, cwd: string}} host
 * @returns {SessionInput}
 */
export function sessionInputFromEnvironment(call, host) {
  const env = host.env;
  /** @type {SessionInput} */
  const input = { cwd: host.cwd, home: host.home };
  const local = boundedIdentity(call.localSessionId);
  if (local !== null) input.localSessionId = local;
  if (typeof call.workspaceDir === "string") input.workspaceDir = call.workspaceDir;
  if (env.OPENCLAW_SESSION_ID !== undefined) input.openclawSessionId = env.OPENCLAW_SESSION_ID;
  if (env.OPENCLAW_AGENT_ID !== undefined) input.agentId = env.OPENCLAW_AGENT_ID;
  if (env.OPENCLAW_RUN_ID !== undefined) input.runId = env.OPENCLAW_RUN_ID;
  if (env.OPENCLAW_STATE_DIR !== undefined) input.stateDir = env.OPENCLAW_STATE_DIR;
  return input;
}

/**
 * `host:` + sha16(hostname).
 * @param {string} hostname
 * @returns {string}
 */
export function hostId(hostname) {
  return `host:${sha16(hostname)}`;
}

/** @param {unknown} dir @returns {string | null} the directory trimmed and normalized, or null */
function normalizedDir(dir) {
  if (typeof dir !== "string" || dir.trim() === "") return null;
  return path.posix.normalize(dir.trim());
}

/**
 * The agent id for a capture: the `agent:<id>:…` prefix of a session key, the `<id>` of an
 * agent directory `<state>/agents/<id>/agent`, else from the workspace directory name
 * (`workspace` → `main`, `workspace-<id>` → `<id>`, anything else → the name). Null when
 * nothing applies or the result is not a bounded identity.
 * @param {{sessionKey?: unknown, agentDir?: unknown, workspaceDir?: unknown}} input
 * @returns {string | null}
 */
export function agentIdFor(input) {
  if (typeof input.sessionKey === "string") {
    const match = /^agent:([^:]*):/.exec(input.sessionKey.trim());
    const fromKey = match ? boundedIdentity(match[1]) : null;
    if (fromKey !== null) return fromKey;
  }
  const agentDir = normalizedDir(input.agentDir);
  if (agentDir !== null) {
    const parts = agentDir.split("/").filter((s) => s !== "");
    const n = parts.length;
    if (n >= 3 && parts[n - 1] === "agent" && parts[n - 3] === "agents") {
      const fromDir = boundedIdentity(parts[n - 2]);
      if (fromDir !== null) return fromDir;
    }
  }
  const workspaceDir = normalizedDir(input.workspaceDir);
  if (workspaceDir !== null) {
    const name = path.posix.basename(workspaceDir);
    if (name === "." || name === "..") return null;
    if (name === "workspace") return "main";
    if (name.startsWith("workspace-") && name.length > "workspace-".length) {
      return boundedIdentity(name.slice("workspace-".length));
    }
    return boundedIdentity(name);
  }
  return null;
}
