/**
 * The four CLI commands. Each returns its exit code: 0 done, 1 a user FAILED or the rules do not
 * fit the tenant.
 */
import { randomUUID } from 'node:crypto';
import { loadLicensingContext, type LicensingContext } from '../engine/licensing-context.js';
import { processUser } from '../engine/process-user.js';
import { reconcile } from '../engine/reconcile.js';
import { RulesValidationError } from '../licensing/compile.js';
import { describeAction, formatLicenses } from '../licensing/planner.js';
import type { Logger } from '../log.js';
import { explainEvaluation } from '../rules/explain.js';
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
  const outcomes = dryRun ? null : await runtime.outcomes();
  const bar = new ProgressBar(io.stderr, io.progress && !args.json);
  const summary = await reconcile({
    gateway: runtime.gateway,
    context: ctx,
    logger,
    dryRun,
    concurrency: args.concurrency ?? runtime.config.concurrency,
    outcomes,
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
  if (args.json) {
    io.stdout.write(
      `${JSON.stringify({ ...toJsonResult(result, ctx.catalog), explanation: result.evaluation && result.user ? explainEvaluation(result.evaluation, result.user) : [] })}\n`,
    );
    return result.record.outcome === 'FAILED' ? 1 : 0;
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
    ...explainEvaluation(result.evaluation, u).map((l) => `  ${l}`),
    '',
    `Desired:     ${result.record.licensesAfter.join(', ') || '(no managed licenses)'}`,
    `Actions:     ${result.plan.actions.map((a) => describeAction(a, ctx.catalog)).join('; ') || '(none)'}`,
    `Outcome:     ${result.record.outcome} (dry run)`,
  ];
  for (const c of result.plan.conflicts) out.push(`Conflict:    ${c.reason}`);
  if (result.record.error)
    out.push(`Problem:     ${result.record.error.message}`, `Fix:         ${result.record.error.fix}`);
  io.stdout.write(`${out.join('\n')}\n`);
  return result.record.outcome === 'FAILED' ? 1 : 0;
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
