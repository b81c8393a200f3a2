/**
 * The four CLI commands. Each returns its exit code (./exit-codes.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Decision } from '../engine/decide.js';
import { loadLicensingContext, type LicensingContext } from '../engine/licensing-context.js';
import { reconcile, type ReconcileSummary } from '../engine/reconcile.js';
import { runJob } from '../engine/run-job.js';
import { RulesValidationError } from '../licensing/compile.js';
import { licenseText } from '../licensing/describe.js';
import { explainEvaluation } from '../licensing/explain.js';
import { describeAction, formatLicenses } from '../licensing/planner.js';
import type { Logger } from '../log.js';
import { loadRulesFile } from '../rules/load.js';
import type { CliArgs } from './args.js';
import { EXIT } from './exit-codes.js';
import { humanLine, notDoneLines, ProgressBar, summaryTable, toJsonResult, type Writer } from './output.js';
import type { CliRuntime } from './runtime.js';

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  /** Draw the progress bar (stderr is a terminal). */
  progress: boolean;
  /** Where pino writes (stderr in a terminal; a buffer in tests). */
  logDestination: { write(line: string): void };
}

async function context(runtime: CliRuntime): Promise<LicensingContext> {
  const rules = await loadRulesFile(runtime.rulesPath);
  return loadLicensingContext(runtime.gateway, rules, { correlationId: randomUUID() });
}

export async function runReconcile(
  args: CliArgs,
  runtime: CliRuntime,
  io: CliIo,
  logger: Logger,
): Promise<number> {
  const dryRun = args.command === 'plan';
  const ctx = await context(runtime);
  // A dry run reads the leavers too when the app's storage is configured, so plan matches apply.
  const stores = dryRun && !runtime.storageConfigured ? null : await runtime.stores();
  const bar = new ProgressBar(io.stderr, io.progress && !args.json);
  const summary = await reconcile({
    gateway: runtime.gateway,
    context: ctx,
    logger,
    dryRun,
    concurrency: args.concurrency ?? runtime.config.concurrency,
    retryRounds: runtime.config.retryRounds,
    outcomes: dryRun ? null : (stores?.outcomes ?? null),
    ...(stores ? { leavers: stores.leavers } : {}),
    onUsersRead: (n) => bar.setTotal(n),
    onResult: (result) => {
      bar.tick();
      if (args.json) {
        io.stdout.write(`${JSON.stringify(toJsonResult(result, ctx.catalog))}\n`);
        return;
      }
      const line = humanLine(result, ctx.catalog);
      if (line) {
        bar.finish();
        io.stdout.write(`${line}\n`);
      }
    },
  });
  bar.finish();
  const table = summaryTable(summary, dryRun);
  // With --json, stdout carries only results; the table and the rest go to stderr.
  (args.json ? io.stderr : io.stdout).write(`${table}\n`);
  reportRun(summary, dryRun, io);
  return reconcileExitCode(summary);
}

