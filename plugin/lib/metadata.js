// Request metadata and headers the plugin adds (SPEC "Request metadata"; envelopes as in the
// original plugin's README). Every addition is no-overwrite.
import { boundedIdentity } from "./identity.js";
import { isPlainObject } from "./objects.js";

export const PLUGIN_SOURCE = "openclaw-taas-affinity";
export const REQUESTER_RUNTIME_SCHEMA = "2026-06-04";
export const CORRELATION_SCHEMA = "2026-06-05";
export const REDACTION_POLICY =
  "no_secrets;no_raw_local_paths;no_env_values;no_git_remotes;no_status_or_diffs;no_extra_params";

/**
 * @typedef {object} RequestContext
 * @property {string} sessionId           `oc:…`
 * @property {string} sessionSourceHint   `source:…`
 * @property {string} requesterHostId     `host:…`
 * @property {string | null} [agentId]
 * @property {string} [provider]
 * @property {string} [modelId]
 * @property {string} pluginVersion
 * @property {string} [repoName]          only when the workspace is in a git repository
 * @property {string} [gitBranchHint]
 * @property {boolean} [gitDirtyHint]
 * @property {string} [turnId]
 * @property {number} [attempt]
 */

/**
 * The sanitized `metadata.requester_runtime` envelope: hashed ids, repository name, branch
 * and dirty flag only; never paths, environment values, remotes or status text.
 * @param {RequestContext} context
 * @returns {Record<string, unknown>}
 */
export function buildRequesterRuntime(context) {
  /** @type {Record<string, unknown>} */
  const runtime = {
    schema_version: REQUESTER_RUNTIME_SCHEMA,
    source: PLUGIN_SOURCE,
    session_key: context.sessionId,
    openclaw_session_id: context.sessionId,
    requester_host_id: context.requesterHostId,
  };
  const repoName = boundedIdentity(context.repoName);
  if (repoName !== null) {
    runtime.repo_name = repoName;
    const branch = boundedIdentity(context.gitBranchHint);
    if (branch !== null) runtime.git_branch_hint = branch;
    if (typeof context.gitDirtyHint === "boolean") runtime.git_dirty_hint = context.gitDirtyHint;
  }
  const provider = boundedIdentity(context.provider);
  if (provider !== null) runtime.provider = provider;
  const modelId = boundedIdentity(context.modelId);
  if (modelId !== null) runtime.model_id = modelId;
  runtime.session_source_hint = context.sessionSourceHint;
  runtime.tool_execution = "direction_2_gateway";
  runtime.metadata_classification = {
    identifiers: "hashed",
    repository: "name_branch_dirty_only",
    local_paths: "omitted_by_default",
  };
  runtime.redaction_policy = REDACTION_POLICY;
  return runtime;
}

/**
 * The `metadata.openclaw_correlation` envelope for request/run tracing.
 * @param {RequestContext} context
 * @returns {Record<string, unknown>}
 */
export function buildCorrelation(context) {
  /** @type {Record<string, unknown>} */
  const correlation = {
    schema_version: CORRELATION_SCHEMA,
    source: PLUGIN_SOURCE,
    plugin_version: context.pluginVersion,
    session_id: context.sessionId,
    sticky_key: context.sessionId,
    session_source_hint: context.sessionSourceHint,
  };
  const agentId = boundedIdentity(context.agentId);
  if (agentId !== null) correlation.agent_id = agentId;
  const provider = boundedIdentity(context.provider);
  if (provider !== null) correlation.provider = provider;
  const modelId = boundedIdentity(context.modelId);
  if (modelId !== null) correlation.model_id = modelId;
  return correlation;
}

/**
 * The payload with `metadata.session_id`, `sticky_key`, `requester_runtime` and
 * `openclaw_correlation` added where absent. Existing keys are never overwritten; a payload
 * or `metadata` that is not an object is returned untouched. Nothing else in the payload
 * (tools, tool_choice, tool calls, tool messages) is looked at. The input is not mutated.
 * @param {unknown} payload
 * @param {RequestContext} context
 * @returns {unknown}
 */
export function patchPayloadMetadata(payload, context) {
  if (!isPlainObject(payload)) return payload;
  const hasMetadata = Object.prototype.hasOwnProperty.call(payload, "metadata");
  if (hasMetadata && !isPlainObject(payload.metadata)) return payload;
  const existing = hasMetadata ? /** @type {Record<string, unknown>} */ (payload.metadata) : {};
  const has = (/** @type {string} */ key) => Object.prototype.hasOwnProperty.call(existing, key);

  /** @type {Record<string, unknown>} */
  const additions = {};
  if (!has("session_id")) additions.session_id = context.sessionId;
  if (!has("sticky_key")) additions.sticky_key = context.sessionId;
  if (!has("requester_runtime")) additions.requester_runtime = buildRequesterRuntime(context);
  if (!has("openclaw_correlation")) additions.openclaw_correlation = buildCorrelation(context);
  if (Object.keys(additions).length === 0) return payload;
  return { ...payload, metadata: { ...existing, ...additions } };
}

/**
 * Correlation headers, each when known: `X-Session-Id`, `X-OpenClaw-Session-Id`,
 * `X-OpenClaw-Turn-Id`, `X-OpenClaw-Attempt`, `X-OpenClaw-Agent-Id`.
 * @param {Partial<RequestContext>} context
 * @returns {Record<string, string>}
 */
export function buildCorrelationHeaders(context) {
  /** @type {Record<string, string>} */
  const headers = {};
  const sessionId = boundedIdentity(context.sessionId);
  if (sessionId !== null) {
    headers["X-Session-Id"] = sessionId;
    headers["X-OpenClaw-Session-Id"] = sessionId;
  }
  const turnId = boundedIdentity(context.turnId);
  if (turnId !== null) headers["X-OpenClaw-Turn-Id"] = turnId;
  const attempt = attemptString(context.attempt);
  if (attempt !== null) headers["X-OpenClaw-Attempt"] = attempt;
  const agentId = boundedIdentity(context.agentId);
  if (agentId !== null) headers["X-OpenClaw-Agent-Id"] = agentId;
  return headers;
}

/** @param {unknown} attempt @returns {string | null} */
function attemptString(attempt) {
  // OpenClaw counts attempts with a number; anything else is not a known attempt.
  return typeof attempt === "number" && Number.isSafeInteger(attempt) && attempt >= 0 ? String(attempt) : null;
}

/**
 * `headers` plus every entry of `additions` whose name (case-insensitively) is not already
 * there. Takes a plain object or a `Headers` instance and returns a plain object; the input
 * is not mutated.
 * @param {unknown} headers
 * @param {Record<string, string>} additions
 * @returns {Record<string, unknown>}
 */
export function mergeHeadersNoOverwrite(headers, additions) {
  /** @type {Record<string, unknown>} */
  const merged =
    typeof Headers !== "undefined" && headers instanceof Headers
      ? Object.fromEntries(headers.entries())
      : isPlainObject(headers)
        ? { ...headers }
        : {};
  const present = new Set(Object.keys(merged).map((k) => k.toLowerCase()));
  for (const [name, value] of Object.entries(additions)) {
    if (!present.has(name.toLowerCase())) merged[name] = value;
  }
  return merged;
}
