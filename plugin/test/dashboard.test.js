// The dashboard tab as the OpenClaw host registers and serves it (testkit/host.js, host-http.js):
// the route and the descriptor, GET/HEAD only, the headers of every answer, the query mapped to
// `taas.capture.page`, the 503 page from memory, older hosts that offer no tab, and each view of
// the real service (TAAS_CAPTURE_BIN; without it skipped, failing when CI is set).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as ours from "../index.js";
import { pluginState } from "../index.js";
import { PAGE_HEADERS, pageParams } from "../lib/dashboard.js";
import { escapeHtml } from "../lib/dashboard-page.js";
import { autoroutedHeaders, removeDir, serviceBinary, startRealService, tempDir } from "../testkit/harness.js";
import { activeMarkup, hostileStrings, startPageService } from "../testkit/dashboard-kit.js";
import { createHost } from "../testkit/host.js";

const TAB_PATH = "/plugins/openclaw-taas-affinity";
const agentCall = { sessionId: "5f0c8a52-6a1e-4a57-9f4a-1d2c3b4a5e6f", agentId: "a1", workspaceDir: "/home/u/.openclaw/workspace-a1" };

/** A host with our plugin loaded; its HTTP server when `http` is set. */
async function gateway(/** @type {{socketPath?: string, pluginConfig?: any, ui?: any, registrationMode?: string, http?: boolean}} */ o = {}) {
  const host = createHost({ ui: o.ui, registrationMode: o.registrationMode });
  const api = host.load(ours, { pluginConfig: { socketPath: o.socketPath ?? "/nonexistent/dash.sock", requestTimeoutMs: 1000, ...o.pluginConfig } });
  const server = o.http ? await host.web.startHttp() : null;
  const bearer = { authorization: `Bearer ${host.web.gatewayToken}` };
  /** @param {string} url @param {RequestInit} [init] */
  const get = (url, init = {}) => fetch(`${server?.url}${url}`, { ...init, headers: { ...bearer, ...init.headers } });
  const close = async () => {
    await server?.close();
    await host.stop();
  };
  return { host, api, state: pluginState(api), get, server, close };
}

/** @param {Response} response */
function assertPageHeaders(response) {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) assert.equal(response.headers.get(name), value, `${name} on ${response.status}`);
}

test("the host registers one gateway-authenticated prefix route and one read-scoped Control UI tab on its path", async (t) => {
  const g = await gateway();
  t.after(g.close);
  assert.deepEqual(g.host.diagnostics, []);
  assert.deepEqual(
    g.host.web.routes.map(({ handler, ...r }) => r),
    [{ pluginId: "openclaw-taas-affinity", path: TAB_PATH, match: "prefix", auth: "gateway" }],
  );
  assert.equal(g.host.web.descriptors.length, 1);
  const { handler, ...route } = g.host.web.routes[0];
  assert.equal(typeof handler, "function");
  assert.equal(route.path, g.state?.dashboard);
  assert.deepEqual(g.host.web.descriptors[0], {
    pluginId: "openclaw-taas-affinity",
    descriptor: {
      surface: "tab",
      id: "dashboard",
      label: "TaaS capture",
      description: "Models TaaS routed each agent to, usage, cache hits, cost and savings, from the taas-capture service.",
      group: "control",
      requiredScopes: ["operator.read"],
      path: TAB_PATH,
    },
  });
  const [tab] = g.host.web.controlUiTabs(["operator.read"]);
  assert.equal(tab.requiresGatewayAuth, true, "a same-plugin gateway route: the browser gets a cookie grant");
  assert.deepEqual(g.host.web.controlUiTabs(["operator.write"]).length, 1, "write implies read");
  assert.deepEqual(g.host.web.controlUiTabs([]), [], "hidden without operator.read");
});

test("GET and HEAD only: other methods get 405 with Allow, every answer carries the page headers, HEAD no body", async (t) => {
  const g = await gateway({ http: true });
  t.after(g.close);
  const got = await g.get(TAB_PATH);
  assert.equal(got.status, 503, "no service at the socket");
  assertPageHeaders(got);
  const body = await got.text();
  const head = await g.get(TAB_PATH, { method: "HEAD" });
  assert.equal(head.status, 503);
  assertPageHeaders(head);
  assert.equal(await head.text(), "");
  assert.equal(head.headers.get("content-length"), String(Buffer.byteLength(body)));
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
    const refused = await g.get(`${TAB_PATH}?view=overview`, { method });
    assert.equal(refused.status, 405, method);
    assert.equal(refused.headers.get("allow"), "GET, HEAD", method);
    assertPageHeaders(refused);
    assert.doesNotMatch(await refused.text(), /<script/i);
  }
});

