// What each `openclaw taas` subcommand prints for people, from the service's answers: the same
// text as the matching `taas-capture` subcommand (Sources/taas-capture/{LastRoute,History,Stats,
// Algorithms}.swift). Pure functions from JSON results to text.
import { captureRow, CAPTURE_HEADER, pairsText, percent, tableText, text, timestamp, usagePairs, usd } from "./cli-table.js";
import { objectOrEmpty } from "./objects.js";

/** @param {unknown} v @returns {any[]} */
function arrayOr(v) {
  return Array.isArray(v) ? v : [];
}

/**
 * A duration in milliseconds as `taas-capture` flags write it (`30d`, `10m`, `250ms`); `0` means off.
 * @param {unknown} ms
 */
export function durationText(ms) {
  if (typeof ms !== "number" || !Number.isSafeInteger(ms)) return "-";
  if (ms === 0) return "0";
  for (const [suffix, factor] of /** @type {const} */ ([["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]])) {
    if (ms % factor === 0) return `${ms / factor}${suffix}`;
  }
  return `${ms}ms`;
}

/**
 * `last-route` with no capture: whom it was asked about.
 * @param {{agentId: string} | {sessionId: string}} selector
 * @param {unknown} result  the service's lastRoute result
 */
export function noCaptureText(selector, result) {
  const subject = "agentId" in selector ? `agent ${selector.agentId}` : `session ${text(objectOrEmpty(result).sessionId)}`;
  return `no capture yet for ${subject}\n`;
}

/**
 * Since when the latest capture's model has served this agent or session: the oldest capture of the
 * unbroken run of that model in one history page (newest first, up to 1000). Calls TaaS did not
 * route neither extend nor break a run.
 * @param {unknown} latest
 * @param {unknown} page  a history result
 */
export function modelSinceText(latest, page) {
  const captures = arrayOr(objectOrEmpty(page).captures).filter((c) => objectOrEmpty(c).autorouted !== false);
  const model = objectOrEmpty(latest).autorouterModel ?? null;
  const end = captures.findIndex((c) => (objectOrEmpty(c).autorouterModel ?? null) !== model);
  let run = end === -1 ? captures : captures.slice(0, end);
  if (run.length === 0) run = [latest];
  const oldest = timestamp(objectOrEmpty(run[run.length - 1]).capturedAt);
  if (run.length === captures.length && typeof objectOrEmpty(page).nextCursor === "string") {
    return `before ${oldest} (more than ${run.length} captures)`;
  }
  return `${oldest} (${run.length} capture${run.length === 1 ? "" : "s"})`;
}

/**
 * `last-route` with a capture: the route, since when, and the cache figures of its agent or session.
 * @param {unknown} capture
 * @param {unknown} stats  the stats result for the same selector
 * @param {unknown} page   a history page of up to 1000 captures for the same selector
 */
export function lastRouteText(capture, stats, page) {
  const c = objectOrEmpty(capture);
  const usage = usagePairs(objectOrEmpty(stats).usage).filter(([label]) =>
    ["cache hit ratio", "saved by cache (estimate)", "calls with usage"].includes(label),
  );
  return pairsText([
    ["agent", text(c.agentId)],
    ["session", text(c.sessionId)],
    ["model", text(c.autorouterModel)],
    ["algorithm", text(c.autorouterAlgo)],
    ["algorithm source", text(c.autorouterAlgoSource)],
    ["thinking", text(c.thinkingApplied)],
    ["context window", text(c.routedContextWindow)],
    ["captured at (UTC)", timestamp(c.capturedAt)],
    ["model since (UTC)", modelSinceText(capture, page)],
    ["request id", text(c.taasRequestId)],
    ["trace id", text(c.taasTraceId)],
    ["turn / attempt", `${text(c.openclawTurnId)} / ${text(c.openclawAttempt)}`],
    ["capture id", text(c.id)],
    ...usage,
  ]);
}

/**
 * `history`: the captures of every page fetched, and the cursor of the next one when there is one.
 * @param {unknown[]} pages
 */
export function historyText(pages) {
  const rows = pages.flatMap((page) => arrayOr(objectOrEmpty(page).captures).map(captureRow));
  const next = objectOrEmpty(pages[pages.length - 1]).nextCursor;
  return tableText([...CAPTURE_HEADER], rows) + (typeof next === "string" ? `next page: --cursor ${next}\n` : "");
}

/**
 * `stats`: totals, usage, then one count table per dimension, most captures first.
 * @param {unknown} result
 */
export function statsText(result) {
  const r = objectOrEmpty(result);
  let out = pairsText([
    ["captures", text(r.total)],
    ["sessions", text(r.sessions)],
    ["agents", text(r.agents)],
    ["first (UTC)", timestamp(r.firstCapturedAt)],
    ["last (UTC)", timestamp(r.lastCapturedAt)],
    ...usagePairs(r.usage),
  ]);
  for (const [title, key] of [["model", "byModel"], ["algorithm", "byAlgo"], ["algorithm source", "byAlgoSource"], ["thinking", "byThinking"]]) {
    const counts = Object.entries(objectOrEmpty(r[key]));
    if (counts.length === 0) continue;
    counts.sort((a, b) => (Number(b[1]) || 0) - (Number(a[1]) || 0));
    out += `\n${tableText([title, "captures"], counts.map(([name, n]) => [name, text(n)]))}`;
  }
  return out;
}

/**
 * `stats --by`: one row per group, the table operators read to see which model serves each agent
 * and whether the cache hits.
 * @param {string} by
 * @param {unknown[]} groups
 */
export function groupsText(by, groups) {
  const rows = groups.map((group) => {
    const g = objectOrEmpty(group);
    const u = g.usage === undefined || g.usage === null ? null : objectOrEmpty(g.usage);
    const tokens = ["inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens"].map((k) => text(u?.[k])).join("/");
    return [
      text(g.key),
      text(g.captures),
      text(g.models),
      text(g.lastModel),
      timestamp(g.modelSince),
      percent(u?.cacheHitRatio),
      tokens,
      usd(u?.cacheSavedUsd),
    ];
  });
  return tableText([by, "calls", "models", "model", "model since (UTC)", "cache hit", "tokens in/out/read/write", "saved (est.)"], rows);
}

/**
 * `algorithms`: the pins, then the version to ask for changes after.
 * @param {unknown} result
 */
export function algorithmsText(result) {
  const r = objectOrEmpty(result);
  const rows = arrayOr(r.overrides).map((item) => {
    const o = objectOrEmpty(item);
    const isAgent = o.agentId !== undefined;
    return [isAgent ? "agent" : "session", text(isAgent ? o.agentId : o.sessionId), text(o.algorithm), timestamp(o.updatedAt)];
  });
  return tableText(["scope", "id", "algorithm", "updated (UTC)"], rows) + `version ${text(r.version)}\n`;
}

/**
 * `set-algorithm`: the subject, its pin now, the one before and the version.
 * @param {unknown} result
 */
export function setAlgorithmText(result) {
  const r = objectOrEmpty(result);
  const subject = r.agentId !== undefined ? `agent ${text(r.agentId)}` : `session ${text(r.sessionId)}`;
  const now = text(r.algorithm);
  return `${subject}: ${now === "-" ? "no pin" : now} (was ${text(r.previous)}, version ${text(r.version)})\n`;
}

/**
 * A budget's subject as the service names it: `agent <id>` or `session <id>`.
 * @param {unknown} subject
 */
function subjectText(subject) {
  const s = objectOrEmpty(subject);
  if (s.agentId !== undefined) return `agent ${text(s.agentId)}`;
  if (s.sessionId !== undefined) return `session ${text(s.sessionId)}`;
  return "-";
}

/**
 * An amount in USD with two decimals, "-" when not a number.
 * @param {unknown} value
 */
function dollars(value) {
  return typeof value === "number" && Number.isFinite(value) ? `$${value.toFixed(2)}` : "-";
}

/**
 * `budgets`: one row per budget (subject, USD/day, spent today, exceeded), then the day and counts.
 * @param {unknown} result  `{day, budgets: [{subject, usdPerDay, spentTodayUsd, exceeded, updatedAt}], count, exceeded}`
 */
export function budgetsText(result) {
  const r = objectOrEmpty(result);
  const rows = arrayOr(r.budgets).map((item) => {
    const b = objectOrEmpty(item);
    return [subjectText(b.subject), dollars(b.usdPerDay), dollars(b.spentTodayUsd), b.exceeded === true ? "yes" : "no"];
  });
  const summary = `day ${text(r.day)} (UTC): ${text(r.count)} budgets, ${text(r.exceeded)} exceeded; calls are never blocked\n`;
  return (rows.length > 0 ? tableText(["subject", "USD/day", "spent today", "exceeded"], rows) : "no budgets\n") + summary;
}

/**
 * `set-budget`: the subject, its budget now and the one before.
 * @param {unknown} result  `{subject, usdPerDay, previous, updatedAt}`
 */
export function setBudgetText(result) {
  const r = objectOrEmpty(result);
  const now = r.usdPerDay === null || r.usdPerDay === undefined ? "no budget" : `${dollars(r.usdPerDay)}/day`;
  const was = r.previous === null || r.previous === undefined ? "none" : `${dollars(r.previous)}/day`;
  return `${subjectText(r.subject)}: ${now} (was ${was})\n`;
}

/**
 * `status`: this plugin as the host config sets it up, then the service's health and forwarding.
 * @param {Record<string, any>} plugin  `pluginSummary`
 * @param {unknown} health  the service's `taas.capture.health` result
 */
export function statusText(plugin, health) {
  const h = objectOrEmpty(health);
  const retention = objectOrEmpty(h.retention);
  /** @type {[string, string][]} */
  const pairs = [
    ["plugin", `${plugin.id} ${plugin.version}`],
    ["mode", `${plugin.mode} (${plugin.modeReason})`],
    ["records", plugin.records],
    ["session identity", plugin.sessionIdentity],
    ["socket", `${plugin.socketPath} (${plugin.socketPathFrom})`],
    ["service", `${text(h.status)} (taas-capture ${text(h.version)}, schema ${text(h.schemaVersion)})`],
    ["captures", text(h.captures)],
    ["database", `${text(h.dbBytes)} bytes, WAL ${text(h.walBytes)} bytes`],
    ["durability", text(h.durability)],
    ["retention", `max age ${durationText(retention.maxAgeMs)}, max per session ${text(retention.maxPerSession)}, max rows ${text(retention.maxRows)} (0 = off)`],
    ["uptime", durationText(Math.round((Number(h.uptimeMs) || 0) / 1000) * 1000)],
    ["forwarding", forwardingText(h.forward)],
  ];
  const storage = objectOrEmpty(h.storage);
  if (storage.ok === false) pairs.push(["storage", `${text(storage.error)} since ${timestamp(storage.since)} (${text(storage.failedWrites)} failed writes)`]);
  if (h.budgets !== undefined && h.budgets !== null) pairs.push(["budgets", `${text(objectOrEmpty(h.budgets).count)}, ${text(objectOrEmpty(h.budgets).exceeded)} exceeded`]);
  return pairsText(pairs);
}

/**
 * `health.forward` in one line: off, or the target, its state and lag.
 * @param {unknown} forward
 */
export function forwardingText(forward) {
  if (forward === null || forward === undefined) return "off";
  const f = objectOrEmpty(forward);
  const error = f.lastError === null || f.lastError === undefined ? "" : `; last error: ${text(f.lastError)}`;
  return `${text(f.target)} ${text(f.state)}, lag ${text(f.lagCaptures)} captures, last forwarded id ${text(f.lastForwardedId)}${error}`;
}
