// The dashboard tab (SPEC v3 "The dashboard tab"): a Control UI tab backed by the plugin's own
// gateway-authenticated HTTP route. The service renders every view (`taas.capture.page`, the same
// renderer as `taas-capture report`); this file registers the route and the tab, maps a request's
// query string to that method's params, and answers with the service's HTML under headers that
// allow no script and nothing fetched. With the service away it answers 503 with what the plugin's
// memory holds. Host facts and the files they come from: ../HOST-NOTES-tab.md.
import { badRequestPage, failedPage, methodNotAllowedPage, serviceAwayPage } from "./dashboard-page.js";
import { errorText } from "./errors.js";
import { BOUNDED_IDENTITY_RULE, boundedIdentity } from "./identity.js";
import { callServiceOnce } from "./service-call.js";

export const PAGE_METHOD = "taas.capture.page";
/** A page answers in ≤ 1 s at the default maxRows (SPEC v3); past this the tab shows the 503 page. */
export const PAGE_TIMEOUT_CAP_MS = 5000;

/** Query-string keys passed through as strings, each a bounded identity; the service validates their values. */
const STRING_KEYS = Object.freeze(["view", "agentId", "sessionId", "range", "cursor"]);
/** Query-string keys that must be decimal integers (milliseconds since 1970-01-01 UTC). */
const TIME_KEYS = Object.freeze(["since", "until"]);

/**
 * No script, nothing fetched (no fonts, no images but data: ones, no form posts), no `<base>`, and
 * framed only by the gateway's own origin: the Control UI shows the tab in a sandboxed iframe
 * from that origin, and the host's own frame probe answers with the same `frame-ancestors 'self'`.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/** Headers on every dashboard response, whatever its status. */
export const PAGE_HEADERS = Object.freeze({
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
});

/**
 * The route prefix of a plugin's tab: one path of the plugin's own, under the `/plugins/<id>/…`
 * convention of the host's docs, clear of the host's reserved `/__openclaw__/` and `/api/` prefixes.
 * @param {string} pluginId
 */
export function dashboardPath(pluginId) {
  return `/plugins/${pluginId}`;
}

/**
 * The `taas.capture.page` params for a query string, or the reason it is refused. `view` defaults
 * to the overview; unknown keys are ignored; a repeated key counts once (its first value).
 * @param {URLSearchParams} query
 * @returns {{params: Record<string, string | number>} | {error: string}}
 */
export function pageParams(query) {
  /** @type {Record<string, string | number>} */
  const params = { view: "overview" };
  for (const key of STRING_KEYS) {
    const raw = query.get(key);
    if (raw === null) continue;
    const value = boundedIdentity(raw);
    if (value === null) return { error: `${key} must be ${BOUNDED_IDENTITY_RULE}` };
    params[key] = value;
  }
  for (const key of TIME_KEYS) {
    const raw = query.get(key);
    if (raw === null) continue;
    const value = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value)) return { error: `${key} must be a decimal integer: milliseconds since 1970-01-01 UTC` };
    params[key] = value;
  }
  return { params };
}

/**
 * @typedef {object} DashboardDeps
 * @property {() => string} socketPath  the service's socket; each page asks on a connection of its own, so a
 *   slow page never holds up the records queued on the gateway's long-lived connection
 * @property {import("./routes.js").RouteMemory} memory
 * @property {number} timeoutMs  how long a page may take before the tab shows the 503 page
 * @property {(m: string) => void} debug
 */

/**
 * @typedef {{html: string} | {badParams: string} | {away: import("./dashboard-page.js").AwayReason}} PageOutcome
 */

/**
 * The words of a -32602 answer: its `data` `{field, reason}` (SPEC "Errors") when it has them,
 * else its message.
 * @param {unknown} error
 * @returns {string}
 */
function badParamsText(error) {
  const data = /** @type {{data?: {field?: unknown, reason?: unknown}}} */ (error)?.data;
  return typeof data?.field === "string" && typeof data.reason === "string" ? `${data.field} ${data.reason}` : errorText(error);
}

