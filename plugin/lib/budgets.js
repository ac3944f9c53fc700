// Budgets as the plugin handles them (SPEC v3 "Budgets (warn only)"; the service keeps them): the
// params of `taas.capture.setBudget`, checked the same way by the gateway method and `openclaw taas
// set-budget`, and how an exceeded budget is named in the gateway log (a session only hashed).
import { BOUNDED_IDENTITY_RULE, boundedIdentity } from "./identity.js";
import { isPlainObject, objectOrEmpty } from "./objects.js";
import { identityRef } from "./provider.js";

/** The largest budget the service takes, in USD per day (its `BudgetLimits.maxUsdPerDay`). */
export const MAX_USD_PER_DAY = 1_000_000;

/**
 * A budget's subject and amount from `taas.capture.setBudget` params, or an error message: exactly
 * one of `agentId` and `sessionId` (the session as recorded: no local id is resolved here), and
 * `usdPerDay` present, a number greater than 0 and at most `MAX_USD_PER_DAY`, or null to clear.
 * @param {unknown} params
 * @returns {{params: {agentId: string, usdPerDay: number | null} | {sessionId: string, usdPerDay: number | null}} | {error: string}}
 */
export function budgetFrom(params) {
  if (!isPlainObject(params)) return { error: "params must be an object" };
  const p = /** @type {Record<string, unknown>} */ (params);
  const given = ["agentId", "sessionId"].filter((k) => p[k] !== undefined && p[k] !== null);
  if (given.length !== 1) return { error: "give exactly one of agentId and sessionId" };
  const key = /** @type {"agentId" | "sessionId"} */ (given[0]);
  const id = boundedIdentity(p[key]);
  if (id === null) return { error: `${key} must be ${BOUNDED_IDENTITY_RULE}` };
  if (!("usdPerDay" in p)) return { error: "usdPerDay is required: a number greater than 0, or null to clear" };
  const usdPerDay = p.usdPerDay;
  if (usdPerDay !== null && !(typeof usdPerDay === "number" && usdPerDay > 0 && usdPerDay <= MAX_USD_PER_DAY)) {
    return { error: `usdPerDay must be a number greater than 0 and at most ${MAX_USD_PER_DAY}, or null to clear` };
  }
  const subject = key === "agentId" ? { agentId: id } : { sessionId: id };
  return { params: { ...subject, usdPerDay: /** @type {number | null} */ (usdPerDay) } };
}

/**
 * The UTC day of `ms` as `YYYY-MM-DD`.
 * @param {number} ms
 */
export function utcDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

/** @param {unknown} value */
function dollars(value) {
  return typeof value === "number" && Number.isFinite(value) ? `$${value.toFixed(2)}` : "$?";
}

/**
 * How a budget's subject is named in the log: `agent <id>`, or a session only hashed
 * (`session:<sha16>`); null when the service's subject is neither.
 * @param {unknown} subject
 * @returns {{key: string, name: string} | null}
 */
export function subjectName(subject) {
  const s = objectOrEmpty(subject);
  const agentId = boundedIdentity(s.agentId);
  if (agentId !== null) return { key: `agent\u0000${agentId}`, name: `agent ${agentId}` };
  const sessionId = boundedIdentity(s.sessionId);
  if (sessionId !== null) return { key: `session\u0000${sessionId}`, name: identityRef(sessionId) };
  return null;
}

/**
 * The warning line for one exceeded budget (the logger adds the plugin's tag).
 * @param {string} name  from `subjectName`
 * @param {unknown} budget  `{spentTodayUsd, usdPerDay}`
 * @param {string} day
 */
export function exceededLine(name, budget, day) {
  const b = objectOrEmpty(budget);
  return `budget exceeded: ${name} spent ${dollars(b.spentTodayUsd)} of ${dollars(b.usdPerDay)} today (UTC ${day}); calls are not blocked`;
}

