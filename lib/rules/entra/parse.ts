/**
 * Parser for Microsoft Entra dynamic membership rules, the user-property part of the grammar
 * documented in "Dynamic membership rules for groups in Microsoft Entra ID"
 * (https://learn.microsoft.com/entra/identity/users/groups-dynamic-membership):
 *
 * - `Property Operator Value`, where Property is `user.<name>`; parentheses optional;
 * - operators `-eq -ne -startsWith -notStartsWith -endsWith -notEndsWith -contains -notContains
 *   -match -notMatch -in -notIn`, "with or without the hyphen (-) prefix", any case;
 * - `-in` / `-notIn` take a list: `["a","b"]`;
 * - values: text in double quotes, numbers, `true` / `false`, `null` (unquoted: quoted "null" is text);
 * - `-and`, `-or`, `-not`, with the documented precedence, highest first:
 *   comparisons, then `-not`, then `-and`, then `-or` (then `-any -all`);
 * - multi-value properties: `user.assignedPlans -any (assignedPlan.servicePlanId -eq "…" -and
 *   assignedPlan.capabilityStatus -eq "Enabled")`, `user.proxyAddresses -any (_ -startsWith "…")`
 *   (the predicate may also stand without parentheses: `-any _ -startsWith "…"`), and `-all`.
 *
 * The logical operators are accepted without their hyphen too (`and`, `OR`): rules written that way
 * are common in tenants (and in Terraform), and the words cannot be mistaken for anything else.
 * Anything the app cannot evaluate is refused here, naming the part and its column: `device.`
 * properties, `memberOf`, "Direct Reports", date comparisons, unknown or unread properties.
 */
import { closest, suggestion } from '../../shared/did-you-mean.js';
import {
  COMPARE_OPERATORS,
  type CompareOperator,
  type EntraExpr,
  type EntraRule,
  type Literal,
  type Operand,
  type Span,
} from './ast.js';
import {
  ASSIGNED_PLAN_FIELDS,
  lookupPlanField,
  lookupProperty,
  SUPPORTED_PROPERTY_NAMES,
} from './properties.js';
import { EntraRuleError } from './rule-error.js';
import { Tokenizer, type Token } from './tokens.js';

/** Where a property may be named: the user, or one item of a collection inside `-any`/`-all`. */
type Scope = { kind: 'user' } | { kind: 'item'; collection: Extract<Operand, { kind: 'user' }> };

const OPERATOR_BY_NAME = new Map(COMPARE_OPERATORS.map((op) => [op.toLowerCase(), op]));
const OPERATOR_NAMES = COMPARE_OPERATORS.map((op) => `-${op}`);
const NUMBER = /^-?\d+(\.\d+)?$/;

const describeToken = (t: Token): string =>
  t.kind === 'end'
    ? 'the end of the rule'
    : t.kind === 'string'
      ? `the text "${t.value}"`
      : t.kind === 'operator'
        ? `-${t.name}`
        : t.kind === 'word'
          ? `"${t.value}"`
          : `"${t.kind}"`;

class Parser {
  readonly #text: string;
  readonly #tokens: Tokenizer;
  readonly #graph = new Set<string>();

  constructor(text: string) {
    this.#text = text;
    this.#tokens = new Tokenizer(text);
  }

  parse(): EntraRule {
    const first = this.#tokens.peek();
    if (first.kind === 'end') {
      throw this.#error(first.span, 'the rule is empty', 'write a rule such as user.department -eq "Sales"');
    }
    this.#refuseDirectReports(first);
    const root = this.#or({ kind: 'user' });
    const rest = this.#tokens.next();
    if (rest.kind !== 'end') {
      throw this.#error(
        rest.span,
        `unexpected ${describeToken(rest)} after a complete expression`,
        rest.kind === ')'
          ? 'remove this parenthesis or add the "(" it closes'
          : 'join expressions with -and or -or',
      );
    }
    return { text: this.#text, root, graphProperties: [...this.#graph] };
  }

