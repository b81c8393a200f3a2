/**
 * Command-line parsing for `ems-licensing` (node:util parseArgs; no dependency needed).
 */
import { parseArgs } from 'node:util';

export const COMMANDS = ['plan', 'apply', 'explain', 'validate', 'import-gbl', 'take-over'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  command: Command;
  /** `explain`: the user's object id or UPN. */
  user: string | null;
  rules: string | null;
  graphUrl: string | null;
  json: boolean;
  concurrency: number | null;
  resetSample: boolean;
  help: boolean;
  /** `import-gbl`: where to write the rules (default rules.gbl.yaml), overwrite it, usageLocation default. */
  out: string | null;
  force: boolean;
  usageLocation: string | null;
  /** `take-over`: make the changes (dry run otherwise). */
  apply: boolean;
}

export const USAGE = `Usage: ems-licensing <command> [options]

Commands:
  plan               Dry run: show what would change for every user (writes nothing)
  apply              Make the changes and record every outcome to Table storage
  explain <user>     Which rule matches a user (object id or UPN) and why; desired vs current
  validate           Check the rules file against the tenant's SKUs and service plans
  import-gbl         Turn the tenant's group-based licensing into a rules file, with a report
                     of what could not be carried over and of every user whose licenses would
                     differ (reads only; writes the rules file and its .report.md)
  take-over          Before removing group licenses: assign directly what users hold only
                     through a group, where the rules want exactly that (dry run; --apply)

Options:
  --rules FILE       Rules file (default: RULES_PATH, else ./rules.yaml; the sample tenant
                     uses examples/rules.yaml when neither exists)
  --graph-url URL    Microsoft Graph base URL (default: GRAPH_BASE_URL). With neither set and no
                     AZURE_TENANT_ID, the bundled sample tenant is started on loopback.
  --json             One JSON object per user on stdout (id, upn, rule, actions, outcome, error)
  --concurrency N    Users processed at once (default: RECONCILE_CONCURRENCY or 8)
  --reset-sample     Start the sample tenant from its original state (forget earlier applies)
  --out FILE         import-gbl: the rules file to write (default rules.gbl.yaml)
  --force            import-gbl: overwrite FILE and its report if they exist
  --usage-location XX  import-gbl: defaults.usageLocation for the rules (ISO 3166-1 alpha-2);
                     group-based licensing used the tenant's country for users without one
  --apply            take-over: make the changes and record them (default: dry run)
  -h, --help         Show this help

Exit codes: 0 done, 1 some user FAILED (or validate found problems, or import-gbl found
differences or groups it could not carry over), 2 bad usage or settings.`;

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
        out: { type: 'string' },
        force: { type: 'boolean', default: false },
        'usage-location': { type: 'string' },
        apply: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
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
  if (command === 'explain' && !userArg && !values.help) {
    throw new UsageError('explain needs a user: ems-licensing explain <object id or userPrincipalName>');
  }
  if ((command !== 'explain' && userArg !== undefined) || rest.length > 0) {
    throw new UsageError(`Unexpected argument '${[userArg, ...rest].filter(Boolean).join(' ')}'.`);
  }
  let concurrency: number | null = null;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new UsageError(`--concurrency must be a whole number from 1 to 64, got '${values.concurrency}'.`);
    }
  }
  const usageLocation = values['usage-location']?.toUpperCase() ?? null;
  if (usageLocation !== null && !/^[A-Z]{2}$/.test(usageLocation)) {
    throw new UsageError(
      `--usage-location takes a two-letter country code (ISO 3166-1 alpha-2, e.g. US), got '${values['usage-location'] ?? ''}'.`,
    );
  }
  if (command !== 'import-gbl' && (values.out !== undefined || values.force || usageLocation !== null)) {
    throw new UsageError('--out, --force and --usage-location only go with import-gbl.');
  }
  if (command !== 'take-over' && values.apply) {
    throw new UsageError(
      `--apply only goes with take-over (to make changes for every user, run: ems-licensing apply).`,
    );
  }
  return {
    command,
    user: command === 'explain' ? (userArg ?? null) : null,
    rules: values.rules ?? null,
    graphUrl: values['graph-url'] ?? null,
    json: values.json,
    concurrency,
    resetSample: values['reset-sample'],
    help: values.help,
    out: values.out ?? null,
    force: values.force,
    usageLocation,
    apply: values.apply,
  };
}
