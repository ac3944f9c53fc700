// The spill file's lines and bounds: pure encoding, decoding and replay (no disk), so the format is
// tested on strings. spill-file.js does the I/O.
//
// One event per line, appended, each line checked:
//   R <check> <params JSON>  a capture not yet acknowledged: the record params sent to the service
//   A <check> <key JSON>     the capture with that idempotency key is done (acknowledged, refused or dropped)
//   D <check> <count>        captures dropped since the service was last drained (absolute: the last one counts)
// <check> is the first 12 hex digits of sha256("<kind> <payload>"). A line whose check does not match,
// and the unterminated tail a crash can leave, are skipped and counted, never trusted.
import { createHash } from "node:crypto";

const CHECK_LENGTH = 12;
/** "R " + check + " " */
const PREFIX_LENGTH = 2 + CHECK_LENGTH + 1;
/** The longest D line (a count up to 2^53): kept free under the bound for the compacted file's drop count. */
export const DROPS_LINE_MAX_BYTES = PREFIX_LENGTH + 16 + 1;
/** Below this a file is not worth rewriting just because most of its lines are dead. */
export const COMPACT_MIN_BYTES = 64 * 1024;

/**
 * @typedef {object} SpilledRecord
 * @property {string} key         the capture's idempotency key
 * @property {string} paramsJson  its record params, as sent to the service
 * @property {number} bytes       the length of its R line
 */

/**
 * @typedef {object} SpillReplay
 * @property {SpilledRecord[]} records  captures not yet done, oldest first
 * @property {number} drops    captures dropped since the service was last drained (last D line)
 * @property {number} skipped  torn or corrupt lines
 */

/** @type {SpillReplay} */
export const EMPTY_REPLAY = Object.freeze({ records: [], drops: 0, skipped: 0 });

/** @param {string} kind @param {string} payload @returns {string} */
function checkOf(kind, payload) {
  return createHash("sha256").update(`${kind} ${payload}`).digest("hex").slice(0, CHECK_LENGTH);
}

/** @param {string} kind @param {string} payload @returns {string} one line, newline included */
function lineOf(kind, payload) {
  return `${kind} ${checkOf(kind, payload)} ${payload}\n`;
}

/** The R line of a capture. @param {string} paramsJson */
export const recordLine = (paramsJson) => lineOf("R", paramsJson);
/** The A line that marks the capture with `key` done. @param {string} key */
export const doneLine = (key) => lineOf("A", JSON.stringify(key));
/** The D line of the drop count. @param {number} count */
export const dropsLine = (count) => lineOf("D", String(count));

/**
 * The byte length of a capture's R line, without computing its check (cheap enough for the
 * recording path). @param {string} paramsJson
 */
export function recordLineBytes(paramsJson) {
  return PREFIX_LENGTH + Buffer.byteLength(paramsJson) + 1;
}

/**
 * What the captures of a spill bounded at `maxBytes` may take: three quarters of it. The rest is room
 * for the lines appended between two compactions, so a full spill is not rewritten on every write.
 * @param {number} maxBytes
 */
export function liveBytesBound(maxBytes) {
  return Math.max(0, Math.floor((maxBytes * 3) / 4) - DROPS_LINE_MAX_BYTES);
}

/**
 * Whether the next write rewrites the file with only the live captures: when appending would pass the
 * bound, or when dead lines (done captures and their A lines) outweigh live ones in a file worth it.
 * @param {{fileBytes: number, appendBytes: number, liveBytes: number, maxBytes: number}} sizes
 *   the file now, the batch to append, the live captures' R lines (the batch's included)
 */
export function compactionDue({ fileBytes, appendBytes, liveBytes, maxBytes }) {
  const after = fileBytes + appendBytes;
  if (after > maxBytes) return true;
  return after >= COMPACT_MIN_BYTES && after - liveBytes > liveBytes;
}

/**
 * One line (without its newline) as an event, or null when it is torn, corrupt or unknown.
 * @param {string} line
 * @returns {{kind: "record", record: SpilledRecord} | {kind: "done", key: string} | {kind: "drops", count: number} | null}
 */
export function eventOf(line) {
  if (line.length < PREFIX_LENGTH || line[1] !== " " || line[PREFIX_LENGTH - 1] !== " ") return null;
  const kind = line[0];
  const payload = line.slice(PREFIX_LENGTH);
  if (checkOf(kind, payload) !== line.slice(2, 2 + CHECK_LENGTH)) return null;
  if (kind === "D") return /^\d{1,16}$/.test(payload) ? { kind: "drops", count: Number(payload) } : null;
  const parsed = parsedJson(payload);
  if (kind === "A") return typeof parsed === "string" ? { kind: "done", key: parsed } : null;
  if (kind !== "R") return null;
  const key = /** @type {any} */ (parsed)?.idempotencyKey;
  if (typeof key !== "string") return null;
  return { kind: "record", record: { key, paramsJson: payload, bytes: recordLineBytes(payload) } };
}

/** @param {string} text @returns {unknown} undefined when it is not JSON */
function parsedJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The captures a spill file still owes, in the order they were made, from its whole text. A capture
 * spilled twice counts once (its first line); a text that does not end with a newline has a torn tail.
 * @param {string} text
 * @returns {SpillReplay}
 */
export function replayOf(text) {
  const lines = text.split("\n");
  const tail = /** @type {string} */ (lines.pop());
  let skipped = tail === "" ? 0 : 1;
  let drops = 0;
  /** @type {Map<string, SpilledRecord>} */
  const live = new Map();
  for (const line of lines) {
    const event = eventOf(line);
    if (event === null) skipped += 1;
    else if (event.kind === "record") {
      if (!live.has(event.record.key)) live.set(event.record.key, event.record);
    } else if (event.kind === "done") live.delete(event.key);
    else drops = event.count;
  }
  return { records: [...live.values()], drops, skipped };
}
