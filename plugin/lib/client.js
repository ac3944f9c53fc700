// The taas-capture service client: JSON-RPC 2.0 over one persistent line connection.
//
// `record` is fire-and-forget for the LLM request path: it never throws, never returns a
// promise, and holds captures in a bounded queue (record-queue.js) while the service is away.
// Each capture carries an idempotency key fixed when it was made, so a capture resent after a
// reconnect (its first answer lost with the connection) is stored once. Queries (`call`) are
// not queued: they fail fast when the service is unreachable so callers can fall back.
//
// The queue can be kept in a spill file (spill-file.js, given with `adoptSpill`): each capture queued
// is noted there, each one answered or dropped marked done, and the captures a previous gateway left
// are restored ahead of the new ones. Noting costs a Map insert; the file is written off this path.
//
// Order: on one connection, every record queued before a query is written before that query,
// also right after a (re)connect, so a service that executes a connection's requests in order
// (SPEC v2 "Ordered effects") answers the query with those records in it.
import { randomBytes } from "node:crypto";
import { errorText } from "./errors.js";
import { openLineConnection } from "./line-connection.js";
import { isPlainObject } from "./objects.js";
import { createRecordQueue } from "./record-queue.js";
import { RETRY_DELAY_MS, isRetryableServiceError, reconnectDelayMs, storageRetryDelayMs } from "./retry.js";
import { recordLineBytes } from "./spill-format.js";

export const DEFAULT_QUEUE_LIMIT = 5000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 2000;

/** A fresh idempotency key for one capture: `cap:` + 128 random bits in hex. */
export function newIdempotencyKey() {
  return `cap:${randomBytes(16).toString("hex")}`;
}

/** An error from the service client; `kind` says whether the service could be asked at all. */
export class CaptureServiceError extends Error {
  /**
   * @param {"unavailable" | "timeout" | "rpc" | "closed"} kind
   * @param {string} message
   * @param {{code?: number, data?: unknown}} [detail]
   */
  constructor(kind, message, detail = {}) {
    super(message);
    this.name = "CaptureServiceError";
    this.kind = kind;
    this.code = detail.code;
    this.data = detail.data;
  }
}

/**
 * @typedef {object} ClientCounters
 * @property {number} sent        record requests written (resends included)
 * @property {number} resent      of those, writes of a capture sent before
 * @property {number} acked       records the service answered with success
 * @property {number} duplicates  of those, answered `duplicate: true`
 * @property {number} queued      captures held now (waiting or in flight)
 * @property {number} dropped     captures dropped because the queue was full (with those a previous gateway dropped, from the spill)
 * @property {number} replayed    captures restored from the spill file at start
 * @property {number} failed      captures the service refused (not retried)
 * @property {number} connects    successful connections
 * @property {boolean} connected
 * @property {import("./spill-file.js").SpillStatus | null} spill  null without a spill file
 */

/**
 * @typedef {object} CaptureClient
 * @property {(params: Record<string, unknown>) => boolean} record  queue one capture; never throws
 * @property {(method: string, params?: Record<string, unknown>) => Promise<any>} call
 * @property {() => ClientCounters} counters
 * @property {(spill: import("./spill-file.js").Spill, replay: import("./spill-format.js").SpillReplay) => void} adoptSpill
 *   keep the queue in `spill` from now on, `replay` (what it held) first
 * @property {(timeoutMs: number) => Promise<boolean>} drain  wait until nothing is queued
 * @property {() => Promise<void>} close
 * @property {string} socketPath
 */

/**
 * @typedef {{kind: "record", seq: number, timer: NodeJS.Timeout}
 *   | {kind: "call", resolve: (v: any) => void, reject: (e: Error) => void, timer: NodeJS.Timeout}} Pending
 */

