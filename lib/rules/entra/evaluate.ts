/**
 * Evaluating a parsed membership rule for one Graph user, clause by clause, recording what each
 * clause saw so `explain` can show it. Pure.
 *
 * Semantics, from learn.microsoft.com/entra/identity/users/groups-dynamic-membership where it
 * speaks, and stated here where it does not:
 * - "Regex and string operations aren't case sensitive": every text comparison ignores case;
 *   `-match` is a regular-expression search (`"^Da.*"` matches "David", not "aDa").
 * - `-eq null` holds when the property is unset (Graph's null; an empty string counts as unset),
 *   `-ne null` when it is set.
 * - An unset property equals no value, starts, ends and contains nothing, is in no list and
 *   matches no pattern; each negative operator (`-ne`, `-notStartsWith`, …) is exactly the
 *   negation of its positive one, so an unset property is `-ne "x"`.
 * - A string collection compared directly (`user.otherMails -startsWith "x"`, as the documented
 *   examples write it) holds when some item does; a negative operator holds when no item does
 *   the positive one. `-eq null` on a collection holds when it is empty.
 * - `-any (…)` holds when at least one item satisfies the predicate, `-all (…)` when every item
 *   does (so `-all` holds on an empty collection).
 */
import type { AssignedPlan, GraphUser } from '../../graph/types.js';
import {
  NEGATION_OF,
  type CompareOperator,
  type EntraExpr,
  type EntraRule,
  type Literal,
  type Operand,
} from './ast.js';

/** What a clause saw on the user: text, true/false, null when unset, or a collection's items. */
export type SeenValue = string | boolean | null | readonly string[];

/** One clause, as evaluated. `text` is the clause as written in the rule. */
export type EntraTrace =
  | { kind: 'and' | 'or'; text: string; children: EntraTrace[]; result: boolean }
  | { kind: 'not'; text: string; inner: EntraTrace; result: boolean }
  | { kind: 'compare'; text: string; property: string; actual: SeenValue; result: boolean }
  | {
      kind: 'quantified';
      text: string;
      property: string;
      quantifier: 'any' | 'all';
      /** Items in the collection. */
      items: number;
      /** Items that satisfy the predicate. */
      matching: number;
      /** The item that decided: the first match of `-any`, the first failure of `-all`. */
      decidedBy: string | null;
      result: boolean;
    };

/** The item a predicate inside `-any`/`-all` is looking at. */
type Item = string | AssignedPlan;

const fold = (v: string): string => v.toLowerCase();

function positive(
  operator: CompareOperator,
  actual: string,
  right: Literal | Literal[],
  pattern?: RegExp,
): boolean {
  const value = fold(actual);
  if (Array.isArray(right)) return right.some((r) => r.kind === 'text' && fold(r.value) === value);
  if (right.kind !== 'text') return false;
  const expected = fold(right.value);
  switch (operator) {
    case 'eq':
      return value === expected;
    case 'startsWith':
      return value.startsWith(expected);
    case 'endsWith':
      return value.endsWith(expected);
    case 'contains':
      return value.includes(expected);
    case 'match':
      return pattern?.test(actual) ?? false;
    default:
      return false;
  }
}

type CompareNode = Extract<EntraExpr, { kind: 'compare' }>;

/** One comparison against a single value (a scalar property, or one collection item). */
function compareScalar(node: CompareNode, actual: string | boolean | null): boolean {
  const base = NEGATION_OF[node.operator] ?? node.operator;
  const negated = base !== node.operator;
  const right = node.right;
  if (!Array.isArray(right) && right.kind === 'null') {
    const isNull = actual === null;
    return node.operator === 'eq' ? isNull : !isNull;
  }
  let holds: boolean;
  if (actual === null) holds = false;
  else if (typeof actual === 'boolean') {
    holds =
      !Array.isArray(right) &&
      (right.kind === 'boolean' ? right.value === actual : fold(right.value) === String(actual));
  } else holds = positive(base, actual, right, node.pattern);
  return negated ? !holds : holds;
}

