/**
 * The plan that reverts a CLI run: every user the run changed, put back to the licenses they had
 * before it, from the run's outcome records (the licenses before as Graph gave them, and the
 * actions the run made). Each applied action is undone: an add becomes a removal, a removal adds
 * the SKU back with the plans it had, a plan change goes back to the plans before. A usage location
 * the run set is left (removing it would only stop later license assignments). Pure.
 */
import type { AssignedLicense } from '../graph/types.js';
import type { LicenseNames } from '../licensing/catalog.js';
import { outcomeOfActions } from '../licensing/planner.js';
import type { OutcomeRecord, PlanAction } from '../licensing/types.js';
import { planEntry, type PlanEntry } from './plan-artifact.js';
import { predictLicenses } from './predict-licenses.js';

export interface RevertPlan {
  entries: PlanEntry[];
  /** Users of the run that cannot be reverted, and why. */
  unrevertable: { userId: string; userPrincipalName: string | null; reason: string }[];
}

/** The actions that undo `applied` on a user whose licenses before were `before`. */
export function undoActions(
  applied: readonly PlanAction[],
  before: readonly AssignedLicense[],
): PlanAction[] {
  const had = new Map(before.map((l) => [l.skuId.toLowerCase(), l]));
  const undo: PlanAction[] = [];
  for (const a of applied) {
    switch (a.kind) {
      case 'addLicense': {
        const prior = had.get(a.skuId.toLowerCase());
        // Added over a license the user already held (plans replaced): put those plans back.
        undo.push(
          prior
            ? {
                kind: 'updateDisabledPlans',
                skuId: a.skuId,
                skuPartNumber: a.skuPartNumber,
                before: a.disabledPlans,
                after: prior.disabledPlans,
              }
            : { kind: 'removeLicense', skuId: a.skuId, skuPartNumber: a.skuPartNumber },
        );
        break;
      }
      case 'removeLicense': {
        const prior = had.get(a.skuId.toLowerCase());
        undo.push({
          kind: 'addLicense',
          skuId: a.skuId,
          skuPartNumber: a.skuPartNumber,
          disabledPlans: prior ? [...prior.disabledPlans] : [],
        });
        break;
      }
      case 'updateDisabledPlans':
        undo.push({
          ...a,
          before: a.after,
          after: had.get(a.skuId.toLowerCase())?.disabledPlans ?? a.before,
        });
        break;
      case 'setUsageLocation':
        break;
    }
  }
  return undo;
}

/** The revert plan of a run, from its records (the final records of the users it changed). */
export function revertPlan(
  runId: string,
  records: readonly OutcomeRecord[],
  names: LicenseNames,
): RevertPlan {
  const entries: PlanEntry[] = [];
  const unrevertable: RevertPlan['unrevertable'] = [];
  for (const r of records) {
    if (r.phase !== 'final' || r.actions.length === 0) continue;
    const who = { userId: r.userId, userPrincipalName: r.userPrincipalName };
    if (r.assignedBefore === undefined) {
      unrevertable.push({
        ...who,
        reason: 'its record keeps no licenses-before as Graph gave them (written by an older version)',
      });
      continue;
    }
    const undo = undoActions(r.actions, r.assignedBefore);
    if (undo.length === 0) {
      unrevertable.push({ ...who, reason: 'the run only set a usage location, which a revert leaves' });
      continue;
    }
    // What the user should hold now if nothing changed since the run: what the revert expects.
    const expected = predictLicenses(r.assignedBefore, r.actions);
    entries.push(
      planEntry(
        { id: r.userId, userPrincipalName: r.userPrincipalName, assignedLicenses: expected },
        { rule: `revert ${runId}`, outcome: outcomeOfActions(undo, []), actions: undo },
        names,
      ),
    );
  }
  return { entries, unrevertable };
}