/**
 * Everything one client holds. Flat functions below take it as their first argument.
 * @typedef {object} ClientState
 * @property {string} socketPath
 * @property {number} queueLimit
 * @property {number} queueMaxBytes
 * @property {number} requestTimeoutMs
 * @property {{minMs?: number, maxMs?: number}} backoff
 * @property {{warn: (m: string) => void, info?: (m: string) => void}} logger
 * @property {(m: string) => void} debug
 * @property {import("./record-queue.js").RecordQueue} queue
 * @property {import("./spill-file.js").Spill | null} spill
 * @property {import("./line-connection.js").LineConnection | null} connection
 * @property {"idle" | "connecting" | "open" | "closed"} phase
 * @property {boolean} needDrain
 * @property {number} failedAttempts
 * @property {NodeJS.Timeout | null} reconnectTimer
 * @property {NodeJS.Timeout | null} retryTimer
 * @property {number} storageRefusals  retry rounds after storage refusals (-32000) since a capture was last stored
 * @property {number} nextRpcId
 * @property {Map<number, Pending>} pending  written and not yet answered, in request order
 * @property {Array<{go: () => void, fail: (e: Error) => void}>} connectWaiters  calls waiting for a connection
 * @property {boolean} warnedUnreachable
 * @property {number} burstDrops  captures dropped since the queue last drained (a previous gateway's included)
 * @property {boolean} timedOut  the connection is being reset because the service did not answer in time
 * @property {{sent: number, resent: number, acked: number, duplicates: number, dropped: number, replayed: number, failed: number, connects: number}} stats
 */

/**
 * @param {object} options
 * @param {string} options.socketPath
 * @param {number} [options.queueLimit]
 * @param {number} [options.queueMaxBytes]  the queue's byte bound (each capture costs its spill line)
 * @param {number} [options.requestTimeoutMs]
 * @param {{warn: (m: string) => void, info?: (m: string) => void}} [options.logger]
 * @param {(message: string) => void} [options.debug]
 * @param {number} [options.backoffMinMs]
 * @param {number} [options.backoffMaxMs]
 * @returns {CaptureClient}
 */
export function createCaptureClient(options) {
  const queueLimit = options.queueLimit ?? DEFAULT_QUEUE_LIMIT;
  const queueMaxBytes = options.queueMaxBytes ?? Infinity;
  /** @type {ClientState} */
  const c = {
    socketPath: options.socketPath,
    queueLimit,
    queueMaxBytes,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    backoff: { minMs: options.backoffMinMs, maxMs: options.backoffMaxMs },
    logger: options.logger ?? { warn: () => {} },
    debug: options.debug ?? (() => {}),
    queue: createRecordQueue(queueLimit, queueMaxBytes),
    spill: null,
    connection: null,
    phase: "idle",
    needDrain: false,
    failedAttempts: 0,
    reconnectTimer: null,
    retryTimer: null,
    storageRefusals: 0,
    nextRpcId: 1,
    pending: new Map(),
    connectWaiters: [],
    warnedUnreachable: false,
    burstDrops: 0,
    timedOut: false,
    stats: { sent: 0, resent: 0, acked: 0, duplicates: 0, dropped: 0, replayed: 0, failed: 0, connects: 0 },
  };
  return {
    socketPath: c.socketPath,
    record: (params) => queueRecord(c, params),
    call: (method, params = {}) => callService(c, method, params),
    counters: () => ({ ...c.stats, queued: c.queue.size(), connected: c.phase === "open", spill: c.spill?.status() ?? null }),
    adoptSpill: (spill, replay) => adoptSpill(c, spill, replay),
    drain: (timeoutMs) => drained(c, timeoutMs),
    close: () => closeClient(c),
  };
}

/**
 * @param {ClientState} c
 * @param {Record<string, unknown>} params
 * @returns {boolean} false when the client is closed or the capture could not be queued
 */
function queueRecord(c, params) {
  try {
    if (c.phase === "closed") return false;
    const key = typeof params.idempotencyKey === "string" ? params.idempotencyKey : newIdempotencyKey();
    const keyed = params.idempotencyKey === key ? params : { ...params, idempotencyKey: key };
    const paramsJson = JSON.stringify(keyed);
    const dropped = c.queue.push({ key, paramsJson, bytes: recordLineBytes(paramsJson) });
    c.spill?.added(key, paramsJson);
    if (dropped.length > 0) noteDrops(c, dropped);
    if (c.connection === null && c.reconnectTimer === null) connect(c);
    flushRecords(c);
    return true;
  } catch (error) {
    c.debug(`[taas-affinity] record failed: ${errorText(error)}`);
    return false;
  }
}

