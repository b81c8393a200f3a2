/**
 * From the tenant's licensed groups to a rules file that gives the same licenses. Pure.
 *
 * How group-based licensing behaves, and what the rules do about it (entra-docs
 * licensing-group-advanced.md, licensing-groups-resolve-problems.md):
 * - a dynamic group licenses the users its membership rule selects: its rule becomes an
 *   `entra:` condition, word for word; a static group becomes `memberOf: <group id>`;
 * - the licenses of every group a user is in add up (a plan is on if any group enables it), while
 *   rules are first-match: each combination of groups users are in today gets a rule of its own,
 *   with the licenses merged, ahead of the single-group rules;
 * - a group's disabled plans carry over as `disabledPlans` (so plans Microsoft adds later stay
 *   on, as they do in group-based licensing);
 * - group-based licensing does not license members of nested groups, but `memberOf` is
 *   transitive: such users are named in the report;
 * - a group whose rule, SKU or plans the rules cannot express is left out, with the reason: its
 *   licenses stay in group-based licensing.
 */
import type { GroupMember, LicensedGroup } from '../graph/group-reader.js';
import { DYNAMIC_MEMBERSHIP } from '../graph/group-reader.js';
import type { Catalog } from '../licensing/catalog.js';
import { entraRule } from '../rules/entra/parse.js';
import { EntraRuleError } from '../rules/entra/rule-error.js';
import type { Condition, LicenseSpec, RulesFile } from '../rules/schema.js';

/** One rule of a rules file. */
type Rule = RulesFile['rules'][number];

/** What the import read about one licensed group. */
export interface GroupFacts {
  group: LicensedGroup;
  /** Direct members as Graph listed them (users, nested groups, other objects). */
  members: readonly GroupMember[];
  /** Users reached only through nested groups (static groups with nesting; empty otherwise). */
  nestedOnlyUsers: readonly GroupMember[];
}

/** A license of a carried group, resolved: lower-case GUIDs. */
export interface CarriedLicense {
  skuId: string;
  disabledPlans: string[];
}

/** A group the rules reproduce. */
export interface CarriedGroup {
  id: string;
  name: string;
  kind: 'dynamic' | 'static';
  /** `On` / `Paused` for dynamic groups. */
  processingState: string | null;
  condition: Condition;
  licenses: CarriedLicense[];
  /** Its single-group rule. */
  rule: string;
  /** Direct user members per Entra (lower-case ids). */
  directUsers: ReadonlySet<string>;
  /** Users only in nested groups of a static group, and the nested groups' names. */
  nestedOnlyUsers: ReadonlySet<string>;
  nestedGroups: string[];
}

/** Why a group, or part of it, stays in group-based licensing; or a fact an admin must weigh. */
export interface ImportNote {
  level: 'not-carried' | 'attention' | 'info';
  /** The group it is about, if any. */
  group: { id: string; name: string } | null;
  message: string;
  /** What to do about it. */
  action: string;
}

/** A combination of groups users are in today, and the rule that gives them its licenses. */
export interface Combination {
  groups: string[];
  users: number;
  /** The combination's own rule, or null when the first single-group rule already gives the merged licenses. */
  rule: string | null;
  coveredBy: string;
}

/** The result of the import: the rules file's content and everything the report says. */
export interface ImportPlan {
  rules: Rule[];
  defaults: { unmatched: 'leave'; usageLocation?: string };
  carried: CarriedGroup[];
  /** Groups left out entirely (their licenses stay in group-based licensing). */
  notCarried: { id: string; name: string; reason: string }[];
  combinations: Combination[];
  notes: ImportNote[];
}

export interface ImportOptions {
  /** defaults.usageLocation for the rules: group-based licensing falls back to the tenant's country. */
  usageLocation?: string;
}

const lower = (s: string): string => s.toLowerCase();

/** Resolved licenses of a group that the rules can assign; problems go to `notes`. */
function carriedLicenses(
  facts: GroupFacts,
  name: string,
  catalog: Catalog,
  notes: ImportNote[],
): CarriedLicense[] {
  const out: CarriedLicense[] = [];
  const group = { id: facts.group.id, name };
  for (const license of facts.group.assignedLicenses) {
    const sku = catalog.sku(license.skuId);
    const why = catalog.whyNotAssignable(license.skuId);
    if (sku === null || why !== null) {
      notes.push({
        level: 'not-carried',
        group,
        message: `${sku?.skuPartNumber ?? license.skuId} is left out: ${why ?? 'the tenant does not list this SKU'}`,
        action: `keep ${sku?.skuPartNumber ?? 'this SKU'} on the group in group-based licensing`,
      });
      continue;
    }
    const known = new Set(sku.servicePlans.map((p) => lower(p.servicePlanId)));
    const disabled = license.disabledPlans.map(lower);
    const gone = disabled.filter((p) => !known.has(p));
    if (gone.length > 0) {
      notes.push({
        level: 'info',
        group,
        message: `${sku.skuPartNumber}: disabled plan(s) ${gone.join(', ')} no longer exist in the SKU and are left out`,
        action: 'none: a plan the SKU does not have cannot be on',
      });
    }
    out.push({ skuId: lower(sku.skuId), disabledPlans: disabled.filter((p) => known.has(p)) });
  }
  return out;
}

