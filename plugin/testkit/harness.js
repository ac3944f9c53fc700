// Shared by the tests and the soak script: a fake OpenClaw plugin API, a fake taas-capture
// service speaking the SPEC's JSON-RPC, a launcher for the real binary, and a tap in front of its
// socket. Kept outside test/ so `node --test` does not run it as a test file.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseCapture } from "../lib/capture.js";

export const PLUGIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** A fresh temp directory (short path: socket addresses are limited to ~107 bytes). */
export function tempDir(prefix = "taas-") {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** @param {string} dir */
export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Resolve when `predicate()` is truthy; reject after `timeoutMs`.
 * @param {() => unknown | Promise<unknown>} predicate
 * @param {number} [timeoutMs]
 * @param {string} [what]
 */
export async function waitFor(predicate, timeoutMs = 10_000, what = "condition") {
  const started = Date.now();
  for (;;) {
    if (await predicate()) return;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A fake OpenClawPluginApi recording what the plugin registers.
 * @param {{registrationMode?: string, pluginConfig?: Record<string, unknown>, withOn?: boolean}} [options]
 */
export function fakeApi(options = {}) {
  /** @type {any[]} */
  const providers = [];
  /** @type {Record<string, {handler: Function, options: any}>} */
  const methods = {};
  /** @type {Record<string, Function[]>} */
  const hooks = {};
  /** @type {{level: string, message: string}[]} */
  const logs = [];
  const log = (/** @type {string} */ level) => (/** @type {string} */ message) => logs.push({ level, message });
  /** @type {any} */
  const api = {
    id: "openclaw-taas-affinity",
    name: "CloudSigma TaaS affinity",
    source: "test",
    pluginConfig: options.pluginConfig ?? {},
    logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    registerProvider: (/** @type {any} */ p) => providers.push(p),
    registerGatewayMethod: (/** @type {string} */ name, /** @type {Function} */ handler, /** @type {any} */ opts) => {
      methods[name] = { handler, options: opts };
    },
  };
  if (options.registrationMode !== undefined) api.registrationMode = options.registrationMode;
  if (options.withOn !== false) {
    api.on = (/** @type {string} */ name, /** @type {Function} */ handler) => {
      (hooks[name] ??= []).push(handler);
    };
  }
  /**
   * Call a registered gateway method the way the gateway does; resolves to what `respond` got.
   * @param {string} name
   * @param {unknown} params
   * @returns {Promise<{ok: boolean, payload: any, error: any}>}
   */
  const call = (name, params) =>
    new Promise((resolve, reject) => {
      const entry = methods[name];
      if (!entry) {
        reject(new Error(`gateway method ${name} was not registered`));
        return;
      }
      Promise.resolve(
        entry.handler({
          params,
          respond: (/** @type {boolean} */ ok, /** @type {any} */ payload, /** @type {any} */ error) =>
            resolve({ ok, payload, error }),
        }),
      ).catch(reject);
    });
  /** @param {string} name */
  const emit = async (name) => {
    for (const handler of hooks[name] ?? []) await handler({}, {});
  };
  return { api, providers, methods, hooks, logs, call, emit };
}

/** The final assistant message of a fake stream: OpenClaw's usage shape (`input` excludes cached tokens). */
export const FINAL_MESSAGE = Object.freeze({
  role: "assistant",
  stopReason: "stop",
  usage: Object.freeze({ input: 120, output: 40, cacheRead: 880, cacheWrite: 0, totalTokens: 1040, cost: Object.freeze({ total: 0.0125 }) }),
});

/**
 * A stand-in for pi-ai's AssistantMessageEventStream: async-iterable events and a `result()`
 * promise of the final message, settled when the stream ends.
 */
export function fakeEventStream() {
  /** @type {(m: unknown) => void} */
  let resolve = () => {};
  /** @type {(e: unknown) => void} */
  let reject = () => {};
  const done = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => {});
  /** @type {any[]} */
  const events = [];
  return {
    kind: "fake-event-stream",
    events,
    result: () => done,
    /** @param {unknown} message */
    end(message) {
      events.push({ type: "done", message });
      resolve(message);
    },
    /** @param {unknown} error */
    fail: (error) => reject(error),
    async *[Symbol.asyncIterator]() {
      await done.catch(() => {});
      yield* events;
    },
  };
}

/**
 * Drive a wrapped stream function the way pi-ai does: the stream function returns an event stream
 * at once; the request is built through `onPayload`, the response headers reported through
 * `onResponse`, then the stream ends with `finalMessage` (default `FINAL_MESSAGE`).
 * @param {Function} wrap  wrapStreamFn or wrapSimpleCompletionStreamFn
 * @param {object} ctx  the hook context (without streamFn)
 * @param {{options?: any, payload?: any, responseHeaders?: any, finalMessage?: unknown, model?: any}} call
 */
export async function runStream(wrap, ctx, call) {
  /** @type {any} */
  const seen = {};
  const streamFn = (/** @type {any} */ model, /** @type {any} */ _context, /** @type {any} */ options) => {
    seen.options = options;
    const stream = fakeEventStream();
    seen.inner = stream;
    (async () => {
      const replaced = options?.onPayload ? await options.onPayload(call.payload ?? {}, model) : undefined;
      seen.payload = replaced === undefined ? call.payload : replaced;
      if (options?.onResponse) await options.onResponse({ status: 200, headers: call.responseHeaders ?? {} }, model);
      stream.end(call.finalMessage ?? FINAL_MESSAGE);
    })().catch((error) => stream.fail(error));
    return stream;
  };
  // Copy descriptors, not values, so a context with getters reaches the hook intact.
  const hookCtx = Object.defineProperties({}, Object.getOwnPropertyDescriptors(ctx));
  hookCtx.streamFn = streamFn;
  const wrapped = wrap(hookCtx);
  seen.result = wrapped(call.model ?? { id: "auto", provider: "cloudsigma" }, { messages: [] }, call.options);
  await seen.result.result().catch(() => {});
  // Let the plugin's end-of-stream handlers run.
  await new Promise((r) => setImmediate(r));
  return seen;
}

/** Response headers of an autorouted TaaS reply. @param {Record<string, string>} [extra] */
export function autoroutedHeaders(extra = {}) {
  return {
    "x-taas-autorouted": "true",
    "x-taas-autorouter-model": "qwen3-coder",
    "x-taas-autorouter-mode": "best_fit",
    "x-taas-autorouter-algorithm-source": "default",
    "x-taas-thinking-applied": "false",
    "x-taas-routed-context-window": "131072",
    "content-type": "text/event-stream",
    authorization: "Bearer secret",
    ...extra,
  };
}

/**
 * A fake taas-capture service: `record` stores with the SPEC's dedupe on
 * (sessionId, idempotencyKey), autorouted captures and calls with usage (v2), with their v3
 * attribution fields; `lastRoute`, `history` and `stats` answer from what it stored;
 * `taas.capture.setBudget` / `budgets` keep budgets as SPEC v3 "Budgets (warn only)" and the
 * service contract describe them, with today's spend as the test sets it (`state.spent`, keyed
 * `agent:<id>` or `session:<id>`; `state.day`). Algorithm overrides are the real binary's (the
 * host-contract suite): here they are an unknown method, and so are budgets when
 * `state.budgets` is false (an older service). `mode` changes how it answers, for fault tests.
 * @param {string} socketPath
 */
export async function startFakeService(socketPath) {
  /** @type {any[]} */
  const captures = [];
  /** @type {Map<string, number>} */
  const keys = new Map();
  /** @type {Map<string, {subject: Record<string, string>, usdPerDay: number, updatedAt: number}>} */
  const budgets = new Map();
  const state = {
    /** @type {"normal" | "silent" | "hangUpAfterStoring"} */
    mode: "normal",
    requests: /** @type {any[]} */ ([]),
    connections: 0,
    /** whether it serves taas.capture.budgets / setBudget (false: -32601, as an older service) */
    budgets: true,
    /** @type {Map<string, number>} today's spend by `agent:<id>` / `session:<id>` */
    spent: new Map(),
    /** @type {string | null} the UTC day it reports (default: today's) */
    day: /** @type {string | null} */ (null),
  };
  /** @type {Set<net.Socket>} */
  const sockets = new Set();

  /** @param {any} params */
  const record = (params) => {
    const dedupe = params.idempotencyKey ? `${params.sessionId}\u0000${params.idempotencyKey}` : null;
    if (dedupe !== null && keys.has(dedupe)) return { recorded: true, id: keys.get(dedupe), duplicate: true };
    const autorouted = params.headers?.["x-taas-autorouted"] === "true";
    if (!autorouted && params.usage === undefined) return { recorded: false, reason: "not_autorouted" };
    const id = captures.length + 1;
    captures.push({
      id,
      sessionId: params.sessionId,
      agentId: params.agentId ?? null,
      capturedAt: params.capturedAt,
      ...(autorouted ? parseCapture(params.headers) : {}),
      autorouted,
      usage: params.usage ?? null,
      headers: params.headers,
      outcome: params.outcome ?? null,
      trigger: params.trigger ?? null,
      channel: params.channel ?? null,
      timeToFirstByteMs: params.timeToFirstByteMs ?? null,
      failureKind: params.failureKind ?? null,
    });
    if (dedupe !== null) keys.set(dedupe, id);
    return { recorded: true, id, duplicate: false };
  };

  /** @param {Record<string, string>} subject */
  const budgetKey = (subject) => ("agentId" in subject ? `agent:${subject.agentId}` : `session:${subject.sessionId}`);

  /** @param {any} p @returns {{result: any} | {error: any}} */
  const setBudget = (p) => {
    const subjects = ["agentId", "sessionId"].filter((k) => typeof p?.[k] === "string" && p[k] !== "");
    if (subjects.length !== 1) return { error: { code: -32602, message: "invalid params", data: { field: "agentId", reason: "exactly one of agentId or sessionId" } } };
    if (p.usdPerDay !== null && !(typeof p.usdPerDay === "number" && p.usdPerDay > 0)) {
      return { error: { code: -32602, message: "invalid params", data: { field: "usdPerDay", reason: "a number > 0 or null" } } };
    }
    const subject = { [subjects[0]]: p[subjects[0]] };
    const key = budgetKey(subject);
    const previous = budgets.get(key)?.usdPerDay ?? null;
    const updatedAt = Date.now();
    if (p.usdPerDay === null) budgets.delete(key);
    else budgets.set(key, { subject, usdPerDay: p.usdPerDay, updatedAt });
    return { result: { subject, usdPerDay: p.usdPerDay, previous, updatedAt } };
  };

  const listBudgets = () => {
    const list = [...budgets.entries()].map(([key, b]) => {
      const spentTodayUsd = state.spent.get(key) ?? 0;
      return { subject: b.subject, usdPerDay: b.usdPerDay, spentTodayUsd, exceeded: spentTodayUsd > b.usdPerDay, updatedAt: b.updatedAt };
    });
    const day = state.day ?? new Date().toISOString().slice(0, 10);
    return { result: { day, budgets: list, count: list.length, exceeded: list.filter((b) => b.exceeded).length } };
  };

  /** @param {any} p */
  const select = (p) =>
    captures.filter((c) => (p.agentId ? c.agentId === p.agentId : c.sessionId === p.sessionId)).reverse();

  const server = net.createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      let nl;
      while ((nl = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const req = JSON.parse(line);
        state.requests.push(req);
        if (state.mode === "silent") continue;
        let reply;
        if (req.method === "taas.autorouter.record") reply = { result: record(req.params) };
        else if (req.method === "taas.autorouter.lastRoute") {
          const found = select(req.params)[0] ?? null;
          reply = {
            result: req.params.agentId
              ? { agentId: req.params.agentId, sessionId: found?.sessionId ?? null, capture: found }
              : { sessionId: req.params.sessionId, capture: found },
          };
        } else if (req.method === "taas.autorouter.history") {
          reply = { result: { ...req.params, captures: select(req.params), nextCursor: null } };
        } else if (req.method === "taas.autorouter.stats") reply = { result: { total: captures.length } };
        else if (req.method === "taas.capture.setBudget" && state.budgets) reply = setBudget(req.params);
        else if (req.method === "taas.capture.budgets" && state.budgets) reply = listBudgets();
        else reply = { error: { code: -32601, message: "method not found" } };
        if (state.mode === "hangUpAfterStoring") {
          socket.destroy();
          return;
        }
        socket.write(`${JSON.stringify({ jsonrpc: "2.0", id: req.id, ...reply })}\n`);
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve(undefined));
  });
  return {
    captures,
    budgets,
    state,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve(undefined));
      }),
  };
}

