/**
 * The comparison `import-gbl` prints: for every user, the licenses they have today (direct and
 * through groups) against what they would have once the imported rules run and the carried
 * groups' licenses are removed, for the SKUs the rules manage. Pure: it runs the same rules
 * evaluation and planner as `plan` and `apply`, on the user as they would be without the group
 * licenses. Each difference comes with the reasons found for it.
 */
import { predictLicenses } from '../engine/predict-licenses.js';
import type { AssignedLicense, GraphUser, LicenseAssignmentState } from '../graph/types.js';
import type { Catalog } from '../licensing/catalog.js';
import { desiredStateFor } from '../licensing/desired.js';
import { planLicenses } from '../licensing/planner.js';
import type { CompiledRules } from '../licensing/types.js';
import { leafDetail, oneLine, firstFailingClause } from '../rules/entra/explain.js';
import { evaluateRules, type ConditionTrace } from '../rules/evaluate.js';
import { mergeLicenses, sameLicenses, type CarriedGroup, type CarriedLicense } from './rules-from-groups.js';

/** One way a user's licenses would change. SKUs and plans by name. */
export type LicenseChange =
  | { kind: 'loses' | 'gains'; sku: string }
  | { kind: 'plans'; sku: string; turnedOff: string[]; turnedOn: string[] };

export interface UserComparison {
  id: string;
  userPrincipalName: string;
  /** The rule that would decide the user's licenses (null: none matches). */
  rule: string | null;
  changes: LicenseChange[];
  reasons: string[];
}

