/**
 * A change planned beforehand and approved as it stands: a saved plan (`apply --plan FILE`) or the
 * plan that reverts a run (`revert RUN_ID`). Before it is carried out it must still fit the user:
 * the licenses it concerns must be as the plan saw them, and (for a plan made from rules) the rules
 * must still want exactly those actions. Otherwise the user is skipped and reported, and nothing is
 * written. Pure.
 */
import type { AssignedLicense, GraphUser } from '../graph/types.js';
import { outcomeOfActions } from '../licensing/planner.js';
import type { PlanAction } from '../licensing/types.js';
import type { Decision } from './decide.js';

export interface PlannedChange {
  /** The user's `assignedLicenses` as the plan saw them (GUIDs). */
  before: AssignedLicense[];
  /** The SKUs whose licenses must not have changed (lower-case GUIDs): the managed or touched ones. */
  skus: string[];
  actions: PlanAction[];
  /** A plan made from rules: the rules must still want these actions. A revert has no rules. */
  checkRules: boolean;
  /** Recorded as the record's rule (`revert <run id>`); null: the rule that matches. */
  label: string | null;
}

export type PlannedFit =
  | { ok: true; decision: Decision }
  | { ok: false; code: 'ChangedSincePlan' | 'RulesNowDiffer'; message: string }
  | { ok: false; code: 'Policy'; decision: Decision };

const norm = (ids: readonly string[]) => [...new Set(ids.map((id) => id.toLowerCase()))].sort();

/** The user's licenses of `skus`, as comparable text (`sku:plan,plan`). */
function licensesOf(assigned: readonly AssignedLicense[], skus: ReadonlySet<string>): string[] {
  return assigned
    .filter((l) => skus.has(l.skuId.toLowerCase()))
    .map((l) => `${l.skuId.toLowerCase()}:${norm(l.disabledPlans).join(',')}`)
    .sort();
}

/** Actions as comparable text (plan lists in any order compare equal). */
export function actionKey(a: PlanAction): string {
  switch (a.kind) {
    case 'setUsageLocation':
      return `loc:${a.to.toUpperCase()}`;
    case 'addLicense':
      return `add:${a.skuId.toLowerCase()}:${norm(a.disabledPlans).join(',')}`;
    case 'updateDisabledPlans':
      return `update:${a.skuId.toLowerCase()}:${norm(a.after).join(',')}`;
    case 'removeLicense':
      return `remove:${a.skuId.toLowerCase()}`;
  }
}

function sameActions(a: readonly PlanAction[], b: readonly PlanAction[]): boolean {
  const left = a.map(actionKey).sort();
  const right = b.map(actionKey).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
}

/**
 * Whether the planned change still fits the user as read now, given the engine's fresh decision
 * for them (rules, leaver rule and policies applied). The fitting decision carries the planned
 * actions; a policy that forbids an add (a leaver, a disabled account) ends the job SKIPPED.
 */
export function fitPlanned(planned: PlannedChange, user: GraphUser, fresh: Decision): PlannedFit {
  const skus = new Set(planned.skus.map((s) => s.toLowerCase()));
  const then = licensesOf(planned.before, skus);
  const now = licensesOf(user.assignedLicenses, skus);
  if (then.length !== now.length || then.some((l, i) => l !== now[i])) {
    return {
      ok: false,
      code: 'ChangedSincePlan',
      message: 'The user’s licenses changed since the plan was made; the planned change was not made.',
    };
  }
  // HR's word outranks any plan: nothing is added back to someone HR said left. (A disabled
  // account gets back what a revert restores: the daily cleanup reclaims it in its own time; a
  // plan from rules never adds to one, and one disabled since the plan no longer fits the rules.)
  const adds = planned.actions.some((a) => a.kind === 'addLicense');
  if (adds && fresh.action === 'leave') {
    return {
      ok: false,
      code: 'Policy',
      decision: { ...fresh, policy: 'leaver', plan: { ...fresh.plan, actions: [], outcome: 'UNCHANGED' } },
    };
  }
  const rulesBlockOrDefer = fresh.plan.deferred !== null || fresh.plan.blocked !== null;
  if (planned.checkRules && !rulesBlockOrDefer && !sameActions(fresh.plan.actions, planned.actions)) {
    return {
      ok: false,
      code: 'RulesNowDiffer',
      message:
        'The rules now want another change for this user than the plan shows; the planned change was not made.',
    };
  }
  if (planned.checkRules && rulesBlockOrDefer)
    return { ok: true, decision: { ...fresh, planned: { label: planned.label } } };
  return {
    ok: true,
    decision: {
      ...fresh,
      policy: null,
      planned: { label: planned.label },
      plan: {
        actions: planned.actions,
        conflicts: planned.checkRules ? fresh.plan.conflicts : [],
        deferred: null,
        blocked: null,
        outcome: outcomeOfActions(planned.actions, []),
      },
    },
  };
}
