// A faithful subset of commander 14 (the `commander` the OpenClaw host builds its CLI with:
// `"commander": "^14.0.3"`), for testing `openclaw taas` without npm. Ported from
// tj/commander.js v14.0.3 lib/command.js, lib/option.js, lib/argument.js, lib/error.js; names,
// error codes, messages and exit codes are commander's. Only what the plugin and the simulated host
// use: command/description/name/option/requiredOption/argument/action/opts/parseAsync/
// exitOverride/configureOutput/showHelpAfterError/error/help, subcommand dispatch, option
// parsing (`--flag`, `--opt value`, `--opt=value`, `-o value`), mandatory options, missing and
// excess arguments, unknown options and commands, `-h`/`--help`. Not ported: suggestions after
// errors, the implicit `help` command, negated and variadic options, env options, hooks, executable
// subcommands, positional options, parse-state save/restore (a program here is parsed once). The
// help text is a plain layout of the same content, not commander's Help class.
import { EventEmitter } from "node:events";

/** lib/error.js: an exit commander asks for, thrown through an exitOverride callback. */
export class CommanderError extends Error {
  /** @param {number} exitCode @param {string} code @param {string} message */
  constructor(exitCode, code, message) {
    super(message);
    this.name = "CommanderError";
    this.code = code;
    this.exitCode = exitCode;
    this.nestedError = undefined;
  }
}

/** lib/option.js `camelcase`. @param {string} str */
function camelcase(str) {
  return str.split("-").reduce((s, word) => s + word[0].toUpperCase() + word.slice(1));
}

/** lib/option.js `Option`, short and long flags with a required (`<>`) or optional (`[]`) value. */
class Option {
  /** @param {string} flags @param {string} [description] */
  constructor(flags, description) {
    this.flags = flags;
    this.description = description || "";
    this.required = flags.includes("<");
    this.optional = flags.includes("[");
    this.mandatory = false;
    this.defaultValue = undefined;
    const parts = flags.split(/[ |,]+/);
    this.short = /^-[^-]$/.test(parts[0]) ? parts.shift() : undefined;
    this.long = /^--[^-]/.test(parts[0] ?? "") ? parts.shift() : undefined;
  }

  name() {
    return this.long ? this.long.replace(/^--/, "") : String(this.short).replace(/^-/, "");
  }

  attributeName() {
    return camelcase(this.name());
  }

  /** @param {string} arg */
  is(arg) {
    return this.short === arg || this.long === arg;
  }

  isBoolean() {
    return !this.required && !this.optional;
  }
}

/** lib/argument.js `Argument`: `<required>` or `[optional]`. */
class Argument {
  /** @param {string} name @param {string} [description] */
  constructor(name, description) {
    this.description = description || "";
    this.required = name[0] !== "[";
    this._name = name[0] === "<" || name[0] === "[" ? name.slice(1, -1) : name;
    this.defaultValue = undefined;
  }

  name() {
    return this._name;
  }
}

export class Command extends EventEmitter {
  /** @param {string} [name] */
  constructor(name) {
    super();
    /** @type {Command[]} */
    this.commands = [];
    /** @type {Option[]} */
    this.options = [];
    /** @type {Command | null} */
    this.parent = null;
    /** @type {Argument[]} */
    this.registeredArguments = [];
    /** @type {string[]} */
    this.args = [];
    /** @type {unknown[]} */
    this.processedArgs = [];
    this._name = name || "";
    /** @type {Record<string, unknown>} */
    this._optionValues = {};
    /** @type {((args: unknown[]) => unknown) | null} */
    this._actionHandler = null;
    /** @type {((err: CommanderError) => void) | null} */
    this._exitCallback = null;
    this._description = "";
    this._allowExcessArguments = false;
    /** @type {boolean | string} */
    this._showHelpAfterError = false;
    this._showSuggestionAfterError = true;
    this._helpFlags = ["-h", "--help"];
    this._outputConfiguration = {
      writeOut: (/** @type {string} */ str) => process.stdout.write(str),
      writeErr: (/** @type {string} */ str) => process.stderr.write(str),
      outputError: (/** @type {string} */ str, /** @type {(s: string) => void} */ write) => write(str),
    };
  }

