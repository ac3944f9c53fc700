// The taas-capture service client: NDJSON JSON-RPC 2.0 over one persistent Unix socket.
//
// `record` is fire-and-forget for the LLM request path: it never throws, never returns a
// promise, and holds captures in a bounded queue while the service is away. Each capture
// carries an idempotency key fixed when it was made, so a capture resent after a reconnect
// (its first answer lost with the connection) is stored once. Queries (`call`) are not queued:
// they fail fast when the service is unreachable so callers can fall back.
import net from "node:net";
import { randomBytes } from "node:crypto";

export const DEFAULT_QUEUE_LIMIT = 5000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 2000;
const BACKOFF_MIN_MS = 100;
// A connect attempt on a local socket costs microseconds, so the cap can be short.
const BACKOFF_MAX_MS = 1000;
const RETRY_DELAY_MS = 250;
// A reply line is a few hundred bytes; a history page at most ~1000 captures.
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

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
 * @property {number} dropped     captures dropped because the queue was full
 * @property {number} failed      captures the service refused (not retried)
 * @property {number} connects    successful connections
 * @property {boolean} connected
 */

/**
 * @typedef {object} CaptureClient
 * @property {(params: Record<string, unknown>) => boolean} record  queue one capture; never throws
 * @property {(method: string, params?: Record<string, unknown>) => Promise<any>} call
 * @property {() => ClientCounters} counters
 * @property {(timeoutMs: number) => Promise<boolean>} drain  wait until nothing is queued
 * @property {() => Promise<void>} close
 * @property {string} socketPath
 */

/**
 * @typedef {object} Entry
 * @property {number} seq
 * @property {string} paramsJson  serialized once, when the capture was queued
 * @property {"waiting" | "inflight" | "done"} state
 * @property {number} writes
 */

/**
 * @typedef {{kind: "record", entry: Entry, timer: NodeJS.Timeout}
 *   | {kind: "call", resolve: (v: any) => void, reject: (e: Error) => void, timer: NodeJS.Timeout}} Pending
 */

/**
 * @param {object} options
 * @param {string} options.socketPath
 * @param {number} [options.queueLimit]
 * @param {number} [options.requestTimeoutMs]
 * @param {{warn: (m: string) => void, info?: (m: string) => void}} [options.logger]
 * @param {(message: string) => void} [options.debug]
 * @param {number} [options.backoffMinMs]
 * @param {number} [options.backoffMaxMs]
 * @returns {CaptureClient}
 */
