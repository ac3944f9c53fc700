// Plugin configuration: `plugins.entries.openclaw-taas-affinity.config` plus the environment.
import os from "node:os";
import path from "node:path";
import { DEFAULT_QUEUE_LIMIT, DEFAULT_REQUEST_TIMEOUT_MS } from "./client.js";
import { objectOrEmpty } from "./objects.js";

export const MODES = Object.freeze(["auto", "standalone", "alongside"]);
export const SESSION_IDENTITIES = Object.freeze(["hashed", "native"]);
/** The spill file's default bound (SPEC v3 "Nothing lost while the service is away"). */
export const DEFAULT_SPILL_MAX_BYTES = 16 * 1024 * 1024;
// 256 MiB: a rewrite builds the file as one string, and V8 strings stop at about 512 MiB.
const SPILL_MAX_BYTES_CAP = 256 * 1024 * 1024;

/**
 * @typedef {object} PluginSettings
 * @property {string} socketPath
 * @property {"config" | "env" | "default"} socketPathFrom  where socketPath came from; a default one follows the host's stateDir
 * @property {number} queueLimit
 * @property {number} spillMaxBytes  the spill file's bound; 0: no spill file
 * @property {number} requestTimeoutMs
 * @property {"auto" | "standalone" | "alongside"} mode
 * @property {"hashed" | "native"} sessionIdentity
 * @property {string[]} warnings  config values that were ignored, and why
 */

/** @param {unknown} v @param {number} min @param {number} max */
function integerIn(v, min, max) {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

/** @param {unknown} v @returns {v is string} */
function nonEmptyString(v) {
  return typeof v === "string" && v.trim() !== "";
}

/**
 * The default socket under a state directory: `<stateDir>/taas-capture/capture.sock`.
 * @param {string} stateDir
 */
export function socketPathIn(stateDir) {
  return path.join(stateDir, "taas-capture", "capture.sock");
}

/**
 * Where a plugin keeps the captures not yet acknowledged: `<stateDir>/taas-capture/pending/`, next to
 * the service's socket, one file per plugin id (`<id>.spill`).
 * @param {string} stateDir
 */
export function spillDirIn(stateDir) {
  return path.join(stateDir, "taas-capture", "pending");
}

/**
 * The socket path: config `socketPath`, else env `TAAS_CAPTURE_SOCKET`, else
 * `$OPENCLAW_STATE_DIR` (or `~/.openclaw`) + `/taas-capture/capture.sock`.
 * @param {Record<string, unknown>} config
 * @param {Record<string, string | undefined>} env
 * @param {string} home
 * @returns {{socketPath: string, from: "config" | "env" | "default"}}
 */
export function socketPathFor(config, env, home) {
  if (nonEmptyString(config.socketPath)) return { socketPath: config.socketPath, from: "config" };
  if (nonEmptyString(env.TAAS_CAPTURE_SOCKET)) return { socketPath: env.TAAS_CAPTURE_SOCKET, from: "env" };
  const stateDir = nonEmptyString(env.OPENCLAW_STATE_DIR) ? env.OPENCLAW_STATE_DIR : path.join(home, ".openclaw");
  return { socketPath: socketPathIn(stateDir), from: "default" };
}

/**
 * One config value from a fixed list, else the default with a warning.
 * @template {string} T
 * @param {Record<string, unknown>} config
 * @param {string} key
 * @param {readonly T[]} allowed
 * @param {string[]} warnings
 * @returns {T}
 */
function oneOf(config, key, allowed, warnings) {
  const value = config[key];
  if (value === undefined) return allowed[0];
  if (typeof value === "string" && /** @type {readonly string[]} */ (allowed).includes(value)) return /** @type {T} */ (value);
  warnings.push(`${key} must be one of ${allowed.join(", ")}; using ${allowed[0]}`);
  return allowed[0];
}

/**
 * Settings from the plugin config (validated again here: the gateway validates against the
 * manifest's schema, but a plugin loaded some other way must not misbehave on bad input).
 * @param {unknown} pluginConfig
 * @param {{env?: Record<string, string | undefined>, home?: string}} [host]
 * @returns {PluginSettings}
 */
export function readSettings(pluginConfig, host = {}) {
  const env = host.env ?? process.env;
  const home = host.home ?? os.homedir();
  /** @type {Record<string, unknown>} */
  const config = objectOrEmpty(pluginConfig);
  /** @type {string[]} */
  const warnings = [];
  if (config.socketPath !== undefined && !nonEmptyString(config.socketPath)) {
    warnings.push("socketPath must be a non-empty string; using the default");
  }
  let queueLimit = DEFAULT_QUEUE_LIMIT;
  if (config.queueLimit !== undefined) {
    if (integerIn(config.queueLimit, 1, 1_000_000)) queueLimit = /** @type {number} */ (config.queueLimit);
    else warnings.push(`queueLimit must be an integer from 1 to 1000000; using ${DEFAULT_QUEUE_LIMIT}`);
  }
  let spillMaxBytes = DEFAULT_SPILL_MAX_BYTES;
  if (config.spillMaxBytes !== undefined) {
    if (integerIn(config.spillMaxBytes, 0, SPILL_MAX_BYTES_CAP)) spillMaxBytes = /** @type {number} */ (config.spillMaxBytes);
    else warnings.push(`spillMaxBytes must be an integer from 0 to ${SPILL_MAX_BYTES_CAP}; using ${DEFAULT_SPILL_MAX_BYTES}`);
  }
  let requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
  if (config.requestTimeoutMs !== undefined) {
    if (integerIn(config.requestTimeoutMs, 50, 600_000)) requestTimeoutMs = /** @type {number} */ (config.requestTimeoutMs);
    else warnings.push(`requestTimeoutMs must be an integer from 50 to 600000; using ${DEFAULT_REQUEST_TIMEOUT_MS}`);
  }
  const mode = oneOf(config, "mode", MODES, warnings);
  const sessionIdentity = oneOf(config, "sessionIdentity", SESSION_IDENTITIES, warnings);
  const { socketPath, from } = socketPathFor(config, env, home);
  return { socketPath, socketPathFrom: from, queueLimit, spillMaxBytes, requestTimeoutMs, mode, sessionIdentity, warnings };
}
