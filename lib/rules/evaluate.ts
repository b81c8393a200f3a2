/**
 * Evaluating rules for one user: the first rule whose `when` holds wins. Every condition of
 * every rule tried is recorded (value seen, operator, expected, result) so `explain` can say
 * exactly why a rule did or did not match. Pure; group membership comes from the caller.
 *
 * Only a rule's name, position and `when` matter here: what a rule wants (its licenses) is the
 * licensing side's business, which passes its own rule type through and gets it back as the match.
 */
import type { GraphUser } from '../graph/types.js';
import { evaluateEntraRule, type EntraTrace } from './entra/evaluate.js';
import { entraRule } from './entra/parse.js';
import {
  ATTRIBUTE_OPERATORS,
  type AttributeCondition,
  type AttributeOperator,
  type Condition,
  type ConditionAttribute,
} from './schema.js';

/** What one condition saw and decided. */
export type ConditionTrace =
  | {
      kind: 'attribute';
      attribute: ConditionAttribute;
      operator: AttributeOperator;
      expected: string | number | boolean | (string | number)[];
      /** The user's value (null when unset). */
      actual: string | boolean | null;
      result: boolean;
    }
  | { kind: 'memberOf'; groupId: string; result: boolean }
  /** An `entra:` rule: `trace` holds each clause with the value it saw. */
  | { kind: 'entra'; rule: string; trace: EntraTrace; result: boolean }
  | { kind: 'not'; inner: ConditionTrace; result: boolean }
  | { kind: 'all' | 'any'; children: ConditionTrace[]; result: boolean };

/** What evaluating a rule needs of it. */
export interface EvaluableRule {
  name: string;
  /** Position in the file, 0-based (rules are tried in this order). */
  index: number;
  when: Condition;
}

/** One rule tried, in order. */
export interface RuleTrace {
  rule: string;
  index: number;
  matched: boolean;
  condition: ConditionTrace;
}

/** The result of evaluating the rules for one user; `R` is the caller's rule type. */
export interface Evaluation<R extends EvaluableRule> {
  /** The first matching rule, or null when none matched. */
  matched: R | null;
  /** Every rule tried, up to and including the match. */
  trace: RuleTrace[];
}

/** The user's value of a condition attribute: text, true/false, or null when unset. */
function attributeValue(user: GraphUser, attribute: ConditionAttribute): string | boolean | null {
  switch (attribute) {
    case 'accountEnabled':
    case 'onPremisesSyncEnabled':
      return user[attribute] ?? null;
    case 'upnDomain': {
      // The domain is after the last "@": guest UPNs contain "#EXT#@tenant.onmicrosoft.com".
      const at = user.userPrincipalName.lastIndexOf('@');
      return at === -1 ? null : user.userPrincipalName.slice(at + 1);
    }
    case 'department':
    case 'jobTitle':
    case 'companyName':
    case 'country':
    case 'usageLocation':
    case 'employeeType':
    case 'userType':
      return user[attribute] ?? null;
    default:
      return user.onPremisesExtensionAttributes?.[attribute] ?? null;
  }
}

// Entra ID compares these attributes case-insensitively; so do we.
const fold = (v: string | number): string => String(v).toLowerCase();

function test(op: AttributeOperator, c: AttributeCondition, actual: string | boolean | null): boolean {
  if (op === 'exists') {
    const present = actual !== null && actual !== '';
    return c.exists === present;
  }
  if (actual === null) return false;
  if (typeof actual === 'boolean') return op === 'equals' && c.equals === actual;
  const value = fold(actual);
  switch (op) {
    case 'equals':
      return c.equals !== undefined && typeof c.equals !== 'boolean' && value === fold(c.equals);
    case 'in':
      return (c.in ?? []).some((v) => value === fold(v));
    case 'startsWith':
      return c.startsWith !== undefined && value.startsWith(fold(c.startsWith));
    case 'endsWith':
      return c.endsWith !== undefined && value.endsWith(fold(c.endsWith));
  }
}

/** Evaluates one condition tree. Children of all/any are all evaluated so the trace is complete. */
function evaluateCondition(
  condition: Condition,
  user: GraphUser,
  groups: ReadonlySet<string>,
): ConditionTrace {
  if ('attribute' in condition) {
    const operator = ATTRIBUTE_OPERATORS.find((op) => condition[op] !== undefined) ?? 'equals';
    const actual = attributeValue(user, condition.attribute);
    return {
      kind: 'attribute',
      attribute: condition.attribute,
      operator,
      expected: condition[operator] ?? '',
      actual,
      result: test(operator, condition, actual),
    };
  }
  if ('memberOf' in condition) {
    return {
      kind: 'memberOf',
      groupId: condition.memberOf,
      result: groups.has(condition.memberOf.toLowerCase()),
    };
  }
  if ('entra' in condition) {
    // Parsed when the rules were loaded; a rule that fails to parse never gets here.
    const trace = evaluateEntraRule(entraRule(condition.entra), user);
    return { kind: 'entra', rule: condition.entra, trace, result: trace.result };
  }
  if ('not' in condition) {
    const inner = evaluateCondition(condition.not, user, groups);
    return { kind: 'not', inner, result: !inner.result };
  }
  if ('all' in condition) {
    const children = condition.all.map((c) => evaluateCondition(c, user, groups));
    return { kind: 'all', children, result: children.every((c) => c.result) };
  }
  const children = condition.any.map((c) => evaluateCondition(c, user, groups));
  return { kind: 'any', children, result: children.some((c) => c.result) };
}

/**
 * Try the rules in order for `user`; the first whose `when` holds wins.
 * @param groupIds the ids of groups the user is a transitive member of (any case), at least
 *   those named by `memberOf` (see groupIdsUsed).
 */
export function evaluateRules<R extends EvaluableRule>(
  rules: { readonly rules: readonly R[] },
  user: GraphUser,
  groupIds: ReadonlySet<string>,
): Evaluation<R> {
  const groups = new Set([...groupIds].map((g) => g.toLowerCase()));
  const trace: RuleTrace[] = [];
  for (const rule of rules.rules) {
    const condition = evaluateCondition(rule.when, user, groups);
    trace.push({ rule: rule.name, index: rule.index, matched: condition.result, condition });
    if (condition.result) return { matched: rule, trace };
  }
  return { matched: null, trace };
}