/** A comparison against a whole string collection (`user.otherMails -endsWith "…"`). */
function compareCollection(node: CompareNode, items: readonly string[]): boolean {
  const right = node.right;
  if (!Array.isArray(right) && right.kind === 'null')
    return node.operator === 'eq' ? items.length === 0 : items.length > 0;
  const base = NEGATION_OF[node.operator] ?? node.operator;
  const some = items.some((item) => positive(base, item, right, node.pattern));
  return base === node.operator ? some : !some;
}

function itemValue(operand: Extract<Operand, { kind: 'item' }>, item: Item | undefined): string | null {
  if (item === undefined) return null;
  if (typeof item === 'string') return item === '' ? null : item;
  if (operand.field === null) return null;
  const v = item[operand.field];
  return v == null || v === '' ? null : v;
}

/** Truth of an expression for one user (and, inside `-any`/`-all`, one item). */
function holds(expr: EntraExpr, user: GraphUser, item?: Item): boolean {
  switch (expr.kind) {
    case 'and':
      return expr.operands.every((e) => holds(e, user, item));
    case 'or':
      return expr.operands.some((e) => holds(e, user, item));
    case 'not':
      return !holds(expr.operand, user, item);
    case 'quantified':
      return quantify(expr, user).result;
    case 'compare': {
      const left = expr.left;
      if (left.kind === 'item') return compareScalar(expr, itemValue(left, item));
      const p = left.property;
      if (p.type === 'strings') return compareCollection(expr, p.read(user));
      if (p.type === 'plans') return false; // refused by the parser
      return compareScalar(expr, p.read(user));
    }
  }
}

const describeItem = (item: Item): string =>
  typeof item === 'string'
    ? item
    : `${item.servicePlanId ?? '?'}${item.capabilityStatus == null ? '' : ` (${item.capabilityStatus})`}`;

function quantify(
  expr: Extract<EntraExpr, { kind: 'quantified' }>,
  user: GraphUser,
): Extract<EntraTrace, { kind: 'quantified' }> {
  const p = expr.collection.property;
  const items: readonly Item[] = p.type === 'strings' || p.type === 'plans' ? p.read(user) : [];
  let matching = 0;
  let decidedBy: string | null = null;
  for (const item of items) {
    const ok = holds(expr.predicate, user, item);
    if (ok) matching++;
    if (decidedBy === null && ok === (expr.quantifier === 'any')) decidedBy = describeItem(item);
  }
  const result = expr.quantifier === 'any' ? matching > 0 : matching === items.length;
  return {
    kind: 'quantified',
    text: expr.text,
    property: expr.collection.written,
    quantifier: expr.quantifier,
    items: items.length,
    matching,
    decidedBy,
    result,
  };
}

function trace(expr: EntraExpr, user: GraphUser): EntraTrace {
  switch (expr.kind) {
    case 'and':
    case 'or': {
      // Every operand is evaluated (no short cut) so the explanation shows each clause.
      const children = expr.operands.map((e) => trace(e, user));
      const result = expr.kind === 'and' ? children.every((c) => c.result) : children.some((c) => c.result);
      return { kind: expr.kind, text: expr.text, children, result };
    }
    case 'not': {
      const inner = trace(expr.operand, user);
      return { kind: 'not', text: expr.text, inner, result: !inner.result };
    }
    case 'quantified':
      return quantify(expr, user);
    case 'compare': {
      const left = expr.left;
      const actual: SeenValue =
        left.kind === 'user' && left.property.type !== 'plans' ? left.property.read(user) : null;
      return { kind: 'compare', text: expr.text, property: left.written, actual, result: holds(expr, user) };
    }
  }
}

/** Evaluates `rule` for `user`, with a trace of every clause. */
export function evaluateEntraRule(rule: EntraRule, user: GraphUser): EntraTrace {
  return trace(rule.root, user);
}
