/**
 * `ems-licensing take-over [--rules FILE] [--apply] [--json]`: before group licenses are removed,
 * assign directly what each user holds only through a group, where the rules want exactly that
 * (see lib/migrate/take-over.ts). Dry run unless --apply. With --apply each user is one job of
 * the engine's kind: its intent recorded first, the writes made with the engine's lost-answer
 * checks (apply-plan.ts), the user read back, the record completed (outcome-builder.ts). Exit 1
 * when a write failed.
 */
import { randomUUID } from 'node:crypto';
import { actionsInEffect } from '../engine/actions-in-effect.js';
import { applyPlan } from '../engine/apply-plan.js';
import { forEachConcurrent } from '../engine/concurrency.js';
import type { Decision } from '../engine/decide.js';
import { loadLicensingContext } from '../engine/licensing-context.js';
import {
  appliedRecord,
  graphFailureRecord,
  pendingRecord,
  type JobFacts,
} from '../engine/outcome-builder.js';
import { SeatLedger } from '../engine/seat-ledger.js';
import { isGraphError } from '../graph/graph-error.js';
import type { GraphUser } from '../graph/types.js';
import { desiredStateFor } from '../licensing/desired.js';
import type { LicensePlan, OutcomeRecord, PlanAction } from '../licensing/types.js';
import { evaluateRules } from '../rules/evaluate.js';
import type { Logger } from '../log.js';
import { holdsThroughGroupOnly, takeOverFor, type TakeOver } from '../migrate/take-over.js';
import { licenseText } from '../licensing/describe.js';
import { loadRulesFile } from '../rules/load.js';
import type { CliArgs } from './args.js';
import type { CliIo } from './command-context.js';
import type { CliRuntime } from './runtime.js';

interface Line {
  id: string;
  upn: string;
  rule: string;
  outcome: 'WOULD_ASSIGN' | 'ASSIGNED' | 'SKIPPED' | 'FAILED';
  detail: string;
}

