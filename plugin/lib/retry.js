// The reconnect policy: exponential backoff with jitter, capped. Pure, so it is tested alone.

export const BACKOFF_MIN_MS = 100;
// A connect attempt on a local socket costs microseconds, so the cap can be short.
export const BACKOFF_MAX_MS = 1000;
// How long a capture the service answered "retry" (-32000 retryable, -32002) waits before it is resent.
export const RETRY_DELAY_MS = 250;
// The longest wait after storage refusals in a row (-32000): a damaged or read-only file waits for the operator,
// and a queue of thousands resent every 250 ms would only load a service that cannot store them.
export const STORAGE_RETRY_MAX_MS = 30_000;

/**
 * How long queued captures wait before they are resent after `streak` rounds of storage refusals (-32000) in a row
 * with no capture stored between: 250 ms, doubling, at most 30 s.
 * @param {number} streak
 * @returns {number}
 */
export function storageRetryDelayMs(streak) {
  return doublingMs(streak, RETRY_DELAY_MS, STORAGE_RETRY_MAX_MS);
}

/**
 * min(maxMs, minMs · 2^n), n taken within 0…20.
 * @param {number} n @param {number} minMs @param {number} maxMs
 * @returns {number}
 */
function doublingMs(n, minMs, maxMs) {
  return Math.min(maxMs, minMs * 2 ** Math.min(Math.max(n, 0), 20));
}

/**
 * The delay before the next connect attempt after `failedAttempts` failures in a row: a value
 * in [base/2, base] where base = min(maxMs, minMs · 2^failedAttempts).
 * @param {number} failedAttempts
 * @param {{minMs?: number, maxMs?: number}} [bounds]
 * @param {() => number} [random]  in [0, 1)
 * @returns {number}
 */
export function reconnectDelayMs(failedAttempts, bounds = {}, random = Math.random) {
  const minMs = bounds.minMs ?? BACKOFF_MIN_MS;
  const maxMs = bounds.maxMs ?? BACKOFF_MAX_MS;
  const base = doublingMs(failedAttempts, minMs, maxMs);
  return Math.round(base / 2 + random() * (base / 2));
}

/**
 * Whether a JSON-RPC error from the service means "the same request may succeed later".
 * @param {{code?: unknown, data?: any} | null | undefined} error
 * @returns {boolean}
 */
export function isRetryableServiceError(error) {
  if (error === null || error === undefined) return false;
  if (error.code === -32002) return true;
  return error.code === -32000 && error.data?.retryable !== false;
}
