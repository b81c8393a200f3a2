/**
 * Taking licenses over from groups without a gap. While a group still licenses a user, the rules
 * leave that license alone ("comes from group(s) … with the plans the rule wants"); once the
 * group's license is removed, the user has nothing until the app hears of it and assigns the
 * license directly. Assigning it directly *before* the group's license goes closes that gap: a
 * user may hold a SKU directly and through a group at the same time, on one seat, with the plans
 * of both (GRAPH-FACTS.md, licensing; entra-docs licensing-group-advanced.md). Pure: decides, per
 * user, which direct assignments to add.
 */
import type { GraphUser } from '../graph/types.js';
import { desiredStateFor } from '../licensing/desired.js';
import type { CompiledRules, ResolvedLicense } from '../licensing/types.js';
import { evaluateRules } from '../rules/evaluate.js';

export type TakeOver =
  /** Add these licenses directly (after setting the usage location, when given). */
  | {
      kind: 'add';
      rule: string;
      licenses: (ResolvedLicense & { groups: string[] })[];
      usageLocation: string | null;
    }
  /** A group-held license the rule wants that is not taken over, and why. */
  | { kind: 'skip'; rule: string; sku: string; reason: string };

const lower = (s: string): string => s.toLowerCase();

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a.map(lower));
  const y = new Set(b.map(lower));
  return x.size === y.size && [...x].every((p) => y.has(p));
}

/** True when the user holds a managed SKU through a group only: the users take-over looks at. */
export function holdsThroughGroupOnly(user: GraphUser, managed: ReadonlySet<string>): boolean {
  const direct = new Set(
    user.licenseAssignmentStates
      .filter((s) => s.assignedByGroup == null || s.assignedByGroup === '')
      .map((s) => lower(s.skuId)),
  );
  return user.licenseAssignmentStates.some(
    (s) =>
      s.assignedByGroup != null &&
      s.assignedByGroup !== '' &&
      managed.has(lower(s.skuId)) &&
      !direct.has(lower(s.skuId)),
  );
}

/**
 * What to take over for one user: the licenses the matching rule wants that the user holds only
 * through groups, with exactly the plans the groups give. Nothing when no rule matches, when the
 * user already holds them directly, or when nothing comes from a group.
 * @param groups the groups (any case) the user is a transitive member of, for `memberOf` rules.
 */
export function takeOverFor(
  user: GraphUser,
  compiled: CompiledRules,
  groups: ReadonlySet<string>,
): TakeOver[] {
  const evaluation = evaluateRules(compiled, user, groups);
  const desired = desiredStateFor(evaluation, compiled, 'reconcile');
  if (desired.kind !== 'licenses') return [];
  const rule = desired.rule;
  const adds: (ResolvedLicense & { groups: string[] })[] = [];
  const out: TakeOver[] = [];
  for (const license of desired.licenses) {
    const paths = user.licenseAssignmentStates.filter((s) => lower(s.skuId) === lower(license.skuId));
    if (paths.some((s) => s.assignedByGroup == null || s.assignedByGroup === '')) continue;
    const active = paths.filter((s) => s.state == null || lower(s.state) === 'active');
    if (active.length === 0) continue;
    // The group side of the effective license: a plan is off only if every group disables it.
    const [first, ...rest] = active;
    const off = (first?.disabledPlans ?? [])
      .map(lower)
      .filter((p) => rest.every((s) => s.disabledPlans.map(lower).includes(p)));
    if (!sameSet(off, license.disabledPlans)) {
      out.push({
        kind: 'skip',
        rule,
        sku: license.skuPartNumber,
        reason:
          'the groups give other plans than the rule wants: plan or apply sets them once the group license is removed',
      });
      continue;
    }
    adds.push({ ...license, groups: active.map((s) => s.assignedByGroup ?? '') });
  }
  if (adds.length === 0) return out;
  const skus = adds.map((l) => l.skuPartNumber).join(', ');
  if (user.accountEnabled === false) {
    return [
      ...out,
      {
        kind: 'skip',
        rule,
        sku: skus,
        reason:
          'the account is disabled: the app does not license disabled accounts, so the license goes with the group',
      },
    ];
  }
  const hasLocation = user.usageLocation != null && user.usageLocation !== '';
  if (!hasLocation && compiled.defaults.usageLocation === null) {
    return [
      ...out,
      {
        kind: 'skip',
        rule,
        sku: skus,
        reason:
          'no usageLocation, which a direct assignment needs (group-based licensing used the tenant country): set it on the user, or set defaults.usageLocation in the rules',
      },
    ];
  }
  return [
    ...out,
    {
      kind: 'add',
      rule,
      licenses: adds,
      usageLocation: hasLocation ? null : compiled.defaults.usageLocation,
    },
  ];
}