  #error(span: Span, reason: string, fix: string): EntraRuleError {
    return new EntraRuleError(this.#text, span, reason, fix);
  }

  #node<K extends EntraExpr['kind']>(kind: K, span: Span): { kind: K; span: Span; text: string } {
    return { kind, span, text: this.#text.slice(span.start, span.end) };
  }

  #isKeyword(t: Token, name: 'and' | 'or' | 'not'): boolean {
    return (
      (t.kind === 'operator' && t.name === name) || (t.kind === 'word' && t.value.toLowerCase() === name)
    );
  }

  #refuseDirectReports(first: Token): void {
    if (first.kind !== 'word' || first.value.toLowerCase() !== 'direct') return;
    throw this.#error(
      {
        start: first.span.start,
        end: Math.min(this.#text.length, first.span.start + 'Direct Reports'.length),
      },
      'the "Direct Reports" rule needs the manager relationship, which this app does not read',
      'keep this group in group-based licensing, or test an attribute the direct reports share',
    );
  }

  #or(scope: Scope): EntraExpr {
    return this.#chain('or', () => this.#and(scope));
  }

  #and(scope: Scope): EntraExpr {
    return this.#chain('and', () => this.#not(scope));
  }

  #chain(kind: 'and' | 'or', operand: () => EntraExpr): EntraExpr {
    const first = operand();
    const operands = [first];
    while (this.#isKeyword(this.#tokens.peek(), kind)) {
      this.#tokens.next();
      operands.push(operand());
    }
    if (operands.length === 1) return first;
    const last = operands[operands.length - 1] ?? first;
    return { ...this.#node(kind, { start: first.span.start, end: last.span.end }), operands };
  }

  #not(scope: Scope): EntraExpr {
    const t = this.#tokens.peek();
    if (!this.#isKeyword(t, 'not')) return this.#primary(scope);
    this.#tokens.next();
    const operand = this.#not(scope);
    return { ...this.#node('not', { start: t.span.start, end: operand.span.end }), operand };
  }

  #primary(scope: Scope): EntraExpr {
    return this.#tokens.peek().kind === '(' ? this.#parenthesized(scope).inner : this.#comparison(scope);
  }

  /** `( expression )`: the expression, and the offset just after the ")". */
  #parenthesized(scope: Scope): { inner: EntraExpr; end: number } {
    const open = this.#tokens.next();
    const inner = this.#or(scope);
    const close = this.#tokens.next();
    if (close.kind !== ')') {
      throw this.#error(
        close.kind === 'end' ? open.span : close.span,
        close.kind === 'end'
          ? 'this parenthesis is never closed'
          : `expected ")" or -and / -or, found ${describeToken(close)}`,
        close.kind === 'end' ? 'add ")" where the expression ends' : 'join expressions with -and or -or',
      );
    }
    // The span takes the parentheses in, so an enclosing -and/-or quotes them; a clause keeps its own text.
    return {
      inner: { ...inner, span: { start: open.span.start, end: close.span.end } },
      end: close.span.end,
    };
  }

  #comparison(scope: Scope): EntraExpr {
    const left = this.#operand(scope);
    const opToken = this.#tokens.next();
    const opName =
      opToken.kind === 'operator'
        ? opToken.name
        : opToken.kind === 'word'
          ? opToken.value.toLowerCase()
          : null;
    if (opName === null) {
      throw this.#error(
        opToken.span,
        `expected an operator after ${left.written}, found ${describeToken(opToken)}`,
        `write an operator such as -eq: ${left.written} -eq "value"`,
      );
    }
    if (opName === 'any' || opName === 'all') return this.#quantified(left, opName, opToken.span);
    const operator = OPERATOR_BY_NAME.get(opName);
    if (operator === undefined) throw this.#unknownOperator(opName, opToken.span, left);
    if (left.kind === 'user' && left.property.type === 'plans') {
      throw this.#error(
        left.span,
        'assignedPlans is a collection of plans and cannot be compared directly',
        'write user.assignedPlans -any (assignedPlan.servicePlanId -eq "<plan id>" -and assignedPlan.capabilityStatus -eq "Enabled")',
      );
    }
    const { right, end } = this.#value(operator, left);
    const node: Extract<EntraExpr, { kind: 'compare' }> = {
      ...this.#node('compare', { start: left.span.start, end }),
      left,
      operator,
      right,
    };
    if (operator === 'match' || operator === 'notMatch') node.pattern = this.#pattern(right);
    return node;
  }

  #unknownOperator(name: string, span: Span, left: Operand): EntraRuleError {
    if (name === 'le' || name === 'ge' || name === 'lt' || name === 'gt') {
      return this.#error(
        span,
        `-${name} compares dates (employeeHireDate), which this app does not evaluate`,
        'keep this group in group-based licensing, or test an attribute instead of a date',
      );
    }
    if (name === 'and' || name === 'or') {
      return this.#error(
        span,
        `expected a comparison operator after ${left.written}, found -${name}`,
        `compare the property first: ${left.written} -eq "value" -${name} …`,
      );
    }
    if (name === 'not') {
      return this.#error(
        span,
        '-not negates a whole expression and is not a comparison operator',
        `write ${left.written} -ne … (or -not (${left.written} -eq …))`,
      );
    }
    const near = closest(`-${name}`, OPERATOR_NAMES);
    return this.#error(
      span,
      `unknown operator -${name}`,
      near === null ? `operators: ${OPERATOR_NAMES.join(' ')}` : `did you mean ${near}?`,
    );
  }

  #quantified(collection: Operand, quantifier: 'any' | 'all', opSpan: Span): EntraExpr {
    if (
      collection.kind !== 'user' ||
      (collection.property.type !== 'strings' && collection.property.type !== 'plans')
    ) {
      throw this.#error(
        opSpan,
        `-${quantifier} applies to multi-valued properties (assignedPlans, proxyAddresses, otherMails), not to ${collection.written}`,
        `compare ${collection.written} directly, e.g. ${collection.written} -eq "value"`,
      );
    }
    const scope: Scope = { kind: 'item', collection };
    let predicate: EntraExpr;
    let end: number;
    if (this.#tokens.peek().kind === '(') {
      // The parentheses belong to the clause: its text runs to the ")".
      ({ inner: predicate, end } = this.#parenthesized(scope));
    } else {
      predicate = this.#comparison(scope);
      end = predicate.span.end;
    }
    return {
      ...this.#node('quantified', { start: collection.span.start, end }),
      quantifier,
      collection,
      predicate,
    };
  }

  #operand(scope: Scope): Operand {
    const t = this.#tokens.next();
    if (t.kind !== 'word') {
      throw this.#error(
        t.span,
        `expected a property such as user.department, found ${describeToken(t)}`,
        'start each comparison with the property: user.department -eq "Sales"',
      );
    }
    const written = t.value;
    const lower = written.toLowerCase();
    if (lower.startsWith('device.')) {
      throw this.#error(
        t.span,
        'device properties select devices; licenses are assigned to users',
        'keep device groups out of the rules (they carry no user licenses)',
      );
    }
    if (scope.kind === 'item') return this.#itemOperand(scope.collection, written, t.span);
    if (lower === '_' || lower.startsWith('assignedplan.') || lower.startsWith('group.')) {
      throw this.#error(
        t.span,
        `${written} names an item of a collection and only works inside -any (…) or -all (…)`,
        'write user.assignedPlans -any (assignedPlan.servicePlanId -eq "…") or user.proxyAddresses -any (_ -startsWith "…")',
      );
    }
    if (!lower.startsWith('user.') || written.length === 5) {
      throw this.#error(
        t.span,
        `expected a user property such as user.department, found "${written}"`,
        NUMBER.test(written) || ['true', 'false', 'null'].includes(lower)
          ? 'values go on the right of the operator: user.department -eq "value"'
          : `write user.<property>; properties: ${SUPPORTED_PROPERTY_NAMES.join(', ')}`,
      );
    }
    const name = written.slice(5);
    const found = lookupProperty(name);
    if (found.kind === 'unsupported')
      throw this.#error(t.span, found.unsupported.reason, found.unsupported.fix);
    if (found.kind === 'unknown') {
      throw this.#error(
        t.span,
        `unknown user property "${name}", or one this app does not read`,
        suggestion(name, SUPPORTED_PROPERTY_NAMES, 'properties'),
      );
    }
    this.#graph.add(found.property.graph);
    return { kind: 'user', property: found.property, written, span: t.span };
  }

  #itemOperand(collection: Extract<Operand, { kind: 'user' }>, written: string, span: Span): Operand {
    const lower = written.toLowerCase();
    if (collection.property.type === 'strings') {
      if (lower === '_') return { kind: 'item', field: null, written, span };
      throw this.#error(
        span,
        `inside ${collection.written} -any/-all the item is written _`,
        `write ${collection.written} -any (_ -startsWith "…")`,
      );
    }
    const dot = lower.indexOf('.');
    const fieldName = dot === -1 ? '' : written.slice(dot + 1);
    if (lower.slice(0, dot) !== 'assignedplan') {
      throw this.#error(
        span,
        `inside user.assignedPlans -any/-all the item is written assignedPlan.<field>, not ${written}`,
        `fields: ${ASSIGNED_PLAN_FIELDS.map((f) => `assignedPlan.${f}`).join(', ')}; combine user properties outside the parentheses`,
      );
    }
    const field = lookupPlanField(fieldName);
    if (field === null) {
      throw this.#error(
        span,
        fieldName.toLowerCase() === 'assigneddatetime'
          ? 'assignedPlan.assignedDateTime is a date, which this app does not compare'
          : `an assigned plan has no field "${fieldName}"`,
        suggestion(fieldName, ASSIGNED_PLAN_FIELDS, 'fields'),
      );
    }
    return { kind: 'item', field, written, span };
  }

  /** The value(s) on the right, and the offset where they end. */
  #value(operator: CompareOperator, left: Operand): { right: Literal | Literal[]; end: number } {
    const list = operator === 'in' || operator === 'notIn';
    const t = this.#tokens.next();
    if (list) {
      if (t.kind !== '[') {
        throw this.#error(
          t.span,
          `-${operator} takes a list of values, found ${describeToken(t)}`,
          `write ${left.written} -${operator} ["value1","value2"]`,
        );
      }
      return this.#list(t, left);
    }
    if (t.kind === '[') {
      throw this.#error(
        t.span,
        `a list of values only goes with -in or -notIn, not with -${operator}`,
        `write ${left.written} -in ["value1","value2"]`,
      );
    }
    const literal = this.#literal(t, left);
    this.#checkType(operator, left, literal);
    return { right: literal, end: literal.span.end };
  }

  #list(open: Token, left: Operand): { right: Literal[]; end: number } {
    const values: Literal[] = [];
    for (;;) {
      const t = this.#tokens.next();
      if (t.kind === ']' && values.length === 0) {
        throw this.#error(
          { start: open.span.start, end: t.span.end },
          'the list is empty',
          'list at least one value',
        );
      }
      const literal = this.#literal(t, left);
      if (literal.kind !== 'text') {
        throw this.#error(
          literal.span,
          `${literal.kind === 'null' ? 'null' : 'true/false'} cannot be in a list`,
          'list text values in double quotes; test null with -eq null / -ne null',
        );
      }
      values.push(literal);
      const sep = this.#tokens.next();
      if (sep.kind === ']') return { right: values, end: sep.span.end };
      if (sep.kind !== ',') {
        throw this.#error(
          sep.kind === 'end' ? open.span : sep.span,
          sep.kind === 'end'
            ? 'this list is never closed'
            : `expected "," or "]" in the list, found ${describeToken(sep)}`,
          'write the list as ["value1","value2"]',
        );
      }
    }
  }

  #literal(t: Token, left: Operand): Literal {
    if (t.kind === 'string') return { kind: 'text', value: t.value, span: t.span };
    if (t.kind === 'word') {
      const lower = t.value.toLowerCase();
      if (lower === 'true' || lower === 'false')
        return { kind: 'boolean', value: lower === 'true', span: t.span };
      if (lower === 'null') return { kind: 'null', span: t.span };
      if (NUMBER.test(t.value)) return { kind: 'text', value: t.value, span: t.span };
      throw this.#error(
        t.span,
        lower === '$null' ? '$null is not a value here' : 'a text value must be in double quotes',
        lower === '$null' ? `write ${left.written} -eq null` : `write "${t.value}"`,
      );
    }
    throw this.#error(
      t.span,
      `expected a value after the operator, found ${describeToken(t)}`,
      `write a value: ${left.written} -eq "value"`,
    );
  }

  #checkType(operator: CompareOperator, left: Operand, value: Literal): void {
    if (value.kind === 'null') {
      if (operator !== 'eq' && operator !== 'ne') {
        throw this.#error(
          value.span,
          `null can only be compared with -eq or -ne, not -${operator}`,
          `write ${left.written} -eq null (or -ne null)`,
        );
      }
      return;
    }
    const isBoolean = left.kind === 'user' && left.property.type === 'boolean';
    if (isBoolean) {
      if (operator !== 'eq' && operator !== 'ne') {
        throw this.#error(
          value.span,
          `${left.written} is true or false; -${operator} only works on text`,
          `write ${left.written} -eq true (or false)`,
        );
      }
      if (value.kind === 'text' && !/^(true|false)$/i.test(value.value)) {
        throw this.#error(
          value.span,
          `${left.written} is true or false, not "${value.value}"`,
          `write ${left.written} -eq true (or false)`,
        );
      }
      return;
    }
    if (value.kind === 'boolean') {
      throw this.#error(
        value.span,
        `${left.written} is text, but ${String(value.value)} is a yes/no value`,
        `quote it ("${String(value.value)}") if you mean the text`,
      );
    }
  }

  #pattern(right: Literal | Literal[]): RegExp {
    const literal = Array.isArray(right) ? undefined : right;
    if (literal?.kind !== 'text') {
      throw this.#error(
        literal?.span ?? { start: 0, end: 0 },
        '-match takes a regular expression in double quotes',
        'write user.displayName -match "^Da.*"',
      );
    }
    try {
      // "Regex and string operations aren't case sensitive" (Supported values).
      return new RegExp(literal.value, 'i');
    } catch (e) {
      throw this.#error(
        literal.span,
        `not a valid regular expression (${(e as Error).message.replace(/^Invalid regular expression: /, '')})`,
        'correct the pattern; inline options such as (?i) are not needed (matching ignores case)',
      );
    }
  }
}

/**
 * Parses a membership rule.
 * @throws EntraRuleError naming the column, the part and the fix, for bad syntax and for any
 *   part this app cannot evaluate.
 */
export function parseEntraRule(text: string): EntraRule {
  return new Parser(text).parse();
}

/** A rule's parse, kept per text: rules are parsed when the file loads and read at every evaluation. */
const cache = new Map<string, EntraRule | EntraRuleError>();
const CACHE_LIMIT = 1000;

/**
 * {@link parseEntraRule}, remembered per rule text (a rules file holds a handful of rules, each
 * evaluated for every user).
 * @throws EntraRuleError as parseEntraRule does.
 */
export function entraRule(text: string): EntraRule {
  let parsed = cache.get(text);
  if (parsed === undefined) {
    try {
      parsed = parseEntraRule(text);
    } catch (e) {
      if (!(e instanceof EntraRuleError)) throw e;
      parsed = e;
    }
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(text, parsed);
  }
  if (parsed instanceof EntraRuleError) throw parsed;
  return parsed;
}
