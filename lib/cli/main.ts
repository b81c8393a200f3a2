/**
 * `ems-licensing` (plan, apply, explain, validate, seats, import-gbl, take-over): parses the line
 * against the command table, builds the runtime, runs the command, and turns whatever stops it
 * into one line and an exit code (failure.ts). Settings and IO are passed in (see entry.ts);
 * nothing here reads the process.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isGraphError } from '../graph/graph-error.js';
import { createLogger } from '../log.js';
import { optionsTakenByNpm, parseCommandLine, toCliArgs, UsageError, type CliArgs } from './args.js';
import type { CliIo } from './command-context.js';
import { COMMAND_TABLE, COMMANDS } from './command-table.js';
import { EXIT } from './exit-codes.js';
import { debugDetail, describeFailure } from './failure.js';
import { helpText } from './help.js';
import { probeUrl } from './network-probe.js';
import { createCliRuntime, PACKAGE_ROOT, type CliRuntime, type CliRuntimeOptions } from './runtime.js';

/** The package's version, from its package.json (beside lib/ and dist/). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What tests may replace beyond the environment and IO. */
export interface MainOptions extends CliRuntimeOptions {
  /** Diagnoses an unreachable URL (default: probeUrl, a DNS lookup and a TCP connect). */
  probe?: (url: string) => Promise<string | null>;
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function usageFailure(e: UsageError, io: CliIo): number {
  const hint = e.command ? `ems-licensing ${e.command} --help` : 'ems-licensing --help';
  io.stderr.write(`${e.message}\nSee \`${hint}\`.\n`);
  return EXIT.usage;
}

/**
 * Runs one command and returns its exit code.
 * @param options where relative paths and `.local/` are taken from, Azurite, the credential and
 *   the network probe (tests).
 */
export async function main(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  io: CliIo,
  options: MainOptions = {},
): Promise<number> {
  const taken = optionsTakenByNpm(env, COMMAND_TABLE.flags);
  if (taken.length > 0) {
    io.stderr.write(
      `npm kept ${taken.join(', ')} for itself: through npm run, put the CLI's options after \`--\` (npm run cli -- ${argv.join(' ') || 'plan'} ${taken.join(' ')} …), or run npx ems-licensing, which passes everything through.\n`,
    );
    return EXIT.usage;
  }
  let line;
  try {
    line = parseCommandLine(argv, COMMAND_TABLE);
  } catch (e) {
    if (e instanceof UsageError) return usageFailure(e, io);
    throw e;
  }
  if (line.options.has('version')) {
    io.stdout.write(`ems-licensing ${packageVersion()}\n`);
    return EXIT.ok;
  }
  const spec = COMMANDS.find((c) => c.name === line.command) ?? null;
  if (line.options.has('help')) {
    io.stdout.write(`${helpText(COMMAND_TABLE, spec)}\n`);
    return EXIT.ok;
  }
  if (spec === null || line.command === null) {
    io.stderr.write(`A command is needed.\n\n${helpText(COMMAND_TABLE, null)}\n`);
    return EXIT.usage;
  }
  let args: CliArgs;
  try {
    args = toCliArgs({ ...line, command: line.command });
  } catch (e) {
    if (e instanceof UsageError) return usageFailure(e, io);
    throw e;
  }

  // Logs go to stderr, so stdout stays the command's result; by default only errors, since
  // everything a user needs is in the output and in the one line printed on failure.
  // A LOG_LEVEL pino does not know is left to the settings check, which names it (exit 2).
  const level = env.LOG_LEVEL && LOG_LEVELS.has(env.LOG_LEVEL) ? env.LOG_LEVEL : 'error';
  const logger = createLogger({ level: args.debug ? 'debug' : level, destination: io.logDestination });
  const failed = async (e: unknown, runtime: CliRuntime | null): Promise<number> => {
    const graphUrl = runtime?.config.graph.baseUrl ?? args.graphUrl ?? env.GRAPH_BASE_URL ?? null;
    const networkCause =
      isGraphError(e) && e.status === -1 && e.kind === 'unavailable' && graphUrl
        ? await (options.probe ?? probeUrl)(graphUrl)
        : null;
    const failure = describeFailure(e, {
      graphUrl,
      tenantId: runtime?.config.tenantId ?? env.AZURE_TENANT_ID,
      networkCause,
    });
    io.stderr.write(`${failure.message}\n`);
    if (args.debug) io.stderr.write(`${debugDetail(e)}\n`);
    return failure.exitCode;
  };

  let runtime: CliRuntime;
  try {
    runtime = await createCliRuntime(args, env, (text) => io.stderr.write(`${text}\n`), logger, options);
  } catch (e) {
    return failed(e, null);
  }
  try {
    return await spec.run({ args, runtime, io, logger });
  } catch (e) {
    return await failed(e, runtime);
  } finally {
    // Writes to the sample tenant are kept for the next run.
    await runtime.close({ persistSample: spec.writes?.(args) === true });
  }
}
