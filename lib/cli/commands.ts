/**
 * The reconcile, explain and validate commands. Each returns its exit code (./exit-codes.ts);
 * problems that stop a command are thrown and turned into one line by main.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Decision } from '../engine/decide.js';
import type { LicensingContext } from '../engine/licensing-context.js';
import { predictLicenses } from '../engine/predict-licenses.js';
import { reconcile, type ReconcileSummary, type UserResult } from '../engine/reconcile.js';
import { runJob } from '../engine/run-job.js';
import { RulesValidationError } from '../licensing/compile.js';
import { licenseText } from '../licensing/describe.js';
import { explainEvaluation } from '../licensing/explain.js';
import { describeAction, describeLicenses } from '../licensing/planner.js';
import { confirmApply } from './apply-prompt.js';
import { outcomePainter } from './colour.js';
import { loadContext, withFreshSeats, type CliIo, type CommandContext } from './command-context.js';
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
import { seatShortfallWarnings } from './seats-command.js';

export type { CliIo, CommandContext } from './command-context.js';

interface PassOptions {
  dryRun: boolean;
  /** Print one line per user (or JSON object); false for the counting pass before an apply. */
  print: boolean;
}

/** One run of the engine over every user, printing as results arrive. */
async function reconcilePass(
  c: CommandContext,
  ctx: LicensingContext,
  groups: GroupNames,
  pass: PassOptions,
): Promise<ReconcileSummary> {
  const { args, runtime, io } = c;
  // A dry run reads the leavers too when the app's storage is configured, so plan matches apply.
  const stores = pass.dryRun && !runtime.storageConfigured ? null : await runtime.stores();
  const bar = new ProgressBar(io.stderr, io.progress && !args.json, io.now);
  const style: LineStyle = { paint: outcomePainter(io.colour === true), groups };
  // Lines are written in order, each once the names of the groups it mentions are known.
  let printing: Promise<void> = Promise.resolve();
  const print = (result: UserResult) => {
    if (args.json) {
      io.stdout.write(`${JSON.stringify(toJsonResult(result, ctx.catalog))}\n`);
      return;
    }
    const ids = groupIdsOf(result);
    printing = printing.then(async () => {
      if (ids.length > 0) await groups.load(ids);
      const line = humanLine(result, ctx.catalog, style);
      if (line) {
        bar.finish();
        io.stdout.write(`${line}\n`);
      }
    });
  };
  const summary = await reconcile({
    gateway: runtime.gateway,
    context: ctx,
    logger: c.logger,
    dryRun: pass.dryRun,
    concurrency: args.concurrency ?? runtime.config.concurrency,
    retryRounds: runtime.config.retryRounds,
    outcomes: pass.dryRun ? null : (stores?.outcomes ?? null),
    ...(stores ? { leavers: stores.leavers } : {}),
    onUsersRead: (n) => bar.setTotal(n),
    onResult: (result) => {
      bar.tick();
      if (pass.print) print(result);
    },
  });
  await printing;
  bar.finish();
  return summary;
}

/** `plan` (dry run) and `apply`. */
export async function runReconcile(c: CommandContext): Promise<number> {
  const { args, runtime, io } = c;
  const dryRun = args.command === 'plan';
  const ctx = await loadContext(runtime);
  const groups = new GroupNames(runtime.gateway);

  if (!dryRun && !args.yes && io.interactive === true && io.ask) {
    // Plan first, on seats of its own, and ask before a change of any size.
    const planned = await reconcilePass(c, withFreshSeats(ctx), groups, { dryRun: true, print: false });
    if (!(await confirmApply(planned, io))) return EXIT.ok;
  }

  const summary = await reconcilePass(c, ctx, groups, { dryRun, print: true });
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

export async function runExplain(c: CommandContext): Promise<number> {
  const { args, runtime, io } = c;
  const ctx = await loadContext(runtime);
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
      logger: c.logger,
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
  const groups = new GroupNames(runtime.gateway);
  const inherited = u.licenseAssignmentStates.filter((s) => s.assignedByGroup);
  await groups.load([...ctx.groupIds, ...inherited.map((s) => s.assignedByGroup ?? '')].filter(Boolean));
  const paint = outcomePainter(io.colour === true);
  const licenses = (list: string[]) => list.join(', ') || '(no licenses)';
  const out: string[] = [
    `User:        ${u.userPrincipalName} (${u.id})`,
    `Usage loc.:  ${u.usageLocation ?? '(none)'}`,
    `Current:     ${licenses(describeLicenses(u.assignedLicenses, ctx.catalog))}`,
    ...inherited.map(
      (s) =>
        `  inherited: ${ctx.catalog.skuPartNumber(s.skuId)} from group ${groups.label(s.assignedByGroup ?? '')}`,
    ),
    '',
    'Rules:',
    ...explanation.map((l) => `  ${groups.inText(l)}`),
    '',
    `Desired:     ${desiredText(ctx, decision)}`,
    `Actions:     ${decision.plan.actions.map((a) => describeAction(a, ctx.catalog)).join('; ') || '(none)'}`,
    `After:       ${licenses(describeLicenses(predictLicenses(u.assignedLicenses, result.record.actions), ctx.catalog))}`,
    `Outcome:     ${paint(result.record.outcome, result.record.outcome)} (dry run)`,
  ];
  if (decision.action === 'leave' && result.record.source === 'cli')
    out.push(
      'Policy:      HR said this person left: their managed licenses stay off until HR says they are back.',
    );
  // A conflict's reason already says what to change: it is said once, without a second "Fix".
  for (const conflict of decision.plan.conflicts) out.push(`Conflict:    ${groups.inText(conflict.reason)}`);
  const error = result.record.error;
  if (error && error.code !== 'GroupInheritedLicense') {
    out.push(`Problem:     ${error.message}`, `Fix:         ${error.fix}`);
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

/**
 * `validate`: the rules against the tenant's SKUs and plans (exit 1 with every problem, as any
 * command exits on rules that do not fit), then against its seats: a warning, exit 0, when the
 * rules want more users on a SKU than it has seats.
 */
export async function runValidate(c: CommandContext): Promise<number> {
  const { args, runtime, io } = c;
  let ctx: LicensingContext;
  try {
    ctx = await loadContext(runtime);
  } catch (e) {
    if (!(e instanceof RulesValidationError)) throw e;
    if (args.json) io.stdout.write(`${JSON.stringify({ valid: false, problems: e.problems })}\n`);
    else io.stdout.write(`${e.message}\n`);
    return EXIT.failed;
  }
  const managed = [...ctx.rules.managedSkuIds].map((id) => ctx.catalog.skuPartNumber(id));
  const warnings = await seatShortfallWarnings(c, ctx);
  if (args.json) {
    io.stdout.write(
      `${JSON.stringify({ valid: true, rules: ctx.rules.rules.length, managedSkus: managed, select: ctx.select, warnings })}\n`,
    );
  } else {
    io.stdout.write(
      `${runtime.rulesPath}: valid. ${String(ctx.rules.rules.length)} rule(s); managed SKUs: ${managed.join(', ')}; free seats: ${managed
        .map(
          (name) => `${name} ${String(ctx.catalog.freeSeats(ctx.catalog.resolveSku(name)?.skuId ?? name))}`,
        )
        .join(', ')}.\n`,
    );
    for (const w of warnings) io.stdout.write(`warning: ${w}\n`);
  }
  return EXIT.ok;
}
