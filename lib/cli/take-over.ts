/**
 * `ems-licensing take-over [--rules FILE] [--apply] [--json]`: before group licenses are removed,
 * assign directly what each user holds only through a group, where the rules want exactly that
 * (see lib/migrate/take-over.ts). Dry run unless --apply; with --apply every user changed gets an
 * outcome record, like `apply`. Exit 1 when a write failed.
 */
import { randomUUID } from 'node:crypto';
import { forEachConcurrent } from '../engine/concurrency.js';
import { loadLicensingContext } from '../engine/licensing-context.js';
import { isGraphError } from '../graph/graph-error.js';
import type { GraphUser } from '../graph/types.js';
import { formatLicenses } from '../licensing/planner.js';
import type { OutcomeRecord, PlanAction } from '../licensing/types.js';
import type { Logger } from '../log.js';
import { holdsThroughGroupOnly, takeOverFor, type TakeOver } from '../migrate/take-over.js';
import { licenseText } from '../licensing/describe.js';
import { loadRulesFile } from '../rules/load.js';
import type { CliArgs } from './args.js';
import type { CliIo } from './commands.js';
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
      await apply(user, decision, `${setLocation}add ${what} directly`, correlationId);
    }
  });

  async function apply(
    user: GraphUser,
    decision: Extract<TakeOver, { kind: 'add' }>,
    detail: string,
    correlationId: string,
  ): Promise<void> {
    const started = Date.now();
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
    let error: OutcomeRecord['error'] = null;
    let writes = 0;
    try {
      if (decision.usageLocation !== null) {
        await gateway.setUsageLocation(user.id, decision.usageLocation, { correlationId });
        writes++;
      }
      // Both arrays always go out (Graph answers 400 otherwise). The SKU is already held through a
      // group, so no seat is taken.
      await gateway.assignLicense(
        user.id,
        {
          addLicenses: decision.licenses.map((l) => ({
            skuId: l.skuId,
            disabledPlans: [...l.disabledPlans],
          })),
          removeLicenses: [],
        },
        { correlationId },
      );
      writes++;
    } catch (e) {
      if (!isGraphError(e)) throw e;
      error = { code: e.code || e.kind, message: e.message, fix: e.fix };
      log.warn({ userId: user.id, code: error.code }, 'take-over write refused');
    }
    const record: OutcomeRecord = {
      userId: user.id,
      userPrincipalName: user.userPrincipalName,
      jobId: randomUUID(),
      correlationId,
      source: 'cli',
      eventId: runId,
      rule: decision.rule,
      outcome: error === null ? 'ASSIGNED' : 'FAILED',
      skus: decision.licenses.map((l) => l.skuPartNumber),
      // The effective licenses do not change: the same SKU and plans, now also assigned directly.
      licensesBefore: formatLicenses(user.assignedLicenses, ctx.catalog),
      licensesAfter: formatLicenses(user.assignedLicenses, ctx.catalog),
      actions: error === null ? actions : actions.slice(0, writes),
      conflicts: [],
      error,
      retryAt: null,
      dryRun: false,
      durationMs: Date.now() - started,
      recordedAt: new Date().toISOString(),
    };
    await stores?.outcomes.record(record);
    print({
      id: user.id,
      upn: user.userPrincipalName,
      rule: decision.rule,
      outcome: error === null ? 'ASSIGNED' : 'FAILED',
      detail: error === null ? detail : `${error.message} Fix: ${error.fix}`,
    });
  }

  const count = (o: Line['outcome']): number => lines.filter((l) => l.outcome === o).length;
  const summary = args.apply
    ? `take-over: ${count('ASSIGNED')} user(s) now hold their group licenses directly too, ${count('FAILED')} failed, ${count('SKIPPED')} skipped (run ${runId}).`
    : `take-over (dry run): ${count('WOULD_ASSIGN')} user(s) would get their group licenses assigned directly too, ${count('SKIPPED')} skipped. Run again with --apply to assign.`;
  (args.json ? io.stderr : io.stdout).write(`${summary}\n`);
  return count('FAILED') > 0 ? 1 : 0;
}
