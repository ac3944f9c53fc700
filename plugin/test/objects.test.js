import assert from "node:assert/strict";
import test from "node:test";
import { inspect } from "node:util";
import { isPlainObject, objectOrEmpty } from "../lib/objects.js";

const notObjects = [undefined, null, 0, 1, "", "text", true, false, Symbol("s"), 10n, () => {}];

test("a plain object is any non-null, non-array object", () => {
  for (const value of [{}, { a: 1 }, Object.create(null), new Date(0), new Map(), Promise.resolve()]) {
    assert.equal(isPlainObject(value), true, inspect(value));
  }
  for (const value of [...notObjects, [], [1, 2], Object.assign([], { a: 1 })]) {
    assert.equal(isPlainObject(value), false, inspect(value));
  }
});

test("an object is passed through as it is, not copied", () => {
  const value = { a: 1 };
  assert.equal(objectOrEmpty(value), value);
});

test("anything else, arrays included, becomes a fresh empty object", () => {
  for (const value of [...notObjects, [], ["a"], Object.assign([], { cost: 1 })]) {
    const result = objectOrEmpty(value);
    assert.deepEqual(result, {}, inspect(value));
    assert.equal(Object.getPrototypeOf(result), Object.prototype);
  }
  assert.notEqual(objectOrEmpty(null), objectOrEmpty(null), "no shared object a caller could mutate");
});
