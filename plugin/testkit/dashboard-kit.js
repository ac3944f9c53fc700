// Shared by the dashboard tests: a stand-in service that answers `taas.capture.page` as told,
// hostile stored strings, a loopback listener that counts what reaches it, and headless Chromium
// (the Debian package `chromium`), with the repository's own check that a screenshot is not blank
// (scripts/png-coverage.py). Kept outside test/ so node --test does not run it.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { PLUGIN_DIR } from "./harness.js";

const run = promisify(execFile);

/**
 * A Unix-socket JSON-RPC server whose `answer(request)` decides each reply: a `{result}` or
 * `{error}` object, or "hang" to never answer.
 * @param {string} socketPath
 * @param {(request: any) => any} answer
 */
export async function startPageService(socketPath, answer) {
  /** @type {any[]} */
  const requests = [];
  /** @type {Set<net.Socket>} */
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      for (let nl = buffer.indexOf("\n"); nl !== -1; nl = buffer.indexOf("\n")) {
        const request = JSON.parse(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        requests.push(request);
        const reply = answer(request);
        if (reply !== "hang") socket.write(`${JSON.stringify({ jsonrpc: "2.0", id: request.id, ...reply })}\n`);
      }
    });
  });
  await new Promise((resolve) => server.listen(socketPath, () => resolve(undefined)));
  return {
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve(undefined));
      }),
  };
}

/** A loopback HTTP listener that records every request: a page that fetches anything reaches it. */
export async function startTripwire() {
  /** @type {string[]} */
  const hits = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.end("tripped");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  return {
    port,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve(undefined));
        server.closeAllConnections();
      }),
  };
}

/**
 * Strings an attacker can put into stored ids, model names and header values; each would run
 * script or fetch from the tripwire at `port` if a page let it through as markup.
 * @param {number} port
 */
export function hostileStrings(port) {
  return {
    script: `<script>fetch("http://127.0.0.1:${port}/script")</script>`,
    img: `"><img src=http://127.0.0.1:${port}/img onerror=fetch("http://127.0.0.1:${port}/onerror")>`,
    javascriptUrl: `javascript:fetch("http://127.0.0.1:${port}/js")`,
    attribute: `' onmouseover='fetch("http://127.0.0.1:${port}/attr")' x='`,
    long: `<svg onload=fetch("http://127.0.0.1:${port}/svg")>`.padEnd(190, "W"),
  };
}

/** @returns {{path: string} | {skip: string}} headless Chromium, or why the browser tests skip (they fail under CI=true) */
export function chromiumOrSkip() {
  for (const candidate of ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"]) {
    if (existsSync(candidate)) return { path: candidate };
  }
  return { skip: "no Chromium on this machine (apt-get install -y chromium)" };
}

/**
 * Run headless Chromium on `url` with `extra` flags; stdout is the dumped DOM with --dump-dom.
 * @param {string} browser
 * @param {string} url
 * @param {string[]} extra
 */
export async function headless(browser, url, extra) {
  const args = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions", "--virtual-time-budget=3000", ...extra, url];
  const { stdout } = await run(browser, args, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** The fraction of a PNG's pixels that differ from its background (scripts/png-coverage.py). @param {string} png */
export async function pngCoverage(png) {
  const script = path.resolve(PLUGIN_DIR, "..", "scripts", "png-coverage.py");
  const { stdout } = await run("/usr/bin/python3", [script, png]);
  return Number(stdout.trim());
}

const FORBIDDEN_ELEMENTS = new Set(["script", "iframe", "frame", "object", "embed", "link", "base", "form", "video", "audio", "source", "track", "portal"]);
const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "background"]);

/**
 * What in a DOM dumped by Chromium (`--dump-dom`) could run script or fetch: a script, frame,
 * object, link, base, form or media element, an `<img>` that is not a data: image, any `on…`
 * attribute, and a `javascript:` URL. Chromium writes every attribute value double-quoted (a `"`
 * inside as &quot;) and text with `<` escaped, so a tag is a `<` outside quotes.
 * @param {string} dom
 * @returns {string[]} the offending tags, empty when there are none
 */
export function activeMarkup(dom) {
  const found = [];
  const tag = /<([a-zA-Z][a-zA-Z0-9:-]*)((?:\s+[^\s"'>/=]+(?:="[^"]*")?)*)\s*\/?>/g;
  for (let m = tag.exec(dom); m !== null; m = tag.exec(dom)) {
    const name = m[1].toLowerCase();
    const attributes = [...m[2].matchAll(/([^\s"'>/=]+)(?:="([^"]*)")?/g)].map((a) => ({ name: a[1].toLowerCase(), value: (a[2] ?? "").replace(/&amp;/g, "&").trim() }));
    const bad =
      FORBIDDEN_ELEMENTS.has(name) ||
      (name === "img" && !attributes.some((a) => a.name === "src" && a.value.startsWith("data:"))) ||
      (name === "meta" && attributes.some((a) => a.name === "http-equiv")) ||
      attributes.some((a) => a.name.startsWith("on")) ||
      attributes.some((a) => URL_ATTRIBUTES.has(a.name) && /^javascript:/i.test(a.value.replace(/[\s\u0000-\u001f]/g, "")));
    if (bad) found.push(m[0]);
  }
  return found;
}
