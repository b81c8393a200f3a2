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
  disabledPlans: readonly string[];
  state: string | null;
  error: string | null;
}

/** How the user holds one SKU: directly (its disabled plans) and/or through groups. */
interface Holding {
  skuId: string;
  direct: readonly string[] | null;
  groups: GroupAssignment[];
}

// The functions below run for every user of every reconcile: they are plain loops over module
// functions, with no closure made per call (the TypeScript runner wraps each one it makes).

// (V8 returns a string that is already lower case as it is, without a copy.)
const lowerId = (id: string): string => id.toLowerCase();

/** Ids in lower case; the same array when they already are (Graph and compiled rules send them so). */
function lower(ids: readonly string[]): readonly string[] {
  for (const id of ids) if (id.toLowerCase() !== id) return ids.map(lowerId);
  return ids;
}

/** Set equality of two short lists of lower-case ids (duplicates ignored), without building sets. */
function sameSet(a: readonly string[], b: readonly string[]): boolean {
  for (const x of a) if (!b.includes(x)) return false;
  for (const x of b) if (!a.includes(x)) return false;
  return true;
}

/** Plans disabled in every group assignment: the group side of the effective license. */
function disabledByAllGroups(groups: readonly GroupAssignment[]): Set<string> {
  const [first, ...rest] = groups;
  const common = new Set(first?.disabledPlans ?? []);
  for (const g of rest) for (const p of [...common]) if (!g.disabledPlans.includes(p)) common.delete(p);
  return common;
}

/** The holding of a SKU in a user's short list (a user holds a handful of SKUs: a list beats a map). */
function holdingOf(holdings: readonly Holding[], skuId: string): Holding | undefined {
  for (const h of holdings) if (h.skuId === skuId) return h;
  return undefined;
}

function holdingIn(holdings: Holding[], skuId: string): Holding {
  const key = lowerId(skuId);
  let h = holdingOf(holdings, key);
  if (h === undefined) {
    h = { skuId: key, direct: null, groups: [] };
    holdings.push(h);
  }
  return h;
}

/**
 * The user's licenses by SKU. licenseAssignmentStates tells direct from group assignments; a
 * SKU in assignedLicenses with no state (states not selected, or not reported) counts as direct.
 * (Lists are shared with the user object, never changed here; actions copy what they keep.)
 */
function holdingsOf(user: GraphUser): Holding[] {
  const holdings: Holding[] = [];
  for (const s of user.licenseAssignmentStates) {
    const h = holdingIn(holdings, s.skuId);
    if (s.assignedByGroup != null && s.assignedByGroup !== '') {
      h.groups.push({
        groupId: lowerId(s.assignedByGroup),
        disabledPlans: lower(s.disabledPlans),
        state: s.state ?? null,
        error: s.error ?? null,
      });
    } else {
      h.direct = lower(s.disabledPlans);
    }
  }
  for (const a of user.assignedLicenses) {
    if (holdingOf(holdings, lowerId(a.skuId)) === undefined) {
      holdingIn(holdings, a.skuId).direct = lower(a.disabledPlans);
    }
  }
  return holdings;
}

/**
 * The managed SKUs in lower case: the caller's set itself when it already is (compiled rules'
 * `managedSkuIds` are), found once per set, not per user.
 */
const lowerManaged = new WeakMap<ReadonlySet<string>, ReadonlySet<string>>();

function managedOf(ids: ReadonlySet<string>): ReadonlySet<string> {
  let set = lowerManaged.get(ids);
  if (set === undefined) {
    set = [...ids].some((id) => id.toLowerCase() !== id) ? new Set([...ids].map(lowerId)) : ids;
    lowerManaged.set(ids, set);
  }
  return set;
}

function hasAction(actions: readonly PlanAction[], kind: PlanAction['kind']): boolean {
  for (const a of actions) if (a.kind === kind) return true;
  return false;
}

