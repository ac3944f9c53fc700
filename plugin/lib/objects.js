// The one rule for "a plain object" when reading what the host or the service hands over: not
// null, of type object, and not an array (an array's keys are indexes, never the fields sought).

/**
 * Whether `value` is a non-null, non-array object.
 * @param {unknown} value
 * @returns {value is Record<string, any>}
 */
export function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * `value` when it is a plain object (see `isPlainObject`), else an empty object, so its fields
 * can be read without a check.
 * @param {unknown} value
 * @returns {Record<string, any>}
 */
export function objectOrEmpty(value) {
  return isPlainObject(value) ? value : {};
}
