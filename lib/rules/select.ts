/**
 * What to read from Graph for the rules in force: the `$select` list (every attribute a rule
 * tests, and no more, which also costs fewer resource units) and the groups `memberOf` names.
 */
import { BASE_USER_SELECT } from '../graph/types.js';
import { entraRule } from './entra/parse.js';
import type { Condition, ConditionAttribute } from './schema.js';

/** Anything with rules that have a `when`: a RulesFile or CompiledRules. */
export interface HasConditions {
  readonly rules: readonly { readonly when: Condition }[];
}

/** Every condition in a tree, depth first. */
export function* conditionsIn(condition: Condition): Generator<Condition> {
  yield condition;
  if ('not' in condition) yield* conditionsIn(condition.not);
  else if ('all' in condition) for (const c of condition.all) yield* conditionsIn(c);
  else if ('any' in condition) for (const c of condition.any) yield* conditionsIn(c);
}

/** The Graph user property that holds a condition attribute. */
function graphPropertyFor(attribute: ConditionAttribute): string {
  if (attribute === 'upnDomain') return 'userPrincipalName';
  if (attribute.startsWith('extensionAttribute')) return 'onPremisesExtensionAttributes';
  return attribute;
}

/**
 * `$select` for reading users under these rules: BASE_USER_SELECT, plus onPremisesSyncEnabled
 * (cleanup tells synced accounts from cloud-only ones), plus each attribute the rules test.
 */
export function userSelectFor(rules: HasConditions): string[] {
  const select = new Set<string>([...BASE_USER_SELECT, 'onPremisesSyncEnabled']);
  for (const rule of rules.rules) {
    for (const c of conditionsIn(rule.when)) {
      if ('attribute' in c) select.add(graphPropertyFor(c.attribute));
      else if ('entra' in c) for (const p of entraRule(c.entra).graphProperties) select.add(p);
    }
  }
  return [...select];
}

/** The group ids `memberOf` conditions name (lower-case, each once, in file order). */
export function groupIdsUsed(rules: HasConditions): string[] {
  const ids = new Set<string>();
  for (const rule of rules.rules) {
    for (const c of conditionsIn(rule.when)) {
      if ('memberOf' in c) ids.add(c.memberOf.toLowerCase());
    }
  }
  return [...ids];
}
