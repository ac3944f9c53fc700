// `openclaw taas …` (SPEC v3 "`openclaw taas`"): the query subcommands of `taas-capture`, added to
// the host's commander program through `api.registerCli` (HOST-NOTES-cli.md). Same selectors,
// tables, `--json` (the raw JSON-RPC result) and exit status as `taas-capture`: 0 success, 1 a
// failure with one line on stderr, 2 bad usage, checked before anything is sent. Each command asks
// the service over its socket on a connection of its own; registering opens nothing.
import { SUBCOMMANDS } from "./cli-commands.js";
import { EXIT_USAGE } from "./cli-support.js";

/** @typedef {import("./cli-support.js").CliDeps} CliDeps */

/** The root command, as the manifest's `cliCommands` row and `registerCli`'s descriptor name it. */
export const TAAS_COMMAND = Object.freeze({
  name: "taas",
  description: "Routes, history, usage and algorithm pins from the taas-capture service",
  hasSubcommands: true,
});

/**
 * `api.registerCli` with the `taas` descriptor (also on hosts that only read `commands`), when the
 * host offers it. The registrar only builds commands; nothing is opened until one runs.
 * @param {any} api
 * @param {CliDeps} deps
 * @returns {boolean} whether the host took it
 */
export function registerTaasCli(api, deps) {
  if (typeof api.registerCli !== "function") return false;
  try {
    registerWith(api, deps);
    return true;
  } catch {
    // A host that refuses the command (another plugin registered `taas` first) must not fail the plugin.
    return false;
  }
}

/** @param {any} api @param {CliDeps} deps */
function registerWith(api, deps) {
  api.registerCli(
    (/** @type {any} */ ctx) => {
      addTaasCommand(ctx.program, { ...deps, hostConfig: ctx.config ?? deps.hostConfig });
    },
    {
      commands: [TAAS_COMMAND.name],
      descriptors: [{ ...TAAS_COMMAND, machineOutput: (/** @type {{argv: readonly string[]}} */ o) => o.argv.includes("--json") }],
    },
  );
}

/**
 * `taas` and its subcommands on the host's commander program.
 * @param {any} program  commander `Command`
 * @param {CliDeps} deps
 * @returns {any} the `taas` command
 */
export function addTaasCommand(program, deps) {
  const taas = program.command(TAAS_COMMAND.name).description(TAAS_COMMAND.description);
  // Read before replacing it: the host's own exitOverride, inherited through `.command()`
  // (commander keeps it in `_exitCallback`; there is no public getter).
  const hostExit = typeof taas._exitCallback === "function" ? taas._exitCallback : null;
  taas.exitOverride((/** @type {any} */ error) => usageExit(error, hostExit, deps.exit ?? ((code) => process.exit(code))));
  taas.showHelpAfterError(false);
  for (const add of SUBCOMMANDS) add(taas, deps);
  return taas;
}

/**
 * Commander's usage errors (unknown option, missing value, missing subcommand…) exit 2, help 0.
 * The host's own exitOverride (it sets `process.exitCode` and throws to its catch) gets the error
 * with that code; without one, exit as commander would have, with that code.
 * @param {{exitCode: number}} error  a CommanderError
 * @param {((error: any) => void) | null} hostExit
 * @param {(code: number) => void} exit
 */
function usageExit(error, hostExit, exit) {
  error.exitCode = error.exitCode === 0 ? 0 : EXIT_USAGE;
  if (hostExit !== null) hostExit(error);
  exit(error.exitCode);
}

