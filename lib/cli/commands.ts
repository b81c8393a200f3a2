/**
 * `explain`. The other commands have files of their own (plan-command.ts, apply-command.ts,
 * validate-command.ts, revert-command.ts, history-command.ts, held-command.ts, seats-command.ts…).
 * Each returns its exit code (./exit-codes.ts); problems that stop a command are thrown and turned
 * into one line by main.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Decision } from '../engine/decide.js';
import type { LicensingContext } from '../engine/licensing-context.js';
import { predictLicenses } from '../engine/predict-licenses.js';
import { runJob } from '../engine/run-job.js';
import { licenseText } from '../licensing/describe.js';
import { explainEvaluation } from '../licensing/explain.js';
import { describeAction, describeLicenses } from '../licensing/planner.js';
import { outcomePainter } from './colour.js';
import { loadContext, type CommandContext } from './command-context.js';
import { EXIT } from './exit-codes.js';
import { explainHistory } from './explain-history.js';
import { GroupNames } from './group-names.js';
import { storyLines } from './history-command.js';
import { toJsonResult } from './output.js';

export type { CliIo, CommandContext } from './command-context.js';

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
