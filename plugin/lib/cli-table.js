// Plain-text tables for people, exactly as `taas-capture` prints them (Sources/taas-capture/Table.swift);
// scripts use `--json`. Pure functions returning the text; the caller writes it.
import { objectOrEmpty } from "./objects.js";

/** @typedef {[string, string]} Pair */

/** Characters as a terminal counts them (code points, as Swift's `count` does for these strings). @param {string} s */
function width(s) {
  return [...s].length;
}

/** @param {string} s @param {number} n */
function padded(s, n) {
  return s + " ".repeat(Math.max(0, n - width(s)));
}

/**
 * Rows under a header, each column as wide as its widest cell, two spaces between columns; the
 * last column is not padded.
 * @param {string[]} header
 * @param {string[][]} rows
 * @returns {string}  lines, each ended by a newline
 */
export function tableText(header, rows) {
  const widths = header.map(width);
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < widths.length) widths[i] = Math.max(widths[i], width(cell));
    });
  }
  const line = (/** @type {string[]} */ cells) => cells.map((cell, i) => (i === cells.length - 1 ? cell : padded(cell, widths[i]))).join("  ");
  return [header, ...rows].map((cells) => `${line(cells)}\n`).join("");
}

/**
 * `label: value` lines, labels aligned.
 * @param {Pair[]} pairs
 * @returns {string}
 */
export function pairsText(pairs) {
  const labelWidth = Math.max(0, ...pairs.map(([label]) => width(label)));
  return pairs.map(([label, value]) => `${padded(`${label}:`, labelWidth + 1)} ${value}\n`).join("");
}

export const CAPTURE_HEADER = Object.freeze([
  "id",
  "captured at (UTC)",
  "session",
  "agent",
  "model",
  "algo",
  "source",
  "thinking",
  "ctx",
  "tokens in/out/cache read/write",
  "request id",
]);

const TOKEN_KEYS = ["inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens"];

/**
 * A JSON scalar as text; null and absent as "-".
 * @param {unknown} value
 * @returns {string}
 */
export function text(value) {
  if (value === undefined || value === null) return "-";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/**
 * Milliseconds since the epoch as an ISO 8601 UTC time with milliseconds; "-" when not an integer.
 * @param {unknown} value
 * @returns {string}
 */
export function timestamp(value) {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) return "-";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? "-" : date.toISOString();
}

/** @param {unknown} value @returns {number | null} */
function numberOrNull(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/**
 * A ratio 0…1 as a percentage with one decimal, "-" when null.
 * @param {unknown} value
 */
export function percent(value) {
  const ratio = numberOrNull(value);
  return ratio === null ? "-" : `${(ratio * 100).toFixed(1)}%`;
}

/**
 * An amount in USD with four decimals, "-" when null.
 * @param {unknown} value
 */
export function usd(value) {
  const amount = numberOrNull(value);
  return amount === null ? "-" : `$${amount.toFixed(4)}`;
}

/**
 * A capture's token counts as `in/out/read/write`, "-" when it has none.
 * @param {unknown} capture
 */
export function tokens(capture) {
  const c = objectOrEmpty(capture);
  if (!TOKEN_KEYS.some((key) => Number.isSafeInteger(c[key]))) return "-";
  return TOKEN_KEYS.map((key) => text(c[key])).join("/");
}

/**
 * One capture (the SPEC's wire shape) as a table row.
 * @param {unknown} capture
 * @returns {string[]}
 */
export function captureRow(capture) {
  const c = objectOrEmpty(capture);
  return [
    text(c.id),
    timestamp(c.capturedAt),
    text(c.sessionId),
    text(c.agentId),
    text(c.autorouterModel),
    text(c.autorouterAlgo),
    text(c.autorouterAlgoSource),
    text(c.thinkingApplied),
    text(c.routedContextWindow),
    tokens(c),
    text(c.taasRequestId),
  ];
}

/**
 * The `usage` block of a stats result as label/value pairs; money sums are labelled estimates.
 * @param {unknown} usage
 * @returns {Pair[]}
 */
export function usagePairs(usage) {
  const u = objectOrEmpty(usage);
  if (!(Number.isSafeInteger(u.calls) && u.calls > 0)) return [["calls with usage", "0"]];
  return [
    ["calls with usage", text(u.calls)],
    ["tokens in / out", `${text(u.inputTokens)} / ${text(u.outputTokens)}`],
    ["cache read / write", `${text(u.cacheReadTokens)} / ${text(u.cacheWriteTokens)}`],
    ["cache hit ratio", percent(u.cacheHitRatio)],
    ["cost (as reported)", usd(u.costUsd)],
    ["saved by cache (estimate)", usd(u.cacheSavedUsd)],
  ];
}
