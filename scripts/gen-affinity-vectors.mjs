#!/usr/bin/env node
// Writes Tests/Fixtures/affinity-vectors.json: inputs and expected outputs of AffinityCore, computed
// here in plain JavaScript (Node built-ins only) and independently of the Swift code, so the Swift
// tests and the plugin's tests check two implementations against one another.
//
// Usage: node scripts/gen-affinity-vectors.mjs   (from anywhere; the output path is fixed)
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const posix = path.posix;
const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "Tests", "Fixtures", "affinity-vectors.json");

// ---- the rules, as the plugin states them -------------------------------------------------------

const sha16 = (s) => createHash("sha256").update(s, "utf8").digest("hex").slice(0, 16);

/** path.posix.resolve against cwd; a relative cwd is taken against "/". */
const resolve = (p, cwd) => posix.resolve("/", cwd, p);

/** Trimmed by String.prototype.trim, 1..200 UTF-16 code units (.length), no U+0000-U+001F / U+007F. */
function bounded(value) {
  if (typeof value !== "string") return null;
  const t = value.trim();
  if (t.length < 1 || t.length > 200) return null;
  return /[\u0000-\u001f\u007f]/.test(t) ? null : t;
}

function deriveSession(input) {
  const workspaceDir = bounded(input.workspaceDir);
  let source, sourceString, hint, value;
  if ((value = bounded(input.localSessionId)) !== null) {
    [source, sourceString, hint] = ["session", "session:" + value, "session:" + value];
  } else if (workspaceDir !== null) {
    [source, sourceString] = ["workspace", resolve(workspaceDir, input.cwd)];
  } else if ((value = bounded(input.openclawSessionId)) !== null) {
    [source, sourceString, hint] = ["env", "env:" + value, "env:" + value];
  } else if ((value = bounded(input.agentId) ?? bounded(input.runId)) !== null) {
    [source, sourceString, hint] = ["agent", "agent:" + value, "agent:" + value];
  } else {
    const stateDir = bounded(input.stateDir) ?? posix.join(bounded(input.home) ?? "/", ".openclaw");
    [source, sourceString, hint] = ["stateDir", resolve(stateDir, input.cwd), "stateDir:" + stateDir];
  }
  if (workspaceDir !== null) hint = "workspaceDir:" + workspaceDir;
  return { sessionId: "oc:" + sha16(sourceString), source, sessionSourceHint: "source:" + sha16(hint) };
}

const hostId = (hostname) => "host:" + sha16(hostname);

function agentFromSessionKey(key) {
  if (typeof key !== "string") return null;
  key = key.trim();
  if (!key.startsWith("agent:")) return null;
  const rest = key.slice("agent:".length);
  const colon = rest.indexOf(":");
  return colon < 0 ? null : bounded(rest.slice(0, colon));
}

function agentFromAgentDir(dir) {
  if (typeof dir !== "string" || dir.trim() === "") return null;
  const seg = posix.normalize(dir.trim()).split("/").filter((s) => s !== "");
  const n = seg.length;
  if (n < 3 || seg[n - 1] !== "agent" || seg[n - 3] !== "agents") return null;
  return bounded(seg[n - 2]);
}

function agentFromWorkspaceDir(dir) {
  if (typeof dir !== "string" || dir.trim() === "") return null;
  const base = posix.basename(posix.normalize(dir.trim()));
  if (base === "." || base === "..") return null;
  if (base === "workspace") return "main";
  if (base.startsWith("workspace-") && base.length > "workspace-".length) return bounded(base.slice("workspace-".length));
  return bounded(base);
}

const deriveAgent = ({ sessionKey, agentDir, workspaceDir }) =>
  agentFromSessionKey(sessionKey) ?? agentFromAgentDir(agentDir) ?? agentFromWorkspaceDir(workspaceDir);