/**
 * What the service answered for one page, sorted into what the tab shows.
 * @param {DashboardDeps} deps
 * @param {Record<string, string | number>} params
 * @returns {Promise<PageOutcome>}
 */
export async function pageFromService(deps, params) {
  try {
    const result = await callServiceOnce(deps.socketPath(), PAGE_METHOD, params, deps.timeoutMs);
    return typeof result?.html === "string" ? { html: result.html } : { away: "no-page" };
  } catch (error) {
    const e = /** @type {{kind?: string, code?: number}} */ (error);
    if (e?.kind === "rpc" && e.code === -32602) return { badParams: badParamsText(error) };
    if (e?.kind === "rpc" && e.code === -32601) return { away: "too-old" };
    if (e?.kind === "rpc") return { away: "failed" };
    return { away: e?.kind === "timeout" ? "timeout" : "unreachable" };
  }
}

/**
 * Write one response: the status, `PAGE_HEADERS` (plus `extra`), and the body unless it is HEAD.
 * @param {import("node:http").IncomingMessage} req
 * @param {import("node:http").ServerResponse} res
 * @param {number} status
 * @param {string} html
 * @param {Record<string, string>} [extra]
 */
function send(req, res, status, html, extra = {}) {
  const body = Buffer.from(html, "utf8");
  res.statusCode = status;
  for (const [name, value] of Object.entries({ ...PAGE_HEADERS, ...extra })) res.setHeader(name, value);
  res.setHeader("Content-Length", String(body.length));
  res.end(req.method === "HEAD" ? undefined : body);
}

/**
 * @param {DashboardDeps} deps
 * @param {import("node:http").IncomingMessage} req
 * @param {import("node:http").ServerResponse} res
 */
async function answer(deps, req, res) {
  if (req.method !== "GET" && req.method !== "HEAD") return send(req, res, 405, methodNotAllowedPage(), { Allow: "GET, HEAD" });
  const parsed = pageParams(new URL(req.url ?? "/", "http://localhost").searchParams);
  if ("error" in parsed) return send(req, res, 400, badRequestPage(parsed.error));
  const outcome = await pageFromService(deps, parsed.params);
  if ("html" in outcome) return send(req, res, 200, outcome.html);
  if ("badParams" in outcome) return send(req, res, 400, badRequestPage(outcome.badParams));
  return send(req, res, 503, serviceAwayPage({ reason: outcome.away, timeoutMs: deps.timeoutMs, memory: deps.memory }));
}

/**
 * The route handler. It always answers (the host treats anything but `false` as handled) and never
 * throws into the host.
 * @param {DashboardDeps} deps
 * @returns {(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => Promise<boolean>}
 */
export function dashboardHandler(deps) {
  return async (req, res) => {
    try {
      await answer(deps, req, res);
    } catch (error) {
      deps.debug(`dashboard page failed: ${errorText(error)}`);
      if (!res.headersSent) send(req, res, 500, failedPage());
      else res.end();
    }
    return true;
  };
}

/**
 * Register the route and the tab, only on hosts that offer both APIs (`registerHttpRoute` and
 * `session.controls.registerControlUiDescriptor`); elsewhere register nothing.
 * @param {any} api
 * @param {DashboardDeps & {pluginId: string}} deps
 * @returns {string | null} the tab's path, or null when nothing was registered
 */
export function registerDashboard(api, deps) {
  const controls = api.session?.controls;
  if (typeof api.registerHttpRoute !== "function" || typeof controls?.registerControlUiDescriptor !== "function") return null;
  const path = dashboardPath(deps.pluginId);
  try {
    api.registerHttpRoute({ path, auth: "gateway", match: "prefix", handler: dashboardHandler(deps) });
    controls.registerControlUiDescriptor({
      surface: "tab",
      id: "dashboard",
      label: "TaaS capture",
      description: "Models TaaS routed each agent to, usage, cache hits, cost and savings, from the taas-capture service.",
      group: "control",
      requiredScopes: ["operator.read"],
      path,
    });
    return path;
  } catch (error) {
    deps.debug(`no dashboard tab on this host: ${errorText(error)}`);
    return null;
  }
}
