// One Unix-socket connection speaking newline-delimited JSON: framing only. It knows nothing of
// JSON-RPC ids, records or queries; the client does.
import net from "node:net";

// A reply line is a few hundred bytes; a history page at most ~1000 captures.
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * @typedef {object} LineConnection
 * @property {(line: string) => boolean} write  one message without its newline; false when the socket wants a drain first
 * @property {(busy: boolean) => void} keepAlive  hold the event loop open while there is work
 * @property {(reason: string) => void} destroy
 */

/**
 * @typedef {object} LineHandlers
 * @property {() => void} onOpen
 * @property {(message: unknown) => void} onMessage   each parsed line (unparseable lines are skipped)
 * @property {() => void} onDrain
 * @property {() => void} onClose                    once, whether it ever opened or not
 * @property {(message: string) => void} debug
 * @property {(error: Error) => void} [onError]       the socket's error, before its close (e.g. ENOENT, ECONNREFUSED)
 */

/**
 * Connect to `socketPath` and frame what comes back into parsed messages.
 * @param {string} socketPath
 * @param {LineHandlers} handlers
 * @returns {LineConnection}
 */
export function openLineConnection(socketPath, handlers) {
  const socket = net.createConnection({ path: socketPath });
  socket.setEncoding("utf8");
  let buffer = "";

  /** @param {string} chunk */
  const onData = (chunk) => {
    buffer += chunk;
    let newline = buffer.indexOf("\n");
    while (newline !== -1) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line.trim().length > 0) {
        const message = parsedLine(line);
        if (message === undefined) handlers.debug("[taas-affinity] unparseable reply from taas-capture");
        else handlers.onMessage(message);
      }
      newline = buffer.indexOf("\n");
    }
    if (buffer.length > MAX_LINE_BYTES) socket.destroy();
  };

  socket.on("connect", handlers.onOpen);
  socket.on("data", onData);
  socket.on("drain", handlers.onDrain);
  socket.on("error", (error) => {
    handlers.debug(`[taas-affinity] taas-capture socket: ${error.message}`);
    handlers.onError?.(error);
  });
  socket.once("close", handlers.onClose);

  return {
    write(line) {
      try {
        return socket.write(`${line}\n`);
      } catch (error) {
        socket.destroy();
        return false;
      }
    },
    keepAlive(busy) {
      if (busy) socket.ref();
      else socket.unref();
    },
    destroy(reason) {
      handlers.debug(`[taas-affinity] resetting taas-capture connection: ${reason}`);
      socket.destroy();
    },
  };
}

/** @param {string} line @returns {unknown} the parsed value, or undefined when it is not JSON */
function parsedLine(line) {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
