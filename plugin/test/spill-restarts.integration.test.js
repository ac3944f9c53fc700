// Issue 21's soak against the real taas-capture binary: with the service away, four gateways in
// processes of their own issue captures, restarted three times (once with kill -9); then the service
// starts and the last gateway resends what the spill file kept (testkit/restart-soak.js).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { liveBytesBound } from "../lib/spill-format.js";
import { serviceBinary } from "../testkit/harness.js";
import { runRestartSoak } from "../testkit/restart-soak.js";

const bin = serviceBinary();
const haveBinary = existsSync(bin);

/** @param {import("../testkit/restart-soak.js").RestartSoak} soak @param {RegExp} pattern */
const logLines = (soak, pattern) => soak.logs.filter((l) => pattern.test(l.message));

if (!haveBinary && process.env.CI) {
  test("the taas-capture binary is available for the restart soak", () => assert.fail(`no taas-capture binary at ${bin}`));
} else if (!haveBinary) {
  test("the restart soak against the real service", { skip: `no taas-capture binary at ${bin}` }, () => {});
} else {
  describe("gateway restarts while the service is away (real taas-capture)", () => {
    test("within the bound every issued capture is stored exactly once, kill -9 included; a second replay stores nothing again", async () => {
      const soak = await runRestartSoak({ bin, perGateway: 25, ends: ["stop", "kill", "stop"], replayAgain: true, prefix: "within" });
      assert.equal(soak.issued.length, 100);
      assert.equal(soak.spilledBeforeService, 100, "the file held all of them when the service started");
      assert.equal(soak.storedRows, 100);
      assert.deepEqual(soak.missing, []);
      assert.equal(soak.duplicates, 0);
      assert.equal(soak.dropped, 0);
      assert.equal(soak.lost, 0);
      assert.deepEqual(soak.replayAgain, { replayed: 100, duplicates: 100, storedRows: 100 }, "as if every acknowledgement had been lost");
      assert.deepEqual(logLines(soak, /queue full|dropped/), []);
      assert.equal(logLines(soak, /restored \d+ unacknowledged captures/).length, 3, "each restarted gateway restored them");
    });

    test("past a small bound exactly the oldest are dropped, counted once across the restarts and logged once", async () => {
      const spillMaxBytes = 8192;
      const soak = await runRestartSoak({ bin, perGateway: 25, ends: ["kill", "stop", "kill"], spillMaxBytes, prefix: "small" });
      const kept = soak.storedRows;
      assert.ok(kept >= 3 && kept < 25, `kept ${kept}`);
      assert.deepEqual([...soak.stored.keys()].sort(), soak.issued.slice(-kept), "the stored set is exactly the newest issued");
      assert.equal(soak.duplicates, 0);
      assert.equal(soak.dropped, soak.issued.length - kept);
      assert.equal(soak.lost, 0);
      assert.ok(soak.fileBytesBeforeService <= spillMaxBytes, `the file (${soak.fileBytesBeforeService} bytes) within its bound`);
      assert.ok(soak.spilledBeforeService === kept);
      const full = logLines(soak, /queue full/);
      assert.equal(full.length, 1, "one warning for the episode, whichever gateway was dropping");
      assert.match(full[0].message, new RegExp(`queue full \\(5000 captures or ${liveBytesBound(spillMaxBytes)} bytes\\)`));
      const drained = logLines(soak, /queue drained/);
      assert.deepEqual(drained.map((l) => l.message), [`[openclaw-taas-affinity] taas-capture queue drained; ${soak.dropped} captures were dropped while the service was away`]);
    });
  });
}
