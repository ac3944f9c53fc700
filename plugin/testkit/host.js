// A simulated OpenClaw gateway host, built from what the real one does (../shared/OPENCLAW-HOST.md,
// read from openclaw/openclaw): plugins registered in load order, provider hooks found by id /
// aliases / hookAliases (first registered wins; on 2026.8+ a provider whose id is literally the
// name owns it), the wrap context keys of `pi-embedded-runner/extra-params.ts`, stream options with
// `sessionId`, `onPayload` chaining as the transports do it, `onResponse({status, headers}, model)`
// with lower-case headers, the hooks of one attempt in the host's order and with its contexts
// (HOST-NOTES-attribution.md: `llm_input` before the call, `model_call_started`, the stream,
// `model_call_ended` once the stream is consumed, `llm_output` at the attempt's end; the agent
// contexts with `trigger` / `channelId` / `messageProvider` / `jobId` only when the run has them,
// the model-call contexts without them; the conversation hooks only with
// `hooks.allowConversationAccess`), gateway methods refused on a second
// registration with only a diagnostic, scopes, `gateway_stop` awaited with a 5 s budget per handler,
// then services stopped in reverse start order; plugin HTTP routes and Control UI tabs as
// host-http.js describes them (a host of 2026.10 by default; `ui: false` is an older host without
// `registerHttpRoute` or `session.controls`); CLI registrars collected as `registerCli` gets them (a
// second one for the same command refused with a diagnostic) for testkit/host-cli.js to run. Kept
// outside test/ so node --test does not run it.
import { randomBytes, randomUUID } from "node:crypto";
import { fakeEventStream } from "./harness.js";
import { createHttpSurface } from "./host-http.js";

export const GATEWAY_STOP_BUDGET_MS = 5000;

/**
 * @typedef {object} HostOptions
 * @property {any} [config]  the host config snapshot (`api.config`)
 * @property {"2026.8" | "2026.9.3"} [version]  2026.9.3+: the completions transport merges resolveTransportTurnState headers
 * @property {"owner" | "first"} [selection]  provider selection: 2026.8+ "owner" (default), older "first"
 * @property {string} [registrationMode]
 * @property {boolean | "routes-only" | "controls-only"} [ui]  which of registerHttpRoute and session.controls the host offers (default both)
 */

/**
 * @param {HostOptions} [options]
 */
