// The `openclaw taas` subcommands, each the counterpart of a `taas-capture` one (Sources/taas-capture/
// *.swift): its flags, what it asks the service, and what it prints (cli-views.js).
import { ALGORITHMS } from "./overrides.js";
import { budgetFrom } from "./budgets.js";
import { overrideFrom } from "./gateway.js";
import { conversationAccessGranted } from "./host-config.js";
import { resolvePath } from "./identity.js";
import * as views from "./cli-views.js";
import {
  SELECTOR_FLAGS,
  ask,
  failure,
  integerFlag,
  jsonLine,
  rangeParams,
  runAction,
  selectorFromFlags,
  selectorParams,
  serviceContext,
  usage,
  withSelectorOptions,
  withServiceOptions,
  writeFileAtomically,
} from "./cli-support.js";

/** @typedef {import("./cli-support.js").CliDeps} CliDeps */

/** @param {any} taas @param {CliDeps} deps */
function addStatus(taas, deps) {
  withServiceOptions(taas.command("status"))
    .description("Show the service's health and forwarding, and how this plugin is set up")
    .action((/** @type {any} */ opts, /** @type {any} */ cmd) =>
      runAction(cmd, async () => {
        const service = serviceContext(deps, opts);
        const plugin = pluginSummary(deps, service);
        const health = await ask(service, "taas.capture.health", {});
        return opts.json ? jsonLine({ plugin, health }) : views.statusText(plugin, health);
      }),
    );
}

/**
 * This plugin as the host config sets it up (the `plugin` part of `status`).
 * @param {CliDeps} deps
 * @param {ReturnType<typeof serviceContext>} service
 */
export function pluginSummary(deps, service) {
  const conversationAccess = conversationAccessGranted(deps.hostConfig, deps.pluginId);
  return {
    id: deps.pluginId,
    version: deps.pluginVersion,
    mode: service.mode,
    modeReason: service.modeReason,
    records:
      service.mode === "standalone"
        ? "route and usage of each cloudsigma call (provider hooks)"
        : `usage of each cloudsigma call from llm_output (hooks.allowConversationAccess: ${conversationAccess}${conversationAccess ? "" : ": nothing is recorded"})`,
    sessionIdentity: service.settings.sessionIdentity,
    socketPath: service.socketPath,
    socketPathFrom: service.socketPathFrom,
  };
}

/** @param {any} taas @param {CliDeps} deps */
function addLastRoute(taas, deps) {
  withSelectorOptions(withServiceOptions(taas.command("last-route")))
    .description("Show the latest capture of an agent or session")
    .action((/** @type {any} */ opts, /** @type {any} */ cmd) =>
      runAction(cmd, async () => {
        const service = serviceContext(deps, opts);
        const selector = /** @type {NonNullable<ReturnType<typeof selectorFromFlags>>} */ (selectorFromFlags(opts, deps, service.sessionIdentity, { required: true }));
        const result = await ask(service, "taas.autorouter.lastRoute", selector);
        if (opts.json) return jsonLine(result);
        if (result?.capture === null || result?.capture === undefined) return views.noCaptureText(selector, result);
        const stats = await ask(service, "taas.autorouter.stats", selector);
        const page = await ask(service, "taas.autorouter.history", { ...selector, limit: 1000 });
        return views.lastRouteText(result.capture, stats, page);
      }),
    );
}

/** @param {any} taas @param {CliDeps} deps */
function addHistory(taas, deps) {
  withSelectorOptions(withServiceOptions(taas.command("history")))
    .description("List the captures of an agent or session, newest first")
    .option("--limit <n>", "Captures per page (1-1000).", "50")
    .option("--cursor <cursor>", "The nextCursor of the previous page.")
    .option("--since <time>", "Only captures at or after this time (ms since epoch, or a duration ago such as 1d).")
    .option("--until <time>", "Only captures before this time (ms since epoch, or a duration ago).")
    .option("--all", "Follow nextCursor until the last page.")
    .action((/** @type {any} */ opts, /** @type {any} */ cmd) =>
      runAction(cmd, async () => {
        const service = serviceContext(deps, opts);
        const selector = selectorFromFlags(opts, deps, service.sessionIdentity, { required: true });
        const params = { ...selector, limit: integerFlag(opts.limit, "--limit", 1, 1000), ...rangeParams(opts, deps.host.now()) };
        const pages = [];
        /** @type {string | undefined} */
        let cursor = opts.cursor;
        do {
          const page = await ask(service, "taas.autorouter.history", cursor === undefined ? params : { ...params, cursor });
          pages.push(page);
          cursor = typeof page?.nextCursor === "string" ? page.nextCursor : undefined;
        } while (opts.all && cursor !== undefined);
        return opts.json ? pages.map(jsonLine).join("") : views.historyText(pages);
      }),
    );
}

