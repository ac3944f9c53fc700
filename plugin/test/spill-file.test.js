// The spill file on a real directory (lib/spill-file.js): modes, replay after a reopen, what is never
// written, rewrites and the bound, a torn tail, and file errors logged once and survived.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";
import { createSpill } from "../lib/spill-file.js";
import { recordLine, recordLineBytes, replayOf } from "../lib/spill-format.js";
import { removeDir, tempDir } from "../testkit/harness.js";

const FILE = "p.spill";

/** Record params with a private-looking request id. @param {string} key @param {number} [pad] */
const params = (key, pad = 0) => JSON.stringify({ sessionId: "oc:1", headers: { "x-request-id": `secret-${key}` }, pad: "x".repeat(pad), idempotencyKey: key });

/**
 * A spill in a fresh directory with the queue it mirrors (what the client does), and its log.
 * @param {import("node:test").TestContext} t
 * @param {{maxBytes?: number, dir?: string}} [o]
 */
function fixture(t, o = {}) {
  const root = o.dir === undefined ? tempDir("taas-spill-") : null;
  if (root !== null) t.after(() => removeDir(root));
  const dir = o.dir ?? path.join(/** @type {string} */ (root), "state", "pending");
  /** @type {string[]} */
  const warnings = [];
  const spill = createSpill({ dir, fileName: FILE, maxBytes: o.maxBytes ?? 1024 * 1024, flushMs: 5, retryMs: o.retryMs, logger: { warn: (m) => warnings.push(m) } });
  /** @type {Map<string, string>} */
  const live = new Map();
  const queue = {
    entries: () => [...live].map(([key, paramsJson]) => ({ key, paramsJson })),
    bytes: () => [...live.values()].reduce((n, p) => n + recordLineBytes(p), 0),
  };
  return {
    dir,
    file: path.join(dir, FILE),
    spill,
    warnings,
    live,
    /** @param {import("../lib/spill-format.js").SpillReplay} [replay] */
    start(replay) {
      for (const r of replay?.records ?? []) live.set(r.key, r.paramsJson);
      spill.start(queue, replay?.drops ?? 0);
    },
    /** @param {string} key @param {number} [pad] */
    add(key, pad) {
      live.set(key, params(key, pad));
      spill.added(key, params(key, pad));
    },
    /** @param {string} key */
    done(key) {
      live.delete(key);
      spill.done(key);
    },
  };
}

/** @param {string} file */
const modeOf = (file) => statSync(file).mode & 0o777;

test("the directory is made 0700 and the file 0600, and wider modes found are narrowed", async (t) => {
  const fresh = fixture(t);
  fresh.start(await fresh.spill.open());
  fresh.add("a");
  await fresh.spill.close();
  assert.equal(modeOf(fresh.dir), 0o700);
  assert.equal(modeOf(fresh.file), 0o600);

  const root = tempDir("taas-spill-modes-");
  t.after(() => removeDir(root));
  const dir = path.join(root, "pending");
  mkdirSync(dir, { mode: 0o755 });
  writeFileSync(path.join(dir, FILE), recordLine(params("old")), { mode: 0o644 });
  writeFileSync(path.join(dir, `${FILE}.tmp`), "left by a crash", { mode: 0o644 });
  const found = fixture(t, { dir });
  const replay = await found.spill.open();
  assert.deepEqual(replay.records.map((r) => r.key), ["old"]);
  found.start(replay);
  await found.spill.flushed();
  assert.equal(modeOf(dir), 0o700);
  assert.equal(modeOf(found.file), 0o600, "the first write replaces the file");
  assert.equal(existsSync(`${found.file}.tmp`), false);
});

test("what a closed spill held is replayed by the next one, oldest first, without the captures done", async (t) => {
  const first = fixture(t);
  first.start(await first.spill.open());
  for (const key of ["a", "b", "c", "d"]) first.add(key);
  await first.spill.flushed();
  first.done("b");
  first.spill.setDrops(7);
  await first.spill.close();
  assert.equal(first.spill.status().state, "closed");

  const second = fixture(t, { dir: first.dir });
  const replay = await second.spill.open();
  assert.deepEqual(replay.records.map((r) => r.key), ["a", "c", "d"]);
  assert.equal(replay.drops, 7, "the drop count is carried");
  assert.deepEqual(replay.records.map((r) => r.paramsJson), [params("a"), params("c"), params("d")], "the same params, so the same idempotency keys");
  second.start(replay);
  await second.spill.flushed();
  assert.match(readFileSync(second.file, "utf8"), /^D [0-9a-f]{12} 7\nR /, "a rewrite keeps the count first");
});

test("a capture done before the write is never written; events between writes cost one append", async (t) => {
  const f = fixture(t);
  f.start(await f.spill.open());
  await f.spill.flushed();
  const writes = f.spill.status().writes;
  f.add("quick");
  f.add("slow");
  f.done("quick");
  assert.equal(f.spill.status().unwritten, 1, "noted in memory only");
  await f.spill.flushed();
  assert.equal(f.spill.status().writes, writes + 1);
  const text = readFileSync(f.file, "utf8");
  assert.equal(text.includes('"quick"'), false);
  assert.deepEqual(replayOf(text).records.map((r) => r.key), ["slow"]);
});