/**
 * One warning per episode (from the first drop until the queue drains, across gateway restarts when
 * a spill carries the count); the count comes with the drained line.
 * @param {ClientState} c
 * @param {import("./record-queue.js").QueuedRecord[]} dropped
 */
function noteDrops(c, dropped) {
  if (c.burstDrops === 0) {
    const bytes = Number.isFinite(c.queueMaxBytes) ? ` captures or ${c.queueMaxBytes} bytes` : "";
    c.logger.warn(
      `[taas-affinity] taas-capture queue full (${c.queueLimit}${bytes}); dropping the oldest captures until the service is back`,
    );
  }
  for (const entry of dropped) c.spill?.done(entry.key);
  c.burstDrops += dropped.length;
  c.stats.dropped += dropped.length;
  c.spill?.setDrops(c.burstDrops);
}

/** @param {ClientState} c */
function noteSettled(c) {
  if (c.queue.size() === 0 && c.burstDrops > 0) {
    c.logger.warn(`[taas-affinity] taas-capture queue drained; ${c.burstDrops} captures were dropped while the service was away`);
    c.burstDrops = 0;
    c.spill?.setDrops(0);
  }
}

/**
 * From now on the queue is kept in `spill`. What it held (a previous gateway's captures and drop
 * count) goes ahead of everything queued here, bounds applied; its first write holds the whole queue.
 * @param {ClientState} c
 * @param {import("./spill-file.js").Spill} spill
 * @param {import("./spill-format.js").SpillReplay} replay
 */
function adoptSpill(c, spill, replay) {
  if (c.spill !== null || c.phase === "closed") return;
  c.spill = spill;
  c.stats.replayed += replay.records.length;
  c.burstDrops += replay.drops;
  c.stats.dropped += replay.drops;
  const dropped = c.queue.restoreOlder(replay.records);
  if (dropped.length > 0) noteDrops(c, dropped);
  spill.start(c.queue, c.burstDrops);
  if (replay.records.length === 0) return;
  (c.logger.info ?? c.logger.warn)(
    `[taas-affinity] restored ${replay.records.length - dropped.length} unacknowledged captures from the spill file; sending them when the service answers`,
  );
  if (c.connection === null && c.reconnectTimer === null) connect(c);
  flushRecords(c);
}

/** Write every waiting record the socket will take now. @param {ClientState} c */
function flushRecords(c) {
  while (c.phase === "open" && !c.needDrain && c.connection !== null) {
    const entry = c.queue.takeNext();
    if (entry === null) break;
    const id = c.nextRpcId++;
    const timer = setTimeout(() => resetAfterTimeout(c, "record timed out"), c.requestTimeoutMs);
    timer.unref();
    c.pending.set(id, { kind: "record", seq: entry.seq, timer });
    c.stats.sent += 1;
    if (entry.writes > 1) c.stats.resent += 1;
    writeLine(c, `{"jsonrpc":"2.0","id":${id},"method":"taas.autorouter.record","params":${entry.paramsJson}}`);
  }
  updateKeepAlive(c);
}

/** @param {ClientState} c @param {string} line */
function writeLine(c, line) {
  if (c.connection !== null && !c.connection.write(line)) c.needDrain = true;
}

/** @param {ClientState} c */
function updateKeepAlive(c) {
  c.connection?.keepAlive(c.pending.size > 0 || c.queue.waitingCount() > 0);
}

/**
 * Resends what waits after a "retry later": soon after an overload (-32002), ever later (to 30 s) while storage
 * keeps refusing (-32000) until a capture is stored again.
 * @param {ClientState} c @param {boolean} storage  the refusal was -32000
 */
function scheduleRetry(c, storage) {
  if (c.retryTimer !== null || c.phase === "closed") return;
  const delay = storage ? storageRetryDelayMs(c.storageRefusals++) : RETRY_DELAY_MS;
  c.retryTimer = setTimeout(() => {
    c.retryTimer = null;
    flushRecords(c);
  }, delay);
  c.retryTimer.unref();
}