test("the host authenticates the route: no credentials 401; the tab's cookie grant reads with GET and HEAD only", async (t) => {
  const g = await gateway({ http: true });
  t.after(g.close);
  const url = `${g.server?.url}${TAB_PATH}`;
  assert.equal((await fetch(url)).status, 401, "the handler never sees an unauthenticated request");
  const cookie = g.host.web.tabAuthCookie(["operator.read"]);
  assert.notEqual(cookie, "");
  assert.equal((await fetch(url, { headers: { cookie } })).status, 503, "the grant reaches the handler");
  assert.equal((await fetch(`${url}/any/depth?view=overview`, { headers: { cookie } })).status, 503, "prefix match");
  assert.equal((await fetch(url.toUpperCase().replace("HTTP://", "http://"), { headers: { cookie } })).status, 503, "paths compare lower-case");
  assert.equal((await fetch(url, { method: "POST", headers: { cookie } })).status, 401, "the grant is GET/HEAD only");
  const probe = await fetch(`${url}?__openclaw_plugin_frame_auth_probe=abcdefghijklmnop`, { headers: { cookie } });
  assert.equal(await probe.text(), "probe answered by the host");
  assert.equal(g.host.web.tabAuthCookie([]), "", "no grant without operator.read");
});

test("the query string maps to taas.capture.page params; unknown keys are ignored; the service's HTML is the page", async (t) => {
  const dir = tempDir("taas-dash-");
  t.after(() => removeDir(dir));
  const socketPath = path.join(dir, "c.sock");
  const service = await startPageService(socketPath, (r) => ({ result: { html: `<!doctype html><p>view ${escapeHtml(r.params.view)}</p>` } }));
  t.after(service.close);
  const g = await gateway({ socketPath, http: true });
  t.after(g.close);
  const page = await g.get(`${TAB_PATH}?view=agent&agentId=a%201&range=24h&since=1000&until=2000&cursor=c9&color=red&view=session`);
  assert.equal(page.status, 200);
  assertPageHeaders(page);
  assert.equal(await page.text(), "<!doctype html><p>view agent</p>");
  const [request] = service.requests.slice(-1);
  assert.equal(request.method, "taas.capture.page");
  assert.deepEqual(request.params, { view: "agent", agentId: "a 1", range: "24h", cursor: "c9", since: 1000, until: 2000 });
  await g.get(TAB_PATH);
  assert.deepEqual(service.requests.slice(-1)[0].params, { view: "overview" }, "defaults: the overview; the range is the service's (7d)");
});

test("bad query values are 400 before anything is asked; the service's -32602 is a 400 page with its message escaped", async (t) => {
  const dir = tempDir("taas-dash-");
  t.after(() => removeDir(dir));
  const socketPath = path.join(dir, "c.sock");
  const reason = `is required for the agent view <b>bold</b> "quoted"`;
  const message = `agentId ${reason}`;
  const service = await startPageService(socketPath, (r) =>
    r.params.view === "agent" ? { error: { code: -32602, message: "Invalid params", data: { field: "agentId", reason } } } : { error: { code: -32602, message: "range <i>bad</i>" } },
  );
  t.after(service.close);
  const g = await gateway({ socketPath, http: true });
  t.after(g.close);
  for (const query of ["since=abc", "since=1.5", "since=-1", "until=1e3", "since=99999999999999999", `agentId=${"x".repeat(201)}`, "sessionId=a%01b", "view="]) {
    const refused = await g.get(`${TAB_PATH}?${query}`);
    assert.equal(refused.status, 400, query);
    assertPageHeaders(refused);
  }
  assert.equal(service.requests.length, 0, "nothing reached the service");
  assert.deepEqual(pageParams(new URLSearchParams("since=0&until=1700000000000")), { params: { view: "overview", since: 0, until: 1700000000000 } });
  const refused = await g.get(`${TAB_PATH}?view=agent`);
  assert.equal(refused.status, 400);
  const body = await refused.text();
  assert.ok(body.includes(escapeHtml(message)), body);
  assert.doesNotMatch(body, /<b>bold/);
  assert.deepEqual(activeMarkup(body), []);
  const noData = await (await g.get(`${TAB_PATH}?range=1y`)).text();
  assert.ok(noData.includes(escapeHtml("range <i>bad</i>")), "without data, the message");
});

