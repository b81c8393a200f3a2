/**
 * The four CLI commands. Each returns its exit code: 0 done, 1 a user FAILED or the rules do not
 * fit the tenant.
 */
import { randomUUID } from 'node:crypto';
import { loadLicensingContext, type LicensingContext } from '../engine/licensing-context.js';
import { processUser, type ProcessUserResult } from '../engine/process-user.js';
import { reconcile } from '../engine/reconcile.js';
import { RulesValidationError } from '../licensing/compile.js';
import { licenseText } from '../licensing/describe.js';
import { desiredStateFor } from '../licensing/desired.js';
import { explainEvaluation } from '../licensing/explain.js';
import { describeAction, formatLicenses } from '../licensing/planner.js';
import type { Logger } from '../log.js';
import { loadRulesFile } from '../rules/load.js';
import type { CliArgs } from './args.js';
import { humanLine, ProgressBar, summaryTable, toJsonResult, type Writer } from './output.js';
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
  // With --json, stdout carries only results; the table goes to stderr.
  (args.json ? io.stderr : io.stdout).write(`${table}\n`);
  if (!dryRun) {
    io.stderr.write(`Recorded ${String(summary.users)} outcome(s) (run ${summary.runId}).\n`);
  }
  return summary.byOutcome.FAILED > 0 ? 1 : 0;
}

export async function runExplain(
  args: CliArgs,
  runtime: CliRuntime,
  io: CliIo,
  logger: Logger,
): Promise<number> {
  const ctx = await context(runtime);
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
    { gateway: runtime.gateway, context: ctx, logger },
  );
  // Plan names rather than GUIDs, and what happens to unmatched users under these rules.
  const explainOptions = { names: ctx.catalog, unmatched: ctx.rules.defaults.unmatched };
  const explanation =
    result.evaluation && result.user ? explainEvaluation(result.evaluation, result.user, explainOptions) : [];
  // A user that cannot be read cannot be explained: exit 1 with or without --json.
  const exitCode = !result.user || result.record.outcome === 'FAILED' ? 1 : 0;
  if (args.json) {
    io.stdout.write(`${JSON.stringify({ ...toJsonResult(result, ctx.catalog), explanation })}\n`);
    return exitCode;
  }
  if (!result.user || !result.evaluation || !result.plan) {
    io.stdout.write(`${result.record.error?.message ?? 'User not found.'}\n`);
    return 1;
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
    `Desired:     ${desiredText(ctx, result.evaluation)}`,
    `Actions:     ${result.plan.actions.map((a) => describeAction(a, ctx.catalog)).join('; ') || '(none)'}`,
    `After:       ${result.record.licensesAfter.join(', ') || '(no licenses)'}`,
    `Outcome:     ${result.record.outcome} (dry run)`,
  ];
  for (const c of result.plan.conflicts) out.push(`Conflict:    ${c.reason}`);
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
    return 0;
  } catch (e) {
    if (!(e instanceof RulesValidationError)) throw e;
    if (args.json) io.stdout.write(`${JSON.stringify({ valid: false, problems: e.problems })}\n`);
    else io.stdout.write(`${e.message}\n`);
    return 1;
  }
}
