/**
 * Command-line parsing for `ems-licensing`, driven by a table of commands and options
 * (command-table.ts): a command is one registration, and help, did-you-mean and "that option is
 * not for this command" all come from the same table. Options may stand anywhere on the line,
 * before or after the command and its operands; `--` ends the options.
 */
import { closest } from '../shared/did-you-mean.js';

/** One option. `value` names its argument (`FILE`, `N`); without it the option is a switch. */
export interface FlagSpec {
  /** Long name, without the dashes. */
  name: string;
  /** One-letter alias, without the dash. */
  short?: string;
  value?: string;
  help: string;
  /** Said after "plan does not take --x (y does)": where the user more likely meant to go. */
  elsewhere?: string;
}

/** A positional argument of a command (`explain <user>`). */
export interface OperandSpec {
  name: string;
  required: boolean;
}

/** What the parser needs to know about a command. */
export interface CommandShape {
  name: string;
  summary: string;
  operands: readonly OperandSpec[];
  /** Names of the options this command takes besides the global ones. */
  flags: readonly string[];
}

/** Everything the parser knows: the commands, every option, and which options every command takes. */
export interface CommandTable {
  commands: readonly CommandShape[];
  flags: readonly FlagSpec[];
  global: readonly string[];
}

/** The line, split into the command, its operands and the options given (name → value). */
export interface ParsedLine {
  /** Null when no command was given (only options such as --help or --version). */
  command: string | null;
  operands: string[];
  options: Map<string, string | true>;
}

/** The command line is wrong; the message says what to type instead. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command the line was for, when known (its help is shown). */
  readonly command: string | null;

  constructor(message: string, command: string | null = null) {
    super(message);
    this.command = command;
  }
}

const flagText = (f: FlagSpec): string => `--${f.name}${f.value ? ` ${f.value}` : ''}`;

function suggestFlag(name: string, candidates: readonly FlagSpec[]): string {
  const near = closest(
    name,
    candidates.map((f) => f.name),
  );
  return near === null ? 'see --help for the options' : `did you mean --${near}?`;
}

/**
 * Splits `argv` by the table. Throws {@link UsageError} for an unknown command or option (with a
 * did-you-mean), an option the command does not take, a missing or unexpected value, or a missing
 * or extra operand.
 */
export function parseCommandLine(argv: readonly string[], table: CommandTable): ParsedLine {
  const byName = new Map(table.flags.map((f) => [f.name, f]));
  const byShort = new Map(table.flags.filter((f) => f.short).map((f) => [f.short ?? '', f]));
  const positionals: string[] = [];
  const options = new Map<string, string | true>();

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      positionals.push(token);
      continue;
    }
    const long = token.startsWith('--');
    const eq = long ? token.indexOf('=') : -1;
    const name = long ? token.slice(2, eq === -1 ? undefined : eq) : token.slice(1);
    const inline = eq === -1 ? undefined : token.slice(eq + 1);
    const flag = long ? byName.get(name) : byShort.get(name);
    if (!flag) {
      throw new UsageError(
        `Unknown option ${long ? '--' : '-'}${name}: ${suggestFlag(name, table.flags)}`,
        positionals[0] ?? null,
      );
    }
    if (flag.value === undefined) {
      if (inline !== undefined) throw new UsageError(`--${flag.name} takes no value (got "${inline}").`);
      options.set(flag.name, true);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      // A following option is not a value: `--rules --json` forgot the file.
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`${flagText(flag)}: the ${flag.value} is missing.`, positionals[0] ?? null);
      }
      value = next;
      i++;
    }
    if (value === '') throw new UsageError(`${flagText(flag)}: the ${flag.value} is empty.`);
    options.set(flag.name, value);
  }

  const [commandName, ...operands] = positionals;
  if (commandName === undefined) return { command: null, operands: [], options };
  const command = table.commands.find((c) => c.name === commandName);
  if (!command) {
    const near = closest(
      commandName,
      table.commands.map((c) => c.name),
    );
    throw new UsageError(
      `Unknown command "${commandName}": ${
        near === null
          ? `the commands are ${table.commands.map((c) => c.name).join(', ')}`
          : `did you mean "${near}"?`
      }`,
    );
  }
  for (const name of options.keys()) {
    if (table.global.includes(name) || command.flags.includes(name)) continue;
    const takers = table.commands.filter((c) => c.flags.includes(name)).map((c) => c.name);
    const elsewhere = byName.get(name)?.elsewhere;
    throw new UsageError(
      `${command.name} does not take --${name}${takers.length > 0 ? ` (${takers.join(', ')} ${takers.length === 1 ? 'does' : 'do'}${elsewhere ? `; ${elsewhere}` : ''})` : ''}.`,
      command.name,
    );
  }
  const required = command.operands.filter((o) => o.required);
  if (operands.length < required.length) {
    const missing = required[operands.length];
    throw new UsageError(
      `${command.name} needs ${missing ? `<${missing.name}>` : 'more arguments'}: ${usageLine(command)}`,
      command.name,
    );
  }
  if (operands.length > command.operands.length) {
    throw new UsageError(
      `Unexpected argument "${operands[command.operands.length] ?? ''}" after ${command.name}: ${usageLine(command)}`,
      command.name,
    );
  }
  return { command: command.name, operands, options };
}

/** `explain <user> [--json] …` (operands only; options are listed under it in the help). */
export function usageLine(command: CommandShape): string {
  const operands = command.operands.map((o) => (o.required ? `<${o.name}>` : `[${o.name}]`));
  return ['ems-licensing', command.name, ...operands].join(' ');
}

