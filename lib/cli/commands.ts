/**
 * The reconcile, explain and validate commands. Each returns its exit code (exit-codes.ts);
 * problems that stop a command are thrown and turned into one line by main.ts.
 */
import { randomUUID } from 'node:crypto';
import type { LicensingContext } from '../engine/licensing-context.js';
import { processUser, type ProcessUserResult } from '../engine/process-user.js';
import { predictLicenses } from '../engine/predict-licenses.js';
import { reconcile, type ReconcileSummary } from '../engine/reconcile.js';
import { RulesValidationError } from '../licensing/compile.js';
import { licenseText } from '../licensing/describe.js';
import { desiredStateFor } from '../licensing/desired.js';
import { describeAction, describeLicenses } from '../licensing/planner.js';
import { explainEvaluation } from '../licensing/explain.js';
import { confirmApply } from './apply-prompt.js';
import { outcomePainter } from './colour.js';
import { EXIT } from './exit-codes.js';
import { GroupNames } from './group-names.js';
import { groupIdsOf, humanLine, ProgressBar, summaryTable, toJsonResult, type LineStyle } from './output.js';
import { seatShortfallWarnings } from './seats-command.js';
import { loadContext, withFreshSeats, type CommandContext } from './command-context.js';

export type { CliIo, CommandContext } from './command-context.js';

interface PassOptions {
  dryRun: boolean;
  /** Print one line per user (or JSON object); false for the counting pass before an apply. */
  print: boolean;
}

/** One pass of the engine over every user, printing as results arrive. */
async function reconcilePass(
  c: CommandContext,
  ctx: LicensingContext,
  groups: GroupNames,
  pass: PassOptions,
): Promise<ReconcileSummary> {
  const { args, runtime, io } = c;
  const stores = pass.dryRun && !runtime.storageConfigured ? null : await runtime.stores();
  const bar = new ProgressBar(io.stderr, io.progress && !args.json, io.now);
  const style: LineStyle = { paint: outcomePainter(io.colour === true), groups };
  // Lines are written in order, each once the names of the groups it mentions are known.
  let printing: Promise<void> = Promise.resolve();
  const print = (result: ProcessUserResult) => {
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

/** `plan` (dry run) and `apply`. Exit 1 when some user FAILED (or would). */
export async function runReconcile(c: CommandContext): Promise<number> {
  const { args, runtime, io } = c;
  const dryRun = args.command === 'plan';
  const ctx = await loadContext(runtime);
  const groups = new GroupNames(runtime.gateway);

  if (!dryRun && !args.yes && io.interactive === true && io.ask) {
    // Plan first, on seats of its own, and ask before a change of any size.
    const planned = await reconcilePass(c, withFreshSeats(ctx), groups, { dryRun: true, print: false });
    const go = await confirmApply(planned, io);
    if (!go) return EXIT.ok;
  }

  const summary = await reconcilePass(c, ctx, groups, { dryRun, print: true });
  const table = summaryTable(summary, dryRun);
  // With --json, stdout carries only results; the table goes to stderr.
  (args.json ? io.stderr : io.stdout).write(`${table}\n`);
  if (!dryRun) {
    io.stderr.write(`Recorded ${String(summary.users)} outcome(s) (run ${summary.runId}).\n`);
  }
  return summary.byOutcome.FAILED > 0 ? EXIT.usersFailed : EXIT.ok;
}

export async function runExplain(c: CommandContext): Promise<number> {
  const { args, runtime, io } = c;
  const ctx = await loadContext(runtime);
  const userArg = args.user ?? '';
  const result = await processUser(
    {
      user: { [userArg.includes('@') ? 'userPrincipalName' : 'id']: userArg },
      action: 'reconcile',
      source: 'cli',
      eventId: null,
      jobId: randomUUID(),
      correlationId: randomUUID(),
      dryRun: true,
    },
    { gateway: runtime.gateway, context: ctx, logger: c.logger },
  );
  // Plan names rather than GUIDs, and what happens to unmatched users under these rules.
  const explainOptions = { names: ctx.catalog, unmatched: ctx.rules.defaults.unmatched };
  const explanation =
    result.evaluation && result.user ? explainEvaluation(result.evaluation, result.user, explainOptions) : [];
  // A user that cannot be read cannot be explained: exit 1 with or without --json.
  const exitCode = !result.user || result.record.outcome === 'FAILED' ? EXIT.usersFailed : EXIT.ok;
  if (args.json) {
    io.stdout.write(`${JSON.stringify({ ...toJsonResult(result, ctx.catalog), explanation })}\n`);
    return exitCode;
  }
  if (!result.user || !result.evaluation || !result.plan) {
    io.stdout.write(`${result.record.error?.message ?? 'User not found.'}\n`);
    return EXIT.usersFailed;
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
    `Desired:     ${desiredText(ctx, result.evaluation)}`,
    `Actions:     ${result.plan.actions.map((a) => describeAction(a, ctx.catalog)).join('; ') || '(none)'}`,
    `After:       ${licenses(describeLicenses(predictLicenses(u.assignedLicenses, result.record.actions), ctx.catalog))}`,
    `Outcome:     ${paint(result.record.outcome, result.record.outcome)} (dry run)`,
  ];
  // A conflict's reason already says what to change: it is said once, without a second "Fix".
  for (const conflict of result.plan.conflicts) out.push(`Conflict:    ${groups.inText(conflict.reason)}`);
  const error = result.record.error;
  if (error && error.code !== 'GroupInheritedLicense') {
    out.push(`Problem:     ${error.message}`, `Fix:         ${error.fix}`);
  }
  io.stdout.write(`${out.join('\n')}\n`);
  return exitCode;
}

/** What the rules want for the user's managed SKUs (not what the user would be left with). */
function desiredText(
  ctx: LicensingContext,
  evaluation: NonNullable<ProcessUserResult['evaluation']>,
): string {
  const desired = desiredStateFor(evaluation, ctx.rules, 'reconcile');
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
 * `validate`: the rules against the tenant's SKUs and plans (exit 3 with every problem, as any
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
    return EXIT.config;
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
