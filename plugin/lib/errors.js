// One way to turn anything thrown into text for a log line or an error message, and one way to
// tell that the service is too old for a method.

/**
 * The message of an Error, else the value as a string.
 * @param {unknown} error
 * @returns {string}
 */
export function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What the service said of params it refused: its message, then the field and reason of a JSON-RPC
 * -32602 (`data: {field, reason}`) when it gave them.
 * @param {unknown} error  a CaptureServiceError or anything thrown
 * @returns {string}
 */
export function refusalText(error) {
  const data = /** @type {{data?: {field?: unknown, reason?: unknown}}} */ (error)?.data;
  const detail = typeof data?.field === "string" && typeof data?.reason === "string" ? `: ${data.field} ${data.reason}` : "";
  return errorText(error) + detail;
}

/**
 * Whether a service call failed because the service does not know the method (an older
 * taas-capture answers JSON-RPC -32601).
 * @param {unknown} error  a CaptureServiceError or anything thrown
 * @returns {boolean}
 */
export function isUnknownMethod(error) {
  const e = /** @type {{kind?: string, code?: number}} */ (error);
  return e?.kind === "rpc" && e.code === -32601;
}