/** @param {any} taas @param {CliDeps} deps */
function addStats(taas, deps) {
  withSelectorOptions(withServiceOptions(taas.command("stats")))
    .description("Count captures (all, or of an agent or session) by model, algorithm and thinking")
    .option("--since <time>", "Only captures at or after this time (ms since epoch, or a duration ago such as 1d).")
    .option("--until <time>", "Only captures before this time (ms since epoch, or a duration ago).")
    .option("--by <group>", "One row per agent, session or model: calls, models, model since, cache hit ratio, tokens.")
    .option("--limit <n>", "Rows with --by (1-1000, default 50), most captures first.")
    .action((/** @type {any} */ opts, /** @type {any} */ cmd) =>
      runAction(cmd, async () => {
        if (opts.by !== undefined && !["agent", "session", "model"].includes(opts.by)) throw usage("--by takes agent, session or model");
        if (opts.limit !== undefined && opts.by === undefined) throw usage("--limit needs --by");
        const service = serviceContext(deps, opts);
        const selector = selectorFromFlags(opts, deps, service.sessionIdentity, { required: false });
        const params = {
          ...selector,
          ...rangeParams(opts, deps.host.now()),
          ...(opts.by !== undefined ? { groupBy: opts.by } : {}),
          ...(opts.limit !== undefined ? { limit: integerFlag(opts.limit, "--limit", 1, 1000) } : {}),
        };
        const result = await ask(service, "taas.autorouter.stats", params);
        if (opts.json) return jsonLine(result);
        return opts.by !== undefined && Array.isArray(result?.groups) ? views.groupsText(opts.by, result.groups) : views.statsText(result);
      }),
    );
}

/** @param {any} taas @param {CliDeps} deps */
function addAlgorithms(taas, deps) {
  withServiceOptions(taas.command("algorithms"))
    .description("List the pinned autorouter algorithms (or the changes after --since-version)")
    .option("--since-version <n>", "Only changes after this version, cleared pins included.")
    .action((/** @type {any} */ opts, /** @type {any} */ cmd) =>
      runAction(cmd, async () => {
        const params = opts.sinceVersion !== undefined ? { sinceVersion: integerFlag(opts.sinceVersion, "--since-version", 0, Number.MAX_SAFE_INTEGER) } : {};
        const result = await ask(serviceContext(deps, opts), "taas.autorouter.algorithms", params);
        return opts.json ? jsonLine(result) : views.algorithmsText(result);
      }),
    );
}

/** @param {any} taas @param {CliDeps} deps */
function addSetAlgorithm(taas, deps) {
  withSelectorOptions(withServiceOptions(taas.command("set-algorithm")))
    .description(`Pin the autorouter algorithm of a session or agent (or --clear it): ${ALGORITHMS.join(", ")}`)
    .argument("[algorithm]", "The algorithm to pin.")
    .option("--clear", "Remove the pin.")
    .action((/** @type {string | undefined} */ algorithm, /** @type {any} */ opts, /** @type {any} */ cmd) =>
      runAction(cmd, async () => {
        const service = serviceContext(deps, opts);
        const params = selectorParams(opts, deps);
        if (Object.keys(params).length === 0) throw usage(SELECTOR_FLAGS);
        if (Boolean(opts.clear) === (algorithm !== undefined)) throw usage("give an algorithm or --clear, not both or neither");
        if (algorithm !== undefined && !ALGORITHMS.includes(algorithm)) throw usage(`unknown algorithm '${algorithm}': use one of ${ALGORITHMS.join(", ")}`);
        const parsed = overrideFrom({ ...params, algorithm: algorithm ?? null }, service.sessionIdentity);
        if ("error" in parsed) throw usage(parsed.error);
        const result = await ask(service, "taas.autorouter.setAlgorithm", { ...parsed.subject, algorithm: parsed.algorithm });
        return opts.json ? jsonLine(result) : views.setAlgorithmText(result);
      }),
    );
}