const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function parseCapture(headers) {
  const byName = new Map();
  for (const [name, value] of Object.entries(headers)) {
    const key = asciiLower(name);
    if (!byName.has(key)) byName.set(key, value);
  }
  const autorouted = byName.get("x-taas-autorouted");
  if (typeof autorouted !== "string" || asciiLower(autorouted.trim()) !== "true") return null;
  const field = (name) => bounded(byName.get(name));
  const window = field("x-taas-routed-context-window");
  const windowValue = window !== null && /^[0-9]+$/.test(window) ? Number(window) : null;
  return {
    taasRequestId: field("x-request-id") ?? field("x-taas-request-id"),
    taasTraceId: field("x-trace-id") ?? field("x-taas-trace-id"),
    openclawTurnId: field("x-openclaw-turn-id"),
    openclawAttempt: field("x-openclaw-attempt"),
    autorouterModel: field("x-taas-autorouter-model"),
    autorouterAlgo: field("x-taas-autorouter-mode"),
    autorouterAlgoSource: field("x-taas-autorouter-algorithm-source"),
    thinkingApplied: field("x-taas-thinking-applied"),
    routedContextWindow: windowValue !== null && windowValue >= 1 && windowValue <= 2147483647 ? windowValue : null,
  };
}

const knownAttempt = (a) => (Number.isInteger(a) && a >= 0 ? a : null);

function requesterRuntime(ctx) {
  const env = {
    schema_version: "2026-06-04",
    source: "openclaw-taas-affinity",
    session_key: ctx.sessionId,
    openclaw_session_id: ctx.sessionId,
    requester_host_id: ctx.requesterHostId,
  };
  const repoName = bounded(ctx.repoName);
  if (repoName !== null) {
    env.repo_name = repoName;
    const branch = bounded(ctx.gitBranchHint);
    if (branch !== null) env.git_branch_hint = branch;
    if (typeof ctx.gitDirtyHint === "boolean") env.git_dirty_hint = ctx.gitDirtyHint;
  }
  return Object.assign(env, {
    provider: ctx.provider,
    model_id: ctx.modelId,
    session_source_hint: ctx.sessionSourceHint,
    tool_execution: "direction_2_gateway",
    metadata_classification: { identifiers: "hashed", repository: "name_branch_dirty_only", local_paths: "omitted_by_default" },
    redaction_policy: "no_secrets;no_raw_local_paths;no_env_values;no_git_remotes;no_status_or_diffs;no_extra_params",
  });
}

