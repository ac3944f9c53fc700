// Plugin configuration: `plugins.entries.openclaw-taas-affinity.config` plus the environment.
import os from "node:os";
import path from "node:path";
import { DEFAULT_QUEUE_LIMIT, DEFAULT_REQUEST_TIMEOUT_MS } from "./client.js";

/**
 * @typedef {object} PluginSettings
 * @property {string} socketPath
 * @property {number} queueLimit
 * @property {number} requestTimeoutMs
 * @property {string[]} warnings  config values that were ignored, and why
 */

/** @param {unknown} v @param {number} min @param {number} max */
function integerIn(v, min, max) {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

/**
 * The socket path: config `socketPath`, else env `TAAS_CAPTURE_SOCKET`, else
 * `$OPENCLAW_STATE_DIR` (or `~/.openclaw`) + `/taas-capture/capture.sock`.
 * @param {Record<string, unknown>} config
 * @param {Record<string, string | undefined>} env
 * @param {string} home
 * @returns {string}
 */
export function socketPathFor(config, env, home) {
  if (typeof config.socketPath === "string" && config.socketPath.trim() !== "") return config.socketPath;
  if (env.TAAS_CAPTURE_SOCKET && env.TAAS_CAPTURE_SOCKET.trim() !== "") return env.TAAS_CAPTURE_SOCKET;
  const stateDir =
    env.OPENCLAW_STATE_DIR && env.OPENCLAW_STATE_DIR.trim() !== ""
      ? env.OPENCLAW_STATE_DIR
      : path.join(home, ".openclaw");
  return path.join(stateDir, "taas-capture", "capture.sock");
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
  const config =
    pluginConfig !== null && typeof pluginConfig === "object" && !Array.isArray(pluginConfig)
      ? /** @type {Record<string, unknown>} */ (pluginConfig)
      : {};
  /** @type {string[]} */
  const warnings = [];
  if (config.socketPath !== undefined && (typeof config.socketPath !== "string" || config.socketPath.trim() === "")) {
    warnings.push("socketPath must be a non-empty string; using the default");
  }
  let queueLimit = DEFAULT_QUEUE_LIMIT;
  if (config.queueLimit !== undefined) {
    if (integerIn(config.queueLimit, 1, 1_000_000)) queueLimit = /** @type {number} */ (config.queueLimit);
    else warnings.push(`queueLimit must be an integer from 1 to 1000000; using ${DEFAULT_QUEUE_LIMIT}`);
  }
  let requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS;
  if (config.requestTimeoutMs !== undefined) {
    if (integerIn(config.requestTimeoutMs, 50, 600_000)) requestTimeoutMs = /** @type {number} */ (config.requestTimeoutMs);
    else warnings.push(`requestTimeoutMs must be an integer from 50 to 600000; using ${DEFAULT_REQUEST_TIMEOUT_MS}`);
  }
  return { socketPath: socketPathFor(config, env, home), queueLimit, requestTimeoutMs, warnings };
}
