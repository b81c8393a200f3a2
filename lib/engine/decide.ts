/**
 * What one job should do to one user, decided without any I/O: the rules evaluated over the user
 * as read, what they want given why the job runs, and the plan that closes the gap. The same
 * function serves the worker, the CLI's runs and `explain`, so they cannot disagree.
 */
import type { GraphUser } from '../graph/types.js';
import { desiredStateFor } from '../licensing/desired.js';
import { planLicenses } from '../licensing/planner.js';
import type { CompiledRule, CompiledRules, DesiredState, LicensePlan } from '../licensing/types.js';
import type { JobAction } from '../queue/job.js';
import { evaluateRules, type Evaluation } from '../rules/evaluate.js';

export interface DecideInput {
  user: GraphUser;
  /** The groups (of those the rules test) the user is a transitive member of. */
  groups: ReadonlySet<string>;
  rules: CompiledRules;
  /** The job's action, after the leaver rule (see leaver-policy.ts). */
  action: JobAction;
  /** Seats free per SKU now (the run's seat ledger). */
  freeSeats: (skuId: string) => number;
  skuPartNumber: (skuId: string) => string;
}

export interface Decision {
  evaluation: Evaluation<CompiledRule>;
  /** The action actually decided on: a reclaim of an account enabled again is a reconcile. */
  action: JobAction;
  desired: DesiredState;
  plan: LicensePlan;
}

/** Decides what to do for one user. */
export function decide(input: DecideInput): Decision {
  const { user, rules } = input;
  const evaluation = evaluateRules(rules, user, input.groups);
  // A reclaim is decided by the cleanup and carried out later: if the account was enabled again
  // in between, it is an ordinary reconcile, not a removal.
  const action = input.action === 'reclaim' && user.accountEnabled !== false ? 'reconcile' : input.action;
  const desired = desiredStateFor(evaluation, rules, action);
  const plan = planLicenses({
    user,
    desired,
    managedSkuIds: rules.managedSkuIds,
    freeSeats: input.freeSeats,
    defaultUsageLocation: rules.defaults.usageLocation,
    skuPartNumber: input.skuPartNumber,
  });
  return { evaluation, action, desired, plan };
}

/** Whether a decision leads to Graph writes (a plan with actions that may run now). */
export function needsWrites(decision: Decision): boolean {
  const { plan } = decision;
  return plan.actions.length > 0 && plan.deferred === null && plan.blocked === null;
}

/**
 * What a decision still asks for on a user read back after its writes: no actions when the change
 * took. (Seats do not matter here: the adds were made.)
 */
export function remainingAfter(
  decision: Decision,
  after: GraphUser,
  rules: CompiledRules,
  skuPartNumber: (skuId: string) => string,
): LicensePlan {
  return planLicenses({
    user: after,
    desired: decision.desired,
    managedSkuIds: rules.managedSkuIds,
    freeSeats: () => Number.POSITIVE_INFINITY,
    defaultUsageLocation: rules.defaults.usageLocation,
    skuPartNumber,
  });
}
