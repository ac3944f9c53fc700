import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import test from "node:test";
import {
  agentIdFor,
  boundedIdentity,
  deriveSessionId,
  deriveSessionIdentity,
  hostId,
  resolvePath,
  sessionInputFromEnvironment,
  sha16,
} from "../lib/identity.js";

const sha = (/** @type {string} */ s) => createHash("sha256").update(s, "utf8").digest("hex").slice(0, 16);

test("sha16 is the first 16 hex digits of SHA-256 over UTF-8", () => {
  assert.equal(sha16(""), "e3b0c44298fc1c14");
  assert.equal(sha16("abc"), "ba7816bf8f01cfea");
  assert.equal(sha16("ünïcødé"), sha("ünïcødé"));
});

test("resolve is lexical POSIX path.resolve against the caller's directory", () => {
  assert.equal(resolvePath("/", "/home/u/.openclaw/workspace-a/"), "/home/u/.openclaw/workspace-a");
  assert.equal(resolvePath("/srv/app", "ws/../ws2//x/."), "/srv/app/ws2/x");
  assert.equal(resolvePath("/srv/app", "/a//b/../c/"), "/a/c");
});

test("tier 1: the native session id wins over everything, hint still names the workspace", () => {
  const id = deriveSessionIdentity({
    localSessionId: " s-1 ",
    workspaceDir: "/w/workspace-a",
    openclawSessionId: "env-1",
    agentId: "agent-1",
    stateDir: "/state",
    cwd: "/",
  });
  assert.deepEqual(id, {
    sessionId: `oc:${sha("session:s-1")}`,
    source: "session",
    sessionSourceHint: `source:${sha("workspaceDir:/w/workspace-a")}`,
  });
  const bare = deriveSessionIdentity({ localSessionId: "s-1", cwd: "/" });
  assert.equal(bare.sessionSourceHint, `source:${sha("session:s-1")}`);
});

test("tier 2: the workspace resolved, the hint keeps the path as given", () => {
  const id = deriveSessionIdentity({ workspaceDir: "ws/", openclawSessionId: "e", cwd: "/home/u" });
  assert.deepEqual(id, {
    sessionId: `oc:${sha("/home/u/ws")}`,
    source: "workspace",
    sessionSourceHint: `source:${sha("workspaceDir:ws/")}`,
  });
});

test("tiers 3–5 follow the environment in order", () => {
  assert.equal(deriveSessionId({ openclawSessionId: "e1", agentId: "a", cwd: "/" }), `oc:${sha("env:e1")}`);
  assert.deepEqual(deriveSessionIdentity({ agentId: "a1", runId: "r1", cwd: "/" }), {
    sessionId: `oc:${sha("agent:a1")}`,
    source: "agent",
    sessionSourceHint: `source:${sha("agent:a1")}`,
  });
  assert.equal(deriveSessionId({ runId: "r1", cwd: "/" }), `oc:${sha("agent:r1")}`);
  assert.deepEqual(deriveSessionIdentity({ stateDir: "/s/state/", cwd: "/" }), {
    sessionId: `oc:${sha("/s/state")}`,
    source: "stateDir",
    sessionSourceHint: `source:${sha("stateDir:/s/state/")}`,
  });
  assert.equal(deriveSessionId({ home: "/home/u", cwd: "/" }), `oc:${sha("/home/u/.openclaw")}`);
});

test("a native id that is not a bounded identity falls through to the next tier", () => {
  assert.equal(deriveSessionIdentity({ localSessionId: "  ", workspaceDir: "/w", cwd: "/" }).source, "workspace");
  assert.equal(deriveSessionIdentity({ localSessionId: "a\u0007b", workspaceDir: "/w", cwd: "/" }).source, "workspace");
});

test("the environment feeds tiers 3–5; bridge variables are ignored", () => {
  const input = sessionInputFromEnvironment(
    {},
    {
      env: { OPENCLAW_RUN_ID: "run-9", TAAS_REQUESTER_BRIDGE_PLUGIN_ENABLED: "1", OPENCLAW_STATE_DIR: "/st" },
      home: "/home/u",
      cwd: "/",
    },
  );
  assert.deepEqual(input, { cwd: "/", home: "/home/u", runId: "run-9", stateDir: "/st" });
  assert.equal(deriveSessionIdentity(input).source, "agent");
});

test("host id hashes the hostname", () => {
  assert.equal(hostId("box-1"), `host:${sha("box-1")}`);
});

test("agent id: session key prefix, then the real agent dir layout, then the workspace name", () => {
  assert.equal(agentIdFor({ sessionKey: "agent:new-agent-2:main", agentDir: "/s/agents/x/agent" }), "new-agent-2");
  assert.equal(agentIdFor({ agentDir: "/home/u/.openclaw/agents/ops/agent", workspaceDir: "/w/workspace-b" }), "ops");
  assert.equal(agentIdFor({ agentDir: "/home/u/.openclaw/agents/ops/agent/" }), "ops");
  // The original plugin's basename rule would have said "agent" here.
  assert.equal(agentIdFor({ agentDir: "/somewhere/agent", workspaceDir: "/w/workspace" }), "main");
  assert.equal(agentIdFor({ workspaceDir: "/home/u/.openclaw/workspace-new-agent-2/" }), "new-agent-2");
  assert.equal(agentIdFor({ workspaceDir: "/srv/project" }), "project");
  assert.equal(agentIdFor({ sessionKey: "main", workspaceDir: "/w/workspace" }), "main");
  assert.equal(agentIdFor({}), null);
});

test("bounded identity: trimmed, 1–200 characters, no control characters", () => {
  assert.equal(boundedIdentity("  id-1 "), "id-1");
  assert.equal(boundedIdentity(""), null);
  assert.equal(boundedIdentity("   "), null);
  assert.equal(boundedIdentity("a".repeat(200)), "a".repeat(200));
  assert.equal(boundedIdentity("a".repeat(201)), null);
  // Lengths are UTF-16 code units (as the golden vectors fix them): 100 emoji fill the limit.
  assert.equal(boundedIdentity("😀".repeat(100)), "😀".repeat(100));
  assert.equal(boundedIdentity("😀".repeat(101)), null);
  assert.equal(boundedIdentity("a\u0000b"), null);
  assert.equal(boundedIdentity("a\u007fb"), null);
  assert.equal(boundedIdentity("a\nb"), null);
  assert.equal(boundedIdentity(42), null);
  assert.equal(boundedIdentity(null), null);
});
