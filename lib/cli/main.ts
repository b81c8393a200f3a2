/**
 * `ems-licensing`: plan, apply, explain, validate, import-gbl, take-over. Settings and IO are passed in (see entry.ts).
 */
import { ConfigError } from '../config.js';
import { createLogger } from '../log.js';
import { RulesError } from '../rules/load.js';
import { parseCliArgs, USAGE, UsageError } from './args.js';
import { runExplain, runReconcile, runValidate, type CliIo } from './commands.js';
import { runImportGbl } from './import-gbl.js';
import { createCliRuntime, type CliRuntimeOptions } from './runtime.js';
import { runTakeOver } from './take-over.js';

/**
 * Runs one command and returns its exit code.
 * @param runtimeOptions where relative paths and `.local/` are taken from, and Azurite (tests).
 */
export async function main(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  io: CliIo,
  runtimeOptions: CliRuntimeOptions = {},
): Promise<number> {
  let args;
  try {
    args = parseCliArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (args.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  // Logs go to stderr, warnings and up by default, so stdout stays the command's result.
  const logger = createLogger({ level: env.LOG_LEVEL ?? 'warn', destination: io.logDestination });
  let runtime;
  try {
    runtime = await createCliRuntime(
      args,
      env,
      (line) => io.stderr.write(`${line}\n`),
      logger,
      runtimeOptions,
    );
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  // Writes to the sample tenant are kept for the next run.
  const persistSample = args.command === 'apply' || (args.command === 'take-over' && args.apply);
  try {
    switch (args.command) {
      case 'plan':
      case 'apply':
        return await runReconcile(args, runtime, io, logger);
      case 'explain':
        return await runExplain(args, runtime, io, logger);
      case 'validate':
        return await runValidate(args, runtime, io);
      case 'import-gbl':
        return await runImportGbl(args, runtime, io, logger);
      case 'take-over':
        return await runTakeOver(args, runtime, io, logger);
    }
  } catch (e) {
    if (e instanceof RulesError || e instanceof ConfigError) {
      io.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    await runtime.close({ persistSample });
  }
}
