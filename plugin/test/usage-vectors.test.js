// Tests/Fixtures/usage-vectors.json, shared with the Swift service (UsageVectorTests.swift): what
// the plugin records from a stream's final message, and the values it never sends.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { usageFieldsFromMessage } from "../lib/call-record.js";
import { usageCounts } from "../lib/usage.js";

const vectorsPath = fileURLToPath(new URL("../../Tests/Fixtures/usage-vectors.json", import.meta.url));

if (!existsSync(vectorsPath)) {
  test("usage vectors are present", () => assert.fail(`missing ${vectorsPath}`));
} else {
  const vectors = JSON.parse(readFileSync(vectorsPath, "utf8"));
  test("usage vectors: the record fields of each call's final message", async (t) => {
    assert.ok(vectors.calls.length > 0);
    for (const c of vectors.calls) await t.test(c.name, () => assert.deepEqual(usageFieldsFromMessage(c.message, c.model), c.record));
  });
  test("usage vectors: a count the service would refuse is never sent", async (t) => {
    assert.ok(vectors.invalid.length > 0);
    for (const c of vectors.invalid) {
      if (!c.field.startsWith("usage.")) continue;
      await t.test(c.name, () => assert.equal(usageCounts(c.record.usage)?.[c.field.slice("usage.".length)], undefined));
    }
  });
}
