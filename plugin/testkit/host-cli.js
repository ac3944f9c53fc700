// `openclaw …` as the host runs a plugin command (read from openclaw/openclaw; HOST-NOTES-cli.md):
// a commander program named `openclaw` with the host's own output configuration and exitOverride
// (`process.exitCode = err.exitCode; throw err`), each plugin registrar called with
// `{program, parentPath: [], config, workspaceDir, logger}` and awaited
// (src/plugins/cli-registry-loader.ts), then `await program.parseAsync(argv)` inside
// `try … catch (error) { if (!isCommanderParseExit(error)) throw error; process.exitCode = error.exitCode }`
// (src/cli/run-main.ts). The exit status is what `process.exitCode` holds afterwards; it is
// restored before returning so the test process keeps its own.
import { Command } from "./commander.js";

/**
 * The host's test for a commander exit it handles itself (run-main.ts `isCommanderParseExit`).
 * @param {unknown} error
 * @returns {error is {exitCode: number, code: string}}
 */
export function isCommanderParseExit(error) {
  if (!error || typeof error !== "object") return false;
  const candidate = /** @type {{code?: unknown, exitCode?: unknown}} */ (error);
  return typeof candidate.exitCode === "number" && Number.isInteger(candidate.exitCode) && typeof candidate.code === "string" && candidate.code.startsWith("commander.");
}

/**
 * Runs `openclaw <argv…>` with the registrars a simulated host collected.
 * @param {{registrar: Function}[]} registrars  `host.cliRegistrars`
 * @param {string[]} argv  the user's arguments, e.g. ["taas", "status", "--json"]
 * @param {{config?: any, hostExitOverride?: boolean}} [options]  `hostExitOverride: false`: a host that leaves commander's default exit
 * @returns {Promise<{code: number, stdout: string, stderr: string}>}
 */
export async function runOpenclaw(registrars, argv, options = {}) {
  const stdout = [];
  const stderr = [];
  const program = new Command("openclaw");
  program.configureOutput({ writeOut: (/** @type {string} */ s) => stdout.push(s), writeErr: (/** @type {string} */ s) => stderr.push(s) });
  if (options.hostExitOverride !== false) {
    program.exitOverride((err) => {
      process.exitCode = typeof err.exitCode === "number" ? err.exitCode : 1;
      throw err;
    });
  }
  program.option("--profile <name>", "Use a named profile");
  const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  for (const { registrar } of registrars) {
    await registrar({ program, parentPath: [], config: options.config ?? {}, workspaceDir: undefined, logger });
  }
  const saved = process.exitCode;
  process.exitCode = undefined;
  let code = 0;
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (!isCommanderParseExit(error)) throw error;
    process.exitCode = error.exitCode;
  } finally {
    // Read before restoring: the test process's own status must not change.
    code = Number(process.exitCode ?? 0);
    process.exitCode = saved;
  }
  return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}
