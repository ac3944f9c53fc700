// The spill file: the captures the service has not acknowledged, kept on disk so a gateway restart
// (or a kill -9) while the service is away loses none of them. The lines are spill-format.js's.
//
// Nothing here is on the recording path: `added` / `done` / `setDrops` only note the event in memory;
// one write per `flushMs` (default 50 ms) appends what accumulated, off the LLM call's path. A capture
// acknowledged before its write is never written at all, so with the service up the file stays almost
// idle. The first write after `start` rewrites the file with the whole queue (a torn tail left by a
// crash is gone then), and so does any write that would pass `maxBytes` or that finds dead lines
// dominating: a temp file, fsync, rename, fsync of the directory. Appends are fsynced too.
//
// Any file error (EACCES, ENOSPC, EROFS, …) is logged once, by its code only, and the spill stops:
// the client carries on in memory. Nothing is ever thrown to the caller; no log line names the path or
// a capture's contents.
import { chmod, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { EMPTY_REPLAY, compactionDue, doneLine, dropsLine, recordLine, replayOf } from "./spill-format.js";

export const DEFAULT_FLUSH_MS = 50;
/** After a file error, the whole queue is written again this much later (and again, until it works). */
export const DEFAULT_RETRY_MS = 30_000;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * What the spill asks of the queue when it rewrites the file: the live captures, oldest first, and
 * their bytes. @typedef {{entries: () => {key: string, paramsJson: string}[], bytes: () => number}} QueueView
 */

/**
 * @typedef {object} SpillStatus
 * @property {"new" | "opening" | "opened" | "open" | "failed" | "closed"} state
 * @property {number} fileBytes  the file's size as last written
 * @property {number} unwritten  events noted and not on disk yet (0: the file holds the queue as it is)
 * @property {number} skipped    torn or corrupt lines skipped at replay
 * @property {number} writes     appends and rewrites done
 * @property {number} rewrites   of those, rewrites
 * @property {string | null} error  the code of the error that stopped it
 */

/**
 * @typedef {object} Spill
 * @property {() => Promise<import("./spill-format.js").SpillReplay>} open  make the directory, read and replay the file; never rejects
 * @property {(queue: QueueView, drops: number) => void} start  from now on write; the first write rewrites the file with `queue`
 * @property {(key: string, paramsJson: string) => void} added
 * @property {(key: string) => void} done
 * @property {(count: number) => void} setDrops
 * @property {() => Promise<void>} flushed  write what is pending now (tests, close)
 * @property {() => Promise<void>} close    write what is pending, then stop
 * @property {() => SpillStatus} status
 */

/**
 * @typedef {object} SpillState
 * @property {string} dir
 * @property {string} file
 * @property {number} maxBytes
 * @property {number} flushMs
 * @property {{warn: (m: string) => void}} logger
 * @property {SpillStatus["state"]} state
 * @property {QueueView | null} queue
 * @property {Map<string, string>} pendingRecords  added since the last write, by key
 * @property {string[]} pendingDone  keys done since the last write whose R line is on disk
 * @property {number} drops
 * @property {boolean} dropsDirty
 * @property {boolean} rewriteDue
 * @property {number} fileBytes
 * @property {NodeJS.Timeout | null} timer
 * @property {Promise<void> | null} writing
 * @property {number} skipped
 * @property {number} writes
 * @property {number} rewrites
 * @property {string | null} error
 * @property {number} retryMs
 * @property {NodeJS.Timeout | null} retryTimer  the next try after a failure
 * @property {boolean} recovering  the write under way is the first after a failure
 */

/**
 * @param {object} options
 * @param {string} options.dir       made 0700 when missing (and set to 0700)
 * @param {string} options.fileName  the file in it, 0600
 * @param {number} options.maxBytes  the file never passes it
 * @param {{warn: (m: string) => void}} options.logger
 * @param {number} [options.flushMs]
 * @param {number} [options.retryMs]  after a file error, how long until the whole queue is written again
 * @returns {Spill}
 */
export function createSpill(options) {
  /** @type {SpillState} */
  const s = {
    dir: options.dir,
    file: path.join(options.dir, options.fileName),
    maxBytes: options.maxBytes,
    flushMs: options.flushMs ?? DEFAULT_FLUSH_MS,
    logger: options.logger,
    state: "new",
    queue: null,
    pendingRecords: new Map(),
    pendingDone: [],
    drops: 0,
    dropsDirty: false,
    rewriteDue: false,
    fileBytes: 0,
    timer: null,
    writing: null,
    skipped: 0,
    writes: 0,
    rewrites: 0,
    error: null,
    retryMs: options.retryMs ?? DEFAULT_RETRY_MS,
    retryTimer: null,
    recovering: false,
  };
  return {
    open: () => openSpill(s),
    start: (queue, drops) => startSpill(s, queue, drops),
    added: (key, paramsJson) => {
      if (!accepting(s)) return;
      s.pendingRecords.set(key, paramsJson);
      schedule(s);
    },
    done: (key) => {
      if (!accepting(s) || s.pendingRecords.delete(key)) return;
      s.pendingDone.push(key);
      schedule(s);
    },
    setDrops: (count) => {
      if (!accepting(s) || count === s.drops) return;
      s.drops = count;
      s.dropsDirty = true;
      schedule(s);
    },
    flushed: () => flushNow(s),
    close: () => closeSpill(s),
    status: () => ({
      state: s.state,
      fileBytes: s.fileBytes,
      unwritten: unwrittenCount(s),
      skipped: s.skipped,
      writes: s.writes,
      rewrites: s.rewrites,
      error: s.error,
    }),
  };
}

/** Events count until the spill is closed or failed (before `start` they wait for the first rewrite). @param {SpillState} s */
function accepting(s) {
  return s.state === "opening" || s.state === "opened" || s.state === "open";
}

/** @param {SpillState} s @returns {Promise<import("./spill-format.js").SpillReplay>} */
async function openSpill(s) {
  if (s.state !== "new") return EMPTY_REPLAY;
  s.state = "opening";
  try {
    await mkdir(s.dir, { recursive: true, mode: DIR_MODE });
    await chmod(s.dir, DIR_MODE);
    const bytes = await fileBytes(s.file);
    const replay = replayOf(bytes.toString("utf8"));
    s.skipped = replay.skipped;
    s.fileBytes = bytes.length;
    if (replay.skipped > 0) s.logger.warn(`[taas-affinity] capture spill: skipped ${replay.skipped} torn or corrupt lines`);
    if (s.state === "opening") s.state = "opened";
    return replay;
  } catch (error) {
    fail(s, error);
    return EMPTY_REPLAY;
  }
}

/** @param {string} file @returns {Promise<Buffer>} empty when there is none */
async function fileBytes(file) {
  try {
    return await readFile(file);
  } catch (error) {
    if (/** @type {{code?: string}} */ (error).code === "ENOENT") return Buffer.alloc(0);
    throw error;
  }
}

/** @param {SpillState} s @param {QueueView} queue @param {number} drops */
function startSpill(s, queue, drops) {
  if (s.state !== "opened") return;
  s.state = "open";
  s.queue = queue;
  s.drops = drops;
  s.rewriteDue = true;
  schedule(s, 0);
}

/** One write within `flushMs` (sooner with `delayMs`), none while one is under way. @param {SpillState} s @param {number} [delayMs] */
function schedule(s, delayMs = s.flushMs) {
  if (s.state !== "open" || s.timer !== null || s.writing !== null) return;
  s.timer = setTimeout(() => {
    s.timer = null;
    void writeOnce(s);
  }, delayMs);
  s.timer.unref();
}

/** @param {SpillState} s */
function unwrittenCount(s) {
  if (s.state === "failed") return 0;
  const flags = Number(s.rewriteDue) + Number(s.dropsDirty) + Number(s.writing !== null);
  return s.pendingRecords.size + s.pendingDone.length + flags;
}

/** @param {SpillState} s */
function somethingPending(s) {
  return s.rewriteDue || s.dropsDirty || s.pendingRecords.size > 0 || s.pendingDone.length > 0;
}

/**
 * One write of what is pending: an append, or a rewrite. The pending events are taken before the
 * first await, so events during the write wait for the next one.
 * @param {SpillState} s
 * @returns {Promise<void>}
 */
function writeOnce(s) {
  if (s.writing !== null) return s.writing;
  if (s.state !== "open" || !somethingPending(s)) return Promise.resolve();
  if (s.timer !== null) clearTimeout(s.timer);
  s.timer = null;
  let rewrite;
  let text;
  try {
    // Synchronous: a timer callback runs it, so whatever it throws (a string past V8's limit) must fail the
    // spill, never the gateway.
    const queue = /** @type {QueueView} */ (s.queue);
    // A rewrite due anyway holds every pending event: their lines are not worth building.
    const append = s.rewriteDue ? "" : pendingText(s);
    const sizes = { fileBytes: s.fileBytes, appendBytes: Buffer.byteLength(append), liveBytes: queue.bytes(), maxBytes: s.maxBytes };
    rewrite = s.rewriteDue || compactionDue(sizes);
    if (rewrite) clearPending(s);
    text = rewrite ? fileTextOf(queue, s.drops) : append;
  } catch (error) {
    fail(s, error);
    return Promise.resolve();
  }
  s.rewriteDue = false;
  s.writing = (rewrite ? replaceFile(s, text) : appendToFile(s, text))
    .then((bytes) => {
      s.fileBytes = rewrite ? bytes : s.fileBytes + bytes;
      s.writes += 1;
      if (rewrite) s.rewrites += 1;
      if (s.recovering) {
        s.recovering = false;
        s.error = null;
        s.logger.warn("[taas-affinity] capture spill file usable again; every unacknowledged capture is in it");
      }
    })
    .catch((error) => fail(s, error))
    .finally(() => {
      s.writing = null;
      if (somethingPending(s)) schedule(s);
    });
  return s.writing;
}

/** The pending events as lines, taken (cleared). @param {SpillState} s */
function pendingText(s) {
  let text = "";
  for (const key of s.pendingDone) text += doneLine(key);
  for (const paramsJson of s.pendingRecords.values()) text += recordLine(paramsJson);
  if (s.dropsDirty) text += dropsLine(s.drops);
  clearPending(s);
  return text;
}

/** Forget the pending events (written, or held by a rewrite of the whole queue). @param {SpillState} s */
function clearPending(s) {
  s.pendingDone = [];
  s.pendingRecords = new Map();
  s.dropsDirty = false;
}

/** The whole file for `queue`: the drop count, then every live capture. @param {QueueView} queue @param {number} drops */
function fileTextOf(queue, drops) {
  let text = drops > 0 ? dropsLine(drops) : "";
  for (const entry of queue.entries()) text += recordLine(entry.paramsJson);
  return text;
}

/** @param {SpillState} s @param {string} text @returns {Promise<number>} bytes written */
async function appendToFile(s, text) {
  const handle = await open(s.file, "a", FILE_MODE);
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  return Buffer.byteLength(text);
}

/** Temp file, fsync, rename over, fsync the directory. @param {SpillState} s @param {string} text @returns {Promise<number>} */
async function replaceFile(s, text) {
  const temp = `${s.file}.tmp`;
  // A temp file left by a crash may have another mode: start afresh so `open` sets 0600.
  await rm(temp, { force: true });
  const handle = await open(temp, "wx", FILE_MODE);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, s.file);
  await syncDirectory(s.dir);
  return Buffer.byteLength(text);
}

