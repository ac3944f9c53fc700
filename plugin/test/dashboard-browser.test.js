// The dashboard tab in a real browser: headless Chromium loads each page served through the
// plugin's route handler from a real HTTP server on 127.0.0.1, draws it (a non-blank screenshot),
// and, with hostile stored strings, runs no script and fetches nothing — checked in the browser's
// own DOM and by a loopback listener that no request may reach. Each hostile page is loaded twice:
// with the tab's Content-Security-Policy, and without it, so escaping alone is shown to hold.
// Without Chromium these tests skip, and fail when CI=true; the views need the real service
// (TAAS_CAPTURE_BIN) with `taas.capture.page`.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as ours from "../index.js";
import { pluginState } from "../index.js";
import { escapeHtml } from "../lib/dashboard-page.js";
import { activeMarkup, chromiumOrSkip, headless, hostileStrings, pngCoverage, startTripwire } from "../testkit/dashboard-kit.js";
import { autoroutedHeaders, removeDir, serviceBinary, startRealService, tempDir } from "../testkit/harness.js";
import { createHost } from "../testkit/host.js";

const browser = chromiumOrSkip();
const bin = serviceBinary();

/**
 * The route handler the host registered, served as is and with the CSP header dropped.
 * @param {ReturnType<typeof createHost>} host
 */
