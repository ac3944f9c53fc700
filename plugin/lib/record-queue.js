// The captures the client owes the service, oldest first: a pure data structure (no I/O, no
// timers), so its ordering and bound are tested without a socket.
//
// A capture is "waiting" until it is written, then "inflight" until answered. When a
// connection is lost everything inflight goes back to waiting in its original order, so a
// reconnect resends the queue as it was made (the idempotency key inside each capture makes a
// resend of one that was in fact stored harmless).

/**
 * @typedef {object} QueuedRecord
 * @property {number} seq         order of creation
 * @property {string} paramsJson  the record params, serialized once when queued
 * @property {number} writes      how often it was written
 */

/**
 * @typedef {object} RecordQueue
 * @property {(paramsJson: string) => number} push  queue one; returns how many of the oldest waiting were dropped to stay within the limit
 * @property {() => QueuedRecord | null} takeNext  the oldest waiting one, now inflight
 * @property {(seq: number) => void} settle        answered (stored or refused for good): forget it
 * @property {(seq: number) => void} putBack       answered "retry later": waiting again, in order
 * @property {() => void} putBackInflight          the connection is gone: every inflight one waits again, in order
 * @property {() => number} size                   waiting + inflight
 * @property {() => number} waitingCount
 */

/**
 * @param {Map<number, QueuedRecord>} map
 * @returns {Map<number, QueuedRecord>} the same entries ordered by seq
 */
function orderedBySeq(map) {
  return new Map([...map].sort((a, b) => a[0] - b[0]));
}

/**
 * @param {number} limit  most captures held (waiting + inflight); past it the oldest waiting go
 * @returns {RecordQueue}
 */
export function createRecordQueue(limit) {
  let nextSeq = 1;
  /** @type {Map<number, QueuedRecord>} */
  let waiting = new Map();
  /** @type {Map<number, QueuedRecord>} */
  const inflight = new Map();
  // Entries put back are appended and the order restored once, at the next take: a burst of
  // "retry later" answers costs one sort, not one per answer.
  let unsorted = false;
  const restoreOrder = () => {
    if (!unsorted) return;
    waiting = orderedBySeq(waiting);
    unsorted = false;
  };
  return {
    push(paramsJson) {
      const entry = { seq: nextSeq++, paramsJson, writes: 0 };
      waiting.set(entry.seq, entry);
      let dropped = 0;
      if (waiting.size + inflight.size > limit) restoreOrder();
      while (waiting.size + inflight.size > limit && waiting.size > 0) {
        const oldest = /** @type {QueuedRecord} */ (waiting.values().next().value);
        waiting.delete(oldest.seq);
        dropped += 1;
      }
      return dropped;
    },
    takeNext() {
      restoreOrder();
      const first = waiting.values().next();
      if (first.done) return null;
      const entry = first.value;
      waiting.delete(entry.seq);
      inflight.set(entry.seq, entry);
      entry.writes += 1;
      return entry;
    },
    settle(seq) {
      inflight.delete(seq);
      waiting.delete(seq);
    },
    putBack(seq) {
      const entry = inflight.get(seq);
      if (entry === undefined) return;
      inflight.delete(seq);
      waiting.set(seq, entry);
      unsorted = true;
    },
    putBackInflight() {
      if (inflight.size === 0) return;
      for (const [seq, entry] of inflight) waiting.set(seq, entry);
      inflight.clear();
      unsorted = true;
    },
    size: () => waiting.size + inflight.size,
    waitingCount: () => waiting.size,
  };
}
