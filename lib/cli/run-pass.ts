/**
 * One pass of the engine over users, with the CLI's output: a progress bar on a terminal, one
 * line per user that needs attention (or one JSON object per user), the summary table, and what
 * the run left undone. `plan`, `apply`, `apply --plan` and `revert` are all made of such passes.
 */
import { randomUUID } from 'node:crypto';
import type { GraphUser } from '../graph/types.js';
import type { LicensingContext } from '../engine/licensing-context.js';
import type { PlannedChange } from '../engine/planned-change.js';
import { reconcile, type ReconcileSummary, type UserResult } from '../engine/reconcile.js';
import type { ReductionGuard } from '../engine/reduction-guard.js';
import { SeatLedger } from '../engine/seat-ledger.js';
import { outcomePainter } from './colour.js';
import type { CliIo, CommandContext } from './command-context.js';
import { EXIT } from './exit-codes.js';
import { GroupNames } from './group-names.js';
import {
  groupIdsOf,
  humanLine,
  notDoneLines,
  ProgressBar,
  summaryTable,
  toJsonResult,
  type LineStyle,
} from './output.js';
import type { CliStores } from './runtime.js';

export interface PassOptions {
  ctx: LicensingContext;
  dryRun: boolean;
  /** Where outcomes are recorded and leavers read; null: neither. */
  stores: CliStores | null;
  /** Print each user's line (or JSON object); a silent pass still draws the progress bar. */
  print: boolean;
  runId?: string;
  guard?: ReductionGuard;
  users?: AsyncIterable<GraphUser[]>;
  plannedFor?: (userId: string) => PlannedChange | undefined;
  onResult?: (result: UserResult) => void;
}

/** What every command gets (command-context.ts). */
export type PassContext = CommandContext;

/**
 * The same rules and catalog with a seat ledger of their own: a dry run takes seats as it goes (to
 * show who would be deferred), which must not use up the seats of the pass that follows it.
 */
export function withOwnSeats(ctx: LicensingContext): LicensingContext {
  return { ...ctx, seats: new SeatLedger(ctx.catalog.freeSeats) };
}

export async function runPass(c: PassContext, o: PassOptions): Promise<ReconcileSummary> {
  const { args, runtime, io, logger } = c;
  const bar = new ProgressBar(io.stderr, io.progress && !args.json, io.now);
  const groups = new GroupNames(runtime.gateway);
  const style: LineStyle = { paint: outcomePainter(io.colour === true), groups };
  // Lines are written in order, each once the names of the groups it mentions are known.
  let printing: Promise<void> = Promise.resolve();
  const print = (result: UserResult) => {
    if (args.json) {
      io.stdout.write(`${JSON.stringify(toJsonResult(result, o.ctx.catalog))}\n`);
      return;
    }
    const ids = groupIdsOf(result);
    printing = printing.then(async () => {
      if (ids.length > 0) await groups.load(ids);
      const line = humanLine(result, o.ctx.catalog, style);
      if (line) {
        bar.finish();
        io.stdout.write(`${line}\n`);
      }
    });
  };
  const summary = await reconcile({
    gateway: runtime.gateway,
    context: o.ctx,
    logger,
    dryRun: o.dryRun,
    concurrency: args.concurrency ?? runtime.config.concurrency,
    retryRounds: runtime.config.retryRounds,
    outcomes: o.dryRun ? null : (o.stores?.outcomes ?? null),
    ...(o.stores ? { leavers: o.stores.leavers } : {}),
    runId: o.runId ?? randomUUID(),
    ...(o.guard ? { guard: o.guard } : {}),
    ...(o.users ? { users: o.users } : {}),
    ...(o.plannedFor ? { plannedFor: o.plannedFor } : {}),
    onUsersRead: (n) => bar.setTotal(n),
    onResult: (result) => {
      bar.tick();
      o.onResult?.(result);
      if (o.print) print(result);
    },
  });
  await printing;
  bar.finish();
  return summary;
}

/** The summary table: on stdout, or on stderr when stdout carries JSON. */
export function printSummary(summary: ReconcileSummary, dryRun: boolean, c: PassContext): void {
  (c.args.json ? c.io.stderr : c.io.stdout).write(`${summaryTable(summary, dryRun)}\n`);
}

/** What a run left undone, said plainly on stderr (the summary table is the result). */
export function reportRun(summary: ReconcileSummary, dryRun: boolean, io: CliIo): void {
  const recovered = summary.recovered;
  if (recovered && recovered.recovered + recovered.interrupted > 0) {
    io.stderr.write(
      `Completed the records of an earlier run that was stopped: ${String(recovered.recovered)} change(s) had been made, ${String(recovered.interrupted)} had not.\n`,
    );
  }
  if (summary.aborted) io.stderr.write(`The run stopped before every user was read: ${summary.aborted}\n`);
  for (const line of notDoneLines(summary.notDone)) io.stderr.write(`${line}\n`);
  if (summary.recordsNotWritten > 0) {
    io.stderr.write(
      `${String(summary.recordsNotWritten)} outcome record(s) could not be written (storage unavailable); changes made have pending records that the next apply completes.\n`,
    );
  }
  if (!dryRun) {
    const written = summary.users - summary.recordsNotWritten;
    io.stderr.write(`Recorded ${String(written)} outcome(s) (run ${summary.runId}).\n`);
  }
}

/**
 * 3 when the run did not finish (users not done, stopped early, records lost, removals held by the
 * guard); else 1 when a user FAILED; else 0.
 */
export function reconcileExitCode(summary: ReconcileSummary): number {
  if (
    summary.aborted !== null ||
    summary.notDone.length > 0 ||
    summary.recordsNotWritten > 0 ||
    summary.byOutcome.HELD > 0
  )
    return EXIT.incomplete;
  return summary.byOutcome.FAILED > 0 ? EXIT.failed : EXIT.ok;
}
