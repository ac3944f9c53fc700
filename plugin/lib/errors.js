// One way to turn anything thrown into text for a log line or an error message.

/**
 * The message of an Error, else the value as a string.
 * @param {unknown} error
 * @returns {string}
 */
export function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}
