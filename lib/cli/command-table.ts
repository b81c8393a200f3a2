/**
 * The commands of `ems-licensing` and their options: one registration each. Parsing, `--help`,
 * did-you-mean for commands and options, and "that option is not for this command" all come from
 * this table (args.ts, help.ts). To add a command: write its `run` in a file of its own, list its
 * options here (adding new ones to FLAGS and to CliArgs in args.ts), and document it in docs/cli.md.
 */
import {
  parseCommandLine,
  toCliArgs,
  UsageError,
  type CliArgs,
  type CommandShape,
  type CommandTable,
  type FlagSpec,
} from './args.js';
import { runApply } from './apply-command.js';
import type { CommandContext } from './command-context.js';
import { runExplain } from './commands.js';
import { runHeld, runRelease } from './held-command.js';
import { runHistory } from './history-command.js';
import { runImportGbl } from './import-gbl.js';
import { runPlan } from './plan-command.js';
import { runRevert } from './revert-command.js';
import { validateCommand } from './validate-command.js';
import { runSeats } from './seats-command.js';
import { runTakeOver } from './take-over.js';

/** A command: its shape for the parser and help, and what it does. */
export interface CommandSpec extends CommandShape {
  run(c: CommandContext): Promise<number>;
  /**
   * The command changes the tenant and records to storage (apply; take-over with --apply): the
   * sample tenant is saved after it, and a closed stdout does not stop it half-way.
   */
  writes?: (args: CliArgs) => boolean;
}

/** Whether this command line changes the tenant (see {@link CommandSpec.writes}). */
export function commandWrites(args: CliArgs): boolean {
  return COMMANDS.find((c) => c.name === args.command)?.writes?.(args) === true;
}

export const FLAGS: readonly FlagSpec[] = [
  {
    name: 'rules',
    value: 'FILE',
    help: 'Rules file (default: RULES_PATH, else ./rules.yaml; the sample tenant uses examples/rules.yaml when neither exists)',
  },
  {
    name: 'graph-url',
    value: 'URL',
    help: 'Microsoft Graph base URL (default: GRAPH_BASE_URL). With neither set and no AZURE_TENANT_ID, the bundled sample tenant is started on loopback',
  },
  {
    name: 'json',
    help: 'Machine-readable output on stdout, nothing else there (messages and the summary go to stderr)',
  },
  {
    name: 'concurrency',
    value: 'N',
    help: 'Users processed at once, 1 to 64 (default: RECONCILE_CONCURRENCY or 8)',
  },
  { name: 'reset-sample', help: 'Start the sample tenant from its original state (forget earlier applies)' },
  {
    name: 'yes',
    short: 'y',
    help: 'Apply without asking, however many users change (apply asks only on a terminal)',
  },
  {
    name: 'out',
    value: 'FILE',
    help: 'Where to write: plan, revert: the plan as JSON (what apply --plan takes); import-gbl: the rules file (default rules.gbl.yaml; its report beside it)',
  },
  {
    name: 'format',
    value: 'FORMAT',
    help: 'markdown or csv: print the plan for a change-approval board (counts per SKU and action first, then the users) instead of one line per user',
  },
  {
    name: 'plan',
    value: 'FILE',
    help: 'Carry out exactly this saved plan (written by plan --out); refused if the rules changed since, users whose licenses changed are skipped and reported',
  },
  {
    name: 'allow-removals',
    value: 'N',
    help: 'Release the blast-radius guard for up to N users whose licenses the run removes or reduces',
  },
  {
    name: 'accept-warnings',
    help: 'Go ahead although the rules look wrong (a rule matching nobody, a missing group, unmatched: remove over the guard)',
  },
  { name: 'discard', help: 'Drop the held round instead: nothing it held is made' },
  { name: 'limit', value: 'N', help: 'How many jobs to show (default 20)' },
  { name: 'force', help: 'Overwrite the rules file and its report if they exist' },
  {
    name: 'usage-location',
    value: 'XX',
    help: "defaults.usageLocation for the rules (ISO 3166-1 alpha-2); group-based licensing used the tenant's country for users without one",
  },
  {
    name: 'apply',
    help: 'Make the changes and record them (default: dry run; take-over, revert)',
    elsewhere: 'to make changes for every user, run: ems-licensing apply',
  },
  { name: 'debug', help: 'On failure, print the stack trace and every cause; log at debug level' },
  { name: 'no-color', help: 'No colours, even on a terminal (as does NO_COLOR)' },
  { name: 'help', short: 'h', help: 'Show help (for a command: ems-licensing plan --help)' },
  { name: 'version', short: 'V', help: 'Print the version' },
];

