// One real `taas-capture serve` per test suite: started before the suite's tests, stopped and its
// directory removed after them. Kept apart from harness.js, which the soak script imports too.
import { after, before } from "node:test";
import { removeDir, startRealService } from "./harness.js";

/**
 * The suite's service: `socketPath` and `stderr` read the running one; `stop()` and `start()` let a
 * test take it away and bring it back on the same socket and database.
 * @param {string} bin  the taas-capture binary
 * @param {string} dir  a fresh directory for the socket and database (removed after the suite)
 * @param {{args?: string[]}} [options]  more `serve` options
 */
export function realServiceForSuite(bin, dir, options = {}) {
  /** @type {Awaited<ReturnType<typeof startRealService>> | undefined} */
  let running;
  const handle = {
    get socketPath() {
      return /** @type {NonNullable<typeof running>} */ (running).socketPath;
    },
    get stderr() {
      return /** @type {NonNullable<typeof running>} */ (running).stderr;
    },
    async start() {
      running = await startRealService(bin, dir, options);
    },
    async stop() {
      await running?.stop();
    },
  };
  before(() => handle.start());
  after(async () => {
    await handle.stop();
    removeDir(dir);
  });
  return handle;
}