/** @param {ClientState} c @param {unknown} reply */
function handleReply(c, reply) {
  if (!isPlainObject(reply)) return;
  const { id, result, error } = /** @type {{id?: unknown, result?: any, error?: any}} */ (reply);
  if (typeof id !== "number") {
    if (error) c.debug(`[taas-affinity] service error without id: ${error.code} ${error.message}`);
    return;
  }
  const pending = c.pending.get(id);
  if (pending === undefined) return;
  c.pending.delete(id);
  clearTimeout(pending.timer);
  if (pending.kind === "call") {
    if (error) pending.reject(rpcError(error));
    else pending.resolve(result);
  } else if (!error) {
    c.stats.acked += 1;
    c.storageRefusals = 0;
    if (result?.duplicate === true) c.stats.duplicates += 1;
    settled(c, pending.seq);
  } else if (isRetryableServiceError(error)) {
    c.queue.putBack(pending.seq);
    scheduleRetry(c, error.code === -32000);
  } else {
    c.stats.failed += 1;
    c.logger.warn(`[taas-affinity] taas-capture refused a capture: ${error.code} ${error.message}`);
    settled(c, pending.seq);
  }
}

/** Answered for good: out of the queue and done in the spill. @param {ClientState} c @param {number} seq */
function settled(c, seq) {
  const entry = c.queue.settle(seq);
  if (entry !== null) c.spill?.done(entry.key);
  noteSettled(c);
}

/** @param {any} error @returns {CaptureServiceError} */
function rpcError(error) {
  return new CaptureServiceError("rpc", String(error.message ?? "service error"), { code: error.code, data: error.data });
}

/** @param {ClientState} c */
function connect(c) {
  if (c.phase === "closed" || c.connection !== null) return;
  if (c.reconnectTimer !== null) {
    clearTimeout(c.reconnectTimer);
    c.reconnectTimer = null;
  }
  c.phase = "connecting";
  c.connection = openLineConnection(c.socketPath, {
    onOpen: () => onOpen(c),
    onMessage: (message) => {
      if (Array.isArray(message)) message.forEach((m) => handleReply(c, m));
      else handleReply(c, message);
      flushRecords(c);
    },
    onDrain: () => {
      c.needDrain = false;
      flushRecords(c);
    },
    onClose: () => onClose(c),
    debug: c.debug,
  });
  updateKeepAlive(c);
}

/** Records first, then the queries that waited: they must see those records. @param {ClientState} c */
function onOpen(c) {
  if (c.phase !== "connecting") return;
  c.phase = "open";
  c.failedAttempts = 0;
  c.stats.connects += 1;
  if (c.warnedUnreachable || c.stats.connects > 1) {
    (c.logger.info ?? c.logger.warn)(`[taas-affinity] connected to taas-capture; ${c.queue.size()} captures queued`);
  }
  c.warnedUnreachable = false;
  flushRecords(c);
  const waiters = c.connectWaiters;
  c.connectWaiters = [];
  for (const waiter of waiters) waiter.go();
}

/**
 * The service did not answer in time: replies come in request order, so nothing behind the late one
 * can arrive either. Reset the connection; what was waiting on it fails as a timeout.
 * @param {ClientState} c
 * @param {string} reason
 */
function resetAfterTimeout(c, reason) {
  if (c.connection === null) return;
  c.timedOut = true;
  c.connection.destroy(reason);
}

/** @param {ClientState} c */
function onClose(c) {
  const wasOpen = c.phase === "open";
  c.connection = null;
  c.needDrain = false;
  if (c.phase !== "closed") c.phase = "idle";
  // Everything in flight goes back to the queue in its original order; calls fail.
  for (const item of c.pending.values()) {
    clearTimeout(item.timer);
    if (item.kind === "call") {
      item.reject(
        c.timedOut
          ? new CaptureServiceError("timeout", `taas-capture did not answer within ${c.requestTimeoutMs} ms`)
          : new CaptureServiceError("unavailable", "taas-capture connection closed before it answered"),
      );
    }
  }
  c.pending.clear();
  c.timedOut = false;
  c.queue.putBackInflight();
  const waiters = c.connectWaiters;
  c.connectWaiters = [];
  for (const waiter of waiters) {
    waiter.fail(new CaptureServiceError("unavailable", `taas-capture service is unreachable at ${c.socketPath}`));
  }
  if (c.phase === "closed") return;
  if (wasOpen) {
    c.logger.warn(`[taas-affinity] lost the taas-capture connection; queueing captures (limit ${c.queueLimit})`);
  } else {
    c.failedAttempts += 1;
    if (!c.warnedUnreachable) {
      c.warnedUnreachable = true;
      // No path in the log (privacy): `openclaw taas status` shows the socket to an operator who asks.
      c.logger.warn(`[taas-affinity] taas-capture service unreachable; queueing captures (limit ${c.queueLimit})`);
    }
  }
  scheduleReconnect(c);
}