/** What a run left undone, said plainly on stderr (the summary table is the result). */
function reportRun(summary: ReconcileSummary, dryRun: boolean, io: CliIo): void {
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

/** 3 when the run did not finish (users not done, stopped early, records lost); else 1 on FAILED. */
export function reconcileExitCode(summary: ReconcileSummary): number {
  if (summary.aborted !== null || summary.notDone.length > 0 || summary.recordsNotWritten > 0)
    return EXIT.incomplete;
  return summary.byOutcome.FAILED > 0 ? EXIT.failed : EXIT.ok;
}

export async function runExplain(
  args: CliArgs,
  runtime: CliRuntime,
  io: CliIo,
  logger: Logger,
): Promise<number> {
  const ctx = await context(runtime);
  const userArg = args.user ?? '';
  const now = new Date();
  const ref = { [userArg.includes('@') ? 'userPrincipalName' : 'id']: userArg };
  const stores = runtime.storageConfigured ? await runtime.stores() : null;
  const ran = await runJob(
    {
      facts: {
        jobId: randomUUID(),
        correlationId: randomUUID(),
        source: 'cli',
        eventId: null,
        acceptedAt: now.toISOString(),
        attempt: 0,
        dryRun: true,
        userRef: ref,
        startedAt: now,
      },
      user: ref,
      action: 'reconcile',
      eventAt: now,
    },
    {
      gateway: runtime.gateway,
      context: ctx,
      logger,
      now: () => new Date(),
      journal: null,
      lookUpJob: false,
      // With the app's storage, explain honours HR's leaver marks as the app would.
      leavers: stores ? stores.leavers : null,
      readBack: null,
    },
  );
  if (ran.kind === 'duplicate') throw new Error('a dry run cannot be a duplicate');
  const result = { record: ran.record, user: ran.user, decision: ran.decision };
  // Plan names rather than GUIDs, and what happens to unmatched users under these rules.
  const explainOptions = { names: ctx.catalog, unmatched: ctx.rules.defaults.unmatched };
  const decision = result.decision;
  const explanation =
    decision && result.user ? explainEvaluation(decision.evaluation, result.user, explainOptions) : [];
  // A user that cannot be read cannot be explained: exit 1 with or without --json.
  const exitCode = !result.user || result.record.outcome === 'FAILED' ? EXIT.failed : EXIT.ok;
  if (args.json) {
    io.stdout.write(`${JSON.stringify({ ...toJsonResult(result, ctx.catalog), explanation })}\n`);
    return exitCode;
  }
  if (!result.user || !decision) {
    io.stdout.write(`${result.record.error?.message ?? 'User not found.'}\n`);
    return EXIT.failed;
  }
  const u = result.user;
  const out: string[] = [
    `User:        ${u.userPrincipalName} (${u.id})`,
    `Usage loc.:  ${u.usageLocation ?? '(none)'}`,
    `Current:     ${formatLicenses(u.assignedLicenses, ctx.catalog).join(', ') || '(no licenses)'}`,
    ...u.licenseAssignmentStates
      .filter((s) => s.assignedByGroup)
      .map((s) => `  inherited: ${ctx.catalog.skuPartNumber(s.skuId)} from group ${s.assignedByGroup ?? ''}`),
    '',
    'Rules:',
    ...explanation.map((l) => `  ${l}`),
    '',
    `Desired:     ${desiredText(ctx, decision)}`,
    `Actions:     ${decision.plan.actions.map((a) => describeAction(a, ctx.catalog)).join('; ') || '(none)'}`,
    `After:       ${result.record.licensesAfter.join(', ') || '(no licenses)'}`,
    `Outcome:     ${result.record.outcome} (dry run)`,
  ];
  if (decision.action === 'leave' && result.record.source === 'cli')
    out.push(
      'Policy:      HR said this person left: their managed licenses stay off until HR says they are back.',
    );
  for (const c of decision.plan.conflicts) out.push(`Conflict:    ${c.reason}`);
  const error = result.record.error;
  if (error) {
    // A conflict's text is already printed above; say it once.
    if (error.code !== 'GroupInheritedLicense') out.push(`Problem:     ${error.message}`);
    out.push(`Fix:         ${error.fix}`);
  }
  io.stdout.write(`${out.join('\n')}\n`);
  return exitCode;
}

/** What the rules want for the user's managed SKUs (not what the user would be left with). */
function desiredText(ctx: LicensingContext, decision: Decision): string {
  const desired = decision.desired;
  switch (desired.kind) {
    case 'licenses':
      return desired.licenses.map((l) => licenseText(l, ctx.catalog)).join('; ');
    case 'removeManaged':
      return `none of the managed SKUs (${[...ctx.rules.managedSkuIds].map((id) => ctx.catalog.skuPartNumber(id)).join(', ')})`;
    case 'leave':
      return '(no rule matched: licenses left as they are)';
  }
}

export async function runValidate(args: CliArgs, runtime: CliRuntime, io: CliIo): Promise<number> {
  try {
    const ctx = await context(runtime);
    const managed = [...ctx.rules.managedSkuIds].map((id) => ctx.catalog.skuPartNumber(id));
    if (args.json) {
      io.stdout.write(
        `${JSON.stringify({ valid: true, rules: ctx.rules.rules.length, managedSkus: managed, select: ctx.select })}\n`,
      );
    } else {
      io.stdout.write(
        `${runtime.rulesPath}: valid. ${String(ctx.rules.rules.length)} rule(s); managed SKUs: ${managed.join(', ')}; free seats: ${managed
          .map(
            (name) => `${name} ${String(ctx.catalog.freeSeats(ctx.catalog.resolveSku(name)?.skuId ?? name))}`,
          )
          .join(', ')}.\n`,
      );
    }
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof RulesValidationError)) throw e;
    if (args.json) io.stdout.write(`${JSON.stringify({ valid: false, problems: e.problems })}\n`);
    else io.stdout.write(`${e.message}\n`);
    return EXIT.failed;
  }
}
