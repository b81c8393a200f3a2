/**
 * Command-line parsing for `ems-licensing` (node:util parseArgs; no dependency needed).
 */
import { parseArgs } from 'node:util';

export const COMMANDS = [
  'plan',
  'apply',
  'explain',
  'validate',
  'revert',
  'history',
  'held',
  'release',
] as const;
export type Command = (typeof COMMANDS)[number];

/** What a command's operand names, and whether it must be given. */
const OPERANDS: Partial<Record<Command, { name: string; required: boolean }>> = {
  explain: { name: 'user', required: true },
  history: { name: 'user', required: true },
  revert: { name: 'run id', required: true },
  release: { name: 'round id', required: true },
  held: { name: 'round id', required: false },
};

export const PLAN_FORMATS = ['markdown', 'csv'] as const;
export type PlanFormat = (typeof PLAN_FORMATS)[number];

export interface CliArgs {
  command: Command;
  /** `explain`, `history`: the user's object id or UPN. */
  user: string | null;
  /** `revert`: the run id; `held`, `release`: the round id. */
  target: string | null;
  rules: string | null;
  graphUrl: string | null;
  json: boolean;
  concurrency: number | null;
  resetSample: boolean;
  help: boolean;
  /** `plan`, `revert`: write the plan (JSON) to this file. */
  out: string | null;
  /** `plan`, `revert`: print the plan for a change board instead of one line per user. */
  format: PlanFormat | null;
  /** `apply`: carry out this saved plan (written by `plan --out`) and nothing else. */
  plan: string | null;
  /** `apply`, `revert --apply`: the run may remove or reduce licenses for up to this many users. */
  allowRemovals: number | null;
  /** `apply`, `validate`: go ahead although the rules look wrong (`validate`: exit 0). */
  acceptWarnings: boolean;
  /** `revert`: carry the revert out (it is a dry run without). */
  apply: boolean;
  /** `release`: drop the round instead: nothing it held is made. */
  discard: boolean;
  /** `history`: how many jobs to show (default 20). */
  limit: number | null;
}

