// One request to the taas-capture service on a connection of its own, for short-lived callers
// (`openclaw taas …`): connect, send, read the one answer, close — within a bounded time. The
// gateway's long-lived client (client.js) keeps its queue and reconnects; a CLI process needs none
// of that and must never wait longer than it says.
import { CaptureServiceError } from "./client.js";
import { openLineConnection } from "./line-connection.js";

/**
 * The `result` of `method` with `params`, or a `CaptureServiceError`: "unavailable" (no service
 * at `socketPath`, or it hung up), "timeout", or "rpc" (the service answered with an error; `code`
 * and `data` as it sent them).
 * @param {string} socketPath
 * @param {string} method
 * @param {Record<string, unknown>} params
 * @param {number} timeoutMs  bounds the whole exchange, connect included
 * @returns {Promise<any>}
 */
export function callServiceOnce(socketPath, method, params, timeoutMs) {
  return new Promise((resolve, reject) => {
    /** @type {Error | null} */
    let socketError = null;
    let opened = false;
    let settled = false;
    /** @param {() => void} settle */
    const finish = (settle) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      connection.destroy(`${method} done`);
      settle();
    };
    const timer = setTimeout(
      () => finish(() => reject(new CaptureServiceError("timeout", `the taas-capture service at ${socketPath} did not answer ${method} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    const connection = openLineConnection(socketPath, {
      onOpen: () => {
        opened = true;
        connection.write(JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }));
      },
      onMessage: (message) => {
        const reply = /** @type {{id?: unknown, result?: unknown, error?: any}} */ (message);
        if (reply === null || typeof reply !== "object" || reply.id !== 1) return;
        if (reply.error) finish(() => reject(rpcFailure(reply.error)));
        else finish(() => resolve(reply.result));
      },
      onDrain: () => {},
      onClose: () => finish(() => reject(closedFailure(socketPath, opened, socketError))),
      onError: (error) => {
        socketError = error;
      },
      debug: () => {},
    });
  });
}

/** @param {any} error @returns {CaptureServiceError} */
function rpcFailure(error) {
  return new CaptureServiceError("rpc", String(error?.message ?? "service error"), { code: error?.code, data: error?.data });
}

/**
 * @param {string} socketPath
 * @param {boolean} opened
 * @param {Error | null} error
 * @returns {CaptureServiceError}
 */
function closedFailure(socketPath, opened, error) {
  if (opened) return new CaptureServiceError("unavailable", `the taas-capture service at ${socketPath} closed the connection before it answered`);
  const reason = /** @type {{code?: string}} */ (error ?? {}).code ?? error?.message ?? "connection failed";
  return new CaptureServiceError("unavailable", `cannot connect to the taas-capture service at ${socketPath} (${reason})`);
}