/** Licenses of several groups together: per SKU, a plan is off only if every group disables it. */
export function mergeLicenses(sets: readonly (readonly CarriedLicense[])[]): CarriedLicense[] {
  const merged = new Map<string, Set<string>>();
  for (const set of sets) {
    for (const l of set) {
      const current = merged.get(l.skuId);
      if (current === undefined) merged.set(l.skuId, new Set(l.disabledPlans));
      else for (const p of [...current]) if (!l.disabledPlans.includes(p)) current.delete(p);
    }
  }
  return [...merged].map(([skuId, off]) => ({ skuId, disabledPlans: [...off] }));
}

/** Same SKUs with the same disabled plans, in any order. */
export function sameLicenses(a: readonly CarriedLicense[], b: readonly CarriedLicense[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x) => {
    const y = b.find((l) => l.skuId === x.skuId);
    return (
      y !== undefined &&
      y.disabledPlans.length === x.disabledPlans.length &&
      x.disabledPlans.every((p) => y.disabledPlans.includes(p))
    );
  });
}

/** How much a license set gives: SKUs, then plans left on. Richer sets go first among single-group rules. */
function weight(licenses: readonly CarriedLicense[], catalog: Catalog): [number, number] {
  const plansOn = licenses.reduce(
    (n, l) =>
      n + catalog.plansOf(l.skuId).filter((p) => !l.disabledPlans.includes(lower(p.servicePlanId))).length,
    0,
  );
  return [licenses.length, plansOn];
}

/** License specs as a rules file writes them: part numbers and plan names, in the SKU's plan order. */
function specsOf(licenses: readonly CarriedLicense[], catalog: Catalog): LicenseSpec[] {
  return licenses.map((l) => {
    const plans = catalog
      .plansOf(l.skuId)
      .filter((p) => l.disabledPlans.includes(lower(p.servicePlanId)))
      .map((p) => p.servicePlanName);
    return plans.length === 0
      ? { sku: catalog.skuPartNumber(l.skuId) }
      : { sku: catalog.skuPartNumber(l.skuId), disabledPlans: plans };
  });
}

function ruleOf(name: string, description: string, when: Condition, licenses: LicenseSpec[]): Rule {
  const [only, ...more] = licenses;
  return only !== undefined && more.length === 0
    ? { name, description, when, license: only }
    : { name, description, when, licenses };
}

/** A group's rule name: its display name, made unique (rule names compare case-insensitively). */
function uniqueName(wanted: string, used: Set<string>): string {
  let name = wanted;
  for (let n = 2; used.has(lower(name)); n++) name = `${wanted} (${n})`;
  used.add(lower(name));
  return name;
}

/** The condition for a group, or the reason it cannot have one. */
function conditionOf(group: LicensedGroup): { condition: Condition } | { reason: string; action: string } {
  const dynamic = group.groupTypes.some((t) => lower(t) === lower(DYNAMIC_MEMBERSHIP));
  if (!dynamic) return { condition: { memberOf: lower(group.id) } };
  const rule = group.membershipRule ?? '';
  try {
    entraRule(rule);
    return { condition: { entra: rule } };
  } catch (e) {
    if (!(e instanceof EntraRuleError)) throw e;
    return {
      reason: `its membership rule cannot be evaluated here: ${e.message}`,
      action: `keep this group in group-based licensing, or write a rule for it by hand (${e.fix})`,
    };
  }
}

/**
 * Builds the rules for the licensed groups.
 * @param usersIn for each user id (lower-case), the licensed groups (ids, lower-case) Entra has
 *   the user in directly today: the combinations that need a rule of their own.
 */