export interface ComparisonInput {
  compiled: CompiledRules;
  catalog: Catalog;
  carried: readonly CarriedGroup[];
  /** For `memberOf`: the groups (lower-case ids) each user is in, transitively, as checkMemberGroups would say. */
  transitiveGroups: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface ComparisonSummary {
  users: number;
  /** Users holding a license from a carried group today, or whom a rule licenses. */
  concerned: number;
  same: number;
  differ: UserComparison[];
}

type Effective = Map<string, Set<string>>;

const lower = (s: string): string => s.toLowerCase();
const isActive = (s: LicenseAssignmentState): boolean =>
  s.state == null || s.state === '' || lower(s.state) === 'active';

/** Effective licenses from assignment paths: per SKU, a plan is off only if every active path disables it. */
function effective(states: readonly LicenseAssignmentState[], only?: ReadonlySet<string>): Effective {
  const out: Effective = new Map();
  for (const s of states.filter(isActive)) {
    const sku = lower(s.skuId);
    if (only !== undefined && !only.has(sku)) continue;
    const off = new Set(s.disabledPlans.map(lower));
    const current = out.get(sku);
    if (current === undefined) out.set(sku, off);
    else for (const p of [...current]) if (!off.has(p)) current.delete(p);
  }
  return out;
}

/** The assignment paths of a user; `assignedLicenses` stand in as direct paths when states are missing. */
function pathsOf(user: GraphUser): LicenseAssignmentState[] {
  if (user.licenseAssignmentStates.length > 0) return user.licenseAssignmentStates;
  return user.assignedLicenses.map((l) => ({ ...l, assignedByGroup: null, state: 'Active' }));
}

function asAssigned(e: Effective): AssignedLicense[] {
  return [...e].map(([skuId, off]) => ({ skuId, disabledPlans: [...off] }));
}

function changesBetween(today: Effective, after: Effective, catalog: Catalog): LicenseChange[] {
  const changes: LicenseChange[] = [];
  const name = (p: string, sku: string): string => catalog.planName(p, sku);
  for (const [sku, off] of today) {
    const next = after.get(sku);
    if (next === undefined) {
      changes.push({ kind: 'loses', sku: catalog.skuPartNumber(sku) });
      continue;
    }
    const turnedOff = [...next].filter((p) => !off.has(p)).map((p) => name(p, sku));
    const turnedOn = [...off].filter((p) => !next.has(p)).map((p) => name(p, sku));
    if (turnedOff.length > 0 || turnedOn.length > 0)
      changes.push({
        kind: 'plans',
        sku: catalog.skuPartNumber(sku),
        turnedOff: turnedOff.sort(),
        turnedOn: turnedOn.sort(),
      });
  }
  for (const sku of after.keys())
    if (!today.has(sku)) changes.push({ kind: 'gains', sku: catalog.skuPartNumber(sku) });
  return changes;
}

/** Why one condition did not hold, in a few words: the first failing clause and the value it saw. */
function whyNot(trace: ConditionTrace): string {
  switch (trace.kind) {
    case 'entra': {
      const leaf = firstFailingClause(trace.trace);
      return leaf === null ? oneLine(trace.rule) : `${oneLine(leaf.text)} (${leafDetail(leaf)})`;
    }
    case 'attribute':
      return `${trace.attribute} (value: ${trace.actual === null ? 'unset' : JSON.stringify(trace.actual)})`;
    case 'memberOf':
      return `not a member of ${trace.groupId}`;
    case 'not':
      return 'a "not" condition';
    case 'all':
    case 'any': {
      const failed = trace.children.find((c) => !c.result);
      return failed === undefined ? trace.kind : whyNot(failed);
    }
  }
}

/** The reasons a carried group gives for a difference, comparing Entra's membership with the rule. */
function groupReasons(
  group: CarriedGroup,
  user: GraphUser,
  input: ComparisonInput,
): { holds: boolean; reasons: string[] } {
  const id = lower(user.id);
  const inEntra = group.directUsers.has(id);
  const groups = input.transitiveGroups.get(id) ?? new Set<string>();
  const trace = evaluateRules(
    { rules: [{ name: group.rule, index: 0, description: null, when: group.condition, licenses: 'none' }] },
    user,
    groups,
  ).trace[0]?.condition;
  const holds = trace?.result ?? false;
  const paused = group.processingState !== null && lower(group.processingState) === 'paused';
  if (inEntra && !holds && trace !== undefined) {
    const reason =
      group.kind === 'dynamic'
        ? `in "${group.name}" per Entra, but its rule does not hold here: ${whyNot(trace)}; ${
            paused
              ? 'membership processing is paused in Entra, so the group keeps members its rule no longer selects'
              : 'if that value changed recently, Entra has not processed the group yet'
          }`
        : `in "${group.name}" per Entra, but not per checkMemberGroups`;
    return { holds, reasons: [reason] };
  }
  if (!inEntra && holds) {
    if (group.kind === 'static') {
      return {
        holds,
        reasons: group.nestedOnlyUsers.has(id)
          ? [
              `member of "${group.name}" only through nested group(s) ${group.nestedGroups.join(', ')}: group-based licensing does not license nested members, memberOf counts them`,
            ]
          : [],
      };
    }
    return {
      holds,
      reasons: [
        `the rule of "${group.name}" holds here but Entra has not put the user in the group (${
          paused ? 'membership processing is paused' : 'a recent change not processed yet?'
        })`,
      ],
    };
  }
  return { holds, reasons: [] };
}

/** Resolved licenses of a compiled rule, as carried licenses (lower-case GUIDs). */
function licensesOfRule(rule: CompiledRules['rules'][number]): CarriedLicense[] {
  return rule.licenses === 'none'
    ? []
    : rule.licenses.map((l) => ({ skuId: lower(l.skuId), disabledPlans: l.disabledPlans.map(lower) }));
}

/** Compares one user; `null` when nothing differs and no carried group or rule concerns them. */
export function compareUser(user: GraphUser, input: ComparisonInput): UserComparison | null {
  const { compiled, catalog } = input;
  const managed = compiled.managedSkuIds;
  const carriedIds = new Set(input.carried.map((g) => g.id));
  const paths = pathsOf(user);
  const fromCarried = (s: LicenseAssignmentState): boolean =>
    s.assignedByGroup != null && carriedIds.has(lower(s.assignedByGroup));

  const today = effective(paths, managed);
  // The user once the carried groups' licenses are gone: direct and other groups' paths remain.
  const remaining = paths.filter((s) => !fromCarried(s));
  const without: GraphUser = {
    ...user,
    licenseAssignmentStates: remaining,
    assignedLicenses: asAssigned(effective(remaining)),
  };
  const groups = input.transitiveGroups.get(lower(user.id)) ?? new Set<string>();
  const evaluation = evaluateRules(compiled, without, groups);
  const desired = desiredStateFor(evaluation, compiled, 'reconcile');
  const plan = planLicenses({
    user: without,
    desired,
    managedSkuIds: managed,
    // Each group seat is given back as the group license goes: seats are not the question here.
    freeSeats: () => Number.POSITIVE_INFINITY,
    defaultUsageLocation: compiled.defaults.usageLocation,
    skuPartNumber: catalog.skuPartNumber,
  });
  const afterAssigned =
    plan.blocked === null
      ? predictLicenses(without.assignedLicenses, plan.actions)
      : without.assignedLicenses;
  const after = effective(
    afterAssigned.map((l) => ({ ...l, assignedByGroup: null, state: 'Active' })),
    managed,
  );

  const concerned = paths.some(fromCarried) || evaluation.matched !== null;
  const changes = changesBetween(today, after, catalog);
  if (changes.length === 0)
    return concerned
      ? {
          id: user.id,
          userPrincipalName: user.userPrincipalName,
          rule: evaluation.matched?.name ?? null,
          changes,
          reasons: [],
        }
      : null;

  const reasons: string[] = [];
  if (plan.blocked !== null) {
    reasons.push(
      plan.blocked.code === 'NoUsageLocation'
        ? `${plan.blocked.reason}; group-based licensing used the tenant's country instead: set usageLocation on the user, or import again with --usage-location <country>`
        : `${plan.blocked.reason}: ${plan.blocked.fix}`,
    );
  }
  for (const note of plan.notes ?? [])
    if (note.includes('not added')) reasons.push(`${note} (the app never licenses disabled accounts)`);
  for (const c of plan.conflicts) reasons.push(c.reason);
  const holding: CarriedGroup[] = [];
  for (const group of input.carried) {
    const found = groupReasons(group, user, input);
    if (found.holds) holding.push(group);
    reasons.push(...found.reasons);
  }
  const matched = evaluation.matched;
  if (matched !== null && holding.length >= 2) {
    const combined = mergeLicenses(holding.map((g) => g.licenses));
    if (!sameLicenses(licensesOfRule(matched), combined)) {
      const others = holding.filter((g) => g.rule !== matched.name).map((g) => `"${g.name}"`);
      reasons.push(
        `rules are first-match: "${matched.name}" matches first, so the licenses of ${others.join(', ')}, whose condition also holds, are not added; no rule covers this combination (add one ahead of it, like the combination rules the import writes)`,
      );
    }
  }
  for (const s of paths) {
    if (!fromCarried(s) || isActive(s)) continue;
    const group = input.carried.find((g) => g.id === lower(s.assignedByGroup ?? ''));
    reasons.push(
      `today the ${catalog.skuPartNumber(s.skuId)} assignment from "${group?.name ?? s.assignedByGroup ?? ''}" is in error (${s.error ?? s.state ?? 'Error'}), so the user does not have it`,
    );
  }
  const direct = paths.filter(
    (s) =>
      (s.assignedByGroup == null || s.assignedByGroup === '') && isActive(s) && managed.has(lower(s.skuId)),
  );
  const wanted = new Set(desired.kind === 'licenses' ? desired.licenses.map((l) => lower(l.skuId)) : []);
  for (const d of direct) {
    const sku = catalog.skuPartNumber(d.skuId);
    if (changes.some((c) => c.kind === 'plans' && c.sku === sku)) {
      reasons.push(
        `${sku} is also assigned directly today; the rule sets that assignment's plans, and the group's plans go with the group`,
      );
    }
    const lost = changes.some((c) => c.kind === 'loses' && c.sku === sku);
    if (evaluation.matched !== null && !wanted.has(lower(d.skuId)) && lost) {
      reasons.push(
        `${sku} is assigned directly today and rule "${evaluation.matched.name}" does not give it: a matching rule removes the managed SKUs it does not name, where group-based licensing leaves direct assignments alone; to keep it, put ${sku} in a rule these users match first (or remove the direct assignment if it is a leftover)`,
      );
    }
  }
  if (reasons.length === 0) {
    reasons.push(
      evaluation.matched === null
        ? 'no imported rule matches the user'
        : `rule "${evaluation.matched.name}" decides the user's licenses, unlike the groups today`,
    );
  }
  return {
    id: user.id,
    userPrincipalName: user.userPrincipalName,
    rule: evaluation.matched?.name ?? null,
    changes,
    reasons: [...new Set(reasons)],
  };
}

/** `loses EMS`, `gains EMSPREMIUM`, `EMS: INTUNE_A off, MFA_PREMIUM on`. */
export function changeText(c: LicenseChange): string {
  if (c.kind !== 'plans') return `${c.kind} ${c.sku}`;
  const parts = [
    ...(c.turnedOff.length > 0 ? [`${c.turnedOff.join(', ')} off`] : []),
    ...(c.turnedOn.length > 0 ? [`${c.turnedOn.join(', ')} on`] : []),
  ];
  return `${c.sku}: ${parts.join('; ')}`;
}
