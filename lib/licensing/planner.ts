/**
 * The planner: compares what the rules want with what the user holds and returns the actions
 * that close the gap. Pure. It only ever touches managed SKUs (those some rule names); every
 * other license, and its disabled plans, is left exactly as it is.
 *
 * Graph facts it relies on (GRAPH-FACTS.md, learn.microsoft.com/graph/api/user-assignlicense):
 * - posting a SKU the user already holds replaces its disabledPlans, so a plan change is one
 *   add of the same SKU with the full new list, never remove-then-add;
 * - adds and removes go in one assignLicense call, so a SKU swap is atomic;
 * - usageLocation must be set before a license is added;
 * - a license inherited from a group cannot be changed or removed per user; a user may hold a
 *   SKU directly and through groups at once, and gets the union of the plans they enable.
 */
import type { AssignLicenseBody, GraphUser } from '../graph/types.js';
import type { DesiredState, LicensePlan, OutcomeKind, PlanAction, PlanConflict } from './types.js';

export { describeAction, describeLicenses, formatLicenses, licenseNotation } from './describe.js';

/** Everything the planner needs, passed in (no catalog or Graph access inside). */
export interface PlanInput {
  user: GraphUser;
  desired: DesiredState;
  /** Lower-case skuIds the rules manage (CompiledRules.managedSkuIds). */
  managedSkuIds: ReadonlySet<string>;
  /** Seats still free for a SKU (Catalog.freeSeats). */
  freeSeats(skuId: string): number;
  /** defaults.usageLocation, or null. */
  defaultUsageLocation: string | null;
  /** Part number for messages and actions (Catalog.skuPartNumber). */
  skuPartNumber(skuId: string): string;
}

interface GroupAssignment {
  groupId: string;
  disabledPlans: string[];
  state: string | null;
  error: string | null;
}

/** How the user holds one SKU: directly (its disabled plans) and/or through groups. */
interface Holding {
  skuId: string;
  direct: string[] | null;
  groups: GroupAssignment[];
}

const lower = (ids: readonly string[]): string[] => ids.map((id) => id.toLowerCase());

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(lower(a));
  const right = new Set(lower(b));
  return left.size === right.size && [...left].every((x) => right.has(x));
}

/** Plans disabled in every group assignment: the group side of the effective license. */
function disabledByAllGroups(groups: readonly GroupAssignment[]): Set<string> {
  const [first, ...rest] = groups;
  const common = new Set(first?.disabledPlans ?? []);
  for (const g of rest) for (const p of [...common]) if (!g.disabledPlans.includes(p)) common.delete(p);
  return common;
}

/**
 * The user's licenses by SKU. licenseAssignmentStates tells direct from group assignments; a
 * SKU in assignedLicenses with no state (states not selected, or not reported) counts as direct.
 */
function holdingsOf(user: GraphUser): Map<string, Holding> {
  const holdings = new Map<string, Holding>();
  const get = (skuId: string): Holding => {
    const key = skuId.toLowerCase();
    let h = holdings.get(key);
    if (h === undefined) {
      h = { skuId: key, direct: null, groups: [] };
      holdings.set(key, h);
    }
    return h;
  };
  for (const s of user.licenseAssignmentStates) {
    const h = get(s.skuId);
    if (s.assignedByGroup != null && s.assignedByGroup !== '') {
      h.groups.push({
        groupId: s.assignedByGroup.toLowerCase(),
        disabledPlans: lower(s.disabledPlans),
        state: s.state ?? null,
        error: s.error ?? null,
      });
    } else {
      h.direct = lower(s.disabledPlans);
    }
  }
  for (const a of user.assignedLicenses) {
    if (!holdings.has(a.skuId.toLowerCase())) get(a.skuId).direct = lower(a.disabledPlans);
  }
  return holdings;
}

/** The outcome a list of license actions leads to (and CONFLICT when only conflicts remain). */
export function outcomeOfActions(
  actions: readonly PlanAction[],
  conflicts: readonly PlanConflict[],
): OutcomeKind {
  const has = (kind: PlanAction['kind']): boolean => actions.some((a) => a.kind === kind);
  if (has('addLicense')) return has('removeLicense') ? 'UPDATED' : 'ASSIGNED';
  if (has('updateDisabledPlans')) return 'UPDATED';
  if (has('removeLicense')) return 'REMOVED';
  return conflicts.length > 0 ? 'CONFLICT' : 'UNCHANGED';
}

const groupList = (groups: readonly GroupAssignment[]): string => groups.map((g) => g.groupId).join(', ');