/** @param {any} taas @param {CliDeps} deps */
function addBudgets(taas, deps) {
  withServiceOptions(taas.command("budgets"))
    .description("List the daily USD budgets (warn only), today's (UTC) reported spend and which are exceeded")
    .action((/** @type {any} */ opts, /** @type {any} */ cmd) =>
      runAction(cmd, async () => {
        const result = await ask(serviceContext(deps, opts), "taas.capture.budgets", {});
        return opts.json ? jsonLine(result) : views.budgetsText(result);
      }),
    );
}

/** @param {any} taas @param {CliDeps} deps */
function addSetBudget(taas, deps) {
  withServiceOptions(taas.command("set-budget"))
    .description("Set an agent's or a session's daily USD budget (warn only: calls are never blocked), or --clear it")
    .argument("[usd]", "USD per day, a number greater than 0.")
    .option("--agent-id <id>", "The agent's budget.")
    .option("--session-id <id>", "The session's budget (the session id as recorded).")
    .option("--clear", "Remove the budget.")
    .action((/** @type {string | undefined} */ usd, /** @type {any} */ opts, /** @type {any} */ cmd) =>
      runAction(cmd, async () => {
        if ((opts.agentId === undefined) === (opts.sessionId === undefined)) throw usage("give exactly one of --agent-id and --session-id");
        if (Boolean(opts.clear) === (usd !== undefined)) throw usage("give a USD amount or --clear, not both or neither");
        const usdPerDay = usd === undefined ? null : usdFlag(usd);
        const parsed = budgetFrom({ agentId: opts.agentId, sessionId: opts.sessionId, usdPerDay });
        if ("error" in parsed) throw usage(parsed.error);
        const result = await ask(serviceContext(deps, opts), "taas.capture.setBudget", parsed.params);
        return opts.json ? jsonLine(result) : views.setBudgetText(result);
      }),
    );
}

/**
 * USD per day from the command line: a plain decimal number greater than 0 (`10`, `2.5`, `.75`),
 * else bad usage.
 * @param {string} value
 * @returns {number}
 */
export function usdFlag(value) {
  const s = value.trim();
  const n = /^(\d+(\.\d*)?|\.\d+)$/.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw usage(`USD per day must be a number greater than 0, not '${value}'`);
  return n;
}

/** @param {any} taas @param {CliDeps} deps */
function addReport(taas, deps) {
  withSelectorOptions(taas.command("report"))
    .description("Write the service's HTML report to a file: the dashboard's overview, or an agent's or a session's page")
    .requiredOption("--out <file>", "The HTML file to write (owner-only, replaced atomically).")
    .option("--since <time>", "The range: from this long ago (default 7d), or ms since epoch.")
    .option("--until <time>", "Up to this time (ms since epoch, or a duration ago; default now).")
    .option("--socket <path>", "The service's socket (default: the plugin's socketPath, else $TAAS_CAPTURE_SOCKET or STATE/taas-capture/capture.sock).")
    .action((/** @type {any} */ opts, /** @type {any} */ cmd) =>
      runAction(cmd, async () => {
        const service = serviceContext(deps, opts);
        const selector = selectorFromFlags(opts, deps, service.sessionIdentity, { required: false });
        const range = rangeParams(opts, deps.host.now());
        if (range.since !== undefined && range.until !== undefined && range.since >= range.until) throw usage("--since must be before --until");
        const out = resolvePath(deps.host.cwd(), opts.out);
        const result = await ask(service, "taas.capture.page", { view: reportView(selector), ...selector, ...range, links: false });
        if (typeof result?.html !== "string") throw failure("the service answered taas.capture.page without an html page");
        const bytes = await writeFileAtomically(out, result.html);
        return `wrote ${opts.out} (${bytes} bytes)\n`;
      }),
    );
}

/**
 * The page a report draws: an agent's or a session's when the flags select one, else the overview
 * (as `taas-capture report` does).
 * @param {Record<string, unknown> | null} selector
 * @returns {"overview" | "agent" | "session"}
 */
export function reportView(selector) {
  if (typeof selector?.agentId === "string") return "agent";
  if (typeof selector?.sessionId === "string") return "session";
  return "overview";
}

/** Every subcommand, in the order `--help` lists them. */
export const SUBCOMMANDS = Object.freeze([addStatus, addLastRoute, addHistory, addStats, addAlgorithms, addSetAlgorithm, addBudgets, addSetBudget, addReport]);
