// The gateway's plugin HTTP routes and Control UI tabs, simulated from what openclaw/openclaw does
// (files read 2026-12; see ../HOST-NOTES-tab.md):
// - registration of a route: src/plugins/registry.ts `registerHttpRoute` (path normalized by
//   src/plugins/http-path.ts `normalizePluginHttpPath`; `auth` "gateway" | "plugin" required;
//   `match` defaults to "exact"; overlapping routes of different auth refused; a path+match taken by
//   another plugin refused; the same plugin's replaces its own);
// - registration of a descriptor: src/plugins/registry-control-ui.ts (id and label required, a
//   known surface, requiredScopes of known operator scopes, `path` a gateway-local absolute path);
// - matching: src/gateway/server/plugins-http/route-match.ts and path-context.ts (canonical,
//   lower-case paths; a prefix route matches its path and anything under `<path>/`; exact routes
//   first, then prefix routes, longest first);
// - dispatch: src/gateway/server/plugins-http.ts (gateway routes need gateway auth; a handler that
//   returns anything but `false` has answered; a throw becomes a 500);
// - tabs: src/gateway/control-ui-plugin-tabs.ts (a tab is listed when the caller has its
//   requiredScopes; a tab whose path's first gateway route belongs to another plugin is hidden; a
//   same-plugin gateway route gets a grant of operator.read on that route's path and match), and
//   src/gateway/control-ui-plugin-auth-cookie.ts + http-auth-plugin-cookie.ts (the grant is an
//   HttpOnly cookie honoured for GET and HEAD only and never with a bearer token; the host itself
//   answers the sandbox cookie probe `?__openclaw_plugin_frame_auth_probe=…`).
import { randomBytes } from "node:crypto";
import http from "node:http";

export const READ_SCOPE = "operator.read";
const WRITE_SCOPE = "operator.write";
const ADMIN_SCOPE = "operator.admin";
// The scopes this simulation knows; the real list (src/gateway/operator-scopes.ts) has these and more.
const OPERATOR_SCOPES = new Set([ADMIN_SCOPE, READ_SCOPE, WRITE_SCOPE, "operator.approvals", "operator.pairing", "operator.talk.secrets"]);
const CONTROL_UI_SURFACES = new Set(["session", "tool", "run", "settings", "tab", "widget", "link-reader"]);
const PROBE_QUERY = "__openclaw_plugin_frame_auth_probe";
const COOKIE_PREFIX = `__openclaw_plugin_tab_auth_${randomBytes(8).toString("hex")}`;