export function createCaptureClient(options) {
  const socketPath = options.socketPath;
  const queueLimit = options.queueLimit ?? DEFAULT_QUEUE_LIMIT;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const backoffMinMs = options.backoffMinMs ?? BACKOFF_MIN_MS;
  const backoffMaxMs = options.backoffMaxMs ?? BACKOFF_MAX_MS;
  const logger = options.logger ?? { warn: () => {} };
  const debug = options.debug ?? (() => {});

  /** @type {net.Socket | null} */
  let socket = null;
  let connected = false;
  let closed = false;
  let needDrain = false;
  let failedAttempts = 0;
  /** @type {NodeJS.Timeout | null} */
  let reconnectTimer = null;
  /** @type {NodeJS.Timeout | null} */
  let retryTimer = null;
  let readBuffer = "";
  let nextRpcId = 1;
  let nextSeq = 1;
  let inflight = 0;
  let warnedUnreachable = false;
  let burstDrops = 0;

  /** Every capture not yet answered, oldest first. @type {Map<number, Entry>} */
  const outbox = new Map();
  /** Captures to write, oldest first; `waitHead` skips the ones already taken. @type {Entry[]} */
  let waiting = [];
  let waitHead = 0;
  /** Requests written and not yet answered, in request order. @type {Map<number, Pending>} */
  const pending = new Map();
  /** Calls waiting for a connection. @type {Array<{go: () => void, fail: (e: Error) => void}>} */
  let connectWaiters = [];

  const stats = { sent: 0, resent: 0, acked: 0, duplicates: 0, dropped: 0, failed: 0, connects: 0 };

  function updateRef() {
    if (socket === null) return;
    if (pending.size > 0 || waiting.length - waitHead > 0) socket.ref();
    else socket.unref();
  }

  function compactWaiting() {
    if (waitHead > 1024 && waitHead * 2 > waiting.length) {
      waiting = waiting.slice(waitHead);
      waitHead = 0;
    }
  }

  /** @param {Entry} entry */
  function forget(entry) {
    entry.state = "done";
    outbox.delete(entry.seq);
    if (outbox.size === 0 && burstDrops > 0) {
      logger.warn(`[taas-affinity] taas-capture queue drained; ${burstDrops} captures were dropped while the service was away`);
      burstDrops = 0;
    }
  }

  function dropOldestWaiting() {
    while (waitHead < waiting.length) {
      const entry = waiting[waitHead];
      waitHead += 1;
      if (entry.state !== "waiting") continue;
      forget(entry);
      stats.dropped += 1;
      if (burstDrops === 0) {
        logger.warn(
          `[taas-affinity] taas-capture queue full (${queueLimit}); dropping the oldest captures until the service is back`,
        );
      }
      burstDrops += 1;
      return true;
    }
    return false;
  }

  /** @param {string} line  one JSON-RPC message without its newline */
  function write(line) {
    if (socket === null) return false;
    try {
      const ok = socket.write(`${line}\n`);
      if (!ok) needDrain = true;
      return ok;
    } catch (error) {
      debug(`[taas-affinity] write failed: ${errorText(error)}`);
      resetConnection("write failed");
      return false;
    }
  }

  function flush() {
    while (connected && !needDrain && inflight < queueLimit && waitHead < waiting.length) {
      const entry = waiting[waitHead];
      waitHead += 1;
      if (entry.state !== "waiting") continue;
      const id = nextRpcId++;
      entry.state = "inflight";
      inflight += 1;
      const timer = setTimeout(() => resetConnection("record timed out"), requestTimeoutMs);
      timer.unref();
      pending.set(id, { kind: "record", entry, timer });
      stats.sent += 1;
      if (entry.writes > 0) stats.resent += 1;
      entry.writes += 1;
      write(`{"jsonrpc":"2.0","id":${id},"method":"taas.autorouter.record","params":${entry.paramsJson}}`);
    }
    compactWaiting();
    updateRef();
  }

  function scheduleRetry() {
    if (retryTimer !== null || closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      flush();
    }, RETRY_DELAY_MS);
    retryTimer.unref();
  }

  /** @param {unknown} reply */
  function handleReply(reply) {
    if (reply === null || typeof reply !== "object" || Array.isArray(reply)) return;
    const { id, result, error } = /** @type {{id?: unknown, result?: any, error?: any}} */ (reply);
    if (typeof id !== "number") {
      if (error) debug(`[taas-affinity] service error without id: ${error.code} ${error.message}`);
      return;
    }
    const entry = pending.get(id);
    if (entry === undefined) return;
    pending.delete(id);
    clearTimeout(entry.timer);
    if (entry.kind === "call") {
      if (error) {
        entry.reject(
          new CaptureServiceError("rpc", String(error.message ?? "service error"), {
            code: error.code,
            data: error.data,
          }),
        );
      } else {
        entry.resolve(result);
      }
      return;
    }
    const capture = entry.entry;
    inflight -= 1;
    if (capture.state !== "inflight") return;
    if (!error) {
      stats.acked += 1;
      if (result && result.duplicate === true) stats.duplicates += 1;
      forget(capture);
      return;
    }
    const retryable = error.code === -32002 || (error.code === -32000 && error.data?.retryable !== false);
    if (retryable) {
      capture.state = "waiting";
      waiting.push(capture);
      scheduleRetry();
    } else {
      stats.failed += 1;
      logger.warn(`[taas-affinity] taas-capture refused a capture: ${error.code} ${error.message}`);
      forget(capture);
    }
  }

  /** @param {string} chunk */
  function onData(chunk) {
    readBuffer += chunk;
    let newline = readBuffer.indexOf("\n");
    while (newline !== -1) {
      const line = readBuffer.slice(0, newline).replace(/\r$/, "");
      readBuffer = readBuffer.slice(newline + 1);
      if (line.trim().length > 0) {
        let parsed;
        try {
          parsed = JSON.parse(line);
        } catch {
          debug("[taas-affinity] unparseable reply from taas-capture");
          parsed = null;
        }
        if (Array.isArray(parsed)) parsed.forEach(handleReply);
        else handleReply(parsed);
      }
      newline = readBuffer.indexOf("\n");
    }
    if (readBuffer.length > MAX_REPLY_BYTES) resetConnection("reply too long");
    flush();
  }

  /** @param {string} reason */
  function resetConnection(reason) {
    if (socket !== null) {
      debug(`[taas-affinity] resetting taas-capture connection: ${reason}`);
      socket.destroy();
    }
  }

  function onClose() {
    const wasConnected = connected;
    socket = null;
    connected = false;
    needDrain = false;
    readBuffer = "";
    inflight = 0;
    // Everything in flight goes back to the queue in its original order; calls fail.
    for (const item of pending.values()) {
      clearTimeout(item.timer);
      if (item.kind === "call") {
        item.reject(new CaptureServiceError("unavailable", "taas-capture connection closed before it answered"));
      }
    }
    pending.clear();
    waiting = [];
    waitHead = 0;
    for (const entry of outbox.values()) {
      entry.state = "waiting";
      waiting.push(entry);
    }
    const waiters = connectWaiters;
    connectWaiters = [];
    for (const waiter of waiters) {
      waiter.fail(new CaptureServiceError("unavailable", `taas-capture service is unreachable at ${socketPath}`));
    }
    if (closed) return;
    if (wasConnected) {
      logger.warn(`[taas-affinity] lost the taas-capture connection; queueing captures (limit ${queueLimit})`);
    } else {
      failedAttempts += 1;
      if (!warnedUnreachable) {
        warnedUnreachable = true;
        logger.warn(`[taas-affinity] taas-capture service unreachable at ${socketPath}; queueing captures (limit ${queueLimit})`);
      }
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (closed || reconnectTimer !== null || socket !== null) return;
    const base = Math.min(backoffMaxMs, backoffMinMs * 2 ** Math.min(failedAttempts, 20));
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, delay);
    reconnectTimer.unref();
  }

  function connect() {
    if (closed || socket !== null) return;
    if (reconnectTimer !== null) {
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
    }
    const s = net.createConnection({ path: socketPath });
    socket = s;
    s.setEncoding("utf8");
    s.on("connect", () => {
      connected = true;
      failedAttempts = 0;
      stats.connects += 1;
      if (warnedUnreachable || stats.connects > 1) {
        (logger.info ?? logger.warn)(`[taas-affinity] connected to taas-capture; ${outbox.size} captures queued`);
      }
      warnedUnreachable = false;
      const waiters = connectWaiters;
      connectWaiters = [];
      for (const waiter of waiters) waiter.go();
      flush();
    });
    s.on("data", onData);
    s.on("drain", () => {
      needDrain = false;
      flush();
    });
    s.on("error", (error) => debug(`[taas-affinity] taas-capture socket: ${errorText(error)}`));
    s.on("close", onClose);
    updateRef();
  }

  return {
    socketPath,

    record(params) {
      try {
        if (closed) return false;
        const keyed = params.idempotencyKey ? params : { ...params, idempotencyKey: newIdempotencyKey() };
        /** @type {Entry} */
        const entry = {
          seq: nextSeq++,
          paramsJson: JSON.stringify(keyed),
          state: "waiting",
          writes: 0,
        };
        outbox.set(entry.seq, entry);
        waiting.push(entry);
        while (outbox.size > queueLimit && dropOldestWaiting()) {
          // dropped one
        }
        if (socket === null && reconnectTimer === null) connect();
        flush();
        return true;
      } catch (error) {
        debug(`[taas-affinity] record failed: ${errorText(error)}`);
        return false;
      }
    },

    call(method, params = {}) {
      return new Promise((resolve, reject) => {
        if (closed) {
          reject(new CaptureServiceError("closed", "taas-capture client is closed"));
          return;
        }
        let settled = false;
        const go = () => {
          if (settled) return;
          settled = true;
          clearTimeout(waitTimer);
          let line;
          const id = nextRpcId++;
          try {
            line = JSON.stringify({ jsonrpc: "2.0", id, method, params });
          } catch (error) {
            reject(new CaptureServiceError("rpc", `cannot encode ${method} params: ${errorText(error)}`));
            return;
          }
          const timer = setTimeout(() => {
            if (!pending.has(id)) return;
            pending.delete(id);
            reject(new CaptureServiceError("timeout", `taas-capture did not answer ${method} within ${requestTimeoutMs} ms`));
            // Replies come in request order, so nothing behind this one can arrive either.
            resetConnection(`${method} timed out`);
          }, requestTimeoutMs);
          timer.unref();
          pending.set(id, { kind: "call", resolve, reject, timer });
          write(line);
          updateRef();
        };
        const fail = (/** @type {Error} */ error) => {
          if (settled) return;
          settled = true;
          clearTimeout(waitTimer);
          reject(error);
        };
        const waitTimer = setTimeout(
          () => fail(new CaptureServiceError("timeout", `taas-capture did not accept a connection within ${requestTimeoutMs} ms`)),
          requestTimeoutMs,
        );
        waitTimer.unref();
        if (connected) {
          go();
          return;
        }
        connectWaiters.push({ go, fail });
        // A query is worth an immediate attempt even while the reconnect backoff waits.
        if (socket === null) connect();
      });
    },

    counters() {
      return { ...stats, queued: outbox.size, connected };
    },

    drain(timeoutMs) {
      return new Promise((resolve) => {
        const started = Date.now();
        const check = () => {
          if (outbox.size === 0) return resolve(true);
          if (Date.now() - started >= timeoutMs) return resolve(false);
          setTimeout(check, 20).unref();
        };
        check();
      });
    },

    close() {
      closed = true;
      if (reconnectTimer !== null) clearTimeout(reconnectTimer);
      if (retryTimer !== null) clearTimeout(retryTimer);
      reconnectTimer = null;
      retryTimer = null;
      const s = socket;
      if (s === null) {
        onClose();
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        s.once("close", () => resolve());
        s.destroy();
      });
    },
  };
}

/** @param {unknown} error @returns {string} */
function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}
