/**
 * `explain`, and the CLI's io. The other commands have files of their own (plan-command.ts,
 * apply-command.ts, validate-command.ts, revert-command.ts, history-command.ts,
 * held-command.ts). Each returns its exit code (./exit-codes.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Decision } from '../engine/decide.js';
import type { LicensingContext } from '../engine/licensing-context.js';
import { runJob } from '../engine/run-job.js';
import { licenseText } from '../licensing/describe.js';
import { explainEvaluation } from '../licensing/explain.js';
import { describeAction, formatLicenses } from '../licensing/planner.js';
import type { Logger } from '../log.js';
import type { CliArgs } from './args.js';
import { EXIT } from './exit-codes.js';
import { explainHistory } from './explain-history.js';
import { storyLines } from './history-command.js';
import { toJsonResult, type Writer } from './output.js';
import { loadContext } from './plan-command.js';
import type { CliRuntime } from './runtime.js';

export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  /** Draw the progress bar (stderr is a terminal). */
  progress: boolean;
  /** Where pino writes (stderr in a terminal; a buffer in tests). */
  logDestination: { write(line: string): void };
}

export async function runExplain(
  args: CliArgs,
  runtime: CliRuntime,
  io: CliIo,
  logger: Logger,
): Promise<number> {
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
  const history = result.user ? await explainHistory(runtime, result.user.id, io) : null;
  if (args.json) {
    io.stdout.write(`${JSON.stringify({ ...toJsonResult(result, ctx.catalog), explanation, history })}\n`);
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
  if (history !== null) {
    out.push('', history.length === 0 ? 'History:     (no recorded jobs)' : 'History (newest first):');
    out.push(...history.flatMap((story) => storyLines(story, '  ')));
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