/** @param {ClientState} c */
function scheduleReconnect(c) {
  if (c.phase === "closed" || c.reconnectTimer !== null || c.connection !== null) return;
  c.reconnectTimer = setTimeout(() => {
    c.reconnectTimer = null;
    connect(c);
  }, reconnectDelayMs(c.failedAttempts, c.backoff));
  c.reconnectTimer.unref();
}

/**
 * One query to the service, answered or failed within the request timeout.
 * @param {ClientState} c
 * @param {string} method
 * @param {Record<string, unknown>} params
 * @returns {Promise<any>}
 */
function callService(c, method, params) {
  return new Promise((resolve, reject) => {
    if (c.phase === "closed") {
      reject(new CaptureServiceError("closed", "taas-capture client is closed"));
      return;
    }
    let line;
    const id = c.nextRpcId++;
    try {
      line = JSON.stringify({ jsonrpc: "2.0", id, method, params });
    } catch (error) {
      reject(new CaptureServiceError("rpc", `cannot encode ${method} params: ${errorText(error)}`));
      return;
    }
    let settled = false;
    const waitTimer = setTimeout(
      () => fail(new CaptureServiceError("timeout", `taas-capture did not accept a connection within ${c.requestTimeoutMs} ms`)),
      c.requestTimeoutMs,
    );
    waitTimer.unref();
    const fail = (/** @type {Error} */ error) => {
      if (settled) return;
      settled = true;
      clearTimeout(waitTimer);
      reject(error);
    };
    const go = () => {
      if (settled) return;
      settled = true;
      clearTimeout(waitTimer);
      const timer = setTimeout(() => {
        if (!c.pending.has(id)) return;
        c.pending.delete(id);
        reject(new CaptureServiceError("timeout", `taas-capture did not answer ${method} within ${c.requestTimeoutMs} ms`));
        resetAfterTimeout(c, `${method} timed out`);
      }, c.requestTimeoutMs);
      timer.unref();
      c.pending.set(id, { kind: "call", resolve, reject, timer });
      writeLine(c, line);
      updateKeepAlive(c);
    };
    if (c.phase === "open") {
      flushRecords(c);
      go();
      return;
    }
    c.connectWaiters.push({ go, fail });
    // A query is worth an immediate attempt even while the reconnect backoff waits.
    if (c.connection === null) connect(c);
  });
}

/** @param {ClientState} c @param {number} timeoutMs @returns {Promise<boolean>} true once nothing is owed */
function drained(c, timeoutMs) {
  return new Promise((resolve) => {
    const started = Date.now();
    const check = () => {
      if (c.queue.size() === 0) return resolve(true);
      if (Date.now() - started >= timeoutMs) return resolve(false);
      // Held (not unref'd): whoever drains wants to wait, and the wait is bounded.
      setTimeout(check, 20);
    };
    check();
  });
}

/** @param {ClientState} c @returns {Promise<void>} */
function closeClient(c) {
  const wasClosed = c.phase === "closed";
  c.phase = "closed";
  if (c.reconnectTimer !== null) clearTimeout(c.reconnectTimer);
  if (c.retryTimer !== null) clearTimeout(c.retryTimer);
  c.reconnectTimer = null;
  c.retryTimer = null;
  const connection = c.connection;
  if (connection === null) {
    if (!wasClosed) onClose(c);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = c.connectWaiters;
    c.connectWaiters = [];
    for (const w of done) w.fail(new CaptureServiceError("closed", "taas-capture client is closed"));
    const poll = () => (c.connection === null ? resolve() : setTimeout(poll, 5));
    connection.destroy("client closed");
    poll();
  });
}
