// A gateway in a process of its own, for the restart tests and tools/soak-restarts.mjs: the plugin
// loaded by the simulated host (host.js) and started with a state directory, driven by one JSON
// command per stdin line, answering one JSON line each on stdout. Every plugin log line is written
// at once as {"log": …}, so what a process logged before a kill -9 is not lost with it. Spawned by
// gateway-process.js; kept outside test/ so node --test does not run it.
//
//   argv: <stateDir> <pluginConfig JSON>
//   {"op":"issue","ids":["r-1",…]}  one LLM call per id (its x-request-id), in order
//   {"op":"written"}                 wait until the spill file holds the queue as it is now
//   {"op":"drain","timeoutMs":N}     wait until nothing is queued
//   {"op":"counters"} / {"op":"stop"} (gateway_stop and the services' stop, then exit)
import { createInterface } from "node:readline";
import * as plugin from "../index.js";
import { pluginState } from "../index.js";
import { autoroutedHeaders, waitFor } from "./harness.js";
import { SOAK_AGENT } from "./gateway-process.js";
import { createHost } from "./host.js";

const [stateDir, configJson] = process.argv.slice(2);
const host = createHost();
const push = host.logs.push.bind(host.logs);
host.logs.push = (...entries) => {
  for (const entry of entries) process.stdout.write(`${JSON.stringify({ log: entry })}\n`);
  return push(...entries);
};
const api = host.load(plugin, { pluginConfig: JSON.parse(configJson) });
const state = /** @type {NonNullable<ReturnType<typeof pluginState>>} */ (pluginState(api));
await host.startServices(stateDir);

const counters = () => state.client?.counters() ?? null;

/** @param {any} command */
async function answer(command) {
  if (command.op === "issue") {
    for (const id of command.ids) {
      await host.llmCall({ ...SOAK_AGENT, responseHeaders: autoroutedHeaders({ "x-request-id": id }) });
    }
    return { issued: command.ids.length, counters: counters() };
  }
  if (command.op === "written") {
    await waitFor(() => counters()?.spill?.unwritten === 0, 10_000, "the spill file to be written");
    return { counters: counters() };
  }
  if (command.op === "drain") return { drained: await state.client?.drain(command.timeoutMs ?? 10_000), counters: counters() };
  if (command.op === "counters") return { counters: counters() };
  if (command.op === "stop") {
    await host.stop();
    return { stopped: true, counters: counters() };
  }
  throw new Error(`unknown op ${command.op}`);
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  let reply;
  try {
    reply = { ok: true, ...(await answer(JSON.parse(line))) };
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  process.stdout.write(`${JSON.stringify({ reply })}\n`);
  if (reply.stopped) process.exit(0);
}