/** Options every command takes. */
export const GLOBAL_FLAGS: readonly string[] = [
  'rules',
  'graph-url',
  'json',
  'reset-sample',
  'debug',
  'no-color',
  'help',
  'version',
];

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'plan',
    summary:
      'Dry run: what would change for every user, which rules look wrong, and whether the blast-radius guard would hold it (writes nothing; --out saves the plan, --format renders it for a change board)',
    operands: [],
    flags: ['concurrency', 'out', 'format'],
    run: runPlan,
  },
  {
    name: 'apply',
    summary:
      'Plan every user, then make the changes and record every outcome to Table storage; removals above the blast-radius guard are held unless --allow-removals covers them (asks first on a terminal when more than a handful of users change); --plan FILE carries out a saved plan exactly',
    operands: [],
    flags: ['concurrency', 'yes', 'plan', 'allow-removals', 'accept-warnings'],
    run: runApply,
    writes: () => true,
  },
  {
    name: 'explain',
    summary:
      'Which rule matches a user (object id or UPN) and why; desired against current licenses; the last jobs recorded for them',
    operands: [{ name: 'user', required: true }],
    flags: [],
    run: runExplain,
  },
  {
    name: 'validate',
    summary:
      "Check the rules against the tenant's SKUs and plans, warn when they want more seats than exist, and report rules that look wrong (exit 1 unless --accept-warnings)",
    operands: [],
    flags: ['concurrency', 'accept-warnings'],
    run: validateCommand,
  },
  {
    name: 'revert',
    summary:
      'The plan that puts every user an apply changed back to their licenses before it (a dry run; --apply carries it out through the same guard; --out and --format as for plan)',
    operands: [{ name: 'run id', required: true }],
    flags: ['concurrency', 'apply', 'out', 'format', 'allow-removals'],
    run: runRevert,
    writes: (args) => args.apply,
  },
  {
    name: 'history',
    summary:
      "A user's recorded jobs, newest first: when, source, rule, outcome, licenses before and after, error and fix",
    operands: [{ name: 'user', required: true }],
    flags: ['limit'],
    run: runHistory,
  },
  {
    name: 'held',
    summary: "Rounds the Functions app's blast-radius guard held, or one round's users (the app's storage)",
    operands: [{ name: 'round id', required: false }],
    flags: [],
    run: runHeld,
  },
  {
    name: 'release',
    summary:
      "Release a held round: its users' jobs go to the app's queue again, marked released (--discard drops it instead)",
    operands: [{ name: 'round id', required: true }],
    flags: ['discard'],
    run: runRelease,
  },
  {
    name: 'seats',
    summary:
      'Seats per managed SKU: prepaid, consumed, free, wanted by the rules, waiting, scheduled hires, and when it runs out',
    operands: [],
    flags: ['concurrency'],
    run: runSeats,
  },
  {
    name: 'import-gbl',
    summary:
      "Turn the tenant's group-based licensing into a rules file, with a report of what could not be carried over and of every user whose licenses would differ (reads the tenant; writes the rules file and its .report.md)",
    operands: [],
    flags: ['out', 'force', 'usage-location'],
    run: (c) => runImportGbl(c.args, c.runtime, c.io, c.logger),
  },
  {
    name: 'take-over',
    summary:
      'Before removing group licenses: assign directly what users hold only through a group, where the rules want exactly that (dry run; --apply to assign)',
    operands: [],
    flags: ['concurrency', 'apply'],
    run: (c) => runTakeOver(c.args, c.runtime, c.io, c.logger),
    writes: (args) => args.apply,
  },
];

export const COMMAND_TABLE: CommandTable = { commands: COMMANDS, flags: FLAGS, global: GLOBAL_FLAGS };

/** Parses a command line with this table (a command must be given). */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  const line = parseCommandLine(argv, COMMAND_TABLE);
  if (line.command === null) throw new UsageError('A command is needed.');
  return toCliArgs({ ...line, command: line.command });
}