function openclawCorrelation(ctx) {
  const env = {
    schema_version: "2026-06-05",
    source: "openclaw-taas-affinity",
    plugin_version: ctx.pluginVersion,
    session_id: ctx.sessionId,
    sticky_key: ctx.sessionId,
    session_source_hint: ctx.sessionSourceHint,
  };
  const agentId = bounded(ctx.agentId);
  if (agentId !== null) env.agent_id = agentId;
  return Object.assign(env, { provider: ctx.provider, model_id: ctx.modelId });
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function patchPayload(payload, ctx) {
  if (!isObject(payload)) return payload;
  let metadata = {};
  if (Object.hasOwn(payload, "metadata")) {
    if (!isObject(payload.metadata)) return payload;
    metadata = { ...payload.metadata };
  }
  const additions = {
    session_id: ctx.sessionId,
    sticky_key: ctx.sessionId,
    requester_runtime: requesterRuntime(ctx),
    openclaw_correlation: openclawCorrelation(ctx),
  };
  for (const [key, value] of Object.entries(additions)) if (!Object.hasOwn(metadata, key)) metadata[key] = value;
  return { ...payload, metadata };
}

function correlationHeaders(ctx) {
  const headers = { "X-Session-Id": ctx.sessionId, "X-OpenClaw-Session-Id": ctx.sessionId };
  const turnId = bounded(ctx.turnId);
  if (turnId !== null) headers["X-OpenClaw-Turn-Id"] = turnId;
  const attempt = knownAttempt(ctx.attempt);
  if (attempt !== null) headers["X-OpenClaw-Attempt"] = String(attempt);
  const agentId = bounded(ctx.agentId);
  if (agentId !== null) headers["X-OpenClaw-Agent-Id"] = agentId;
  return headers;
}

// ---- the cases ----------------------------------------------------------------------------------

const a200 = "a".repeat(200);
const a201 = "a".repeat(201);
const rocket100 = "\u{1F680}".repeat(100);

const sha16Cases = [
  ["empty", ""],
  ["ascii", "abc"],
  ["session source", "session:abc-123"],
  ["workspace path", "/home/u/.openclaw/workspace-a"],
  ["unicode", "ünïcødé 🚀 ワーク"],
  ["nul byte", "a\u0000b"],
].map(([name, input]) => ({ name, input, expected: sha16(input) }));

const resolveCases = [
  ["spec example: trailing slash", "/home/u", "/home/u/.openclaw/workspace-a/"],
  ["empty path is cwd", "/home/u", ""],
  ["dot is cwd", "/home/u", "."],
  ["dotdot", "/home/u", ".."],
  ["dotdot past root from cwd", "/home/u", "../../../.."],
  ["dotdot at root", "/", ".."],
  ["absolute dotdot past root", "/home/u", "/a/../../b"],
  ["relative with dotdot", "/home/u", "a/b/../c"],
  ["doubled slashes", "/home/u", "a//b///c//"],
  ["dot segments", "/home/u", "./a/./b/."],
  ["cwd with trailing slash", "/home/u/", "x"],
  ["messy cwd", "/home//u/./v/..", "x"],
  ["leading double slash", "/home/u", "//double/leading"],
  ["root", "/home/u", "/"],
  ["slashes only", "/home/u", "///"],
  ["three dots is a name", "/home/u", "..."],
  ["dots inside names", "/home/u", "..a/b../.c"],
  ["unicode", "/home/u", "проект/ワーク"],
  ["emoji dotdot", "/home/u", "🚀/../x"],
  ["combining mark after slash", "/home/u", "a/\u0301b"],
  ["dot with combining mark is a name", "/home/u", ".\u0301/..\u0301"],
  ["spaces kept", "/home/u", "a b/ c "],
  ["relative cwd taken against root", "relative/cwd", "x"],
  ["empty cwd", "", "x"],
  ["empty cwd and path", "", ""],
  ["absolute path ignores cwd", "/home/u", "/srv/w/"],
].map(([name, cwd, p]) => ({ name, cwd, path: p, expected: resolve(p, cwd) }));

const ws = "/home/u/.openclaw/workspace-a";
const sessionCases = [
  ["tier 1 only", { localSessionId: "abc-123", cwd: "/" }],
  ["tier 1 wins over everything; workspace hint", { localSessionId: "abc-123", workspaceDir: ws, openclawSessionId: "e", agentId: "g", runId: "r", stateDir: "/s", home: "/home/u", cwd: "/" }],
  ["tier 1 trimmed", { localSessionId: "  abc-123\n", cwd: "/" }],
  ["tier 1 no-break spaces trimmed", { localSessionId: "\u00a0abc-123\u3000", cwd: "/" }],
  ["tier 1 U+0085 is not trimmed", { localSessionId: "\u0085abc-123", cwd: "/" }],
  ["tier 1 unicode", { localSessionId: "сессия-🚀", cwd: "/" }],
  ["tier 1 at 200 units", { localSessionId: a200, cwd: "/" }],
  ["tier 1 at 201 units skipped", { localSessionId: a201, workspaceDir: ws, cwd: "/" }],
  ["tier 1 whitespace skipped", { localSessionId: " \t ", workspaceDir: ws, cwd: "/" }],
  ["tier 1 control char skipped", { localSessionId: "a\u0007b", openclawSessionId: "e", cwd: "/" }],
  ["tier 2 absolute", { workspaceDir: ws, openclawSessionId: "e", cwd: "/" }],
  ["tier 2 trailing slash: same id, other hint", { workspaceDir: ws + "/", cwd: "/" }],
  ["tier 2 relative against cwd", { workspaceDir: "workspace-a", cwd: "/home/u/.openclaw" }],
  ["tier 2 dot segments", { workspaceDir: "/home/u/.openclaw/./x/../workspace-a", cwd: "/" }],
  ["tier 2 trimmed", { workspaceDir: ws + "\n", cwd: "/" }],
  ["tier 2 empty skipped", { workspaceDir: "", openclawSessionId: "sess-9", cwd: "/" }],
  ["tier 3 wins over 4 and 5", { openclawSessionId: "sess-9", agentId: "g", runId: "r", stateDir: "/s", cwd: "/" }],
  ["tier 3 empty skipped", { openclawSessionId: "", agentId: "new-agent-2", cwd: "/" }],
  ["tier 4 agent id over run id", { agentId: "new-agent-2", runId: "run-1", stateDir: "/s", cwd: "/" }],
  ["tier 4 run id", { runId: "run-1", stateDir: "/s", cwd: "/" }],
  ["tier 4 blank agent id falls to run id", { agentId: "   ", runId: "run-1", cwd: "/" }],
  ["tier 5 state dir", { stateDir: "/home/u/.openclaw", home: "/home/other", cwd: "/" }],
  ["tier 5 state dir trailing slash", { stateDir: "/home/u/.openclaw/", cwd: "/" }],
  ["tier 5 relative state dir", { stateDir: "state", cwd: "/srv/app" }],
  ["tier 5 no tilde expansion", { stateDir: "~/.openclaw", cwd: "/home/u" }],
  ["tier 5 home", { home: "/home/u", cwd: "/tmp" }],
  ["tier 5 home with trailing slash", { home: "/home/u/", cwd: "/tmp" }],
  ["tier 5 blank state dir falls to home", { stateDir: "  ", home: "/home/u", cwd: "/tmp" }],
  ["tier 5 no home: root stands in", { cwd: "/srv" }],
  ["tier 5 empty home: root stands in", { home: "", cwd: "/srv" }],
].map(([name, input]) => ({ name, input, expected: deriveSession(input) }));

const hostCases = ["gateway-1", "", "my-host.example.com", "ホスト"].map((hostname, i) => ({
  name: ["plain", "empty", "fqdn", "unicode"][i],
  hostname,
  expected: hostId(hostname),
}));

const state = "/home/u/.openclaw";
const agentCases = [
  ["session key", { sessionKey: "agent:new-agent-2:main" }],
  ["session key with more parts", { sessionKey: "agent:main:telegram:dm:123" }],
  ["session key wins over dirs", { sessionKey: "agent:k:main", agentDir: `${state}/agents/d/agent`, workspaceDir: `${state}/workspace-w` }],
  ["session key id trimmed", { sessionKey: "agent: spaced :main" }],
  ["session key without second colon falls through", { sessionKey: "agent:main", workspaceDir: `${state}/workspace-w` }],
  ["session key empty id falls through", { sessionKey: "agent::main" }],
  ["session key prefix is case-sensitive", { sessionKey: "AGENT:x:main" }],
  ["session key id with control char falls through", { sessionKey: "agent:a\tb:main", agentDir: `${state}/agents/d/agent` }],
  ["other session key falls through", { sessionKey: "session:abc", agentDir: `${state}/agents/d/agent` }],
  ["real agent dir layout", { agentDir: `${state}/agents/new-agent-2/agent` }],
  ["agent dir trailing slash", { agentDir: `${state}/agents/x/agent/` }],
  ["agent dir normalized", { agentDir: `${state}/agents/x/agent/../agent` }],
  ["relative agent dir", { agentDir: "agents/rel/agent" }],
  ["agent dir wins over workspace", { agentDir: `${state}/agents/d/agent`, workspaceDir: `${state}/workspace-w` }],
  ["agent dir not the layout is ignored", { agentDir: `${state}/agent` }],
  ["agent dir other name falls to workspace", { agentDir: "/srv/agents/x/agentdir", workspaceDir: `${state}/workspace-w` }],
  ["agent dir id too long falls to workspace", { agentDir: `/x/agents/${a201}/agent`, workspaceDir: "/w/workspace-b" }],
  ["workspace is main", { workspaceDir: `${state}/workspace` }],
  ["workspace with trailing slash is main", { workspaceDir: `${state}/workspace/` }],
  ["workspace-id", { workspaceDir: `${state}/workspace-new-agent-2` }],
  ["workspace- alone is the basename", { workspaceDir: `${state}/workspace-` }],
  ["workspace unicode id", { workspaceDir: `${state}/workspace-агент` }],
  ["workspace case-sensitive", { workspaceDir: "/home/u/Workspace" }],
  ["other basename", { workspaceDir: "/home/u/projects/my-repo" }],
  ["workspace normalized first", { workspaceDir: "/home/u/workspace-a/.." }],
  ["relative workspace", { workspaceDir: "workspace-rel" }],
  ["workspace root", { workspaceDir: "/" }],
  ["workspace dot", { workspaceDir: "." }],
  ["workspace blank", { workspaceDir: "   " }],
  ["workspace basename too long", { workspaceDir: "/w/" + a201 }],
  ["workspace-id too long", { workspaceDir: "/w/workspace-" + a201 }],
  ["nothing", {}],
].map(([name, input]) => ({ name, input, expected: deriveAgent(input) }));

const boundedCases = [
  ["plain", "abc"],
  ["trimmed", "  abc  "],
  ["empty", ""],
  ["spaces only", "   "],
  ["tabs and newlines trimmed", "\t\n abc \r\n"],
  ["200 units", a200],
  ["201 units", a201],
  ["trimmed to 200", " " + a200 + " "],
  ["100 emoji are 200 units", rocket100],
  ["100 emoji and one more unit", rocket100 + "a"],
  ["200 precomposed e-acute", "\u00e9".repeat(200)],
  ["NUL", "a\u0000b"],
  ["U+001F", "a\u001fb"],
  ["DEL", "a\u007fb"],
  ["inner tab", "a\tb"],
  ["inner newline", "a\nb"],
  ["C1 control allowed", "a\u0080b"],
  ["inner space allowed", "a b"],
  ["no-break and ideographic spaces trimmed", "\u00a0abc\u3000"],
  ["BOM trimmed", "\ufeffabc"],
  ["line and paragraph separators trimmed", "\u2028abc\u2029"],
  ["U+0085 not trimmed", "\u0085abc"],
  ["U+180E not trimmed", "\u180eabc"],
  ["null", null],
  ["number", 42],
  ["boolean", true],
  ["array", ["a"]],
  ["object", { a: "b" }],
].map(([name, input]) => ({ name, input, expected: bounded(input) }));

const full = {
  "X-TaaS-Autorouted": "true",
  "X-TaaS-Autorouter-Model": "qwen3-coder-480b",
  "x-taas-autorouter-mode": "cost_aware",
  "X-TAAS-AUTOROUTER-ALGORITHM-SOURCE": "policy",
  "X-TaaS-Thinking-Applied": "low",
  "X-TaaS-Routed-Context-Window": "262144",
  "X-Request-Id": "req-1",
  "X-Trace-Id": "trace-1",
  "X-OpenClaw-Turn-Id": "turn-7",
  "X-OpenClaw-Attempt": "2",
};
const on = { "x-taas-autorouted": "true" };
const cw = (v) => ({ ...on, "x-taas-routed-context-window": v });
const captureCases = [
  ["all fields, mixed-case names", full],
  ["only autorouted: every field null", on],
  ["autorouted TRUE", { "X-TAAS-AUTOROUTED": "TRUE", "x-taas-autorouter-model": "m" }],
  ["autorouted True with spaces", { "x-taas-autorouted": " True ", "x-taas-autorouter-model": "m" }],
  ["autorouted false", { ...full, "X-TaaS-Autorouted": "false" }],
  ["autorouted 1", { ...full, "X-TaaS-Autorouted": "1" }],
  ["autorouted empty", { ...full, "X-TaaS-Autorouted": "" }],
  ["not autorouted: header missing", { "x-taas-autorouter-model": "m", "x-request-id": "r" }],
  ["no headers", {}],
  ["request id falls back to x-taas-request-id", { ...on, "x-taas-request-id": "taas-req" }],
  ["x-request-id wins", { ...on, "x-taas-request-id": "taas-req", "x-request-id": "req" }],
  ["blank x-request-id falls back", { ...on, "x-request-id": "  ", "x-taas-request-id": "taas-req" }],
  ["too long x-request-id falls back", { ...on, "x-request-id": a201, "x-taas-request-id": "taas-req" }],
  ["trace id falls back to x-taas-trace-id", { ...on, "X-TaaS-Trace-Id": "taas-trace" }],
  ["x-trace-id wins", { ...on, "x-taas-trace-id": "taas-trace", "x-trace-id": "trace" }],
  ["values trimmed", { ...on, "x-taas-autorouter-model": "  gpt-4o  ", "x-openclaw-attempt": " 1 " }],
  ["control character makes a field null", { ...on, "x-taas-autorouter-model": "a\u0001b", "x-taas-autorouter-mode": "ok" }],
  ["too long value is null", { ...on, "x-taas-autorouter-model": a201 }],
  ["unicode value kept", { ...on, "x-taas-autorouter-model": "модель-🚀" }],
  ["first of two names differing in case wins", { ...on, "X-TaaS-Autorouter-Model": "first", "x-taas-autorouter-model": "second" }],
  ["context window 0", cw("0")],
  ["context window -1", cw("-1")],
  ["context window abc", cw("abc")],
  ["context window 2147483647", cw("2147483647")],
  ["context window 2147483648", cw("2147483648")],
  ["context window empty", cw("")],
  ["context window +5", cw("+5")],
  ["context window with spaces around", cw(" 5 ")],
  ["context window leading zeros", cw("05")],
  ["context window 5.0", cw("5.0")],
  ["context window 1e3", cw("1e3")],
  ["context window arabic-indic digit", cw("\u0665")],
  ["context window 20 digits", cw("99999999999999999999")],
  ["context window many leading zeros", cw("0".repeat(150) + "7")],
  ["context window inner space", cw("1 000")],
].map(([name, headers]) => ({ name, headers, expected: parseCapture(headers) }));

const fullIdentity = deriveSession({ workspaceDir: `${state}/workspace-new-agent-2`, cwd: "/" });
const ctxFull = {
  sessionId: fullIdentity.sessionId,
  sessionSourceHint: fullIdentity.sessionSourceHint,
  requesterHostId: hostId("gateway-1"),
  agentId: "new-agent-2",
  provider: "cloudsigma",
  modelId: "cloudsigma/auto",
  pluginVersion: "0.6.0",
  repoName: "example-repo",
  gitBranchHint: "dev",
  gitDirtyHint: false,
  turnId: "turn-7",
  attempt: 1,
};
const minIdentity = deriveSession({ localSessionId: "native-1", cwd: "/" });
const ctxMin = {
  sessionId: minIdentity.sessionId,
  sessionSourceHint: minIdentity.sessionSourceHint,
  requesterHostId: hostId("gateway-2"),
  provider: "cloudsigma-staging",
  modelId: "cloudsigma/auto",
  pluginVersion: "0.6.0",
};
const chat = { model: "cloudsigma/auto", messages: [{ role: "user", content: "hi" }], temperature: 0.2, stream: true };
const toolPayload = {
  model: "cloudsigma/auto",
  tools: [
    { type: "function", function: { name: "read_file", description: "Read a file", parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] } } },
  ],
  tool_choice: "auto",
  messages: [
    { role: "user", content: "open README" },
    { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "read_file", arguments: "{\"path\":\"README.md\"}" } }] },
    { role: "tool", tool_call_id: "call_1", content: "# readme" },
  ],
};
const payloadCases = [
  ["absent metadata is created", chat, ctxFull],
  ["absent metadata, minimal context: no repo fields, no agent_id", chat, ctxMin],
  ["empty metadata object", { ...chat, metadata: {} }, ctxFull],
  ["caller metadata kept", { metadata: { user: "u1", trace: { a: 1 } }, ...chat }, ctxFull],
  ["all four present: untouched", { ...chat, metadata: { session_id: "mine", sticky_key: "mine", requester_runtime: { x: 1 }, openclaw_correlation: "mine" } }, ctxFull],
  ["session_id present: others added", { ...chat, metadata: { session_id: "caller-session" } }, ctxFull],
  ["sticky_key present as null is kept", { ...chat, metadata: { sticky_key: null } }, ctxFull],
  ["requester_runtime present: not replaced", { ...chat, metadata: { requester_runtime: { schema_version: "old" } } }, ctxMin],
  ["metadata null: untouched", { ...chat, metadata: null }, ctxFull],
  ["metadata string: untouched", { ...chat, metadata: "tag" }, ctxFull],
  ["metadata array: untouched", { ...chat, metadata: [1, 2] }, ctxFull],
  ["metadata number: untouched", { ...chat, metadata: 5 }, ctxFull],
  ["tools, tool_choice, tool_calls and tool messages pass through", toolPayload, ctxFull],
  ["tool payload with caller metadata", { ...toolPayload, metadata: { session_id: "s" } }, ctxMin],
  ["payload array: untouched", [chat], ctxFull],
  ["payload string: untouched", "hello", ctxFull],
  ["payload null: untouched", null, ctxFull],
  ["empty payload object", {}, ctxMin],
  ["repo without branch or dirty", chat, { ...ctxMin, repoName: "repo-only" }],
  ["branch and dirty without repo are dropped", chat, { ...ctxMin, gitBranchHint: "main", gitDirtyHint: true }],
  ["dirty repo", chat, { ...ctxMin, repoName: "r", gitBranchHint: "feature/x", gitDirtyHint: true }],
  ["blank agent id dropped", chat, { ...ctxMin, agentId: "   " }],
  ["agent id trimmed", chat, { ...ctxMin, agentId: " main " }],
].map(([name, payload, context]) => ({ name, payload, context, expected: patchPayload(payload, context) }));

