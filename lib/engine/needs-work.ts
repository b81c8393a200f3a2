/**
 * Whether a user, as read, differs from what the rules want (so a job is worth queueing), and the
 * actions that would close the gap (a round counts the reductions among them before it publishes
 * anything, see round-guard.ts). The worker re-reads and re-plans anyway; this only keeps
 * compliant users off the queue.
 */
import type { GraphGateway } from '../graph/gateway.js';
import type { GraphUser } from '../graph/types.js';
import { desiredStateFor } from '../licensing/desired.js';
import { planLicenses } from '../licensing/planner.js';
import type { PlanAction } from '../licensing/types.js';
import { evaluateRules } from '../rules/evaluate.js';
import type { LicensingContext } from './licensing-context.js';

export interface Work {
  needed: boolean;
  actions: PlanAction[];
}

export async function plannedWork(
  user: GraphUser,
  context: LicensingContext,
  gateway: GraphGateway,
  correlationId: string,
): Promise<Work> {
  const groups =
    context.groupIds.length > 0
      ? new Set(await gateway.checkMemberGroups(user.id, context.groupIds, { correlationId }))
      : new Set<string>();
  const evaluation = evaluateRules(context.rules, user, groups);
  const plan = planLicenses({
    user,
    desired: desiredStateFor(evaluation, context.rules, 'reconcile'),
    managedSkuIds: context.rules.managedSkuIds,
    // Seats do not decide whether work is needed; the worker checks them.
    freeSeats: () => Number.POSITIVE_INFINITY,
    defaultUsageLocation: context.rules.defaults.usageLocation ?? null,
    skuPartNumber: (id) => context.catalog.skuPartNumber(id),
  });
  return { needed: plan.actions.length > 0 || plan.blocked !== null, actions: plan.actions };
}
