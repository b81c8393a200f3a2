/**
 * What a plan over every user says before anything is changed: the rules that look wrong
 * (rule-warnings.ts; the `memberOf` groups are read from Graph, one GET each) and the guard's
 * verdict over the plan's reductions (blast-guard.ts). `plan` and `validate` print it; `apply`
 * acts on it.
 */
import type { GraphGateway } from '../graph/gateway.js';
import { isGraphError } from '../graph/graph-error.js';
import { guardVerdict, type GuardSettings, type GuardVerdict, type ReductionTally } from './blast-guard.js';
import type { LicensingContext } from './licensing-context.js';
import type { PlanCollector } from './plan-collector.js';
import { ruleWarnings, type RuleWarning } from './rule-warnings.js';

export interface PlanChecks {
  warnings: RuleWarning[];
  /** The guard's verdict over every reduction of the plan. */
  verdict: GuardVerdict;
  /** Why the groups could not be checked (Graph refused the read), or null. */
  groupsNotChecked: string | null;
}

/** The groups `memberOf` names that Graph does not know (404). */
async function missingGroups(
  gateway: GraphGateway,
  groupIds: readonly string[],
  correlationId: string,
): Promise<{ missing: Set<string>; error: string | null }> {
  const missing = new Set<string>();
  try {
    for (const id of groupIds) {
      if ((await gateway.getGroupName(id, { correlationId })) === null) missing.add(id.toLowerCase());
    }
    return { missing, error: null };
  } catch (e) {
    if (!isGraphError(e)) throw e;
    return { missing, error: `${e.code || e.kind}: ${e.message} ${e.fix}` };
  }
}

export function verdictOf(
  tally: ReductionTally,
  ctx: LicensingContext,
  settings: GuardSettings,
  allowRemovals: number | null,
): GuardVerdict {
  return guardVerdict({
    counts: tally.counts(),
    users: tally.users,
    holders: (skuId) => ctx.catalog.sku(skuId)?.consumedUnits ?? 0,
    settings,
    allowRemovals,
  });
}

export async function planChecks(input: {
  gateway: GraphGateway;
  ctx: LicensingContext;
  collector: PlanCollector;
  users: number;
  settings: GuardSettings;
  allowRemovals: number | null;
  correlationId: string;
}): Promise<PlanChecks> {
  const { ctx, collector, settings } = input;
  const groups = await missingGroups(input.gateway, ctx.groupIds, input.correlationId);
  const unmatched =
    ctx.rules.defaults.unmatched === 'remove'
      ? verdictOf(collector.unmatchedRemovals, ctx, settings, null)
      : null;
  return {
    warnings: ruleWarnings({
      rules: ctx.rules,
      users: input.users,
      decidedBy: collector.decidedBy,
      missingGroups: groups.missing,
      unmatched,
    }),
    verdict: verdictOf(collector.reductions, ctx, settings, input.allowRemovals),
    groupsNotChecked: groups.error,
  };
}