  /** `.command()` copies these from the parent (command.js `copyInheritedSettings`). @param {Command} source */
  copyInheritedSettings(source) {
    this._outputConfiguration = source._outputConfiguration;
    this._exitCallback = source._exitCallback;
    this._allowExcessArguments = source._allowExcessArguments;
    this._showHelpAfterError = source._showHelpAfterError;
    this._showSuggestionAfterError = source._showSuggestionAfterError;
    return this;
  }

  /** @param {string} nameAndArgs  `name <arg> [arg]` @returns {Command} the new subcommand */
  command(nameAndArgs) {
    const [, name, args] = /** @type {RegExpMatchArray} */ (nameAndArgs.match(/([^ ]+) *(.*)/));
    const cmd = new Command(name);
    if (args) for (const arg of args.split(/ +/)) cmd.argument(arg);
    if (this._findCommand(name)) throw new Error(`cannot add command '${name}' as already have command '${name}'`);
    this.commands.push(cmd);
    cmd.parent = this;
    cmd.copyInheritedSettings(this);
    return cmd;
  }

  /** @param {string} [str] */
  name(str) {
    if (str === undefined) return this._name;
    this._name = str;
    return this;
  }

  /** @param {string} [str] */
  description(str) {
    if (str === undefined) return this._description;
    this._description = str;
    return this;
  }

  /** @param {{writeOut?: Function, writeErr?: Function, outputError?: Function}} [configuration] */
  configureOutput(configuration) {
    if (configuration === undefined) return this._outputConfiguration;
    this._outputConfiguration = { ...this._outputConfiguration, ...configuration };
    return this;
  }

  /** @param {boolean | string} [displayHelp] */
  showHelpAfterError(displayHelp = true) {
    this._showHelpAfterError = typeof displayHelp === "string" ? displayHelp : !!displayHelp;
    return this;
  }

  /** @param {boolean} [displaySuggestion] */
  showSuggestionAfterError(displaySuggestion = true) {
    this._showSuggestionAfterError = !!displaySuggestion;
    return this;
  }

  /** @param {string} name @param {string} [description] */
  argument(name, description) {
    this.registeredArguments.push(new Argument(name, description));
    return this;
  }

  /** Without a callback: throw the CommanderError (command.js `exitOverride`). @param {(err: CommanderError) => void} [fn] */
  exitOverride(fn) {
    this._exitCallback =
      fn ??
      ((err) => {
        throw err;
      });
    return this;
  }

  /** @param {number} exitCode @param {string} code @param {string} message */
  _exit(exitCode, code, message) {
    if (this._exitCallback) this._exitCallback(new CommanderError(exitCode, code, message));
    process.exit(exitCode);
  }

  /** @param {(...args: any[]) => unknown} fn */
  action(fn) {
    this._actionHandler = (args) => {
      const expected = this.registeredArguments.length;
      const actionArgs = args.slice(0, expected);
      actionArgs[expected] = this.opts();
      actionArgs.push(this);
      return fn.apply(this, actionArgs);
    };
    return this;
  }

  /** @param {{mandatory: boolean}} config @param {string} flags @param {string} [description] @param {unknown} [defaultValue] */
  _optionEx(config, flags, description, defaultValue) {
    const option = new Option(flags, description);
    option.mandatory = config.mandatory;
    option.defaultValue = defaultValue;
    if (this.options.some((o) => (option.long && o.is(option.long)) || (option.short && o.is(option.short)))) {
      throw new Error(`Cannot add option '${flags}' to command '${this._name}' due to conflicting flag`);
    }
    this.options.push(option);
    const name = option.attributeName();
    if (defaultValue !== undefined) this._optionValues[name] = defaultValue;
    this.on(`option:${option.name()}`, (/** @type {string | undefined} */ val) => {
      this._optionValues[name] = val == null ? (option.isBoolean() || option.optional ? true : "") : val;
    });
    return this;
  }

  /** @param {string} flags @param {string} [description] @param {unknown} [defaultValue] */
  option(flags, description, defaultValue) {
    return this._optionEx({ mandatory: false }, flags, description, defaultValue);
  }

