/**
 * What one job should do to one user, decided without any I/O: the rules evaluated over the user
 * as read, what they want given why the job runs, and the plan that closes the gap. The same
 * function serves the worker, the CLI's runs and `explain`, so they cannot disagree.
 */
import type { GraphUser } from '../graph/types.js';
import { desiredStateFor } from '../licensing/desired.js';
import { planLicenses } from '../licensing/planner.js';
import type {
  CompiledRule,
  CompiledRules,
  DesiredState,
  LicensePlan,
  OutcomePolicy,
  PlanAction,
} from '../licensing/types.js';
import type { JobAction } from '../queue/job.js';
import { evaluateRules, type Evaluation } from '../rules/evaluate.js';
import { actionsInEffect } from './actions-in-effect.js';
import { withholdReductions } from './blast-guard.js';

export interface DecideInput {
  user: GraphUser;
  /** The groups (of those the rules test) the user is a transitive member of. */
  groups: ReadonlySet<string>;
  rules: CompiledRules;
  /** The job's action, after the leaver rule (see leaver-policy.ts). */
  action: JobAction;
  /** `leaver` when the leaver rule turned the job into a leave (HR said the person left). */
  policy?: 'leaver' | null;
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
  /**
   * A policy that withholds (or takes away) what the rules want: the account is disabled (no
   * license is added), or HR said the person left. Null when none applies.
   */
  policy: OutcomePolicy | null;
  /** Reductions the blast-radius guard withheld from the plan (set after the guard's check). */
  held?: HeldReductions | undefined;
  /**
   * A change planned beforehand (`apply --plan`, `revert`): verified by its own actions rather
   * than by the rules, and recorded under `label` when given (`revert <run id>`).
   */
  planned?: { label: string | null } | undefined;
}

/** What the guard withheld, where it waits, and how to release it. */
export interface HeldReductions {
  roundId: string;
  actions: PlanAction[];
  reason: string;
  release: string;
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
  return { evaluation, action, desired, plan, policy: policyOf(input, evaluation, action, desired) };
}

/** Whether the user holds a SKU at all (directly or through a group). */
function holds(user: GraphUser, skuId: string): boolean {
  const key = skuId.toLowerCase();
  return (
    user.assignedLicenses.some((l) => l.skuId.toLowerCase() === key) ||
    user.licenseAssignmentStates.some((s) => s.skuId.toLowerCase() === key)
  );
}

/**
 * The policy that shaped a decision: a leave the leaver rule made of a job whose rules would
 * license the person; a reclaim of a disabled account; a disabled account the rules would give a
 * license it lacks (the planner adds none to a disabled account).
 */
function policyOf(
  input: DecideInput,
  evaluation: Evaluation<CompiledRule>,
  action: JobAction,
  desired: DesiredState,
): OutcomePolicy | null {
  if (input.policy === 'leaver') {
    const wanted = desiredStateFor(evaluation, input.rules, 'reconcile');
    return wanted.kind === 'licenses' ? 'leaver' : null;
  }
  if (action === 'reclaim') return 'disabledAccount';
  if (action === 'reconcile' && input.user.accountEnabled === false && desired.kind === 'licenses') {
    return desired.licenses.some((l) => !holds(input.user, l.skuId)) ? 'disabledAccount' : null;
  }
  return null;
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
  // A planned change is checked against its own actions: the rules may want something else.
  if (decision.planned)
    return { ...decision.plan, actions: actionsInEffect(after, decision.plan.actions).missing };
  const plan = planLicenses({
    user: after,
    desired: decision.desired,
    managedSkuIds: rules.managedSkuIds,
    freeSeats: () => Number.POSITIVE_INFINITY,
    defaultUsageLocation: rules.defaults.usageLocation,
    skuPartNumber,
  });
  // What the guard held is still to do after the writes, by design: not a failed verification.
  return decision.held ? { ...plan, actions: withholdReductions(plan.actions).kept } : plan;
}