test("the file never passes its bound: a write that would is a rewrite with only the live captures", async (t) => {
  const maxBytes = 16 * 1024;
  const f = fixture(t, { maxBytes });
  f.start(await f.spill.open());
  let largest = 0;
  for (let i = 0; i < 300; i++) {
    f.add(`k${i}`, 100);
    if (i >= 20) f.done(`k${i - 20}`);
    if (i % 3 === 0) {
      await f.spill.flushed();
      largest = Math.max(largest, statSync(f.file).size);
    }
  }
  await f.spill.close();
  assert.ok(largest <= maxBytes, `largest ${largest}`);
  assert.ok(f.spill.status().rewrites > 1, "rewritten on the way");
  assert.deepEqual(replayOf(readFileSync(f.file, "utf8")).records.map((r) => r.key), [...f.live.keys()]);
});

test("a big enough file whose lines are mostly dead is rewritten", async (t) => {
  const f = fixture(t, { maxBytes: 4 * 1024 * 1024 });
  f.start(await f.spill.open());
  for (let i = 0; i < 80; i++) f.add(`k${i}`, 1000);
  await f.spill.flushed();
  assert.ok(statSync(f.file).size > 64 * 1024);
  const rewrites = f.spill.status().rewrites;
  for (let i = 0; i < 79; i++) f.done(`k${i}`);
  await f.spill.flushed();
  assert.equal(f.spill.status().rewrites, rewrites + 1);
  assert.equal(statSync(f.file).size, recordLineBytes(params("k79", 1000)));
});

test("a torn tail left by a crash is skipped, counted and logged once, and gone after the first write", async (t) => {
  const f = fixture(t);
  mkdirSync(f.dir, { recursive: true });
  writeFileSync(f.file, recordLine(params("a")) + recordLine(params("b")).slice(0, 40));
  const replay = await f.spill.open();
  assert.deepEqual(replay.records.map((r) => r.key), ["a"]);
  assert.equal(f.spill.status().skipped, 1);
  assert.deepEqual(f.warnings, ["[taas-affinity] capture spill: skipped 1 torn or corrupt lines"]);
  f.start(replay);
  f.add("c");
  await f.spill.flushed();
  const again = replayOf(readFileSync(f.file, "utf8"));
  assert.deepEqual([again.records.map((r) => r.key), again.skipped], [["a", "c"], 0], "no new line was glued to the torn one");
});

test("a directory that cannot be made fails the spill once, by the error's code, and nothing throws", async (t) => {
  const root = tempDir("taas-spill-enotdir-");
  t.after(() => removeDir(root));
  writeFileSync(path.join(root, "state"), "a file where the directory should be");
  const f = fixture(t, { dir: path.join(root, "state", "pending") });
  const replay = await f.spill.open();
  assert.deepEqual(replay, { records: [], drops: 0, skipped: 0 });
  assert.equal(f.spill.status().state, "failed");
  assert.match(String(f.spill.status().error), /^E[A-Z]+$/);
  f.start(replay);
  f.add("a");
  f.done("a");
  f.spill.setDrops(1);
  await f.spill.close();
  assert.equal(f.warnings.length, 1);
  assert.match(f.warnings[0], /capture spill file unusable \(E[A-Z]+\); keeping unacknowledged captures in memory, trying the file again every 30 s/);
  assert.equal(f.warnings[0].includes(root), false, "no path in the log");
});

test("a write that fails (ENOSPC) is logged once; later captures are kept in memory only, without more lines", { skip: !existsSync("/dev/full") && "no /dev/full" }, async (t) => {
  const f = fixture(t);
  f.start(await f.spill.open());
  f.add("a");
  await f.spill.flushed();
  rmSync(f.file);
  symlinkSync("/dev/full", f.file);
  for (const key of ["b", "c", "d"]) {
    f.add(key);
    await f.spill.flushed();
  }
  assert.equal(f.spill.status().state, "failed");
  assert.equal(f.spill.status().error, "ENOSPC");
  assert.equal(f.spill.status().unwritten, 0);
  assert.deepEqual(f.warnings, ["[taas-affinity] capture spill file unusable (ENOSPC); keeping unacknowledged captures in memory, trying the file again every 30 s"]);
  assert.equal(f.warnings.join("").includes("secret-"), false, "no capture contents in the log");
});

test("after a failed write the spill tries again and, once it can, holds every capture noted meanwhile", { skip: !existsSync("/dev/full") && "no /dev/full" }, async (t) => {
  const f = fixture(t, { retryMs: 30 });
  f.start(await f.spill.open());
  f.add("a");
  await f.spill.flushed();
  rmSync(f.file);
  symlinkSync("/dev/full", f.file);
  f.add("b");
  await f.spill.flushed();
  assert.equal(f.spill.status().state, "failed");
  f.add("c");  // noted while the file is unusable: only in memory
  // The retry rewrites the whole file (a new file renamed over the link), so it works at once here.
  const deadline = Date.now() + 5000;
  while (f.spill.status().state !== "open" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await f.spill.flushed();
  assert.equal(f.spill.status().state, "open");
  assert.equal(f.spill.status().error, null);
  assert.deepEqual(replayOf(readFileSync(f.file, "utf8")).records.map((r) => r.key), ["a", "b", "c"]);
  assert.equal(f.warnings.length, 2);
  assert.match(f.warnings[1], /capture spill file usable again/);
});

test("close writes what is pending at once", async (t) => {
  const f = fixture(t);
  f.start(await f.spill.open());
  f.add("a");
  await f.spill.close();
  f.spill.added("late", params("late"));
  assert.deepEqual(replayOf(readFileSync(f.file, "utf8")).records.map((r) => r.key), ["a"], "nothing after close");
});
