/**
 * What every command gets: the parsed line, the runtime (Graph, rules, storage), the process's
 * input and output, and the logger; and the licensing context every command starts from.
 */
import { randomUUID } from 'node:crypto';
import { loadLicensingContext, type LicensingContext } from '../engine/licensing-context.js';
import { SeatLedger } from '../engine/seat-ledger.js';
import type { Logger } from '../log.js';
import { loadRulesFile } from '../rules/load.js';
import type { CliArgs } from './args.js';
import type { Writer } from './output.js';
import type { CliRuntime } from './runtime.js';

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  /** Draw the progress bar (stderr is a terminal). */
  progress: boolean;
  /** Where pino writes (stderr in a terminal; a buffer in tests). */
  logDestination: { write(line: string): void };
  /** Colour the outcome words on stdout (a terminal, and NO_COLOR unset). */
  colour?: boolean;
  /** Stdin and stderr are a terminal: `apply` may ask before changing many users. */
  interactive?: boolean;
  /** Asks a question on the terminal and resolves with the answer ('' on end of input). */
  ask?: (question: string) => Promise<string>;
  /** The progress bar's clock, in milliseconds. */
  now?: () => number;
}

/** What every command gets. */
export interface CommandContext {
  args: CliArgs;
  runtime: CliRuntime;
  io: CliIo;
  logger: Logger;
}

export async function loadContext(runtime: CliRuntime): Promise<LicensingContext> {
  const rules = await loadRulesFile(runtime.rulesPath);
  return loadLicensingContext(runtime.gateway, rules, { correlationId: randomUUID() });
}

/**
 * The same rules and catalog with a seat ledger of their own: a dry run reserves seats as it goes
 * (so it shows who would be deferred), and must not use up the seats a later pass needs.
 */
export function withFreshSeats(ctx: LicensingContext): LicensingContext {
  return { ...ctx, seats: new SeatLedger(ctx.catalog.freeSeats) };
}
