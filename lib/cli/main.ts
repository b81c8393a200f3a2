/**
 * `ems-licensing`: plan, apply, explain, validate. Settings and IO are passed in (see entry.ts).
 */
import { ConfigError } from '../config.js';
import { createLogger } from '../log.js';
import { RulesError } from '../rules/load.js';
import { parseCliArgs, USAGE, UsageError, type CliArgs } from './args.js';
import { runApply } from './apply-command.js';
import { runExplain, type CliIo } from './commands.js';
import { runHeld, runRelease } from './held-command.js';
import { runHistory } from './history-command.js';
import { runPlan } from './plan-command.js';
import { runRevert } from './revert-command.js';
import { validateCommand } from './validate-command.js';
import { createCliRuntime, type CliRuntimeOptions } from './runtime.js';

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
  let args: CliArgs;
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
  const c = { args, runtime, io, logger };
  try {
    switch (args.command) {
      case 'plan':
        return await runPlan(c);
      case 'apply':
        return await runApply(c);
      case 'explain':
        return await runExplain(args, runtime, io, logger);
      case 'validate':
        return await validateCommand(c);
      case 'revert':
        return await runRevert(c);
      case 'history':
        return await runHistory(c);
      case 'held':
        return await runHeld(c);
      case 'release':
        return await runRelease(c);
      default: {
        const unknown: never = args.command;
        throw new Error(`no such command: ${String(unknown)}`);
      }
    }
  } catch (e) {
    if (e instanceof RulesError || e instanceof ConfigError) {
      io.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    // Commands that may change the sample tenant keep what they did for the next run.
    await runtime.close({
      persistSample: args.command === 'apply' || (args.command === 'revert' && args.apply),
    });
  }
}