/** The outcome a list of license actions leads to (and CONFLICT when only conflicts remain). */
export function outcomeOfActions(
  actions: readonly PlanAction[],
  conflicts: readonly PlanConflict[],
): OutcomeKind {
  if (hasAction(actions, 'addLicense')) return hasAction(actions, 'removeLicense') ? 'UPDATED' : 'ASSIGNED';
  if (hasAction(actions, 'updateDisabledPlans')) return 'UPDATED';
  if (hasAction(actions, 'removeLicense')) return 'REMOVED';
  return conflicts.length > 0 ? 'CONFLICT' : 'UNCHANGED';
}

function addConflict(
  conflicts: PlanConflict[],
  input: PlanInput,
  skuId: string,
  groups: readonly GroupAssignment[],
  reason: string,
): void {
  conflicts.push({
    skuId,
    skuPartNumber: input.skuPartNumber(skuId),
    groupIds: groups.map((g) => g.groupId),
    reason,
  });
}

const groupList = (groups: readonly GroupAssignment[]): string => groups.map((g) => g.groupId).join(', ');

/** Compute the plan for one user. Never throws for expected situations: they are values. */
export function planLicenses(input: PlanInput): LicensePlan {
  const { user, desired } = input;
  if (desired.kind === 'leave') {
    return { actions: [], conflicts: [], deferred: null, blocked: null, outcome: 'NO_RULE', notes: [] };
  }

  const holdings = holdingsOf(user);
  const managed = managedOf(input.managedSkuIds);
  // Most users need nothing: the lists of changes are only made when there is one.
  const adds: PlanAction[] = [];
  let updates: PlanAction[] | null = null;
  let removes: PlanAction[] | null = null;
  const conflicts: PlanConflict[] = [];
  const notes: string[] = [];
  let deferred: LicensePlan['deferred'] = null;

  const wanted: string[] = [];
  if (desired.kind === 'licenses') {
    for (const license of desired.licenses) {
      const skuId = lowerId(license.skuId);
      const part = license.skuPartNumber;
      const want = lower(license.disabledPlans);
      wanted.push(skuId);
      const held = holdingOf(holdings, skuId);

      if (held?.direct != null) {
        if (!sameSet(held.direct, want))
          (updates ??= []).push({
            kind: 'updateDisabledPlans',
            skuId,
            skuPartNumber: part,
            before: [...held.direct],
            after: [...want],
          });
        if (held.groups.length > 0) {
          // Effective plans are the union over assignments: a plan a group enables stays on.
          const groupOff = disabledByAllGroups(held.groups);
          const stillOn = want.filter((p) => !groupOff.has(p));
          if (stillOn.length > 0)
            addConflict(
              conflicts,
              input,
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
          addConflict(
            conflicts,
            input,
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
      adds.push({ kind: 'addLicense', skuId, skuPartNumber: part, disabledPlans: [...want] });
      if (deferred === null && input.freeSeats(skuId) <= 0) {
        deferred = {
          reason: `no free seat of ${part}: every enabled unit is consumed; buy more or free some`,
          skuId,
          skuPartNumber: part,
        };
      }
    }
  }

  // Every SKU a rule wants is managed too (compileRules puts them all in managedSkuIds).
  for (const held of holdings) {
    if (!managed.has(held.skuId) || wanted.includes(held.skuId)) continue;
    const part = input.skuPartNumber(held.skuId);
    if (held.direct !== null) {
      (removes ??= []).push({ kind: 'removeLicense', skuId: held.skuId, skuPartNumber: part });
      if (held.groups.length > 0)
        addConflict(
          conflicts,
          input,
          held.skuId,
          held.groups,
          `${part} stays assigned through group(s) ${groupList(held.groups)} after the direct assignment ` +
            'is removed; take the user out of the group or remove the license from the group',
        );
    } else {
      addConflict(
        conflicts,
        input,
        held.skuId,
        held.groups,
        `${part} is inherited from group(s) ${groupList(held.groups)} and cannot be removed per user; ` +
          'take the user out of the group or remove the license from the group',
      );
    }
  }

  const licenseActions =
    updates === null && removes === null ? adds : [...adds, ...(updates ?? []), ...(removes ?? [])];
  const outcome = outcomeOfActions(licenseActions, conflicts);

  const usageLocation = user.usageLocation == null || user.usageLocation === '' ? null : user.usageLocation;
  if (hasAction(licenseActions, 'addLicense') && usageLocation === null) {
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