export async function runTakeOver(
  args: CliArgs,
  runtime: CliRuntime,
  io: CliIo,
  logger: Logger,
): Promise<number> {
  const runId = randomUUID();
  const ctx = await loadLicensingContext(runtime.gateway, await loadRulesFile(runtime.rulesPath), {
    correlationId: runId,
  });
  const { gateway } = runtime;
  const stores = args.apply ? await runtime.stores() : null;
  const lines: Line[] = [];
  const print = (l: Line): void => {
    lines.push(l);
    io.stdout.write(
      args.json ? `${JSON.stringify(l)}\n` : `${l.outcome.padEnd(12)} ${l.upn} [${l.rule}]: ${l.detail}\n`,
    );
  };

  async function* users(): AsyncIterable<GraphUser> {
    for await (const page of gateway.listUsers(ctx.select, { correlationId: runId })) yield* page;
  }

  const log = logger.child({ runId, command: 'take-over' });
  await forEachConcurrent(users(), args.concurrency ?? runtime.config.concurrency, async (user) => {
    if (!holdsThroughGroupOnly(user, ctx.rules.managedSkuIds)) return;
    const correlationId = randomUUID();
    const groups =
      ctx.groupIds.length === 0
        ? new Set<string>()
        : new Set(await gateway.checkMemberGroups(user.id, ctx.groupIds, { correlationId }));
    for (const decision of takeOverFor(user, ctx.rules, groups)) {
      if (decision.kind === 'skip') {
        print({
          id: user.id,
          upn: user.userPrincipalName,
          rule: decision.rule,
          outcome: 'SKIPPED',
          detail: `${decision.sku}: ${decision.reason}`,
        });
        continue;
      }
      const what = decision.licenses
        .map((l) => `${licenseText(l, ctx.catalog)} beside group(s) ${l.groups.join(', ')}`)
        .join('; ');
      const setLocation =
        decision.usageLocation === null ? '' : `set usageLocation ${decision.usageLocation}, then `;
      if (!args.apply) {
        print({
          id: user.id,
          upn: user.userPrincipalName,
          rule: decision.rule,
          outcome: 'WOULD_ASSIGN',
          detail: `${setLocation}add ${what} directly`,
        });
        continue;
      }
      await apply(user, decision, groups, `${setLocation}add ${what} directly`, correlationId);
    }
  });

  async function apply(
    user: GraphUser,
    decision: Extract<TakeOver, { kind: 'add' }>,
    groups: ReadonlySet<string>,
    detail: string,
    correlationId: string,
  ): Promise<void> {
    const now = () => new Date();
    const facts: JobFacts = {
      jobId: randomUUID(),
      correlationId,
      source: 'cli',
      eventId: runId,
      acceptedAt: now().toISOString(),
      attempt: 0,
      dryRun: false,
      userRef: { id: user.id },
      startedAt: now(),
    };
    const actions: PlanAction[] = [
      ...(decision.usageLocation === null
        ? []
        : [{ kind: 'setUsageLocation' as const, from: null, to: decision.usageLocation }]),
      ...decision.licenses.map((l) => ({
        kind: 'addLicense' as const,
        skuId: l.skuId,
        skuPartNumber: l.skuPartNumber,
        disabledPlans: [...l.disabledPlans],
      })),
    ];
    // The rules' own decision, with the plan take-over carries out: the group's license, direct too.
    const evaluation = evaluateRules(ctx.rules, user, groups);
    const plan: LicensePlan = {
      actions,
      conflicts: [],
      deferred: null,
      blocked: null,
      outcome: 'ASSIGNED',
      notes: ['take-over: the SKU is also assigned directly, beside the group that gives it'],
    };
    const decided: Decision = {
      evaluation,
      action: 'reconcile',
      desired: desiredStateFor(evaluation, ctx.rules, 'reconcile'),
      plan,
      policy: null,
    };
    // Intent first, under the job's key, so a crash or a lost answer leaves a record to complete.
    await stores?.outcomes.record(pendingRecord(facts, user, decided, ctx.catalog, now()));
    const reread = () => gateway.getUser(user.id, ctx.select, { correlationId });
    const result = await applyPlan(user, plan, {
      gateway,
      // The SKU is already held through a group: a direct assignment of it takes no other seat.
      seats: new SeatLedger(() => Number.POSITIVE_INFINITY),
      reread,
      correlationId,
      log,
    });
    let record: OutcomeRecord;
    if (result.kind === 'applied') {
      let after: GraphUser | null = null;
      try {
        after = await reread();
      } catch (e) {
        if (!isGraphError(e)) throw e;
        log.warn({ userId: user.id, kind: e.kind }, 'could not read the user back after take-over');
      }
      const stillNeeded = after === null ? 0 : actionsInEffect(after, result.applied).missing.length;
      record = appliedRecord(
        facts,
        user,
        decided,
        { applied: result.applied, writes: result.writes, after, stillNeeded },
        ctx.catalog,
        now(),
      );
    } else if (result.kind === 'failed') {
      log.warn({ userId: user.id, code: result.error.code }, 'take-over write refused');
      record = graphFailureRecord(facts, user, decided, result.error, ctx.catalog, now(), {
        applied: result.applied,
        writes: result.writes,
      });
    } else {
      throw new Error(`take-over: no seat reserved for ${result.skuPartNumber}, which needs none`);
    }
    await stores?.outcomes.record(record, { clearPending: true });
    const ok = record.outcome === 'ASSIGNED' && record.error === null;
    print({
      id: user.id,
      upn: user.userPrincipalName,
      rule: decision.rule,
      outcome: ok ? 'ASSIGNED' : 'FAILED',
      detail: ok ? detail : `${record.error?.message ?? record.outcome} Fix: ${record.error?.fix ?? ''}`,
    });
  }

  const count = (o: Line['outcome']): number => lines.filter((l) => l.outcome === o).length;
  const summary = args.apply
    ? `take-over: ${count('ASSIGNED')} user(s) now hold their group licenses directly too, ${count('FAILED')} failed, ${count('SKIPPED')} skipped (run ${runId}).`
    : `take-over (dry run): ${count('WOULD_ASSIGN')} user(s) would get their group licenses assigned directly too, ${count('SKIPPED')} skipped. Run again with --apply to assign.`;
  (args.json ? io.stderr : io.stdout).write(`${summary}\n`);
  return count('FAILED') > 0 ? 1 : 0;
}