test("a page asks on a connection of its own: one that never answers holds up no record of the gateway's client", async (t) => {
  const dir = tempDir("taas-dash-");
  t.after(() => removeDir(dir));
  const socketPath = path.join(dir, "c.sock");
  const service = await startPageService(socketPath, (r) =>
    r.method === "taas.capture.page" ? "hang" : { result: { recorded: true, id: 1, duplicate: false } },
  );
  t.after(service.close);
  const g = await gateway({ socketPath, http: true, pluginConfig: { requestTimeoutMs: 1500 } });
  t.after(g.close);
  const client = g.state?.client;
  assert.ok(client, "the gateway's client");
  // The client's connection is open and in use before the page is asked.
  await client.call("taas.capture.health", {});
  const page = g.get(TAB_PATH);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const started = Date.now();
  const answer = await client.call("taas.autorouter.record", { sessionId: "oc:0123456789abcdef", headers: {} });
  assert.equal(answer.recorded, true);
  assert.ok(Date.now() - started < 500, `the record was answered in ${Date.now() - started} ms beside a hung page`);
  assert.equal((await page).status, 503, "the page itself gives up after its timeout");
});

test("a service that is too old, silent, failing, or answers without a page gives the 503 page within the page timeout", async (t) => {
  const dir = tempDir("taas-dash-");
  t.after(() => removeDir(dir));
  const socketPath = path.join(dir, "c.sock");
  /** @type {"old" | "silent" | "empty" | "storage"} */
  let mode = "old";
  const service = await startPageService(socketPath, () =>
    mode === "old"
      ? { error: { code: -32601, message: "Method not found" } }
      : mode === "silent"
        ? "hang"
        : mode === "storage"
          ? { error: { code: -32000, message: "disk I/O error on /var/lib/secret/c.sqlite3", data: { retryable: true } } }
          : { result: {} },
  );
  t.after(service.close);
  const g = await gateway({ socketPath, http: true, pluginConfig: { requestTimeoutMs: 300 } });
  t.after(g.close);
  const old = await g.get(TAB_PATH);
  assert.equal(old.status, 503);
  assert.match(await old.text(), /does not serve dashboard pages/);
  mode = "silent";
  const started = Date.now();
  const silent = await g.get(TAB_PATH);
  assert.equal(silent.status, 503);
  assert.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`);
  assert.match(await silent.text(), /did not answer within 300 ms/);
  mode = "empty";
  const empty = await g.get(TAB_PATH);
  assert.equal(empty.status, 503);
  assert.match(await empty.text(), /answered without a page/);
  mode = "storage";
  const storage = await g.get(TAB_PATH);
  assert.equal(storage.status, 503);
  const storageText = await storage.text();
  assert.match(storageText, /could not build the page/);
  assert.ok(!storageText.includes("/var/lib/secret"), "the service's message, which may name a file, stays out of the page");
});

test("the 503 page says the service is away, shows memory's routes escaped, and prints no local path", async (t) => {
  const socketPath = "/nonexistent/private-dir/capture.sock";
  const g = await gateway({ socketPath, http: true, pluginConfig: { sessionIdentity: "native" } });
  t.after(g.close);
  const bad = hostileStrings(9);
  await g.host.llmCall({ ...agentCall, agentId: bad.img, responseHeaders: autoroutedHeaders({ "x-taas-autorouter-model": bad.script, "x-taas-autorouter-mode": bad.attribute }) });
  await g.host.llmCall({ ...agentCall, sessionId: bad.long, agentId: "plain-agent", responseHeaders: autoroutedHeaders({ "x-taas-autorouter-model": bad.javascriptUrl }) });
  const away = await g.get(TAB_PATH);
  assert.equal(away.status, 503);
  assertPageHeaders(away);
  const body = await away.text();
  assert.match(body, /The taas-capture service is not reachable at its socket/);
  assert.ok(!body.includes(socketPath) && !body.includes("private-dir"), "no raw local path in a browser page");
  for (const value of [bad.img, bad.script, bad.attribute, bad.long, bad.javascriptUrl, "plain-agent"]) {
    assert.ok(body.includes(escapeHtml(value)), `escaped ${value.slice(0, 20)}`);
  }
  assert.match(body, /Agents \(2\)/);
  assert.match(body, /Sessions \(2\)/);
  assert.doesNotMatch(body, /<script|<img|<svg/i);
  assert.deepEqual(activeMarkup(body), []);
});

test("older hosts without registerHttpRoute or session.controls: no route, no tab, nothing fails", async (t) => {
  for (const ui of [false, "routes-only", "controls-only"]) {
    const g = await gateway({ ui });
    t.after(g.close);
    assert.deepEqual(g.host.web.routes, [], String(ui));
    assert.deepEqual(g.host.web.descriptors, [], String(ui));
    assert.equal(g.state?.dashboard, null);
    assert.ok(g.host.methods.has("taas.capture.lastRoute"), "the rest registers as before");
    assert.deepEqual(g.host.diagnostics, []);
  }
  const throwing = createHost();
  const api = throwing.load({
    default: {
      id: "openclaw-taas-affinity",
      register(/** @type {any} */ hostApi) {
        hostApi.registerHttpRoute = () => {
          throw new Error("no routes on this host");
        };
        ours.default.register(hostApi);
      },
    },
  });
  t.after(() => throwing.stop());
  assert.equal(pluginState(api)?.dashboard, null, "a host that throws on registration gets no tab and no error");
});

test("discovery, setup and CLI-metadata loads register no route and no tab", async (t) => {
  for (const registrationMode of ["discovery", "tool-discovery", "setup-only", "setup-runtime", "cli-metadata"]) {
    const g = await gateway({ registrationMode });
    t.after(g.close);
    assert.deepEqual(g.host.web.routes, [], registrationMode);
    assert.deepEqual(g.host.web.descriptors, [], registrationMode);
  }
});

const bin = serviceBinary();
if (!existsSync(bin) && process.env.CI) {
  test("the taas-capture binary is available for the dashboard tests", () => assert.fail(`no taas-capture binary at ${bin}`));
} else {
  describe("the dashboard against the real taas-capture service", { skip: existsSync(bin) || process.env.CI ? false : `no taas-capture binary at ${bin} (set TAAS_CAPTURE_BIN)` }, () => {
    const dir = tempDir("taas-dash-real-");
    /** @type {Awaited<ReturnType<typeof startRealService>>} */
    let service;
    /** @type {Awaited<ReturnType<typeof gateway>>} */
    let g;
    /** @type {string | false} */
    let noPages = false;

    before(async () => {
      service = await startRealService(bin, dir);
      g = await gateway({ socketPath: service.socketPath, http: true, pluginConfig: { sessionIdentity: "native", requestTimeoutMs: 5000 } });
      for (let i = 0; i < 4; i++) {
        await g.host.llmCall({ ...agentCall, sessionId: `real-${i % 2}`, responseHeaders: autoroutedHeaders({ "x-request-id": `real-${i}`, "x-taas-autorouter-model": i < 2 ? "qwen3-coder" : "kimi-k2" }) });
      }
      assert.equal(await g.state?.client?.drain(10_000), true);
      const probe = await g.get(TAB_PATH);
      if (probe.status === 503 && /does not serve dashboard pages/.test(await probe.text())) noPages = "this taas-capture binary has no taas.capture.page yet";
    });
    after(async () => {
      await g?.close();
      await service?.stop();
      removeDir(dir);
    });

    for (const [view, query] of [["overview", ""], ["agent", "?view=agent&agentId=a1&range=24h"], ["session", "?view=session&sessionId=real-1&range=30d"]]) {
      test(`the ${view} view is the service's page under the tab's headers, with links to the other views`, async (t) => {
        assert.equal(noPages, false, "the service must serve taas.capture.page");
        const page = await g.get(`${TAB_PATH}${query}`);
        assert.equal(page.status, 200);
        assertPageHeaders(page);
        const html = await page.text();
        assert.match(html, /^<!doctype html>/i);
        assert.match(html, /href="\?view=/);
        assert.deepEqual(activeMarkup(html), []);
        const head = await g.get(`${TAB_PATH}${query}`, { method: "HEAD" });
        assert.equal(head.status, 200);
        assertPageHeaders(head);
        assert.equal(await head.text(), "");
      });
    }

    test("the service's own refusal (an agent view without agentId) is a 400 page with its reason", async (t) => {
      assert.equal(noPages, false, "the service must serve taas.capture.page");
      const refused = await g.get(`${TAB_PATH}?view=agent`);
      assert.equal(refused.status, 400);
      assertPageHeaders(refused);
      assert.match(await refused.text(), /agentId/);
    });

    test("with the service stopped, the tab answers 503 with the routes memory holds", async () => {
      await service.stop("SIGTERM");
      const away = await g.get(`${TAB_PATH}?view=agent&agentId=a1`);
      assert.equal(away.status, 503);
      assertPageHeaders(away);
      const body = await away.text();
      assert.match(body, /The taas-capture service is not reachable at its socket/);
      assert.ok(!body.includes(service.socketPath) && !body.includes(dir), "no local path");
      assert.match(body, /Agents \(1\)/);
      assert.match(body, /Sessions \(2\)/);
      assert.match(body, /kimi-k2/);
    });
  });
}
