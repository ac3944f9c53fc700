// The plugin's own plain pages for the dashboard tab: the 503 page (service away, with what the
// plugin's memory holds), and the 400 / 405 / 500 pages. The dashboard's real views are the
// service's (taas.capture.page): this file renders no copy of them. No page contains script, and
// every value passes through `escapeHtml`: ids, model names and header values come from the network.

/**
 * @typedef {"unreachable" | "timeout" | "too-old" | "no-page" | "failed"} AwayReason
 */

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2327; background: #fff; }
h1 { font-size: 20px; margin: 0 0 12px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
p.note { max-width: 60em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d5da; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f1f3f5; }
td { overflow-wrap: anywhere; max-width: 28em; }
code { background: #f1f3f5; padding: 0 3px; }
`;

/**
 * `value` as HTML text, safe in element content and in quoted attribute values.
 * @param {unknown} value
 * @returns {string}
 */
export function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A whole document around `bodyHtml` (already escaped).
 * @param {string} title
 * @param {string} bodyHtml
 * @returns {string}
 */
function documentHtml(title, bodyHtml) {
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
    `<style>${STYLE}</style></head><body>${bodyHtml}</body></html>\n`
  );
}

/** @param {AwayReason} reason @param {number} timeoutMs @returns {string} one sentence, no local path */
function awaySentence(reason, timeoutMs) {
  switch (reason) {
    case "timeout":
      return `The taas-capture service did not answer within ${timeoutMs} ms.`;
    case "too-old":
      return "The taas-capture service is running but does not serve dashboard pages (it has no taas.capture.page); upgrade it.";
    case "no-page":
      return "The taas-capture service answered without a page.";
    case "failed":
      // Its message may name the database file: the gateway log has it, the browser does not.
      return "The taas-capture service could not build the page (its storage may be failing; see its log and taas-capture health).";
    default:
      return "The taas-capture service is not reachable at its socket; start it with taas-capture serve.";
  }
}

/** @param {number | null | undefined} ms */
function utcTime(ms) {
  return typeof ms === "number" && Number.isFinite(ms) ? new Date(ms).toISOString().replace(".000Z", "Z") : "";
}

/**
 * One table of remembered routes, newest capture first.
 * @param {string} caption
 * @param {import("./routes.js").Capture[]} captures
 * @returns {string}
 */
function routesTable(caption, captures) {
  if (captures.length === 0) return `<h2>${escapeHtml(caption)}</h2><p>None remembered.</p>`;
  const rows = [...captures]
    .sort((a, b) => b.capturedAt - a.capturedAt)
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.agentId ?? "")}</td><td>${escapeHtml(c.sessionId)}</td>` +
        `<td>${escapeHtml(c.autorouterModel ?? "")}</td><td>${escapeHtml(c.autorouterAlgo ?? "")}</td>` +
        `<td>${escapeHtml(c.autorouterAlgoSource ?? "")}</td><td>${escapeHtml(utcTime(c.capturedAt))}</td></tr>`,
    )
    .join("");
  return (
    `<h2>${escapeHtml(caption)}</h2><table><thead><tr><th>agent</th><th>session</th><th>served model</th>` +
    `<th>algorithm</th><th>source</th><th>captured (UTC)</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

/**
 * The 503 page: says plainly that the service is away, and shows the routes the plugin's memory
 * holds (the last route per agent and per session since the gateway started).
 * @param {{reason: AwayReason, timeoutMs: number, memory: import("./routes.js").RouteMemory}} input
 * @returns {string}
 */
export function serviceAwayPage(input) {
  const { sessions, agents } = input.memory.recent();
  const body =
    `<h1>TaaS capture: service not available</h1>` +
    `<p class="note">${escapeHtml(awaySentence(input.reason, input.timeoutMs))} ` +
    `History, usage, cost and the charts live in that service, so this page shows only what this ` +
    `gateway's plugin remembers since it started: the last route of each agent and each session ` +
    `(at most 256 of each). Reload once the service is back.</p>` +
    routesTable(`Agents (${agents.length})`, agents) +
    routesTable(`Sessions (${sessions.length})`, sessions);
  return documentHtml("TaaS capture: service not available", body);
}

/**
 * The 400 page for a query the plugin or the service refused.
 * @param {string} message
 * @returns {string}
 */
export function badRequestPage(message) {
  return documentHtml(
    "TaaS capture: bad request",
    `<h1>Bad request</h1><p>${escapeHtml(message)}</p><p><a href="?">Back to the overview</a></p>`,
  );
}

/** The 405 page: the tab is read-only. @returns {string} */
export function methodNotAllowedPage() {
  return documentHtml("TaaS capture: method not allowed", "<h1>Method not allowed</h1><p>This page answers GET and HEAD only.</p>");
}

/** The 500 page, when the plugin itself failed; the gateway log has the reason. @returns {string} */
export function failedPage() {
  return documentHtml("TaaS capture: error", "<h1>Something went wrong</h1><p>The gateway log has the reason.</p>");
}