export function rulesFromGroups(
  groups: readonly GroupFacts[],
  usersIn: ReadonlyMap<string, ReadonlySet<string>>,
  catalog: Catalog,
  options: ImportOptions = {},
): ImportPlan {
  const notes: ImportNote[] = [];
  const notCarried: ImportPlan['notCarried'] = [];
  const carried: CarriedGroup[] = [];
  const names = new Set<string>();

  for (const facts of groups) {
    const g = facts.group;
    const name = g.displayName ?? g.id;
    const ref = { id: g.id, name };
    const found = conditionOf(g);
    if ('reason' in found) {
      notCarried.push({ ...ref, reason: found.reason });
      notes.push({ level: 'not-carried', group: ref, message: found.reason, action: found.action });
      continue;
    }
    const licenses = carriedLicenses(facts, name, catalog, notes);
    if (licenses.length === 0) {
      const reason = 'none of its licenses can be assigned by the rules';
      notCarried.push({ ...ref, reason });
      continue;
    }
    const kind = 'entra' in found.condition ? 'dynamic' : 'static';
    const nestedGroups = facts.members.filter((m) => m.kind === 'group').map((m) => m.displayName ?? m.id);
    carried.push({
      id: lower(g.id),
      name,
      kind,
      processingState: kind === 'dynamic' ? (g.membershipRuleProcessingState ?? 'On') : null,
      condition: found.condition,
      licenses,
      rule: uniqueName(name, names),
      directUsers: new Set(facts.members.filter((m) => m.kind === 'user').map((m) => lower(m.id))),
      nestedOnlyUsers: new Set(facts.nestedOnlyUsers.map((m) => lower(m.id))),
      nestedGroups,
    });
    if (kind === 'dynamic' && lower(g.membershipRuleProcessingState ?? 'on') === 'paused') {
      notes.push({
        level: 'attention',
        group: ref,
        message:
          'membership processing is paused in Entra: its members are frozen, while the imported rule applies live',
        action: 'resume processing in Entra (or accept the rule as it reads now) before comparing again',
      });
    }
    if (nestedGroups.length > 0) {
      notes.push({
        level: 'attention',
        group: ref,
        message: `it contains nested group(s) ${nestedGroups.join(', ')}: group-based licensing does not license their members, but memberOf is transitive (${facts.nestedOnlyUsers.filter((m) => m.kind === 'user').length} user(s) would gain its licenses)`,
        action:
          'accept that (most admins expect nested members to be licensed), or move those users into the group directly',
      });
    }
    const state = g.licenseProcessingState?.state;
    if (state != null && state !== 'ProcessingComplete') {
      notes.push({
        level: 'attention',
        group: ref,
        message: `Entra is still applying its licenses (licenseProcessingState ${state}): today's licenses may not be final`,
        action: 'compare again once Entra reports ProcessingComplete',
      });
    }
  }

  // Single-group rules, richest license set first: a user who later lands in a combination not
  // seen today then gets the larger package rather than the smaller one.
  const singles = [...carried].sort((a, b) => {
    const [sa, pa] = weight(a.licenses, catalog);
    const [sb, pb] = weight(b.licenses, catalog);
    return sb - sa || pb - pa || a.name.localeCompare(b.name);
  });

  // Combinations users are in today, most specific first.
  const byId = new Map(carried.map((c) => [c.id, c]));
  const order = new Map(singles.map((c, i) => [c.id, i]));
  const counts = new Map<string, number>();
  for (const groupIds of usersIn.values()) {
    const ids = [...groupIds]
      .filter((id) => byId.has(id))
      .sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    if (ids.length >= 2) counts.set(ids.join('|'), (counts.get(ids.join('|')) ?? 0) + 1);
  }
  const combinations: Combination[] = [];
  const comboRules: Rule[] = [];
  const combos = [...counts].sort(
    ([a, na], [b, nb]) => b.split('|').length - a.split('|').length || nb - na || a.localeCompare(b),
  );
  for (const [key, users] of combos) {
    const members = key.split('|').flatMap((id) => byId.get(id) ?? []);
    const merged = mergeLicenses(members.map((m) => m.licenses));
    const first = members[0];
    if (first === undefined) continue;
    const groupNames = members.map((m) => m.name);
    // The first single-group rule these users reach may already give exactly the merged licenses.
    if (sameLicenses(first.licenses, merged)) {
      combinations.push({ groups: groupNames, users, rule: null, coveredBy: first.rule });
      continue;
    }
    const name = uniqueName(groupNames.join(' + '), names);
    combinations.push({ groups: groupNames, users, rule: name, coveredBy: name });
    comboRules.push(
      ruleOf(
        name,
        `Users in all of: ${groupNames.join(', ')} (${users} today). Group-based licensing gives them the licenses of every group.`,
        { all: members.map((m) => m.condition) },
        specsOf(merged, catalog),
      ),
    );
  }

  const singleRules = singles.map((c) =>
    ruleOf(
      c.rule,
      c.kind === 'dynamic'
        ? `Imported from dynamic group "${c.name}" (${c.id}); its membership rule as written in Entra.`
        : `Imported from group "${c.name}" (${c.id}); memberOf counts nested groups too.`,
      c.condition,
      specsOf(c.licenses, catalog),
    ),
  );

  if (carried.length > 1) {
    notes.push({
      level: 'info',
      group: null,
      message:
        'rules are first-match: a user who later joins a combination of these groups not seen today gets only the first matching rule (single-group rules are ordered richest first)',
      action:
        'add a rule for that combination, like the combination rules at the top of the file, if it can happen',
    });
  }
  notes.push({
    level: 'info',
    group: null,
    message:
      'disabled plans are carried over as disabledPlans, so plans Microsoft adds to a SKU later stay on, as in group-based licensing',
    action: 'switch a license to enabledPlans if new plans should stay off',
  });

  return {
    rules: [...comboRules, ...singleRules],
    defaults:
      options.usageLocation === undefined
        ? { unmatched: 'leave' }
        : { unmatched: 'leave', usageLocation: options.usageLocation },
    carried,
    notCarried,
    combinations,
    notes,
  };
}
