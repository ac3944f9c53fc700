// The captures the client owes the service, oldest first: a pure data structure (no I/O, no
// timers), so its ordering and bounds are tested without a socket.
//
// A capture is "waiting" until it is written, then "inflight" until answered. When a
// connection is lost everything inflight goes back to waiting in its original order, so a
// reconnect resends the queue as it was made (the idempotency key inside each capture makes a
// resend of one that was in fact stored harmless).
//
// Two bounds, whichever is reached first: a count and a byte total (each capture costs the length
// of its line in the spill file, spill-format.js). Past either the oldest waiting are dropped.

/**
 * @typedef {object} NewRecord
 * @property {string} key         its idempotency key: names it in the spill file across restarts
 * @property {string} paramsJson  the record params, serialized once when queued
 * @property {number} bytes       its share of the byte bound
 */

/**
 * @typedef {NewRecord & {seq: number, writes: number}} QueuedRecord
 *   seq: order of creation; writes: how often it was written
 */

/**
 * @typedef {object} RecordQueue
 * @property {(record: NewRecord) => QueuedRecord[]} push  queue one; returns the oldest waiting dropped to stay within the bounds
 * @property {(records: NewRecord[]) => QueuedRecord[]} restoreOlder  put records kept from before (oldest first) ahead of everything queued; returns those dropped
 * @property {() => QueuedRecord | null} takeNext  the oldest waiting one, now inflight
 * @property {(seq: number) => QueuedRecord | null} settle  answered (stored or refused for good): forget it; returns it
 * @property {(seq: number) => void} putBack       answered "retry later": waiting again, in order
 * @property {() => void} putBackInflight          the connection is gone: every inflight one waits again, in order
 * @property {() => QueuedRecord[]} entries        every one held (inflight and waiting), oldest first
 * @property {() => number} size                   waiting + inflight
 * @property {() => number} bytes                  their bytes
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
 * @param {number} [maxBytes]  most bytes held (waiting + inflight); past it the oldest waiting go
 * @returns {RecordQueue}
 */
export function createRecordQueue(limit, maxBytes = Infinity) {
  let nextSeq = 1;
  // Records restored from before get seqs below every other: 0, -1, -2, … going back in time.
  let firstSeq = 1;
  let heldBytes = 0;
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
  const overBounds = () => waiting.size + inflight.size > limit || heldBytes > maxBytes;
  /** @returns {QueuedRecord[]} */
  const dropOldestOverBounds = () => {
    /** @type {QueuedRecord[]} */
    const dropped = [];
    if (overBounds()) restoreOrder();
    while (overBounds() && waiting.size > 0) {
      const oldest = /** @type {QueuedRecord} */ (waiting.values().next().value);
      waiting.delete(oldest.seq);
      heldBytes -= oldest.bytes;
      dropped.push(oldest);
    }
    return dropped;
  };
  /** @param {NewRecord} record @param {number} seq */
  const hold = (record, seq) => {
    waiting.set(seq, { key: record.key, paramsJson: record.paramsJson, bytes: record.bytes, seq, writes: 0 });
    heldBytes += record.bytes;
  };
  return {
    push(record) {
      hold(record, nextSeq++);
      return dropOldestOverBounds();
    },
    restoreOlder(records) {
      if (records.length === 0) return [];
      firstSeq -= records.length;
      records.forEach((record, i) => hold(record, firstSeq + i));
      unsorted = true;
      return dropOldestOverBounds();
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
      const entry = inflight.get(seq) ?? waiting.get(seq) ?? null;
      if (entry === null) return null;
      inflight.delete(seq);
      waiting.delete(seq);
      heldBytes -= entry.bytes;
      return entry;
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
    entries: () => [...inflight.values(), ...waiting.values()].sort((a, b) => a.seq - b.seq),
    size: () => waiting.size + inflight.size,
    bytes: () => heldBytes,
    waitingCount: () => waiting.size,
  };
}