  /** @param {string} flags @param {string} [description] @param {unknown} [defaultValue] */
  requiredOption(flags, description, defaultValue) {
    return this._optionEx({ mandatory: true }, flags, description, defaultValue);
  }

  opts() {
    return this._optionValues;
  }

  /**
   * @param {string[]} argv
   * @param {{from?: "node" | "user"}} [parseOptions]
   */
  async parseAsync(argv, parseOptions = {}) {
    const userArgs = parseOptions.from === "user" ? argv.slice(0) : argv.slice(2);
    if (!this._name) this._name = "program";
    await this._parseCommand([], userArgs);
    return this;
  }

  /** @param {string} [name] */
  _findCommand(name) {
    return name ? this.commands.find((cmd) => cmd._name === name) : undefined;
  }

  /** @param {string} arg */
  _findOption(arg) {
    return this.options.find((option) => option.is(arg));
  }

  /** command.js `parseOptions`: options of this command; the rest are operands, or unknown from the first unknown option on. @param {string[]} args */
  parseOptions(args) {
    /** @type {string[]} */
    const operands = [];
    /** @type {string[]} */
    const unknown = [];
    let dest = operands;
    const maybeOption = (/** @type {string} */ arg) => arg.length > 1 && arg[0] === "-";
    let i = 0;
    while (i < args.length) {
      const arg = args[i++];
      if (arg === "--") {
        if (dest === unknown) dest.push(arg);
        dest.push(...args.slice(i));
        break;
      }
      if (maybeOption(arg)) {
        const option = this._findOption(arg);
        if (option) {
          if (option.required) {
            const value = args[i++];
            if (value === undefined) this.optionMissingArgument(option);
            this.emit(`option:${option.name()}`, value);
          } else if (option.optional) {
            const value = i < args.length && !maybeOption(args[i]) ? args[i++] : null;
            this.emit(`option:${option.name()}`, value);
          } else {
            this.emit(`option:${option.name()}`);
          }
          continue;
        }
      }
      if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
        const option = this._findOption(`-${arg[1]}`);
        if (option && (option.required || option.optional)) {
          this.emit(`option:${option.name()}`, arg.slice(2));
          continue;
        }
      }
      if (/^--[^=]+=/.test(arg)) {
        const index = arg.indexOf("=");
        const option = this._findOption(arg.slice(0, index));
        if (option && (option.required || option.optional)) {
          this.emit(`option:${option.name()}`, arg.slice(index + 1));
          continue;
        }
      }
      if (dest === operands && maybeOption(arg)) dest = unknown;
      dest.push(arg);
    }
    return { operands, unknown };
  }

  /** command.js `_parseCommand`. @param {string[]} operands @param {string[]} unknown @returns {unknown} */
  _parseCommand(operands, unknown) {
    const parsed = this.parseOptions(unknown);
    operands = operands.concat(parsed.operands);
    unknown = parsed.unknown;
    this.args = operands.concat(unknown);
    const sub = this._findCommand(operands[0]);
    if (sub) return sub._parseCommand(operands.slice(1), unknown);
    if (this.commands.length && this.args.length === 0 && !this._actionHandler) this.help({ error: true });
    this._outputHelpIfRequested(parsed.unknown);
    this._checkForMissingMandatoryOptions();
    const checkForUnknownOptions = () => {
      if (parsed.unknown.length > 0) this.unknownOption(parsed.unknown[0]);
    };
    if (this._actionHandler) {
      checkForUnknownOptions();
      this._processArguments();
      return this._actionHandler(this.processedArgs);
    }
    if (operands.length && this.commands.length) return this.unknownCommand();
    checkForUnknownOptions();
    if (this.commands.length) this.help({ error: true });
    this._processArguments();
    return undefined;
  }

  _checkForMissingMandatoryOptions() {
    for (let cmd = /** @type {Command | null} */ (this); cmd; cmd = cmd.parent) {
      for (const option of cmd.options) {
        if (option.mandatory && cmd._optionValues[option.attributeName()] === undefined) cmd.missingMandatoryOptionValue(option);
      }
    }
  }

  _processArguments() {
    this.registeredArguments.forEach((arg, i) => {
      if (arg.required && this.args[i] == null) this.missingArgument(arg.name());
    });
    if (this.args.length > this.registeredArguments.length) this._excessArguments(this.args);
    this.processedArgs = this.registeredArguments.map((arg, i) => (i < this.args.length ? this.args[i] : arg.defaultValue));
  }

  /** @param {string} message @param {{exitCode?: number, code?: string}} [errorOptions] */
  error(message, errorOptions) {
    this._outputConfiguration.outputError(`${message}\n`, this._outputConfiguration.writeErr);
    if (typeof this._showHelpAfterError === "string") {
      this._outputConfiguration.writeErr(`${this._showHelpAfterError}\n`);
    } else if (this._showHelpAfterError) {
      this._outputConfiguration.writeErr("\n");
      this.outputHelp({ error: true });
    }
    const config = errorOptions || {};
    this._exit(config.exitCode || 1, config.code || "commander.error", message);
  }

  /** @param {string} name */
  missingArgument(name) {
    this.error(`error: missing required argument '${name}'`, { code: "commander.missingArgument" });
  }

  /** @param {Option} option */
  optionMissingArgument(option) {
    this.error(`error: option '${option.flags}' argument missing`, { code: "commander.optionMissingArgument" });
  }

  /** @param {Option} option */
  missingMandatoryOptionValue(option) {
    this.error(`error: required option '${option.flags}' not specified`, { code: "commander.missingMandatoryOptionValue" });
  }

  /** @param {string} flag */
  unknownOption(flag) {
    this.error(`error: unknown option '${flag}'`, { code: "commander.unknownOption" });
  }

  /** @param {string[]} receivedArgs */
  _excessArguments(receivedArgs) {
    if (this._allowExcessArguments) return;
    const expected = this.registeredArguments.length;
    const forSubcommand = this.parent ? ` for '${this.name()}'` : "";
    this.error(`error: too many arguments${forSubcommand}. Expected ${expected} argument${expected === 1 ? "" : "s"} but got ${receivedArgs.length}.`, {
      code: "commander.excessArguments",
    });
  }

  unknownCommand() {
    this.error(`error: unknown command '${this.args[0]}'`, { code: "commander.unknownCommand" });
  }

  /** The help text: usage, description, arguments, options, subcommands. */
  helpInformation() {
    const path = [];
    for (let cmd = /** @type {Command | null} */ (this); cmd; cmd = cmd.parent) path.unshift(cmd._name);
    const args = this.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(" ");
    const lines = [`Usage: ${path.join(" ")} [options]${this.commands.length ? " [command]" : ""}${args ? ` ${args}` : ""}`];
    if (this._description) lines.push("", this._description);
    const options = [...this.options.map((o) => [o.flags, o.description]), ["-h, --help", "display help for command"]];
    lines.push("", "Options:", ...options.map(([flags, d]) => `  ${flags.padEnd(28)} ${d}`));
    if (this.commands.length) lines.push("", "Commands:", ...this.commands.map((c) => `  ${c._name.padEnd(28)} ${c._description}`));
    return `${lines.join("\n")}\n`;
  }

  /** @param {{error?: boolean}} [contextOptions] */
  outputHelp(contextOptions) {
    const write = contextOptions?.error ? this._outputConfiguration.writeErr : this._outputConfiguration.writeOut;
    write(this.helpInformation());
  }

  /** command.js `help`: exit code from process.exitCode, 1 for `{error: true}`. @param {{error?: boolean}} [contextOptions] */
  help(contextOptions) {
    this.outputHelp(contextOptions);
    let exitCode = Number(process.exitCode ?? 0);
    if (exitCode === 0 && contextOptions?.error) exitCode = 1;
    this._exit(exitCode, "commander.help", "(outputHelp)");
  }

  /** @param {string[]} args */
  _outputHelpIfRequested(args) {
    if (args.some((arg) => this._helpFlags.includes(arg))) {
      this.outputHelp();
      this._exit(0, "commander.helpDisplayed", "(outputHelp)");
    }
  }
}