export const USAGE = `Usage: ems-licensing <command> [options]

Commands:
  plan               Dry run: show what would change for every user (writes nothing)
  apply              Make the changes and record every outcome to Table storage (plans every
                     user first: the blast-radius guard holds removals above its limits)
  explain <user>     Which rule matches a user (object id or UPN) and why; desired vs current;
                     the user's last recorded jobs
  validate           Check the rules file against the tenant's SKUs and service plans, and warn
                     about rules that look wrong (exit 1 unless --accept-warnings)
  revert <run id>    The plan that puts every user an apply changed back as they were (a dry
                     run; --apply to carry it out, through the same guard)
  history <user>     The user's recorded jobs, newest first (outcome, licenses before → after)
  held [<round id>]  Rounds the Functions app's guard held, or one round's users
  release <round id> Release a held round: its users' jobs go to the queue again (--discard
                     drops it instead)

Options:
  --rules FILE       Rules file (default: RULES_PATH, else ./rules.yaml; the sample tenant
                     uses examples/rules.yaml when neither exists)
  --graph-url URL    Microsoft Graph base URL (default: GRAPH_BASE_URL). With neither set and no
                     AZURE_TENANT_ID, the bundled sample tenant is started on loopback.
  --json             One JSON object per user on stdout (id, upn, rule, actions, outcome, error)
  --concurrency N    Users processed at once (default: RECONCILE_CONCURRENCY or 8)
  --reset-sample     Start the sample tenant from its original state (forget earlier applies)
  --out FILE         plan, revert: write the plan as JSON (what apply --plan takes)
  --format FORMAT    plan, revert: print the plan as markdown or csv (counts per SKU and action
                     first, then the users) instead of one line per user
  --plan FILE        apply: carry out exactly this saved plan (refused if the rules changed;
                     users whose licenses changed since are skipped and reported)
  --allow-removals N apply, revert --apply: release the guard for up to N users' removals
  --accept-warnings  apply, validate: go ahead although the rules look wrong
  --apply            revert: carry the revert out (without it, revert only shows the plan)
  --discard          release: drop the held round instead (nothing it held is made)
  --limit N          history: how many jobs to show (default 20)
  -h, --help         Show this help

Exit codes: 0 done, 1 some user FAILED (or validate found problems), 2 bad usage, settings or
rules file, or rules that look wrong without --accept-warnings (nothing was run), 3 the run did
not finish (users not done, or removals held by the guard: see what it printed).`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        rules: { type: 'string' },
        'graph-url': { type: 'string' },
        json: { type: 'boolean', default: false },
        concurrency: { type: 'string' },
        'reset-sample': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        out: { type: 'string' },
        format: { type: 'string' },
        plan: { type: 'string' },
        'allow-removals': { type: 'string' },
        'accept-warnings': { type: 'boolean', default: false },
        apply: { type: 'boolean', default: false },
        discard: { type: 'boolean', default: false },
        limit: { type: 'string' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const [commandRaw = 'plan', userArg, ...rest] = positionals;
  if (!values.help && !(COMMANDS as readonly string[]).includes(commandRaw)) {
    throw new UsageError(`Unknown command '${commandRaw}'. Commands: ${COMMANDS.join(', ')}.`);
  }
  const command = commandRaw as Command;
  const operand = OPERANDS[command];
  if (operand?.required === true && !userArg && !values.help) {
    throw new UsageError(`${command} needs a ${operand.name}: ems-licensing ${command} <${operand.name}>`);
  }
  if ((operand === undefined && userArg !== undefined) || rest.length > 0) {
    throw new UsageError(`Unexpected argument '${[userArg, ...rest].filter(Boolean).join(' ')}'.`);
  }
  checkOptionsFit(command, values);
  const format = values.format ?? null;
  if (format !== null && !(PLAN_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${PLAN_FORMATS.join(', ')}, got '${format}'.`);
  }
  if (format !== null && values.json) throw new UsageError('--format and --json cannot be combined.');
  const byUser = command === 'explain' || command === 'history';
  return {
    command,
    user: byUser ? (userArg ?? null) : null,
    target: byUser ? null : (userArg ?? null),
    rules: values.rules ?? null,
    graphUrl: values['graph-url'] ?? null,
    json: values.json,
    concurrency: wholeNumber('--concurrency', values.concurrency, 1, 64),
    resetSample: values['reset-sample'],
    help: values.help,
    out: values.out ?? null,
    format: format as PlanFormat | null,
    plan: values.plan ?? null,
    allowRemovals: wholeNumber('--allow-removals', values['allow-removals'], 0, 10_000_000),
    acceptWarnings: values['accept-warnings'],
    apply: values.apply,
    discard: values.discard,
    limit: wholeNumber('--limit', values.limit, 1, 10_000),
  };
}

/** Options that only some commands take: refused elsewhere, so a mistyped command line does nothing. */
const OPTION_COMMANDS: Record<string, readonly Command[]> = {
  out: ['plan', 'revert'],
  format: ['plan', 'revert'],
  plan: ['apply'],
  'allow-removals': ['apply', 'revert'],
  'accept-warnings': ['apply', 'validate'],
  apply: ['revert'],
  discard: ['release'],
  limit: ['history'],
};

function checkOptionsFit(command: Command, values: Record<string, unknown>): void {
  for (const [option, commands] of Object.entries(OPTION_COMMANDS)) {
    const value = values[option];
    if (value === undefined || value === false) continue;
    if (!commands.includes(command)) {
      throw new UsageError(`--${option} is for ${commands.join(', ')}, not ${command}.`);
    }
  }
}

function wholeNumber(option: string, raw: string | undefined, min: number, max: number): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = option === '--concurrency' ? '1 to 64' : `${String(min)} to ${String(max)}`;
    throw new UsageError(`${option} must be a whole number from ${range}, got '${raw}'.`);
  }
  return n;
}
