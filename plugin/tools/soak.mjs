// Soak: a steady stream of captures through the plugin into the real taas-capture service,
// which is stopped (SIGTERM) part-way and restarted a few seconds later. Prints what the plugin
// sent, queued, dropped and had acknowledged, and what the service stored.
//
//   node tools/soak.mjs [--captures 20000] [--seconds 20] [--stop-at 0.4] [--down 3] [--queue-limit N]
//
// The binary: TAAS_CAPTURE_BIN, else ../.build/debug/taas-capture. A script, not a test: it lives
// outside test/ so `node --test` does not pick it up.
import { existsSync } from "node:fs";
import { pluginState, registerPlugin } from "../index.js";
import {
  autoroutedHeaders,
  fakeApi,
  removeDir,
  runStream,
  serviceBinary,
  startRealService,
  tempDir,
} from "../testkit/harness.js";

/** @param {string} name @param {number} fallback */
function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
  return n;
}

const sleep = (/** @param {number} ms */ ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const total = flag("captures", 20_000);
  const seconds = flag("seconds", 20);
  const stopAt = flag("stop-at", 0.4);
  const downSeconds = flag("down", 3);
  const queueLimit = flag("queue-limit", 5000);
  const agents = 8;

  const bin = serviceBinary();
  if (!existsSync(bin)) throw new Error(`no taas-capture binary at ${bin}; set TAAS_CAPTURE_BIN`);
  const dir = tempDir("taas-soak-");
  let service = await startRealService(bin, dir);
  const fake = fakeApi({ registrationMode: "full", pluginConfig: { socketPath: service.socketPath, queueLimit } });
  registerPlugin(fake.api, {
    host: { env: () => ({}), hostname: () => "soak-host", home: () => "/home/soak", cwd: () => "/" },
  });
  const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(fake.api));
  const client = /** @type {import("../lib/client.js").CaptureClient} */ (state.client);
  const wrap = fake.providers[0].wrapStreamFn;

  const perTick = Math.max(1, Math.round(total / (seconds * 100)));
  const stopAfter = Math.floor(total * stopAt);
  let issued = 0;
  let llmFailures = 0;
  let stoppedAt = 0;
  /** @type {Promise<void> | null} */
  let restart = null;
  const started = Date.now();

  console.log(`soak: ${total} captures over ~${seconds}s (${perTick} per 10 ms), queueLimit ${queueLimit}`);
  console.log(`      service stopped after ${stopAfter} captures, restarted ${downSeconds}s later`);
  while (issued < total) {
    const batch = [];
    for (let i = 0; i < perTick && issued < total; i++, issued++) {
      const n = issued;
      const ctx = { provider: "cloudsigma", modelId: "auto", workspaceDir: `/home/soak/.openclaw/workspace-agent-${n % agents}` };
      batch.push(
        runStream(wrap, ctx, { responseHeaders: autoroutedHeaders({ "x-request-id": `soak-${n}` }) })
          .then((r) => {
            if (r.result !== r.inner) llmFailures += 1;
          })
          .catch(() => {
            llmFailures += 1;
          }),
      );
      if (issued + 1 === stopAfter) {
        stoppedAt = Date.now();
        const code = await service.stop("SIGTERM");
        console.log(`  t=${((stoppedAt - started) / 1000).toFixed(1)}s service stopped (exit ${code}); counters ${JSON.stringify(client.counters())}`);
        restart = sleep(downSeconds * 1000).then(async () => {
          service = await startRealService(bin, dir);
          console.log(`  t=${((Date.now() - started) / 1000).toFixed(1)}s service restarted; counters ${JSON.stringify(client.counters())}`);
        });
      }
    }
    await Promise.all(batch);
    await sleep(10);
  }
  const sendDone = Date.now();
  if (restart) await restart;
  const drained = await client.drain(60_000);
  const drainDone = Date.now();
  const counters = client.counters();

  const stats = await fake.call("taas.autorouter.stats", {});
  /** @type {number[]} */
  const perAgent = [];
  for (let a = 0; a < agents; a++) {
    const r = await fake.call("taas.autorouter.stats", { agentId: `agent-${a}` });
    perAgent.push(r.ok ? r.payload.total : -1);
  }
  await client.close();
  await service.stop("SIGTERM");
  removeDir(dir);

  const stored = stats.ok ? stats.payload.total : `unavailable (${stats.error?.message})`;
  console.log("");
  console.log(`issued (LLM calls)      ${total}   (failed LLM calls: ${llmFailures})`);
  console.log(`sent (writes)           ${counters.sent}   (of which resent ${counters.resent})`);
  console.log(`queued at end           ${counters.queued}   (drained: ${drained})`);
  console.log(`dropped (queue full)    ${counters.dropped}`);
  console.log(`acked                   ${counters.acked}   (duplicates ${counters.duplicates})`);
  console.log(`failed (refused)        ${counters.failed}`);
  console.log(`stored (service stats)  ${stored}   per agent ${JSON.stringify(perAgent)}`);
  // A capture in flight when the service stopped may have been stored and then dropped from the
  // queue, so stored may exceed issued - dropped; it must never be less, nor exceed issued.
  console.log(`expected stored         ${total - counters.dropped} .. ${total}   (issued - dropped .. issued)`);
  console.log(`connections             ${counters.connects}`);
  console.log(`send phase ${((sendDone - started) / 1000).toFixed(1)}s, drain ${((drainDone - sendDone) / 1000).toFixed(1)}s`);
  if (typeof stored !== "number" || stored < total - counters.dropped || stored > total) {
    console.log("MISMATCH: captures were lost or stored twice");
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(`soak failed: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
});