/** The rename is durable once the directory is synced; some file systems refuse that, which is harmless. @param {string} dir */
async function syncDirectory(dir) {
  let handle;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // EISDIR / EINVAL / EPERM on file systems that cannot sync a directory.
  } finally {
    await handle?.close();
  }
}

/** @param {SpillState} s */
async function flushNow(s) {
  if (s.timer !== null) {
    clearTimeout(s.timer);
    s.timer = null;
  }
  while (s.writing !== null || (s.state === "open" && somethingPending(s))) {
    await (s.writing ?? writeOnce(s));
  }
}

/** @param {SpillState} s */
async function closeSpill(s) {
  if (s.retryTimer !== null) clearTimeout(s.retryTimer);
  s.retryTimer = null;
  await flushNow(s);
  if (s.state !== "failed") s.state = "closed";
}

/**
 * Stop writing, say so once by the error's code only (an fs error's message names the path), and try
 * again after `retryMs` with a rewrite of the whole queue (so nothing noted meanwhile is missing).
 * @param {SpillState} s @param {unknown} error
 */
function fail(s, error) {
  if (s.state === "closed") return;
  const first = s.state !== "failed" && !s.recovering;
  s.state = "failed";
  s.recovering = false;
  s.error = String(/** @type {{code?: unknown}} */ (error)?.code ?? "error");
  if (s.timer !== null) clearTimeout(s.timer);
  s.timer = null;
  clearPending(s);
  if (first) {
    s.logger.warn(`[taas-affinity] capture spill file unusable (${s.error}); keeping unacknowledged captures in memory, trying the file again every ${Math.round(s.retryMs / 1000)} s`);
  }
  if (s.queue === null || s.retryTimer !== null) return;
  s.retryTimer = setTimeout(() => {
    s.retryTimer = null;
    if (s.state !== "failed") return;
    s.state = "open";
    s.recovering = true;
    s.rewriteDue = true;
    void writeOnce(s);
  }, s.retryMs);
  s.retryTimer.unref();
}