/** @param {unknown} path @returns {string | null} src/plugins/http-path.ts */
function normalizePluginHttpPath(path) {
  const trimmed = typeof path === "string" ? path.trim() : "";
  if (!trimmed) return null;
  return trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

/** A request or route path as the host compares it: decoded, lower-case, single slashes. @param {string} path @returns {string | null} */
export function canonicalPath(path) {
  let decoded;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  const collapsed = decoded.toLowerCase().replace(/\/{2,}/g, "/");
  return collapsed.length > 1 ? collapsed.replace(/\/+$/, "") : collapsed;
}

/** @param {string} pathname @param {string} prefix */
function prefixMatchPath(pathname, prefix) {
  return pathname === prefix || pathname.startsWith(`${prefix}/`);
}

/** @param {{path: string, match: string}} route @param {string} requestPath canonical */
function routeMatches(route, requestPath) {
  const routePath = canonicalPath(route.path);
  return route.match === "prefix" ? prefixMatchPath(requestPath, routePath ?? "") : requestPath === routePath;
}

/** @param {string} required @param {readonly string[]} scopes src/gateway/method-scopes.ts authorizeOperatorScopesForRequiredScope */
function scopeAllowed(required, scopes) {
  if (scopes.includes(ADMIN_SCOPE) || scopes.includes(required)) return true;
  return required === READ_SCOPE && scopes.includes(WRITE_SCOPE);
}

/**
 * @typedef {{pluginId: string, path: string, match: "exact" | "prefix", auth: "gateway" | "plugin", handler: Function}} RouteEntry
 * @typedef {{pluginId: string, descriptor: any}} DescriptorEntry
 * @typedef {{pluginId: string, path: string, match: "exact" | "prefix", scopes: string[]}} TabGrant
 */

/**
 * @param {{diagnostics: string[], gatewayToken?: string}} options
 */
export function createHttpSurface(options) {
  const diagnostics = options.diagnostics;
  const gatewayToken = options.gatewayToken ?? randomBytes(16).toString("hex");
  /** @type {RouteEntry[]} */
  const routes = [];
  /** @type {DescriptorEntry[]} */
  const descriptors = [];
  /** @type {Map<string, TabGrant>} */
  const cookies = new Map();

  /** @param {string} pluginId @param {any} route */
  function registerHttpRoute(pluginId, route) {
    const path = normalizePluginHttpPath(route?.path);
    if (!path) return void diagnostics.push(`${pluginId}: http route registration missing path`);
    if (route.auth !== "gateway" && route.auth !== "plugin") return void diagnostics.push(`${pluginId}: http route registration missing or invalid auth: ${path}`);
    const match = route.match ?? "exact";
    const overlapping = routes.find((r) => {
      const a = canonicalPath(r.path) ?? "";
      const b = canonicalPath(path) ?? "";
      return a === b || (r.match === "prefix" && prefixMatchPath(b, a)) || (match === "prefix" && prefixMatchPath(a, b));
    });
    if (overlapping && overlapping.auth !== route.auth) return void diagnostics.push(`${pluginId}: http route overlap rejected: ${path}`);
    const existing = routes.findIndex((r) => r.path === path && r.match === match);
    const entry = { pluginId, path, match, auth: route.auth, handler: route.handler };
    if (existing === -1) return void routes.push(entry);
    if (routes[existing].pluginId !== pluginId) return void diagnostics.push(`${pluginId}: http route already registered: ${path} (${match})`);
    routes[existing] = entry;
  }

  /** @param {string} pluginId @param {any} descriptor */
  function registerControlUiDescriptor(pluginId, descriptor) {
    const id = typeof descriptor?.id === "string" ? descriptor.id.trim() : "";
    const label = typeof descriptor?.label === "string" ? descriptor.label.trim() : "";
    const surface = typeof descriptor?.surface === "string" ? descriptor.surface : "session";
    const scopes = descriptor?.requiredScopes;
    const scopesOk = scopes === undefined || (Array.isArray(scopes) && scopes.every((s) => OPERATOR_SCOPES.has(s)));
    const descriptionOk = descriptor?.description === undefined || (typeof descriptor.description === "string" && descriptor.description.trim() !== "");
    if (!id || !label || !CONTROL_UI_SURFACES.has(surface) || !scopesOk || !descriptionOk) {
      return void diagnostics.push(`${pluginId}: control UI descriptor registration requires id, surface, label, and valid optional fields`);
    }
    const path = descriptor.path;
    if (path !== undefined && (typeof path !== "string" || !path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\"))) {
      return void diagnostics.push(`${pluginId}: control UI descriptor path must be a gateway-local absolute path: ${id}`);
    }
    if (descriptors.some((d) => d.pluginId === pluginId && d.descriptor.id === id)) return void diagnostics.push(`${pluginId}: control UI descriptor already registered: ${id}`);
    descriptors.push({ pluginId, descriptor: { ...descriptor, id, label, surface } });
  }

  /** @param {string} requestPath canonical @returns {RouteEntry[]} */
  function matchingRoutes(requestPath) {
    const found = routes.filter((r) => routeMatches(r, requestPath));
    const byLength = (/** @type {RouteEntry} */ a, /** @type {RouteEntry} */ b) => b.path.length - a.path.length;
    return [...found.filter((r) => r.match !== "prefix").sort(byLength), ...found.filter((r) => r.match === "prefix").sort(byLength)];
  }

  /** @param {any} tab @returns {RouteEntry | null | undefined} undefined: no gateway route; null: another plugin's */
  function tabGatewayRoute(tab) {
    if (typeof tab.path !== "string") return undefined;
    const requestPath = canonicalPath(new URL(tab.path, "http://openclaw.invalid").pathname);
    const route = requestPath === null ? undefined : matchingRoutes(requestPath).find((r) => r.auth === "gateway");
    if (!route) return undefined;
    return route.pluginId === tab.pluginId ? route : null;
  }

  /** The tabs a caller with `scopes` sees, as the gateway hello lists them. @param {readonly string[]} scopes */
  function controlUiTabs(scopes) {
    return descriptors
      .filter((d) => d.descriptor.surface === "tab" && (d.descriptor.requiredScopes ?? []).every((/** @type {string} */ s) => scopeAllowed(s, scopes)))
      .flatMap((d) => {
        const tab = { pluginId: d.pluginId, ...d.descriptor };
        const route = tabGatewayRoute(tab);
        if (route === null) return [];
        return [route ? { ...tab, requiresGatewayAuth: true } : tab];
      });
  }

  /** The Cookie header an authenticated Control UI bootstrap gives the browser. @param {readonly string[]} scopes */
  function tabAuthCookie(scopes) {
    if (!scopeAllowed(READ_SCOPE, scopes)) return "";
    return controlUiTabs(scopes)
      .flatMap((tab) => {
        const route = tabGatewayRoute(tab);
        if (!route) return [];
        const value = randomBytes(16).toString("hex");
        cookies.set(value, { pluginId: tab.pluginId, path: route.path, match: route.match, scopes: [READ_SCOPE] });
        return [`${COOKIE_PREFIX}_${tab.pluginId}=${value}`];
      })
      .join("; ");
  }

  /** @param {http.IncomingMessage} req @param {string} requestPath canonical @returns {TabGrant[]} */
  function cookieGrants(req, requestPath) {
    if (req.headers.authorization || (req.method !== "GET" && req.method !== "HEAD")) return [];
    return String(req.headers.cookie ?? "")
      .split(";")
      .map((part) => part.trim())
      .filter((part) => part.startsWith(`${COOKIE_PREFIX}_`))
      .flatMap((part) => {
        const grant = cookies.get(part.slice(part.indexOf("=") + 1));
        if (!grant) return [];
        const grantPath = canonicalPath(grant.path) ?? "";
        return (grant.match === "prefix" ? prefixMatchPath(requestPath, grantPath) : requestPath === grantPath) ? [grant] : [];
      });
  }

  /** @param {http.ServerResponse} res @param {number} status @param {string} text */
  function plain(res, status, text) {
    res.statusCode = status;
    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    res.end(text);
  }

  /**
   * One request through the gateway's plugin route dispatch.
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   */
  async function dispatch(req, res) {
    const url = new URL(req.url ?? "/", "http://localhost");
    const requestPath = canonicalPath(url.pathname);
    const matched = requestPath === null ? [] : matchingRoutes(requestPath);
    if (matched.length === 0 || requestPath === null) return plain(res, 404, "Not Found");
    const bearer = req.headers.authorization === `Bearer ${gatewayToken}`;
    const grants = bearer ? [] : cookieGrants(req, requestPath);
    const firstGateway = matched.find((r) => r.auth === "gateway");
    if (firstGateway && !bearer && grants.length === 0) return plain(res, 401, "Unauthorized");
    const grant = grants.find((g) => g.pluginId === firstGateway?.pluginId);
    if (grants.length > 0 && !grant) return plain(res, 401, "Unauthorized");
    if (grant && url.searchParams.has(PROBE_QUERY)) return plain(res, 200, "probe answered by the host");
    for (const route of matched) {
      if (grant && route.auth === "gateway" && route.pluginId !== grant.pluginId) continue;
      try {
        if ((await route.handler(req, res)) !== false) return;
      } catch {
        if (!res.headersSent) return plain(res, 500, "Internal Server Error");
        return void res.end();
      }
    }
    plain(res, 404, "Not Found");
  }

  /** The gateway's HTTP server on 127.0.0.1, plugin routes only. @returns {Promise<{url: string, close: () => Promise<void>}>} */
  async function startHttp() {
    const server = http.createServer((req, res) => void dispatch(req, res));
    await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
    const address = /** @type {import("node:net").AddressInfo} */ (server.address());
    return {
      url: `http://127.0.0.1:${address.port}`,
      close: () =>
        new Promise((resolve) => {
          server.close(() => resolve(undefined));
          server.closeAllConnections();
        }),
    };
  }

  return { gatewayToken, routes, descriptors, registerHttpRoute, registerControlUiDescriptor, controlUiTabs, tabAuthCookie, startHttp };
}
