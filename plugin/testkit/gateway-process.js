// Starts testkit/gateway-child.mjs (a gateway with the plugin, in a process of its own) and talks to
// it: `ask` sends one command and resolves with its reply; `logs` collects every plugin log line the
// process wrote, also those of a process later killed with SIGKILL.
import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { PLUGIN_DIR } from "./harness.js";

/** The agent every call of a gateway process is made for. */
export const SOAK_AGENT = Object.freeze({
  sessionId: "0b7f3e1a-5c2d-4e6f-8a9b-1c2d3e4f5a6b",
  agentId: "soak-agent",
  agentDir: "/home/soak/.openclaw/agents/soak-agent/agent",
  workspaceDir: "/home/soak/.openclaw/workspace-soak-agent",
});

/**
 * @typedef {object} GatewayProcess
 * @property {(command: Record<string, unknown>) => Promise<any>} ask  rejects when the process answers an error or exits first
 * @property {{pluginId: string, level: string, message: string}[]} logs
 * @property {(signal: NodeJS.Signals) => Promise<number | null>} kill  resolves with the exit code once it has exited
 * @property {() => string} stderr
 */

/**
 * @param {string} stateDir  the host's state directory (ctx.stateDir of the plugin's service)
 * @param {Record<string, unknown>} pluginConfig
 * @returns {Promise<GatewayProcess>} once the plugin's services have started
 */
export async function startGatewayProcess(stateDir, pluginConfig) {
  const child = spawn(process.execPath, [path.join(PLUGIN_DIR, "testkit", "gateway-child.mjs"), stateDir, JSON.stringify(pluginConfig)], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, OPENCLAW_DEBUG: "" },
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d.toString()));
  /** @type {{pluginId: string, level: string, message: string}[]} */
  const logs = [];
  /** @type {{resolve: (v: any) => void, reject: (e: Error) => void}[]} */
  const waiting = [];
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  exited.then(() => {
    for (const w of waiting.splice(0)) w.reject(new Error(`gateway process exited: ${stderr.trim()}`));
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    const message = JSON.parse(line);
    if (message.log) logs.push(message.log);
    else if (message.reply) {
      const w = waiting.shift();
      if (message.reply.ok) w?.resolve(message.reply);
      else w?.reject(new Error(message.reply.error));
    }
  });
  /** @param {Record<string, unknown>} command */
  const ask = (command) =>
    new Promise((resolve, reject) => {
      waiting.push({ resolve, reject });
      child.stdin.write(`${JSON.stringify(command)}\n`);
    });
  await ask({ op: "counters" });
  return {
    ask,
    logs,
    kill: (signal) => {
      child.kill(signal);
      return exited;
    },
    stderr: () => stderr,
  };
}
