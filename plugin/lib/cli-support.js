// What every `openclaw taas` subcommand shares: exit codes, the one-line failures, reading the
// flags (selectors as the gateway resolves them, counts, times), asking the service once, and
// writing a file atomically. The commands themselves are in cli-commands.js.
import { open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { recordedSessionIdentity } from "./call-identity.js";
import { readSettings } from "./config.js";
import { errorText, refusalText } from "./errors.js";
import { selectorFrom } from "./gateway.js";
import { boundedIdentity, resolvePath } from "./identity.js";
import { callServiceOnce } from "./service-call.js";

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
// As long as `taas-capture` waits for one answer (CaptureClient's 30 s): a person is waiting, not an LLM call.
export const CLI_TIMEOUT_MS = 30_000;

export const SELECTOR_FLAGS = "name an --agent-id, --session-id, --workspace-dir or --local-session-id";
const IDENTITY_RULE = "a non-empty string of at most 200 characters without control characters";

/**
 * @typedef {object} CliDeps
 * @property {string} pluginId
 * @property {string} pluginVersion
 * @property {unknown} pluginConfig  `api.pluginConfig`
 * @property {unknown} hostConfig    `api.config`; the registrar's `ctx.config` replaces it
 * @property {{env: () => Record<string, string | undefined>, home: () => string, cwd: () => string, now: () => number}} host
 * @property {(settings: import("./config.js").PluginSettings, hostConfig: unknown) => {mode: import("./host-config.js").PluginMode, reason: string}} modeFor
 *   the mode this plugin runs in, decided as at registration
 * @property {(code: number) => void} [exit]  what commander itself does on a usage error when the host sets no exitOverride
 */

/** @param {string} message @param {number} exitCode @returns {Error & {exitCode: number}} */
function cliError(message, exitCode) {
  return Object.assign(new Error(message), { exitCode });
}

/** @param {string} message */
export const usage = (message) => cliError(message, EXIT_USAGE);
/** @param {string} message */
export const failure = (message) => cliError(message, EXIT_FAILURE);

/**
 * Runs one subcommand: its text to the command's stdout; a failure as one line on stderr and exit
 * status 1 (2 for bad usage), through `process.exitCode` so the host finishes as it always does.
 * @param {any} cmd
 * @param {() => Promise<string>} body
 */
export async function runAction(cmd, body) {
  const output = cmd.configureOutput();
  try {
    output.writeOut(await body());
  } catch (error) {
    output.outputError(`openclaw taas ${cmd.name()}: ${errorText(error)}\n`, output.writeErr);
    process.exitCode = /** @type {any} */ (error)?.exitCode === EXIT_USAGE ? EXIT_USAGE : EXIT_FAILURE;
  }
}

/** @param {any} cmd @returns {any} */
export function withServiceOptions(cmd) {
  return cmd
    .option("--socket <path>", "The service's socket (default: the plugin's socketPath, else $TAAS_CAPTURE_SOCKET or STATE/taas-capture/capture.sock).")
    .option("--json", "Print the raw JSON-RPC result instead of a table.");
}

/** @param {any} cmd @returns {any} */
export function withSelectorOptions(cmd) {
  return cmd
    .option("--agent-id <id>", "Select by OpenClaw agent id.")
    .option("--session-id <id>", "Select by affinity session id (oc:<16 hex>, or the native id with sessionIdentity native).")
    .option("--workspace-dir <dir>", "Select by workspace directory (a relative one resolves against the working directory).")
    .option("--local-session-id <id>", "Select by OpenClaw's native session id.");
}

/**
 * What one command asks with: the socket, and how the recorded sessions are keyed. Read when the
 * command runs, so the host's environment (profiles, OPENCLAW_STATE_DIR) is the one it runs with.
 * @param {CliDeps} deps
 * @param {Record<string, any>} opts
 */
export function serviceContext(deps, opts) {
  const settings = readSettings(deps.pluginConfig, { env: deps.host.env(), home: deps.host.home() });
  const { mode, reason } = deps.modeFor(settings, deps.hostConfig);
  const flag = typeof opts.socket === "string" && opts.socket.trim() !== "" ? opts.socket : null;
  return {
    settings,
    mode,
    modeReason: reason,
    socketPath: flag ?? settings.socketPath,
    socketPathFrom: flag !== null ? "--socket" : settings.socketPathFrom,
    sessionIdentity: recordedSessionIdentity(mode, settings.sessionIdentity),
  };
}

/**
 * The selector flags given, each checked, as params (a workspace made absolute against the
 * working directory: the service and the gateway have other ones).
 * @param {Record<string, any>} opts
 * @param {CliDeps} deps
 * @returns {Record<string, string>}
 */
export function selectorParams(opts, deps) {
  /** @type {Record<string, string>} */
  const params = {};
  for (const [key, flag] of [["agentId", "--agent-id"], ["sessionId", "--session-id"], ["workspaceDir", "--workspace-dir"], ["localSessionId", "--local-session-id"]]) {
    if (opts[key] === undefined) continue;
    if (boundedIdentity(opts[key]) === null) throw usage(`${flag} must be ${IDENTITY_RULE}`);
    params[key] = key === "workspaceDir" ? resolvePath(deps.host.cwd(), opts[key]) : opts[key];
  }
  return params;
}

/**
 * The selector to send (`{agentId}` or `{sessionId}`), resolved by the gateway's own rule
 * (`selectorFrom`: `agentId` > `sessionId` > `localSessionId` / `workspaceDir`, a session named
 * the way the provider path sends it), or null when none is given.
 * @param {Record<string, any>} opts
 * @param {CliDeps} deps
 * @param {import("./call-identity.js").SessionIdentityMode} sessionIdentity
 * @param {{required: boolean}} options
 * @returns {{agentId: string} | {sessionId: string} | null}
 */
export function selectorFromFlags(opts, deps, sessionIdentity, options) {
  const parsed = selectorFrom(selectorParams(opts, deps), { required: false, sessionIdentity });
  if ("error" in parsed) throw usage(parsed.error);
  if (parsed.selector === null && options.required) throw usage(SELECTOR_FLAGS);
  return parsed.selector;
}

/**
 * One service method's result, or a failure line a person can act on.
 * @param {{socketPath: string}} service
 * @param {string} method
 * @param {Record<string, unknown>} params
 */
export async function ask(service, method, params) {
  try {
    return await callServiceOnce(service.socketPath, method, params, CLI_TIMEOUT_MS);
  } catch (error) {
    throw failure(serviceFailureText(error, method, service.socketPath));
  }
}

/**
 * @param {unknown} error  from callServiceOnce
 * @param {string} method
 * @param {string} socketPath
 */
export function serviceFailureText(error, method, socketPath) {
  const e = /** @type {{kind?: string, code?: number, data?: any}} */ (error ?? {});
  if (e.kind === "unavailable") return `${errorText(error)}; is 'taas-capture serve' running?`;
  if (e.kind !== "rpc") return errorText(error);
  if (e.code === -32601) return `the taas-capture service at ${socketPath} is too old for ${method}; upgrade it`;
  return `the service refused the request: ${refusalText(error)} (${e.code})`;
}

/** @param {unknown} value */
export const jsonLine = (value) => `${JSON.stringify(value)}\n`;

/**
 * A whole number from a flag, within bounds, else bad usage.
 * @param {unknown} value
 * @param {string} flag
 * @param {number} min
 * @param {number} max
 */
export function integerFlag(value, flag, min, max) {
  const n = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw usage(`${flag} takes ${min} to ${max}`);
  return n;
}

/**
 * A point in time from a flag: milliseconds since the epoch, or a duration ago (`30d`, `12h`,
 * `10m`, `45s`, `250ms`), as `taas-capture` reads `--since` / `--until`.
 * @param {unknown} value
 * @param {string} flag
 * @param {number} now
 */
export function timeBoundFlag(value, flag, now) {
  const s = typeof value === "string" ? value.trim().toLowerCase() : "";
  if (/^\d+$/.test(s) && Number.isSafeInteger(Number(s))) return Number(s);
  const m = /^(\d+)(ms|d|h|m|s)$/.exec(s);
  const factor = m ? { ms: 1, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2]] : undefined;
  const ago = m && factor !== undefined ? Number(m[1]) * factor : NaN;
  if (!Number.isSafeInteger(ago)) throw usage(`${flag} takes milliseconds since the epoch or a duration ago such as 7d, 12h, 10m`);
  return now - ago;
}

/**
 * `since` / `until` params from the flags.
 * @param {Record<string, any>} opts
 * @param {number} now
 * @returns {{since?: number, until?: number}}
 */
export function rangeParams(opts, now) {
  return {
    ...(opts.since !== undefined ? { since: timeBoundFlag(opts.since, "--since", now) } : {}),
    ...(opts.until !== undefined ? { until: timeBoundFlag(opts.until, "--until", now) } : {}),
  };
}

/**
 * Writes `text` to `file` so that a reader sees the old file or the whole new one: a temporary
 * owner-only file beside it, flushed, then renamed over it.
 * @param {string} file  absolute
 * @param {string} text
 * @returns {Promise<number>} bytes written
 */
export async function writeFileAtomically(file, text) {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const data = Buffer.from(text, "utf8");
  try {
    const handle = await open(temporary, "wx", 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw failure(`cannot write ${file}: ${errorText(error)}`);
  }
  return data.length;
}
