import assert from "node:assert/strict";
import test from "node:test";
import { parseCapture, pickCaptureHeaders } from "../lib/capture.js";

const full = {
  "x-taas-autorouted": "true",
  "x-taas-autorouter-model": "qwen3-coder",
  "x-taas-autorouter-mode": "best_fit",
  "x-taas-autorouter-algorithm-source": "header",
  "x-taas-thinking-applied": "true",
  "x-taas-routed-context-window": "131072",
  "x-request-id": "req-1",
  "x-taas-request-id": "req-2",
  "x-taas-trace-id": "trace-2",
  "x-openclaw-turn-id": "turn-1",
  "x-openclaw-attempt": "1",
};

const expected = {
  taasRequestId: "req-1",
  taasTraceId: "trace-2",
  openclawTurnId: "turn-1",
  openclawAttempt: "1",
  autorouterModel: "qwen3-coder",
  autorouterAlgo: "best_fit",
  autorouterAlgoSource: "header",
  thinkingApplied: "true",
  routedContextWindow: 131072,
};

test("a capture is read from a plain object with lower-case names", () => {
  assert.deepEqual(parseCapture(full), expected);
});

test("a capture is read from a Headers instance and from mixed-case names", () => {
  assert.deepEqual(parseCapture(new Headers(full)), expected);
  const mixed = Object.fromEntries(Object.entries(full).map(([k, v]) => [k.toUpperCase(), v]));
  assert.deepEqual(parseCapture(mixed), expected);
});

test("nothing is captured unless x-taas-autorouted is true", () => {
  assert.equal(parseCapture({ ...full, "x-taas-autorouted": "false" }), null);
  const { "x-taas-autorouted": _, ...rest } = full;
  assert.equal(parseCapture(rest), null);
  assert.equal(parseCapture(undefined), null);
  assert.equal(parseCapture("x-taas-autorouted: true"), null);
});

test("missing headers are null; request and trace ids fall back to the x-taas- names", () => {
  assert.deepEqual(parseCapture({ "x-taas-autorouted": "true", "x-taas-request-id": "r2" }), {
    taasRequestId: "r2",
    taasTraceId: null,
    openclawTurnId: null,
    openclawAttempt: null,
    autorouterModel: null,
    autorouterAlgo: null,
    autorouterAlgoSource: null,
    thinkingApplied: null,
    routedContextWindow: null,
  });
});

test("routed context window must be a positive integer up to 2^31−1", () => {
  const win = (/** @type {string} */ v) => parseCapture({ "x-taas-autorouted": "true", "x-taas-routed-context-window": v })?.routedContextWindow;
  assert.equal(win("2147483647"), 2147483647);
  assert.equal(win("2147483648"), null);
  assert.equal(win("0"), null);
  assert.equal(win("-5"), null);
  assert.equal(win("1.5"), null);
  assert.equal(win("12abc"), null);
  assert.equal(win(""), null);
});

test("a value that is not a bounded identity becomes null", () => {
  const c = parseCapture({ "x-taas-autorouted": "true", "x-taas-autorouter-model": "a\u0001b", "x-request-id": "x".repeat(201) });
  assert.equal(c?.autorouterModel, null);
  assert.equal(c?.taasRequestId, null);
});

test("only the capture headers are kept for the service, never credentials or others", () => {
  const picked = pickCaptureHeaders({ ...full, Authorization: "Bearer k", "Set-Cookie": "a=b", "X-Taas-Autorouted": "true", n: 5 });
  assert.deepEqual(Object.keys(picked).sort(), Object.keys(full).sort());
});