export function createHost(options = {}) {
  const config = options.config ?? {};
  const version = options.version ?? "2026.8";
  const selection = options.selection ?? "owner";
  /** @type {{pluginId: string, provider: any}[]} */
  const providers = [];
  /** @type {Map<string, {pluginId: string, handler: Function, scope: string}>} */
  const methods = new Map();
  /** @type {{pluginId: string, name: string, handler: Function, options: any}[]} */
  const hooks = [];
  /** @type {{pluginId: string, service: any}[]} */
  const services = [];
  /** @type {string[]} */
  const diagnostics = [];
  /** @type {{pluginId: string, level: string, message: string}[]} */
  const logs = [];
  /** @type {any[]} */
  const requests = [];
  /** @type {{pluginId: string, registrar: Function, opts: any}[]} */
  const cliRegistrars = [];
  const ui = options.ui ?? true;
  const web = createHttpSurface({ diagnostics });

  /** @param {string} pluginId */
  const conversationAccess = (pluginId) => config?.plugins?.entries?.[pluginId]?.hooks?.allowConversationAccess === true;

  /**
   * Load one plugin module: `register(api)` synchronously, as `src/plugins/loader.ts` does.
   * @param {{default: {id: string, register: Function}}} mod
   * @param {{pluginConfig?: any}} [opts]
   */
  function load(mod, opts = {}) {
    const plugin = mod.default;
    const pluginId = plugin.id;
    const log = (/** @type {string} */ level) => (/** @type {string} */ message) => logs.push({ pluginId, level, message });
    const api = {
      id: pluginId,
      config,
      pluginConfig: opts.pluginConfig ?? config?.plugins?.entries?.[pluginId]?.config ?? {},
      registrationMode: options.registrationMode ?? "full",
      logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
      registerProvider: (/** @type {any} */ provider) => providers.push({ pluginId, provider }),
      registerGatewayMethod: (/** @type {string} */ name, /** @type {Function} */ handler, /** @type {any} */ o) => {
        if (methods.has(name)) {
          diagnostics.push(`gateway method ${name} already registered by ${methods.get(name)?.pluginId}; ${pluginId}'s ignored`);
          return;
        }
        methods.set(name, { pluginId, handler, scope: o?.scope ?? "operator.admin" });
      },
      on: (/** @type {string} */ name, /** @type {Function} */ handler, /** @type {any} */ o) => hooks.push({ pluginId, name, handler, options: o }),
      registerService: (/** @type {any} */ service) => services.push({ pluginId, service }),
      // The registry refuses a second registrar for a command path with only a diagnostic
      // (`cli command already registered`); testkit/host-cli.js runs the registrars.
      registerCli: (/** @type {Function} */ registrar, /** @type {any} */ o) => {
        const names = [...(o?.commands ?? []), ...(o?.descriptors ?? []).map((/** @type {any} */ d) => d.name)];
        const taken = cliRegistrars.find((r) => [...(r.opts?.commands ?? []), ...(r.opts?.descriptors ?? []).map((/** @type {any} */ d) => d.name)].some((n) => names.includes(n)));
        if (taken) diagnostics.push(`cli command already registered: ${names[0]} (${taken.pluginId})`);
        else cliRegistrars.push({ pluginId, registrar, opts: o });
      },
    };
    if (ui === true || ui === "routes-only") {
      /** @type {any} */ (api).registerHttpRoute = (/** @type {any} */ route) => web.registerHttpRoute(pluginId, route);
    }
    if (ui === true || ui === "controls-only") {
      /** @type {any} */ (api).session = {
        controls: {
          registerControlUiDescriptor: (/** @type {any} */ descriptor) => web.registerControlUiDescriptor(pluginId, descriptor),
          registerSessionAction: () => {},
        },
      };
    }
    const returned = plugin.register(api);
    if (returned && typeof returned.then === "function") diagnostics.push(`${pluginId}: register returned a promise (ignored)`);
    return api;
  }

  /** The provider hooks that answer for `name`, by the host's selection rule. @param {string} name */
  function providerFor(name) {
    const matches = (/** @type {any} */ p) => p.id === name || (p.aliases ?? []).includes(name) || (p.hookAliases ?? []).includes(name);
    if (selection === "owner") {
      const owner = providers.find((p) => p.provider.id === name);
      if (owner) return owner;
    }
    return providers.find((p) => matches(p.provider)) ?? null;
  }

  /** @param {string} name @param {any} event @param {any} ctx */
  async function emit(name, event, ctx) {
    for (const h of hooks.filter((x) => x.name === name)) {
      if ((name === "llm_output" || name === "llm_input") && !conversationAccess(h.pluginId)) continue;
      await h.handler(event, ctx);
    }
  }

  /**
   * One agent LLM call through the cloudsigma completions transport, as the embedded runner makes it.
   * @param {object} call
   * @param {string} [call.provider]
   * @param {string} [call.modelId]
   * @param {string} [call.sessionId]  the native transcript session id (options.sessionId)
   * @param {string} [call.sessionKey]  agent:<id>:… (hook contexts only)
   * @param {string} [call.agentId]
   * @param {string} [call.agentDir]
   * @param {string} [call.workspaceDir]
   * @param {Record<string, string>} [call.headers]  caller headers
   * @param {Record<string, string>} [call.responseHeaders]
   * @param {any} [call.finalMessage]
   * @param {any} [call.payload]
   * @param {boolean} [call.simple]  a background / simple completion (wrapSimpleCompletionStreamFn)
   * @param {boolean} [call.withTraceparent]
   * @param {string} [call.runId]  the run's id (default: a fresh one per call)
   * @param {string} [call.trigger]  what started the run (attempt params `trigger`: user, cron, heartbeat, …)
   * @param {string} [call.messageChannel]  the run's message channel (attempt params `messageChannel`)
   * @param {string} [call.messageProvider]  the run's message provider (attempt params `messageProvider`)
   * @param {string} [call.jobId]  the cron job of a cron run (newest hosts' agent hook contexts)
   * @param {{timeToFirstByteMs?: number, outcome?: "completed" | "error", failureKind?: string, errorCategory?: string}} [call.ended]
   *   what the host's model-call wrapper reports in model_call_ended (default: completed, no timing)
   */
  async function llmCall(call) {
    const provider = call.provider ?? "cloudsigma";
    const modelId = call.modelId ?? "auto";
    const model = { id: modelId, provider, api: "openai-completions", cost: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 } };
    const trace = { traceId: randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex") };
    const runId = call.runId ?? randomUUID();
    const agentCtx = agentHookContext(runId, call);
    const modelCallCtx = modelCallHookContext(runId, trace, call, provider, modelId);
    const callEvent = { runId, callId: `${runId}:model:1`, ...definedOnly({ sessionKey: call.sessionKey, sessionId: call.sessionId }), provider, model: modelId, api: "openai-completions", transport: "http" };
    if (!call.simple) {
      await emit("llm_input", { runId, sessionId: call.sessionId, provider, model: modelId, prompt: "hi", historyMessages: [], imagesCount: 0 }, agentCtx);
    }
    // Fire-and-forget, as the host does.
    void emit("model_call_started", callEvent, modelCallCtx);

    /** @type {any} */
    const seen = { trace };
    const transport = (/** @type {any} */ m, /** @type {any} */ _context, /** @type {any} */ o) => {
      seen.options = o;
      const stream = fakeEventStream();
      (async () => {
        const params = structuredClone(call.payload ?? { model: modelId, messages: [{ role: "user", content: "hi" }] });
        const next = typeof o?.onPayload === "function" ? await o.onPayload(params, m) : undefined;
        seen.payload = next === undefined ? params : next;
        let headers = { ...(o?.headers ?? {}) };
        if (version === "2026.9.3") {
          const turn = providerFor(provider)?.provider.resolveTransportTurnState?.({ provider, modelId, model: m, sessionId: call.sessionId, turnId: randomUUID(), attempt: 1, transport: "http" });
          headers = { ...(turn?.headers ?? {}), ...headers };
        }
        seen.headers = headers;
        requests.push({ headers, payload: seen.payload });
        if (typeof o?.onResponse === "function") {
          const lower = Object.fromEntries(Object.entries(call.responseHeaders ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
          await o.onResponse({ status: 200, headers: lower }, m);
        }
        stream.end(call.finalMessage ?? { role: "assistant", stopReason: "stop", usage: { input: 100, output: 20, cacheRead: 900, cacheWrite: 0, totalTokens: 1020, cost: { total: 0.00057 } } });
      })().catch((error) => stream.fail(error));
      return stream;
    };

    const owner = providerFor(provider);
    seen.owner = owner?.pluginId ?? null;
    /** @type {any} */
    let streamFn = transport;
    if (owner) {
      const ctx = call.simple
        ? { config, provider, modelId, model, streamFn: transport }
        : { config, agentDir: call.agentDir, workspaceDir: call.workspaceDir, agentId: call.agentId, auth: {}, nativeWebSearchAllowedByToolPolicy: false, provider, modelId, extraParams: {}, thinkingLevel: "off", model, streamFn: transport };
      const wrap = call.simple ? owner.provider.wrapSimpleCompletionStreamFn : owner.provider.wrapStreamFn;
      streamFn = (typeof wrap === "function" ? wrap(ctx) : undefined) ?? transport;
    }
    const headers = { ...(call.headers ?? {}) };
    if (call.withTraceparent) headers.traceparent = `00-${trace.traceId}-${trace.spanId}-01`;
    const options = { ...(call.simple ? {} : { sessionId: call.sessionId }), headers };
    const stream = streamFn(model, { messages: [] }, options);
    const message = await stream.result();
    // The host's model-call wrapper reports the end once the agent loop has consumed the stream,
    // after its final message; the attempt's llm_output comes after that.
    await new Promise((r) => setImmediate(r));
    const ended = call.ended ?? {};
    await emit("model_call_ended", { ...callEvent, durationMs: 1, outcome: ended.outcome ?? "completed", ...definedOnly({ timeToFirstByteMs: ended.timeToFirstByteMs, failureKind: ended.failureKind, errorCategory: ended.errorCategory }) }, modelCallCtx);
    if (!call.simple) {
      const { cost: _cost, totalTokens: _total, ...usage } = message.usage ?? {};
      await emit("llm_output", { runId, sessionId: call.sessionId, provider, model: modelId, assistantTexts: [], lastAssistant: message, usage: { ...usage, total: message.usage?.totalTokens } }, agentCtx);
    }
    await new Promise((r) => setImmediate(r));
    seen.stream = stream;
    return seen;
  }

  /**
   * A gateway method call as `openclaw gateway call` makes it, with the caller's scopes.
   * @param {string} name
   * @param {unknown} params
   * @param {string[]} [scopes]
   * @returns {Promise<{ok: boolean, payload?: any, error?: any}>}
   */
  async function gatewayCall(name, params, scopes = ["operator.read", "operator.write"]) {
    const method = methods.get(name);
    if (!method) return { ok: false, error: { code: "INVALID_REQUEST", message: `unknown method: ${name}` } };
    if (!scopes.includes(method.scope) && !scopes.includes("operator.admin")) {
      return { ok: false, error: { code: "FORBIDDEN", message: `missing scope: ${method.scope}` } };
    }
    return new Promise((resolve, reject) => {
      Promise.resolve(
        method.handler({ req: { method: name, params }, params: params ?? {}, client: null, isWebchatConnect: false, respond: (/** @type {boolean} */ ok, /** @type {any} */ payload, /** @type {any} */ error) => resolve({ ok, payload, error }), context: {} }),
      ).catch(reject);
    });
  }

  /** Start plugin services in registration order, with the host's real state directory. @param {string} stateDir */
  async function startServices(stateDir) {
    for (const { service } of services) await service.start?.({ stateDir, config, logger: console });
  }

  /** gateway_stop: handlers in parallel, each within its budget (fail-open); then services in reverse. */
  async function stop() {
    const started = Date.now();
    const budget = (/** @type {Promise<unknown>} */ p) => {
      /** @type {NodeJS.Timeout | undefined} */
      let timer;
      // Cleared once the handler settles, so a stopped host holds no timer for the rest of the budget.
      return Promise.race([p, new Promise((r) => (timer = setTimeout(() => r("timed out"), GATEWAY_STOP_BUDGET_MS)))]).finally(() => clearTimeout(timer));
    };
    const outcomes = await Promise.all(
      hooks.filter((h) => h.name === "gateway_stop").map((h) => budget(Promise.resolve().then(() => h.handler({ reason: "stop" }, {}))).catch(() => "failed")),
    );
    for (const { service } of [...services].reverse()) await service.stop?.({});
    return { ms: Date.now() - started, outcomes };
  }

  return { load, providerFor, llmCall, gatewayCall, startServices, stop, emit, methods, hooks, services, diagnostics, logs, requests, providers, web, cliRegistrars };
}

/**
 * The keys of `fields` whose value is not undefined (the host spreads only present fields).
 * @param {Record<string, unknown>} fields
 */
function definedOnly(fields) {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

/**
 * The context of the agent hooks (`llm_input`, `llm_output`) as the embedded runner builds it
 * (src/agents/pi-embedded-runner/run/attempt.ts @000b02f0: runId, agentId, sessionKey, sessionId,
 * workspaceDir, messageProvider, trigger, channelId = messageChannel ?? messageProvider; jobId on
 * cron runs from the newest `PluginHookAgentContext`, src/plugins/hook-types.ts).
 * @param {string} runId
 * @param {any} call
 */
function agentHookContext(runId, call) {
  return {
    runId,
    agentId: call.agentId,
    sessionKey: call.sessionKey,
    sessionId: call.sessionId,
    workspaceDir: call.workspaceDir,
    messageProvider: call.messageProvider ?? undefined,
    trigger: call.trigger,
    channelId: call.messageChannel ?? call.messageProvider ?? undefined,
    ...definedOnly({ jobId: call.jobId }),
  };
}

/**
 * The context of `model_call_started` / `model_call_ended` as the model-call wrapper builds it
 * (src/agents/pi-embedded-runner/run/attempt.model-diagnostic-events.ts `modelCallHookContext`:
 * runId, trace, sessionKey?, sessionId?, modelProviderId, modelId; no trigger, channel or job). The
 * agent id is kept here as the earlier OPENCLAW-HOST.md reading had it (`agentId?`).
 * @param {string} runId
 * @param {{traceId: string, spanId: string}} trace
 * @param {any} call
 * @param {string} provider
 * @param {string} modelId
 */
function modelCallHookContext(runId, trace, call, provider, modelId) {
  return { runId, trace, ...definedOnly({ agentId: call.agentId, sessionKey: call.sessionKey, sessionId: call.sessionId }), modelProviderId: provider, modelId };
}

/** @param {unknown} value @returns {Record<string, any> | undefined} */
function asRecord(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? /** @type {Record<string, any>} */ (value) : undefined;
}

/**
 * CloudSigma's coexistence check, as its provider ships it (cloudsigma/openclaw-taas-provider
 * index.ts `legacyAffinityIsEnabled`, commit 1ea8de74d3b7): an entry for `openclaw-taas-affinity`
 * that is not disabled, or that id in `plugins.allow`. It names that one id and no other.
 * @param {unknown} config
 */
export function legacyAffinityIsEnabled(config) {
  const plugins = asRecord(asRecord(config)?.plugins);
  const entries = asRecord(plugins?.entries);
  const legacyEntry = asRecord(entries?.["openclaw-taas-affinity"]);
  if (legacyEntry && legacyEntry.enabled !== false) return true;
  const allow = plugins?.allow;
  return Array.isArray(allow) && allow.includes("openclaw-taas-affinity");
}

/** The warning CloudSigma's provider logs on every start when that check is true (same file). */
export const CLOUDSIGMA_LEGACY_WARNING =
  "[cloudsigma] legacy openclaw-taas-affinity is also enabled; " +
  "@cloudsigma/openclaw-taas-provider owns CloudSigma runtime hooks and now supplies supported affinity behavior. " +
  "Remove the legacy plugin in the next controlled configuration update.";

/**
 * A stand-in for `@cloudsigma/openclaw-taas-provider` (id `cloudsigma`): it owns the cloudsigma
 * provider, marks the requests it wraps, warns about the legacy plugin as the real one does (in
 * its `register`, after the provider), and registers `taas.autorouter.lastRoute` / `setAlgorithm`.
 */
export const cloudsigmaProviderPlugin = {
  default: {
    id: "cloudsigma",
    register(/** @type {any} */ api) {
      api.registerProvider({
        id: "cloudsigma",
        aliases: ["cloudsigma-taas"],
        auth: [],
        wrapStreamFn: (/** @type {any} */ ctx) => (/** @type {any} */ model, /** @type {any} */ context, /** @type {any} */ options) =>
          ctx.streamFn(model, context, { ...options, headers: { ...options?.headers, "x-cloudsigma-provider": "0.2.3" } }),
      });
      if (legacyAffinityIsEnabled(api.config)) api.logger?.warn?.(CLOUDSIGMA_LEGACY_WARNING);
      api.registerGatewayMethod("taas.autorouter.lastRoute", ({ respond }) => respond(true, { from: "cloudsigma" }), { scope: "operator.read" });
      api.registerGatewayMethod("taas.autorouter.setAlgorithm", ({ respond }) => respond(true, { from: "cloudsigma" }), { scope: "operator.write" });
    },
  },
};
