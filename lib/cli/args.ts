/**
 * Command-line parsing for `ems-licensing` (node:util parseArgs; no dependency needed).
 */
import { parseArgs } from 'node:util';

export const COMMANDS = ['plan', 'apply', 'explain', 'validate'] as const;
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
}

export const USAGE = `Usage: ems-licensing <command> [options]

Commands:
  plan               Dry run: show what would change for every user (writes nothing)
  apply              Make the changes and record every outcome to Table storage
  explain <user>     Which rule matches a user (object id or UPN) and why; desired vs current
  validate           Check the rules file against the tenant's SKUs and service plans

Options:
  --rules FILE       Rules file (default: RULES_PATH, else ./rules.yaml; the sample tenant
                     uses examples/rules.yaml when neither exists)
  --graph-url URL    Microsoft Graph base URL (default: GRAPH_BASE_URL). With neither set and no
                     AZURE_TENANT_ID, the bundled sample tenant is started on loopback.
  --json             One JSON object per user on stdout (id, upn, rule, actions, outcome, error)
  --concurrency N    Users processed at once (default: RECONCILE_CONCURRENCY or 8)
  --reset-sample     Start the sample tenant from its original state (forget earlier applies)
  -h, --help         Show this help

Exit codes: 0 done, 1 some user FAILED (or validate found problems), 2 bad usage or settings.`;

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
  return {
    command,
    user: command === 'explain' ? (userArg ?? null) : null,
    rules: values.rules ?? null,
    graphUrl: values['graph-url'] ?? null,
    json: values.json,
    concurrency,
    resetSample: values['reset-sample'],
    help: values.help,
  };
}