/** Compute the plan for one user. Never throws for expected situations: they are values. */
export function planLicenses(input: PlanInput): LicensePlan {
  const { user, desired } = input;
  if (desired.kind === 'leave') {
    return { actions: [], conflicts: [], deferred: null, blocked: null, outcome: 'NO_RULE', notes: [] };
  }

  const holdings = holdingsOf(user);
  const managed = new Set(lower([...input.managedSkuIds]));
  const adds: PlanAction[] = [];
  const updates: PlanAction[] = [];
  const removes: PlanAction[] = [];
  const conflicts: PlanConflict[] = [];
  const notes: string[] = [];
  let deferred: LicensePlan['deferred'] = null;

  const conflict = (skuId: string, groups: readonly GroupAssignment[], reason: string): void => {
    conflicts.push({
      skuId,
      skuPartNumber: input.skuPartNumber(skuId),
      groupIds: groups.map((g) => g.groupId),
      reason,
    });
  };

  const wanted = new Set<string>();
  if (desired.kind === 'licenses') {
    for (const license of desired.licenses) {
      const skuId = license.skuId.toLowerCase();
      const part = license.skuPartNumber;
      const want = lower(license.disabledPlans);
      wanted.add(skuId);
      managed.add(skuId);
      const held = holdings.get(skuId);

      if (held?.direct != null) {
        if (!sameSet(held.direct, want))
          updates.push({
            kind: 'updateDisabledPlans',
            skuId,
            skuPartNumber: part,
            before: held.direct,
            after: want,
          });
        if (held.groups.length > 0) {
          // Effective plans are the union over assignments: a plan a group enables stays on.
          const groupOff = disabledByAllGroups(held.groups);
          const stillOn = want.filter((p) => !groupOff.has(p));
          if (stillOn.length > 0)
            conflict(
              skuId,
              held.groups,
              `${part} is also assigned through group(s) ${groupList(held.groups)}, which leave on ` +
                `${stillOn.length} plan(s) the rule disables; change the group's license options or ` +
                'take the user out of the group',
            );
          else notes.push(`${part} is also assigned through group(s) ${groupList(held.groups)}`);
        }
        continue;
      }

      if (held !== undefined && held.groups.length > 0) {
        if (sameSet([...disabledByAllGroups(held.groups)], want)) {
          notes.push(`${part} comes from group(s) ${groupList(held.groups)} with the plans the rule wants`);
        } else {
          conflict(
            skuId,
            held.groups,
            `${part} is inherited from group(s) ${groupList(held.groups)} with other disabled plans than ` +
              'the rule wants, and cannot be changed per user; change the group’s license options or ' +
              'take the user out of the group',
          );
        }
        for (const g of held.groups)
          if (g.error != null && g.error !== '' && g.error.toLowerCase() !== 'none')
            notes.push(`the group assignment of ${part} from ${g.groupId} is in error: ${g.error}`);
        continue;
      }

      // A disabled account gets no new license: it would hold a seat nobody uses, and a reclaim by
      // the cleanup would be undone by the next change. (Plan changes and removals still apply.)
      if (user.accountEnabled === false) {
        notes.push(`${part} not added: the account is disabled`);
        continue;
      }
      adds.push({ kind: 'addLicense', skuId, skuPartNumber: part, disabledPlans: want });
      if (deferred === null && input.freeSeats(skuId) <= 0) {
        deferred = {
          reason: `no free seat of ${part}: every enabled unit is consumed; buy more or free some`,
          skuId,
          skuPartNumber: part,
        };
      }
    }
  }

  for (const held of holdings.values()) {
    if (!managed.has(held.skuId) || wanted.has(held.skuId)) continue;
    const part = input.skuPartNumber(held.skuId);
    if (held.direct !== null) {
      removes.push({ kind: 'removeLicense', skuId: held.skuId, skuPartNumber: part });
      if (held.groups.length > 0)
        conflict(
          held.skuId,
          held.groups,
          `${part} stays assigned through group(s) ${groupList(held.groups)} after the direct assignment ` +
            'is removed; take the user out of the group or remove the license from the group',
        );
    } else {
      conflict(
        held.skuId,
        held.groups,
        `${part} is inherited from group(s) ${groupList(held.groups)} and cannot be removed per user; ` +
          'take the user out of the group or remove the license from the group',
      );
    }
  }

  const licenseActions = [...adds, ...updates, ...removes];
  const outcome = outcomeOfActions(licenseActions, conflicts);

  const usageLocation = user.usageLocation == null || user.usageLocation === '' ? null : user.usageLocation;
  if (adds.length > 0 && usageLocation === null) {
    if (input.defaultUsageLocation === null) {
      return {
        actions: [],
        conflicts,
        deferred: null,
        blocked: {
          code: 'NoUsageLocation',
          reason: `${user.userPrincipalName} has no usageLocation, which Graph requires before a license is added`,
          fix:
            'set usageLocation on the user (in AD it syncs from msExchUsageLocation; or in Entra ID), ' +
            'or set defaults.usageLocation in the rules file',
        },
        outcome: 'FAILED',
        notes,
      };
    }
    licenseActions.unshift({ kind: 'setUsageLocation', from: null, to: input.defaultUsageLocation });
  }

  if (deferred !== null) {
    return { actions: [], conflicts, deferred, blocked: null, outcome: 'DEFERRED', notes };
  }
  return { actions: licenseActions, conflicts, deferred: null, blocked: null, outcome, notes };
}

/**
 * The assignLicense body for a plan: always both arrays (Graph answers 400 when one is
 * missing), or null when the plan changes no license (or must not run: deferred, blocked).
 */
export function assignLicenseBody(plan: LicensePlan): AssignLicenseBody | null {
  if (plan.deferred !== null || plan.blocked !== null) return null;
  const body: AssignLicenseBody = { addLicenses: [], removeLicenses: [] };
  for (const a of plan.actions) {
    if (a.kind === 'addLicense')
      body.addLicenses.push({ skuId: a.skuId, disabledPlans: [...a.disabledPlans] });
    else if (a.kind === 'updateDisabledPlans')
      body.addLicenses.push({ skuId: a.skuId, disabledPlans: [...a.after] });
    else if (a.kind === 'removeLicense') body.removeLicenses.push(a.skuId);
  }
  return body.addLicenses.length === 0 && body.removeLicenses.length === 0 ? null : body;
}