/**
 * The option names npm took for itself. Run as `npm run cli plan --json` (without `--`), npm reads
 * `--json` as its own setting: the CLI never sees it, and npm hands it over only as the
 * environment variable `npm_config_json`. A value that went with such an option (`--rules x.yaml`)
 * arrives as a stray argument. Only checked under `npm run` (`npm_command` is `run`, or
 * `run-script` before npm 10): `npx ems-licensing` passes every option through.
 */
export function optionsTakenByNpm(
  env: Record<string, string | undefined>,
  flags: readonly FlagSpec[],
): string[] {
  if (env.npm_command !== 'run' && env.npm_command !== 'run-script') return [];
  // An option npm took has a value (`true`, or the value that followed it); an empty one was set
  // in the environment beforehand (some shells and CI images export `npm_config_yes=`).
  return flags
    .filter((f) => (env[`npm_config_${f.name.replace(/-/g, '_')}`] ?? '') !== '')
    .map((f) => `--${f.name}`);
}

/** The parsed command line, typed: what every command reads. */
export interface CliArgs {
  command: string;
  /** The operands after the command (`explain`: the user). */
  operands: string[];
  /** `explain`: the user's object id or UPN. */
  user: string | null;
  rules: string | null;
  graphUrl: string | null;
  json: boolean;
  concurrency: number | null;
  resetSample: boolean;
  /** `apply`: do not ask before changing many users. */
  yes: boolean;
  /** Print stack traces and causes of failures. */
  debug: boolean;
  /** `--no-color`: plain text even on a terminal. */
  noColor: boolean;
  /** `import-gbl`: where to write the rules (default rules.gbl.yaml), overwrite it, usageLocation default. */
  out: string | null;
  force: boolean;
  usageLocation: string | null;
  /** `take-over`, `revert`: make the changes (dry run otherwise). */
  apply: boolean;
  /** `revert`: the run id; `held`, `release`: the round id. */
  target: string | null;
  /** `plan`, `revert`: print the plan for a change board instead of one line per user. */
  format: PlanFormat | null;
  /** `apply`: carry out this saved plan (written by `plan --out`) and nothing else. */
  plan: string | null;
  /** `apply`, `revert --apply`: the run may remove or reduce licenses for up to this many users. */
  allowRemovals: number | null;
  /** `apply`, `validate`: go ahead although the rules look wrong (`validate`: exit 0). */
  acceptWarnings: boolean;
  /** `release`: drop the round instead: nothing it held is made. */
  discard: boolean;
  /** `history`: how many jobs to show (default 20). */
  limit: number | null;
}

export const PLAN_FORMATS = ['markdown', 'csv'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

/** A whole number option within bounds, or null when not given. */
function wholeNumber(
  line: ParsedLine & { command: string },
  name: string,
  min: number,
  max: number,
): number | null {
  const raw = stringOption(line, name);
  if (raw === null) return null;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new UsageError(
      `--${name} must be a whole number from ${String(min)} to ${String(max)}, got "${raw}".`,
      line.command,
    );
  }
  return n;
}

function formatOption(line: ParsedLine & { command: string }): PlanFormat | null {
  const raw = stringOption(line, 'format');
  if (raw === null) return null;
  if (!(PLAN_FORMATS as readonly string[]).includes(raw)) {
    throw new UsageError(`--format must be one of ${PLAN_FORMATS.join(', ')}, got "${raw}".`, line.command);
  }
  if (line.options.has('json')) throw new UsageError('--format and --json cannot be combined.', line.command);
  return raw as PlanFormat;
}

function stringOption(line: ParsedLine, name: string): string | null {
  const v = line.options.get(name);
  return typeof v === 'string' ? v : null;
}

/** Turns a parsed line into {@link CliArgs}, checking option values (`--concurrency 1..64`). */
export function toCliArgs(line: ParsedLine & { command: string }): CliArgs {
  const rawConcurrency = stringOption(line, 'concurrency');
  let concurrency: number | null = null;
  if (rawConcurrency !== null) {
    concurrency = Number(rawConcurrency);
    if (!/^\d+$/.test(rawConcurrency) || concurrency < 1 || concurrency > 64) {
      throw new UsageError(
        `--concurrency must be a whole number from 1 to 64, got "${rawConcurrency}".`,
        line.command,
      );
    }
  }
  const rawLocation = stringOption(line, 'usage-location');
  const usageLocation = rawLocation?.toUpperCase() ?? null;
  if (rawLocation !== null && !/^[A-Z]{2}$/.test(usageLocation ?? '')) {
    throw new UsageError(
      `--usage-location takes a two-letter country code (ISO 3166-1 alpha-2, e.g. US), got "${rawLocation}".`,
      line.command,
    );
  }
  return {
    command: line.command,
    operands: line.operands,
    user: line.command === 'explain' || line.command === 'history' ? (line.operands[0] ?? null) : null,
    rules: stringOption(line, 'rules'),
    graphUrl: stringOption(line, 'graph-url'),
    json: line.options.has('json'),
    concurrency,
    resetSample: line.options.has('reset-sample'),
    yes: line.options.has('yes'),
    debug: line.options.has('debug'),
    noColor: line.options.has('no-color'),
    out: stringOption(line, 'out'),
    force: line.options.has('force'),
    usageLocation,
    apply: line.options.has('apply'),
    target: ['revert', 'held', 'release'].includes(line.command) ? (line.operands[0] ?? null) : null,
    format: formatOption(line),
    plan: stringOption(line, 'plan'),
    allowRemovals: wholeNumber(line, 'allow-removals', 0, 10_000_000),
    acceptWarnings: line.options.has('accept-warnings'),
    discard: line.options.has('discard'),
    limit: wholeNumber(line, 'limit', 1, 10_000),
  };
}
