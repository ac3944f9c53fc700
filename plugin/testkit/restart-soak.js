// The restart soak (issue 21): with the service away, gateways in processes of their own issue
// captures and are restarted (stopped, or killed with SIGKILL once the spill file holds what they
// issued); then the service starts and the last gateway resends what the spill file kept. Counted
// through the service's own history: every issued request id, how often it was stored. Used by
// test/spill.integration.test.js and tools/soak-restarts.mjs.
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { spillDirIn } from "../lib/config.js";
import { callServiceOnce } from "../lib/service-call.js";
import { replayOf } from "../lib/spill-format.js";
import { SOAK_AGENT, startGatewayProcess } from "./gateway-process.js";
import { removeDir, startRealService, tempDir } from "./harness.js";

/**
 * @typedef {object} RestartSoak
 * @property {string[]} issued       request ids, in the order they were issued
 * @property {boolean} drained       the last gateway's queue emptied once the service was up
 * @property {Map<string, number>} stored  rows per request id in the service
 * @property {number} storedRows
 * @property {number} duplicates     request ids stored more than once
 * @property {string[]} missing      issued and not stored
 * @property {number} dropped        the last gateway's count (the earlier gateways' carried in the spill file)
 * @property {number} lost           missing and not accounted for as dropped
 * @property {number} fileBytesBeforeService  the spill file's size when the service started
 * @property {number} spilledBeforeService    the captures it held then
 * @property {{pluginId: string, level: string, message: string}[]} logs  every gateway's, in order
 * @property {{replayed: number, duplicates: number, storedRows: number} | null} replayAgain
 *   a gateway given the spill file as it was before the service started (as if every acknowledgement had been lost)
 */

/**
 * @param {object} o
 * @param {string} o.bin            the taas-capture binary
 * @param {number} o.perGateway     captures each gateway issues
 * @param {("stop" | "kill")[]} o.ends  how each restarted gateway ends, in order (its length is the number of restarts)
 * @param {number} [o.spillMaxBytes]
 * @param {Record<string, unknown>} [o.pluginConfig]  more plugin config (queueLimit, …)
 * @param {boolean} [o.replayAgain]
 * @param {string} [o.prefix]       of the request ids
 * @returns {Promise<RestartSoak>}
 */
export async function runRestartSoak(o) {
  const dir = tempDir("taas-rsoak-");
  const stateDir = path.join(dir, "state");
  mkdirSync(stateDir);
  const pluginConfig = {
    socketPath: path.join(dir, "c.sock"),
    requestTimeoutMs: 200,
    ...(o.spillMaxBytes === undefined ? {} : { spillMaxBytes: o.spillMaxBytes }),
    ...o.pluginConfig,
  };
  const spillFile = path.join(spillDirIn(stateDir), "openclaw-taas-affinity.spill");
  /** @type {string[]} */
  const issued = [];
  /** @type {RestartSoak["logs"]} */
  const logs = [];
  /** @type {Awaited<ReturnType<typeof startRealService>> | null} */
  let service = null;
  try {
    let gateway = await startGatewayProcess(stateDir, pluginConfig);
    for (let g = 0; ; g++) {
      const ids = Array.from({ length: o.perGateway }, (_, i) => `${o.prefix ?? "rs"}-g${g}-${String(i).padStart(5, "0")}`);
      await gateway.ask({ op: "issue", ids });
      issued.push(...ids);
      await gateway.ask({ op: "written" });
      if (g === o.ends.length) break;
      if (o.ends[g] === "kill") await gateway.kill("SIGKILL");
      else await gateway.ask({ op: "stop" });
      logs.push(...gateway.logs);
      gateway = await startGatewayProcess(stateDir, pluginConfig);
    }
    const before = existsSync(spillFile) ? readFileSync(spillFile) : Buffer.alloc(0);
    if (o.replayAgain) copyFileSync(spillFile, `${spillFile}.before-service`);
    service = await startRealService(o.bin, dir);
    const { counters, drained } = await gateway.ask({ op: "drain", timeoutMs: 120_000 });
    const stored = await storedRequestIds(service.socketPath);
    await gateway.ask({ op: "stop" });
    logs.push(...gateway.logs);
    const replayAgain = o.replayAgain ? await replayAgainFrom(`${spillFile}.before-service`, spillFile, stateDir, pluginConfig, service.socketPath) : null;
    const missing = issued.filter((id) => !stored.has(id));
    return {
      issued,
      drained,
      stored,
      storedRows: [...stored.values()].reduce((a, b) => a + b, 0),
      duplicates: [...stored.values()].filter((n) => n > 1).length,
      missing,
      dropped: counters.dropped,
      lost: missing.length - counters.dropped,
      fileBytesBeforeService: before.length,
      spilledBeforeService: replayOf(before.toString("utf8")).records.length,
      logs,
      replayAgain,
    };
  } finally {
    await service?.stop();
    removeDir(dir);
  }
}

/**
 * A gateway started on `snapshot` (the spill file before the service took anything): it resends all
 * of it, and the service must answer each as a duplicate.
 * @param {string} snapshot @param {string} spillFile @param {string} stateDir
 * @param {Record<string, unknown>} pluginConfig @param {string} socketPath
 */
async function replayAgainFrom(snapshot, spillFile, stateDir, pluginConfig, socketPath) {
  copyFileSync(snapshot, spillFile);
  const gateway = await startGatewayProcess(stateDir, pluginConfig);
  const { counters } = await gateway.ask({ op: "drain", timeoutMs: 120_000 });
  await gateway.ask({ op: "stop" });
  const stored = await storedRequestIds(socketPath);
  return { replayed: counters.replayed, duplicates: counters.duplicates, storedRows: [...stored.values()].reduce((a, b) => a + b, 0) };
}

/**
 * How often the service stored each request id of the soak's agent, from `taas.autorouter.history`
 * page by page.
 * @param {string} socketPath
 * @returns {Promise<Map<string, number>>}
 */
export async function storedRequestIds(socketPath) {
  /** @type {Map<string, number>} */
  const stored = new Map();
  /** @type {string | undefined} */
  let cursor;
  do {
    const params = { agentId: SOAK_AGENT.agentId, limit: 1000, ...(cursor === undefined ? {} : { cursor }) };
    const page = await callServiceOnce(socketPath, "taas.autorouter.history", params, 10_000);
    for (const capture of page.captures) stored.set(capture.taasRequestId, (stored.get(capture.taasRequestId) ?? 0) + 1);
    cursor = typeof page.nextCursor === "string" ? page.nextCursor : undefined;
  } while (cursor !== undefined);
  return stored;
}
