// The spill file's lines, replay and bounds (lib/spill-format.js), on strings: no disk.
import assert from "node:assert/strict";
import test from "node:test";
import {
  COMPACT_MIN_BYTES,
  DROPS_LINE_MAX_BYTES,
  compactionDue,
  doneLine,
  dropsLine,
  eventOf,
  liveBytesBound,
  recordLine,
  recordLineBytes,
  replayOf,
} from "../lib/spill-format.js";

/** Record params as the client queues them. @param {string} key @param {Record<string, unknown>} [extra] */
const params = (key, extra = {}) => JSON.stringify({ sessionId: "oc:1", headers: { "x-request-id": key }, ...extra, idempotencyKey: key });

test("a capture's line reads back as its key and params, and costs what recordLineBytes says", () => {
  for (const p of [params("cap:a"), params("cap:é", { note: "naïve ✓ 日本" })]) {
    const line = recordLine(p);
    assert.match(line, /^R [0-9a-f]{12} \{.*\}\n$/);
    assert.equal(recordLineBytes(p), Buffer.byteLength(line), "multi-byte characters counted as bytes");
    assert.deepEqual(eventOf(line.slice(0, -1)), { kind: "record", record: { key: JSON.parse(p).idempotencyKey, paramsJson: p, bytes: Buffer.byteLength(line) } });
  }
  assert.deepEqual(eventOf(doneLine("cap:a").slice(0, -1)), { kind: "done", key: "cap:a" });
  assert.deepEqual(eventOf(dropsLine(42).slice(0, -1)), { kind: "drops", count: 42 });
  assert.ok(Buffer.byteLength(dropsLine(2 ** 53)) <= DROPS_LINE_MAX_BYTES);
});

test("replay keeps the captures not marked done, in the order they were spilled, and the last drop count", () => {
  const text = [recordLine(params("a")), recordLine(params("b")), dropsLine(3), doneLine("a"), recordLine(params("c")), dropsLine(5)].join("");
  const replay = replayOf(text);
  assert.deepEqual(replay.records.map((r) => r.key), ["b", "c"]);
  assert.equal(replay.drops, 5);
  assert.equal(replay.skipped, 0);
  assert.equal(replayOf(text + dropsLine(0)).drops, 0, "a drained queue resets the count");
  assert.deepEqual(replayOf(""), { records: [], drops: 0, skipped: 0 });
});

test("a torn last line is skipped and counted, and the lines before it are kept", () => {
  const whole = recordLine(params("a")) + recordLine(params("b"));
  for (let cut = 1; cut < recordLine(params("c")).length; cut += 7) {
    const replay = replayOf(whole + recordLine(params("c")).slice(0, cut));
    assert.deepEqual(replay.records.map((r) => r.key), ["a", "b"], `cut at ${cut}`);
    assert.equal(replay.skipped, 1);
  }
  const torn = replayOf(recordLine(params("c")).slice(0, -1));
  assert.deepEqual([torn.records.length, torn.skipped], [0, 1], "even a line missing only its newline: it may not be all there");
});

test("a line whose check does not match is skipped and counted; the lines around it are kept", () => {
  const good = recordLine(params("a"));
  const bad = recordLine(params("b"));
  const flippedPayload = bad.replace('"x-request-id":"b"', '"x-request-id":"B"');
  const flippedCheck = `R ${bad[2] === "0" ? "1" : "0"}${bad.slice(3)}`;
  const badDone = doneLine("a").replace('"a"', '"z"');
  const text = [good, flippedPayload, flippedCheck, badDone, "garbage\n", "\n", recordLine(params("c"))].join("");
  const replay = replayOf(text);
  assert.deepEqual(replay.records.map((r) => r.key), ["a", "c"]);
  assert.equal(replay.skipped, 5);
});

test("lines with a valid check but not of the format are skipped, never trusted", () => {
  const noKey = recordLine(JSON.stringify({ sessionId: "oc:1" }));
  const notJson = recordLine("{nope");
  const unknownKind = `X${recordLine(params("x")).slice(1)}`;
  const replay = replayOf(noKey + notJson + unknownKind + dropsLine(1).replace(" 1\n", " -1\n"));
  assert.deepEqual(replay, { records: [], drops: 0, skipped: 4 });
});

test("a capture spilled twice is replayed once, in its first place", () => {
  const replay = replayOf([recordLine(params("a")), recordLine(params("b")), recordLine(params("a"))].join(""));
  assert.deepEqual(replay.records.map((r) => r.key), ["a", "b"]);
});

test("the captures may take three quarters of the bound, less room for the drop count", () => {
  assert.equal(liveBytesBound(16 * 1024 * 1024), 12 * 1024 * 1024 - DROPS_LINE_MAX_BYTES);
  assert.equal(liveBytesBound(8192), 6144 - DROPS_LINE_MAX_BYTES);
  assert.equal(liveBytesBound(10), 0, "too small for anything");
});

test("a write rewrites the file when appending would pass the bound, or when dead lines dominate a big enough file", () => {
  const max = 1024 * 1024;
  assert.equal(compactionDue({ fileBytes: max - 100, appendBytes: 100, liveBytes: max - 100, maxBytes: max }), false, "exactly at the bound");
  assert.equal(compactionDue({ fileBytes: max - 100, appendBytes: 101, liveBytes: 600_000, maxBytes: max }), true, "past it");
  assert.equal(compactionDue({ fileBytes: COMPACT_MIN_BYTES, appendBytes: 0, liveBytes: COMPACT_MIN_BYTES / 2 - 1, maxBytes: max }), true, "dead > live");
  assert.equal(compactionDue({ fileBytes: COMPACT_MIN_BYTES, appendBytes: 0, liveBytes: COMPACT_MIN_BYTES / 2, maxBytes: max }), false, "dead = live");
  assert.equal(compactionDue({ fileBytes: COMPACT_MIN_BYTES - 10, appendBytes: 9, liveBytes: 0, maxBytes: max }), false, "too small to bother");
});
