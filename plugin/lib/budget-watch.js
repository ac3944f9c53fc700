// Budgets are warn-only (SPEC v3 "Budgets (warn only)"): the service keeps them and today's spend;
// the gateway log gets one line per subject per UTC day when one is exceeded. This asks the service
// (`taas.capture.budgets`) at most once a minute, only on a connection the client already holds
// (it never opens one and never runs on a request's path), and stops for good when the service
// does not know the method (an older taas-capture answers -32601).
import { exceededLine, subjectName, utcDay } from "./budgets.js";
import { errorText, isUnknownMethod } from "./errors.js";
import { isPlainObject, objectOrEmpty } from "./objects.js";

export const BUDGET_POLL_MS = 60_000;
export const BUDGET_TICK_MS = 5_000;
// Subjects remembered as warned today; past it the rest of the day's are summed up in one line.
export const WARNED_LIMIT = 1000;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * @typedef {object} BudgetWatch
 * @property {() => void} start  idempotent; a no-op once stopped for good
 * @property {() => void} stop
 * @property {() => Promise<void>} checkNow  one poll, when one is due and the client is connected
 * @property {() => boolean} retired  the service does not serve budgets: polling stopped for good
 */

/**
 * @param {object} deps
 * @param {() => import("./client.js").CaptureClient | null} deps.client  the client if one exists; never makes one
 * @param {(message: string) => void} deps.warn
 * @param {(message: string) => void} deps.debug
 * @param {() => number} [deps.now]
 * @param {number} [deps.pollMs]  at most one poll per this long
 * @param {number} [deps.tickMs]  how often to look whether a poll is due
 * @returns {BudgetWatch}
 */
export function createBudgetWatch(deps) {
  const now = deps.now ?? Date.now;
  const pollMs = deps.pollMs ?? BUDGET_POLL_MS;
  const tickMs = deps.tickMs ?? BUDGET_TICK_MS;
  /** @type {NodeJS.Timeout | null} */
  let timer = null;
  let retired = false;
  let running = false;
  /** @type {number | null} */
  let lastPollAt = null;
  /** @type {{day: string | null, warned: Set<string>, overflowNoted: boolean}} */
  const today = { day: null, warned: new Set(), overflowNoted: false };

  const stop = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };

  const due = () => {
    if (lastPollAt === null) return true;
    const since = now() - lastPollAt;
    return since < 0 || since >= pollMs;
  };

  /** @param {unknown} answer */
  const warnExceeded = (answer) => {
    const a = objectOrEmpty(answer);
    const day = typeof a.day === "string" && DAY.test(a.day) ? a.day : utcDay(now());
    if (day !== today.day) {
      today.day = day;
      today.warned = new Set();
      today.overflowNoted = false;
    }
    for (const budget of Array.isArray(a.budgets) ? a.budgets : []) {
      if (!isPlainObject(budget) || budget.exceeded !== true) continue;
      const subject = subjectName(budget.subject);
      if (subject === null || today.warned.has(subject.key)) continue;
      if (today.warned.size >= WARNED_LIMIT) {
        if (!today.overflowNoted) {
          today.overflowNoted = true;
          deps.warn(`budget exceeded: more than ${WARNED_LIMIT} budgets today (UTC ${day}); the rest are not listed here (openclaw taas budgets); calls are not blocked`);
        }
        continue;
      }
      today.warned.add(subject.key);
      deps.warn(exceededLine(subject.name, budget, day));
    }
  };

  const checkNow = async () => {
    if (retired || running || !due()) return;
    const client = deps.client();
    if (client === null || !client.counters().connected) return;
    running = true;
    lastPollAt = now();
    try {
      warnExceeded(await client.call("taas.capture.budgets", {}));
    } catch (error) {
      if (isUnknownMethod(error)) {
        retired = true;
        stop();
        deps.debug("[taas-affinity] the taas-capture service serves no taas.capture.budgets (older version): budget warnings off");
      } else {
        deps.debug(`[taas-affinity] budget check: ${errorText(error)}`);
      }
    } finally {
      running = false;
    }
  };

  return {
    start() {
      if (timer !== null || retired) return;
      timer = setInterval(() => void checkNow(), tickMs);
      timer.unref();
    },
    stop,
    checkNow,
    retired: () => retired,
  };
}
