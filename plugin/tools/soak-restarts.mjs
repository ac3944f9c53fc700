// Restart soak (issue 21): with the taas-capture service away, gateways (each a node process with
// the plugin, testkit/gateway-child.mjs) issue captures and are restarted, some with kill -9 once the
// spill file holds what they issued; then the service starts and the last gateway resends what the
// file kept. Prints what was issued, stored (counted per request id through the service's history),
// stored twice, lost and dropped.
//
//   node tools/soak-restarts.mjs [--per-gateway 2000] [--restarts 3] [--kill-every 2]
//                                [--spill-max-bytes N] [--queue-limit N] [--replay-again]
//
// --kill-every k: every k-th restart is a kill -9 (the others a graceful stop). Dropped captures are
// expected only past the bounds (queueLimit captures, three quarters of spillMaxBytes in bytes): then
// the stored ones must be exactly the newest. The binary: TAAS_CAPTURE_BIN, else
// ../.build/debug/taas-capture. A script, not a test.
import { existsSync } from "node:fs";
import { serviceBinary } from "../testkit/harness.js";
import { runRestartSoak } from "../testkit/restart-soak.js";

/** @param {string} name @param {number | undefined} fallback */
function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} needs a whole number`);
  return n;
}

async function main() {
  const perGateway = /** @type {number} */ (flag("per-gateway", 2000));
  const restarts = /** @type {number} */ (flag("restarts", 3));
  const killEvery = /** @type {number} */ (flag("kill-every", 2));
  const spillMaxBytes = flag("spill-max-bytes", undefined);
  const queueLimit = flag("queue-limit", undefined);
  const bin = serviceBinary();
  if (!existsSync(bin)) throw new Error(`no taas-capture binary at ${bin}; set TAAS_CAPTURE_BIN`);
  /** @type {("stop" | "kill")[]} */
  const ends = Array.from({ length: restarts }, (_, i) => (killEvery > 0 && (i + 1) % killEvery === 0 ? "kill" : "stop"));
  console.log(`restart soak: ${restarts + 1} gateways × ${perGateway} captures; restarts: ${ends.join(", ") || "none"}`);
  console.log(`              spillMaxBytes ${spillMaxBytes ?? "default"}, queueLimit ${queueLimit ?? "default"}`);
  const started = Date.now();
  const soak = await runRestartSoak({
    bin,
    perGateway,
    ends,
    spillMaxBytes,
    pluginConfig: queueLimit === undefined ? {} : { queueLimit },
    replayAgain: process.argv.includes("--replay-again"),
  });
  const kept = soak.storedRows;
  const newest = soak.issued.slice(soak.issued.length - soak.stored.size);
  const exactlyNewest = newest.every((id) => soak.stored.has(id));
  console.log("");
  console.log(`issued                  ${soak.issued.length}`);
  console.log(`spilled at service start ${soak.spilledBeforeService}   (file ${soak.fileBytesBeforeService} bytes)`);
  console.log(`stored (rows)           ${kept}   (drained: ${soak.drained})`);
  console.log(`duplicates              ${soak.duplicates}`);
  console.log(`dropped                 ${soak.dropped}   (stored are exactly the newest: ${exactlyNewest})`);
  console.log(`lost                    ${soak.lost}`);
  if (soak.replayAgain) console.log(`replayed again          ${soak.replayAgain.replayed}, answered duplicate ${soak.replayAgain.duplicates}, rows after ${soak.replayAgain.storedRows}`);
  for (const pattern of [/queue full/, /queue drained/, /skipped \d+ torn/, /spill file unusable/]) {
    for (const line of soak.logs.filter((l) => pattern.test(l.message))) console.log(`log: ${line.level} ${line.message}`);
  }
  console.log(`took ${((Date.now() - started) / 1000).toFixed(1)}s`);
  if (soak.duplicates > 0 || soak.lost !== 0 || !exactlyNewest || kept + soak.dropped !== soak.issued.length) {
    console.log("MISMATCH: captures were lost, dropped out of order or stored twice");
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(`soak failed: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
});