async function serveHandler(host) {
  const [route] = host.web.routes;
  /** @param {boolean} withCsp */
  const start = async (withCsp) => {
    const server = http.createServer((req, res) => {
      if (!withCsp) {
        const setHeader = res.setHeader.bind(res);
        res.setHeader = (name, value) => (String(name).toLowerCase() === "content-security-policy" ? res : setHeader(name, value));
      }
      void route.handler(req, res);
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
    const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
    return { url: `http://127.0.0.1:${port}${route.path}`, close: () => new Promise((r) => server.close(() => r(undefined))) };
  };
  const strict = await start(true);
  const bare = await start(false);
  return { strict, bare, close: async () => Promise.all([strict.close(), bare.close()]) };
}

/**
 * Load `url` in Chromium: its DOM after load and its screenshot's drawn fraction.
 * @param {string} browserPath
 * @param {string} url
 * @param {string} dir
 */
async function render(browserPath, url, dir) {
  const png = path.join(dir, `shot-${Date.now()}-${Math.random().toString(16).slice(2)}.png`);
  await headless(browserPath, url, ["--window-size=1100,1400", `--screenshot=${png}`]);
  assert.ok(existsSync(png), `Chromium wrote no screenshot of ${url}`);
  return { dom: await headless(browserPath, url, ["--dump-dom"]), drawn: await pngCoverage(png) };
}

if ("skip" in browser && process.env.CI) {
  test("headless Chromium is available for the dashboard browser tests", () => assert.fail(`${browser.skip}; CI needs it`));
} else if ("skip" in browser) {
  test("the dashboard in headless Chromium", { skip: browser.skip }, () => {});
} else {
  const chromium = browser.path;

  test("Chromium draws the 503 page, and hostile strings in memory run no script and fetch nothing", async (t) => {
    const dir = tempDir("taas-browser-");
    t.after(() => removeDir(dir));
    const tripwire = await startTripwire();
    t.after(tripwire.close);
    const bad = hostileStrings(tripwire.port);
    const host = createHost();
    host.load(ours, { pluginConfig: { socketPath: path.join(dir, "none.sock"), sessionIdentity: "native", requestTimeoutMs: 500 } });
    t.after(() => host.stop());
    await host.llmCall({ sessionId: bad.long, agentId: bad.img, responseHeaders: autoroutedHeaders({ "x-taas-autorouter-model": bad.script, "x-taas-autorouter-mode": bad.attribute }) });
    await host.llmCall({ sessionId: "s-plain", agentId: bad.javascriptUrl, responseHeaders: autoroutedHeaders({ "x-taas-autorouter-algorithm-source": bad.long }) });
    const served = await serveHandler(host);
    t.after(served.close);
    for (const url of [served.strict.url, served.bare.url]) {
      const { dom, drawn } = await render(chromium, url, dir);
      assert.ok(drawn > 0.02, `the screenshot is drawn (${drawn})`);
      assert.deepEqual(activeMarkup(dom), [], url);
      assert.ok(dom.includes("not reachable at its socket"), url);
      for (const value of [bad.script, bad.img, bad.javascriptUrl]) {
        assert.ok(dom.includes(escapeHtml(value).replace(/&#60;/g, "&lt;").replace(/&#62;/g, "&gt;").replace(/&#34;/g, '"').replace(/&#39;/g, "'")), `shown as text: ${value.slice(0, 30)}`);
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(tripwire.hits, [], "nothing reached the loopback listener");
  });

  describe("each view of the real service in Chromium", { skip: existsSync(bin) || process.env.CI ? false : `no taas-capture binary at ${bin}` }, () => {
    const dir = tempDir("taas-views-");
    /** @type {Awaited<ReturnType<typeof startRealService>>} */
    let service;
    /** @type {ReturnType<typeof createHost>} */
    let host;
    /** @type {Awaited<ReturnType<typeof startTripwire>>} */
    let tripwire;
    /** @type {Awaited<ReturnType<typeof serveHandler>>} */
    let served;
    /** @type {ReturnType<typeof hostileStrings>} */
    let bad;
    /** @type {string | false} */
    let noPages = false;

    before(async () => {
      service = await startRealService(bin, dir);
      tripwire = await startTripwire();
      bad = hostileStrings(tripwire.port);
      host = createHost();
      const api = host.load(ours, { pluginConfig: { socketPath: service.socketPath, sessionIdentity: "native", requestTimeoutMs: 5000 } });
      const models = ["qwen3-coder", "kimi-k2", bad.script, bad.long];
      for (let i = 0; i < 12; i++) {
        await host.llmCall({
          sessionId: i % 3 === 0 ? bad.long : `session-${i % 3}`,
          agentId: i % 2 === 0 ? bad.img : "agent-plain",
          responseHeaders: autoroutedHeaders({
            "x-request-id": `req-${i}`,
            "x-taas-autorouter-model": models[i % models.length],
            "x-taas-autorouter-mode": i % 4 === 0 ? bad.attribute : "best_fit",
            "x-taas-autorouter-algorithm-source": i % 5 === 0 ? bad.javascriptUrl : "default",
          }),
        });
      }
      const client = pluginState(api)?.client;
      assert.equal(await client?.drain(10_000), true, "the captures reached the service");
      // What the overview adds since schema 6: spend by trigger, and the budgets by subject.
      for (const trigger of [bad.script, bad.img]) {
        await client?.call("taas.autorouter.record", { sessionId: "session-1", headers: autoroutedHeaders({ "x-request-id": `t-${trigger.length}` }), trigger, channel: bad.attribute });
      }
      await client?.call("taas.capture.setBudget", { agentId: bad.img, usdPerDay: 1 });
      await client?.call("taas.capture.setBudget", { sessionId: bad.long, usdPerDay: 2 });
      try {
        await client?.call("taas.capture.page", { view: "overview" });
      } catch (error) {
        const e = /** @type {{code?: number}} */ (error);
        if (e?.code === -32601) noPages = "this taas-capture binary has no taas.capture.page yet";
        else throw error;
      }
      served = await serveHandler(host);
    });
    after(async () => {
      await served?.close();
      await host?.stop();
      await tripwire?.close();
      await service?.stop();
      removeDir(dir);
    });

    for (const view of ["overview", "agent", "session"]) {
      test(`the ${view} view is drawn, links to the others, and its hostile strings run no script and fetch nothing`, async (t) => {
        assert.equal(noPages, false, "the service must serve taas.capture.page");
        const query =
          view === "overview" ? "" : view === "agent" ? `?view=agent&agentId=${encodeURIComponent(bad.img)}` : `?view=session&sessionId=${encodeURIComponent(bad.long)}`;
        const direct = await fetch(`${served.strict.url}${query}`);
        assert.equal(direct.status, 200, await direct.clone().text());
        assert.match(await direct.text(), /^<!doctype html>/i);
        for (const url of [`${served.strict.url}${query}`, `${served.bare.url}${query}`]) {
          const { dom, drawn } = await render(chromium, url, dir);
          assert.ok(drawn > 0.02, `${view}: the screenshot is drawn (${drawn})`);
          assert.deepEqual(activeMarkup(dom), [], `${view}: ${url}`);
          assert.match(dom, /href="\?view=/, `${view}: query-relative links to the other views`);
        }
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual(tripwire.hits, [], "nothing reached the loopback listener");
      });
    }
  });
}