/** The real taas-capture binary: env TAAS_CAPTURE_BIN, else ../.build/debug/taas-capture. */
export function serviceBinary() {
  const fromEnv = process.env.TAAS_CAPTURE_BIN;
  if (fromEnv && fromEnv.trim() !== "") return path.resolve(fromEnv);
  return path.resolve(PLUGIN_DIR, "..", ".build", "debug", "taas-capture");
}

/** @param {string} socketPath @returns {Promise<boolean>} */
function canConnect(socketPath) {
  return new Promise((resolve) => {
    const s = net.createConnection({ path: socketPath });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Start `taas-capture serve --socket <dir>/c.sock --db <dir>/c.sqlite3 [args…]` and wait until it
 * accepts connections.
 * @param {string} bin
 * @param {string} dir
 * @param {{args?: string[]}} [options]  more `serve` options, e.g. ["--budget-check-interval", "200ms"]
 */
export async function startRealService(bin, dir, options = {}) {
  const socketPath = path.join(dir, "c.sock");
  const dbPath = path.join(dir, "c.sqlite3");
  const child = spawn(bin, ["serve", "--socket", socketPath, "--db", dbPath, ...(options.args ?? [])], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
  });
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  let gone = false;
  exited.then(() => (gone = true));
  await waitFor(async () => gone || (existsSync(socketPath) && (await canConnect(socketPath))), 15_000, "taas-capture to listen");
  if (gone) throw new Error(`taas-capture serve exited early: ${stderr.trim()}`);
  return {
    socketPath,
    dbPath,
    child,
    stderr: () => stderr,
    /** @param {NodeJS.Signals} [signal] */
    stop: async (signal = "SIGTERM") => {
      if (!gone) child.kill(signal);
      return exited;
    },
  };
}

/**
 * A transparent tap in front of a real service's socket: every byte passes through both ways
 * unchanged, and each request a client writes (one JSON line, a batch flattened) is kept in
 * `requests`, so a test can tell what reached the service without standing in for it.
 * @param {string} targetPath  the service's socket
 * @param {string} tapPath     where clients connect instead
 */
export async function startSocketTap(targetPath, tapPath) {
  /** @type {any[]} */
  const requests = [];
  /** @type {Set<net.Socket>} */
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.createConnection({ path: targetPath });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    let pending = Buffer.alloc(0);
    client.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      let nl;
      while ((nl = pending.indexOf(10)) !== -1) {
        const line = pending.subarray(0, nl).toString("utf8");
        pending = pending.subarray(nl + 1);
        try {
          requests.push(...[JSON.parse(line)].flat());
        } catch {
          requests.push({ unparsed: line });
        }
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(tapPath, () => resolve(undefined));
  });
  return {
    socketPath: tapPath,
    requests,
    /** The methods of the requests so far, in order; `prefix` keeps only those starting with it. @param {string} [prefix] */
    methods: (prefix = "") => requests.map((r) => r.method).filter((m) => typeof m === "string" && m.startsWith(prefix)),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve(undefined));
      }),
  };
}
