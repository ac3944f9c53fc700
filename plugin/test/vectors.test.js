// The golden vectors shared with the Swift AffinityCore (Tests/Fixtures/affinity-vectors.json).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { parseCapture } from "../lib/capture.js";
import { agentIdFor, boundedIdentity, deriveSessionIdentity, hostId, resolvePath, sha16 } from "../lib/identity.js";
import { buildCorrelationHeaders, patchPayloadMetadata } from "../lib/metadata.js";

const vectorsPath = fileURLToPath(new URL("../../Tests/Fixtures/affinity-vectors.json", import.meta.url));

/** @type {Record<string, (c: any) => void>} */
const checks = {
  sha16: (c) => assert.equal(sha16(c.input), c.expected),
  resolve: (c) => assert.equal(resolvePath(c.cwd, c.path), c.expected),
  sessionIdentity: (c) => assert.deepEqual(deriveSessionIdentity(c.input), c.expected),
  hostId: (c) => assert.equal(hostId(c.hostname), c.expected),
  agentId: (c) => assert.equal(agentIdFor(c.input), c.expected),
  boundedIdentity: (c) => assert.equal(boundedIdentity(c.input), c.expected),
  capture: (c) => {
    assert.deepEqual(parseCapture(c.headers), c.expected);
    // The same headers as a Headers instance read the same, where HTTP allows the values at all
    // (Headers refuses non-Latin-1 characters and NUL/CR/LF).
    const lowered = new Map();
    for (const [k, v] of Object.entries(c.headers ?? {})) if (!lowered.has(k.toLowerCase())) lowered.set(k.toLowerCase(), v);
    let asHeaders = null;
    try {
      asHeaders = new Headers([...lowered]);
    } catch {
      asHeaders = null;
    }
    if (asHeaders !== null) assert.deepEqual(parseCapture(asHeaders), c.expected);
  },
  payloadPatch: (c) => assert.deepEqual(patchPayloadMetadata(structuredClone(c.payload), c.context), c.expected),
  correlationHeaders: (c) => {
    const headers = buildCorrelationHeaders(c.context);
    assert.deepEqual(headers, c.expected);
    assert.deepEqual(Object.keys(headers), Object.keys(c.expected), "header order");
  },
};

const missing = !existsSync(vectorsPath);
if (missing && process.env.CI) {
  test("golden vectors are present", () => {
    assert.fail(`missing ${vectorsPath}: the plugin must be checked against the shared vectors in CI`);
  });
} else if (missing) {
  test("golden vectors", { skip: `no ${vectorsPath} in this checkout` }, () => {});
} else {
  const vectors = JSON.parse(readFileSync(vectorsPath, "utf8"));
  for (const [group, check] of Object.entries(checks)) {
    test(`vectors: ${group}`, async (t) => {
      assert.ok(Array.isArray(vectors[group]) && vectors[group].length > 0, `the vectors have ${group} cases`);
      for (const c of vectors[group]) await t.test(c.name, () => check(c));
    });
  }
  test("vectors: every group is checked", () => {
    const groups = Object.keys(vectors).filter((k) => Array.isArray(vectors[k]));
    assert.deepEqual(groups.filter((g) => !(g in checks)), []);
  });
}