const headerCases = [
  ["full context", ctxFull],
  ["minimal context: session headers only", ctxMin],
  ["turn only", { ...ctxMin, turnId: "turn-1" }],
  ["attempt 0 is known", { ...ctxMin, attempt: 0 }],
  ["negative attempt dropped", { ...ctxMin, attempt: -1 }],
  ["agent only", { ...ctxMin, agentId: "new-agent-2" }],
  ["blank turn dropped", { ...ctxMin, turnId: " ", attempt: 3 }],
  ["turn trimmed", { ...ctxMin, turnId: "  t-2\n" }],
  ["turn with control char dropped", { ...ctxMin, turnId: "t\u0000", agentId: "a" }],
].map(([name, context]) => ({ name, context, expected: correlationHeaders(context) }));

const vectors = {
  about:
    "Golden vectors for taas-capture AffinityCore and the openclaw-taas-affinity plugin, generated by " +
    "scripts/gen-affinity-vectors.mjs (do not edit by hand). Each top-level key except this one is an array of " +
    "cases with a 'name': sha16 {input, expected}; resolve {cwd, path, expected} (Node path.posix.resolve(cwd, path)); " +
    "sessionIdentity {input: {localSessionId?, workspaceDir?, openclawSessionId?, agentId?, runId?, stateDir?, home?, cwd}, " +
    "expected: {sessionId, source, sessionSourceHint}}; hostId {hostname, expected}; agentId {input: {sessionKey?, agentDir?, " +
    "workspaceDir?}, expected: string|null}; boundedIdentity {input: any JSON, expected: string|null}; capture {headers, " +
    "expected: fields|null}; payloadPatch {payload, context, expected}; correlationHeaders {context, expected: name->value " +
    "in order}. context = {sessionId, sessionSourceHint, requesterHostId, agentId?, provider, modelId, pluginVersion, " +
    "repoName?, gitBranchHint?, gitDirtyHint?, turnId?, attempt?}. Lengths are UTF-16 code units (JS .length); trimming " +
    "is String.prototype.trim; header objects are read in key order (first of names equal ignoring ASCII case wins); " +
    "objects compare ignoring key order.",
  sha16: sha16Cases,
  resolve: resolveCases,
  sessionIdentity: sessionCases,
  hostId: hostCases,
  agentId: agentCases,
  boundedIdentity: boundedCases,
  capture: captureCases,
  payloadPatch: payloadCases,
  correlationHeaders: headerCases,
};

writeFileSync(OUT, JSON.stringify(vectors, null, 2) + "\n");
const count = Object.values(vectors).filter(Array.isArray).reduce((n, cases) => n + cases.length, 0);
console.log(`wrote ${count} cases to ${path.relative(process.cwd(), OUT) || OUT}`);
