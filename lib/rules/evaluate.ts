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

/**
 * One attribute condition, prepared once: its operator and its expected values already folded.
 * Rules are evaluated for every user the engine reads (hundreds of thousands in a large tenant),
 * with the same compiled conditions each time, so the work that does not depend on the user is
 * done once per condition object and kept (see `prepared`).
 */
interface PreparedTest {
  operator: AttributeOperator;
  test: (actual: string | boolean | null) => boolean;
}

/** The condition's test as `test()` below would run it, with the condition's side folded once. */
function prepareTest(c: AttributeCondition): PreparedTest {
  const operator = ATTRIBUTE_OPERATORS.find((op) => c[op] !== undefined) ?? 'equals';
  if (operator === 'exists') {
    return {
      operator,
      test: (actual) => c.exists === (actual !== null && actual !== ''),
    };
  }
  const expectedBoolean = typeof c.equals === 'boolean' ? c.equals : undefined;
  const equals = c.equals !== undefined && typeof c.equals !== 'boolean' ? fold(c.equals) : undefined;
  const anyOf = (c.in ?? []).map(fold);
  const prefix = c.startsWith === undefined ? undefined : fold(c.startsWith);
  const suffix = c.endsWith === undefined ? undefined : fold(c.endsWith);
  const onText = (value: string): boolean => {
    switch (operator) {
      case 'equals':
        return equals !== undefined && value === equals;
      case 'in':
        return anyOf.includes(value);
      case 'startsWith':
        return prefix !== undefined && value.startsWith(prefix);
      case 'endsWith':
        return suffix !== undefined && value.endsWith(suffix);
    }
  };
  return {
    operator,
    test: (actual) => {
      if (actual === null) return false;
      if (typeof actual === 'boolean') return operator === 'equals' && expectedBoolean === actual;
      return onText(fold(actual));
    },
  };
}

/** Prepared tests by condition object; rules files live as long as the process, so no eviction is needed. */
const prepared = new WeakMap<AttributeCondition, PreparedTest>();

function preparedTest(c: AttributeCondition): PreparedTest {
  let p = prepared.get(c);
  if (p === undefined) {
    p = prepareTest(c);
    prepared.set(c, p);
  }
  return p;
}

/** A condition tree turned into one function: whether it holds for a user and their groups. */
type Predicate = (user: GraphUser, groups: ReadonlySet<string>) => boolean;

/**
 * Compiles a condition tree into nested functions, once: all/any stop at the first child that
 * decides them (the trace, which shows every child, is built apart, on demand).
 */
function compilePredicate(condition: Condition): Predicate {
  if ('attribute' in condition) {
    const { test } = preparedTest(condition);
    const attribute = condition.attribute;
    return (user) => test(attributeValue(user, attribute));
  }
  if ('memberOf' in condition) {
    const groupId = condition.memberOf.toLowerCase();
    return (_user, groups) => groups.has(groupId);
  }
  if ('entra' in condition) {
    // Parsed when the rules were loaded (a rule that fails to parse never gets here), once here.
    const rule = entraRule(condition.entra);
    return (user) => evaluateEntraRule(rule, user).result;
  }
  if ('not' in condition) {
    const inner = compilePredicate(condition.not);
    return (user, groups) => !inner(user, groups);
  }
  if ('all' in condition) {
    const children = condition.all.map(compilePredicate);
    return (user, groups) => {
      for (const child of children) if (!child(user, groups)) return false;
      return true;
    };
  }
  const children = condition.any.map(compilePredicate);
  return (user, groups) => {
    for (const child of children) if (child(user, groups)) return true;
    return false;
  };
}

const predicates = new WeakMap<Condition, Predicate>();

function holds(condition: Condition, user: GraphUser, groups: ReadonlySet<string>): boolean {
  let predicate = predicates.get(condition);
  if (predicate === undefined) {
    predicate = compilePredicate(condition);
    predicates.set(condition, predicate);
  }
  return predicate(user, groups);
}

/** Evaluates one condition tree. Children of all/any are all evaluated so the trace is complete. */
function evaluateCondition(
  condition: Condition,
  user: GraphUser,
  groups: ReadonlySet<string>,
): ConditionTrace {
  if ('attribute' in condition) {
    const { operator, test } = preparedTest(condition);
    const actual = attributeValue(user, condition.attribute);
    return {
      kind: 'attribute',
      attribute: condition.attribute,
      operator,
      expected: condition[operator] ?? '',
      actual,
      result: test(actual),
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

const NO_GROUPS: ReadonlySet<string> = new Set();

/**
 * An evaluation whose trace (every condition of every rule tried, with what it saw) is built on
 * first read: `explain` shows it, while a reconcile decides for every user and only reads
 * `matched`.
 */
class LazyEvaluation<R extends EvaluableRule> implements Evaluation<R> {
  readonly matched: R | null;
  readonly #rules: { readonly rules: readonly R[] };
  readonly #user: GraphUser;
  readonly #groups: ReadonlySet<string>;
  #trace: RuleTrace[] | undefined;

  constructor(
    matched: R | null,
    rules: { readonly rules: readonly R[] },
    user: GraphUser,
    groups: ReadonlySet<string>,
  ) {
    this.matched = matched;
    this.#rules = rules;
    this.#user = user;
    this.#groups = groups;
  }

  get trace(): RuleTrace[] {
    if (this.#trace === undefined) {
      const trace: RuleTrace[] = [];
      for (const rule of this.#rules.rules) {
        const condition = evaluateCondition(rule.when, this.#user, this.#groups);
        trace.push({ rule: rule.name, index: rule.index, matched: condition.result, condition });
        if (condition.result) break;
      }
      this.#trace = trace;
    }
    return this.#trace;
  }
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
  const groups = groupIds.size === 0 ? NO_GROUPS : new Set([...groupIds].map((g) => g.toLowerCase()));
  for (const rule of rules.rules) {
    if (holds(rule.when, user, groups)) return new LazyEvaluation(rule, rules, user, groups);
  }
  return new LazyEvaluation(null, rules, user, groups);
}
