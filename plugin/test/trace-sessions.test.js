import assert from "node:assert/strict";
import test from "node:test";
import { createTraceSessions, parseTraceparent, traceparentOf } from "../lib/trace-sessions.js";

const trace = { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" };
const header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

test("traceparent values are read per W3C, invalid ones refused", () => {
  assert.deepEqual(parseTraceparent(header), trace);
  assert.deepEqual(parseTraceparent(header.toUpperCase()), trace);
  for (const bad of ["", "00-xyz", `ff-${trace.traceId}-${trace.spanId}-01`, `00-${"0".repeat(32)}-${trace.spanId}-01`, `00-${trace.traceId}-${"0".repeat(16)}-01`, 42, null]) {
    assert.equal(parseTraceparent(bad), null, String(bad));
  }
  assert.equal(traceparentOf({ TraceParent: header }), header);
  assert.equal(traceparentOf({ other: "x" }), null);
});

test("an exact trace and span match finds the session; anything else finds none", () => {
  const traces = createTraceSessions();
  traces.remember(trace, { nativeSessionId: "s-1", agentId: "a" });
  assert.deepEqual(traces.sessionFor(header), { nativeSessionId: "s-1", agentId: "a" });
  assert.equal(traces.sessionFor(`00-${trace.traceId}-1111111111111111-01`), null, "same trace, other span");
  assert.equal(traces.sessionFor(undefined), null);
});

test("one trace and span seen for two sessions fails closed", () => {
  const traces = createTraceSessions();
  traces.remember(trace, { nativeSessionId: "s-1", agentId: null });
  traces.remember(trace, { nativeSessionId: "s-1", agentId: null });
  assert.notEqual(traces.sessionFor(header), null, "the same session twice is fine");
  traces.remember(trace, { nativeSessionId: "s-2", agentId: null });
  assert.equal(traces.sessionFor(header), null);
});

test("entries expire after the TTL and the map stays bounded", () => {
  let now = 0;
  const traces = createTraceSessions({ limit: 3, ttlMs: 1000, now: () => now });
  traces.remember(trace, { nativeSessionId: "s-1", agentId: null });
  now = 1001;
  assert.equal(traces.sessionFor(header), null, "expired");
  for (let i = 0; i < 10; i++) traces.remember({ traceId: trace.traceId, spanId: `${i}`.padStart(16, "a") }, { nativeSessionId: `s-${i}`, agentId: null });
  assert.equal(traces.size(), 3);
});
