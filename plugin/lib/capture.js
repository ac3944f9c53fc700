// The route capture read from TaaS response headers (SPEC "The capture").
import { boundedIdentity } from "./identity.js";

const MAX_CONTEXT_WINDOW = 2 ** 31 - 1;

/** The headers a capture is read from, lower-case; `x-taas-autorouted` gates the rest. */
export const CAPTURE_HEADER_NAMES = Object.freeze([
  "x-taas-autorouted",
  "x-taas-autorouter-model",
  "x-taas-autorouter-mode",
  "x-taas-autorouter-algorithm-source",
  "x-taas-thinking-applied",
  "x-taas-routed-context-window",
  "x-request-id",
  "x-taas-request-id",
  "x-trace-id",
  "x-taas-trace-id",
  "x-openclaw-turn-id",
  "x-openclaw-attempt",
]);

/**
 * @typedef {object} CaptureFields
 * @property {string | null} taasRequestId
 * @property {string | null} taasTraceId
 * @property {string | null} openclawTurnId
 * @property {string | null} openclawAttempt
 * @property {string | null} autorouterModel
 * @property {string | null} autorouterAlgo
 * @property {string | null} autorouterAlgoSource
 * @property {string | null} thinkingApplied
 * @property {number | null} routedContextWindow
 */

/**
 * Response headers as a plain object with lower-case names and string values. Accepts a
 * `Headers` instance (anything with `forEach(value, name)`) or a plain object with names in
 * any case; non-string values are left out. Only `CAPTURE_HEADER_NAMES` are kept.
 * @param {unknown} headers
 * @returns {Record<string, string>}
 */
export function pickCaptureHeaders(headers) {
  /** @type {Record<string, string>} */
  const picked = {};
  const wanted = new Set(CAPTURE_HEADER_NAMES);
  // The first of names equal ignoring ASCII case wins, even when its value is not a string.
  const seen = new Set();
  /** @param {unknown} value @param {unknown} name */
  const take = (value, name) => {
    if (typeof name !== "string") return;
    const lower = asciiLower(name);
    if (!wanted.has(lower) || seen.has(lower)) return;
    seen.add(lower);
    if (typeof value === "string") picked[lower] = value;
  };
  if (headers === null || typeof headers !== "object") return picked;
  if (typeof Headers !== "undefined" && headers instanceof Headers) {
    headers.forEach(take);
  } else if (typeof (/** @type {any} */ (headers).forEach) === "function" && !Array.isArray(headers)) {
    /** @type {any} */ (headers).forEach(take);
  } else if (!Array.isArray(headers)) {
    for (const [name, value] of Object.entries(headers)) take(value, name);
  }
  return picked;
}

/** Header names compare ignoring ASCII case only. @param {string} s */
function asciiLower(s) {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** @param {string | undefined} raw @returns {number | null} */
function contextWindow(raw) {
  const trimmed = boundedIdentity(raw);
  if (trimmed === null || !/^[0-9]+$/.test(trimmed)) return null;
  const n = Number(trimmed);
  return n >= 1 && n <= MAX_CONTEXT_WINDOW ? n : null;
}

/**
 * The capture fields when `x-taas-autorouted` is `true`, else null. Each value must be a
 * bounded identity or it becomes null.
 * @param {unknown} headers  a plain object (names in any case) or a `Headers` instance
 * @returns {CaptureFields | null}
 */
export function parseCapture(headers) {
  const h = pickCaptureHeaders(headers);
  if (h["x-taas-autorouted"] === undefined || asciiLower(h["x-taas-autorouted"].trim()) !== "true") {
    return null;
  }
  const field = (/** @type {string} */ name) => boundedIdentity(h[name]);
  return {
    taasRequestId: field("x-request-id") ?? field("x-taas-request-id"),
    taasTraceId: field("x-trace-id") ?? field("x-taas-trace-id"),
    openclawTurnId: field("x-openclaw-turn-id"),
    openclawAttempt: field("x-openclaw-attempt"),
    autorouterModel: field("x-taas-autorouter-model"),
    autorouterAlgo: field("x-taas-autorouter-mode"),
    autorouterAlgoSource: field("x-taas-autorouter-algorithm-source"),
    thinkingApplied: field("x-taas-thinking-applied"),
    routedContextWindow: contextWindow(h["x-taas-routed-context-window"]),
  };
}
