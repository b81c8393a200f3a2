/**
 * Whether planned actions hold on a user as read now. Used wherever the answer to a write is
 * unknown (a lost response, a crash between the write and its record): Graph is read again and
 * the planned actions are compared with what it shows, so a change is neither sent twice nor
 * recorded as not made. Pure.
 */
import type { GraphUser } from '../graph/types.js';
import type { PlanAction } from '../licensing/types.js';

/** The disabled plans of the user's direct assignment of a SKU, or null when it has none. */
export function directAssignment(user: GraphUser, skuId: string): string[] | null {
  const key = skuId.toLowerCase();
  if (user.licenseAssignmentStates.length > 0) {
    const direct = user.licenseAssignmentStates.find(
      (s) => s.skuId.toLowerCase() === key && (s.assignedByGroup == null || s.assignedByGroup === ''),
    );
    return direct ? direct.disabledPlans.map((p) => p.toLowerCase()) : null;
  }
  const held = user.assignedLicenses.find((l) => l.skuId.toLowerCase() === key);
  return held ? held.disabledPlans.map((p) => p.toLowerCase()) : null;
}

function samePlans(held: readonly string[], wanted: readonly string[]): boolean {
  const want = new Set(wanted.map((p) => p.toLowerCase()));
  const have = new Set(held);
  return have.size === want.size && [...want].every((p) => have.has(p));
}

/** Whether one planned action is in effect on the user. */
export function actionHolds(user: GraphUser, action: PlanAction): boolean {
  switch (action.kind) {
    case 'setUsageLocation':
      return (user.usageLocation ?? '').toUpperCase() === action.to.toUpperCase();
    case 'addLicense': {
      const held = directAssignment(user, action.skuId);
      return held !== null && samePlans(held, action.disabledPlans);
    }
    case 'updateDisabledPlans': {
      const held = directAssignment(user, action.skuId);
      return held !== null && samePlans(held, action.after);
    }
    case 'removeLicense':
      return directAssignment(user, action.skuId) === null;
  }
}

export interface ActionsInEffect {
  /** `all`: every action holds; `none`: none does; `some`: part of them. */
  state: 'all' | 'none' | 'some';
  holding: PlanAction[];
  missing: PlanAction[];
}

/** Splits planned actions into those in effect on the user and those still to do. */
export function actionsInEffect(user: GraphUser, actions: readonly PlanAction[]): ActionsInEffect {
  const holding: PlanAction[] = [];
  const missing: PlanAction[] = [];
  for (const action of actions) (actionHolds(user, action) ? holding : missing).push(action);
  const state = missing.length === 0 ? 'all' : holding.length === 0 ? 'none' : 'some';
  return { state, holding, missing };
}
