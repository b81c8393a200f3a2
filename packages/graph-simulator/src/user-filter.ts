/**
 * `$filter` on /users: a small OData parser for the clauses the directory supports.
 * Sources: learn.microsoft.com/graph/filter-query-parameter and learn.microsoft.com/graph/aad-advanced-queries
 * (the user properties table): `eq`, `in`, `startsWith` work in default queries; `ne`, `not`,
 * `endsWith` and `onPremisesExtensionAttributes/*` are advanced queries, which need the header
 * `ConsistencyLevel: eventual` and `$count=true`, else 400 Request_UnsupportedQuery. String
 * comparisons in the directory are case-insensitive.
 */
import { badRequest, unsupportedQuery } from './errors.js';
import { USER_PROPERTIES } from './user-properties.js';

type Value = string | boolean | null;
type Node =
  | { op: 'and' | 'or'; left: Node; right: Node }
  | { op: 'not'; inner: Node }
  | { op: 'eq' | 'ne'; path: string; value: Value }
  | { op: 'in'; path: string; values: Value[] }
  | { op: 'startswith' | 'endswith'; path: string; value: string }
  | { op: 'anySku'; skuId: string };

const FILTERABLE = new Set(
  [
    'id',
    'userPrincipalName',
    'displayName',
    'givenName',
    'surname',
    'mail',
    'mailNickname',
    'employeeId',
    'employeeType',
    'accountEnabled',
    'userType',
    'department',
    'jobTitle',
    'companyName',
    'country',
    'city',
    'state',
    'usageLocation',
    'onPremisesSyncEnabled',
    'onPremisesImmutableId',
    'onPremisesSamAccountName',
    'createdDateTime',
    'creationType',
    'externalUserState',
  ].map((p) => p.toLowerCase()),
);

const CANONICAL = new Map([...USER_PROPERTIES].map((p) => [p.toLowerCase(), p]));

export interface CompiledFilter {
  test(user: Record<string, unknown>): boolean;
  /**
   * When the filter is `id eq …` or `id in (…)`: the only ids it can match (lower-case), so the
   * list handler looks those users up instead of rendering the whole directory to test each one.
   */
  ids: ReadonlySet<string> | null;
}

function idsOf(node: Node): ReadonlySet<string> | null {
  if (node.op === 'eq' && node.path === 'id') return new Set([String(node.value).toLowerCase()]);
  if (node.op === 'in' && node.path === 'id') return new Set(node.values.map((v) => String(v).toLowerCase()));
  return null;
}

export function compileUserFilter(raw: string, advanced: boolean): CompiledFilter {
  const parser = new Parser(tokenize(raw), advanced);
  const node = parser.parseExpression();
  parser.expectEnd();
  return { test: (u) => evaluate(node, u), ids: idsOf(node) };
}

type Token = { t: 'str'; v: string } | { t: 'word'; v: string } | { t: 'punct'; v: '(' | ')' | ',' | ':' };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s.charAt(i);
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= s.length) throw badRequest(`Invalid filter clause: unterminated string literal.`);
        const ch = s.charAt(i);
        if (ch === "'") {
          if (s.charAt(i + 1) === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += ch;
        i++;
      }
      out.push({ t: 'str', v });
    } else if (c === '(' || c === ')' || c === ',' || c === ':') {
      out.push({ t: 'punct', v: c });
      i++;
    } else {
      const m = /^[A-Za-z0-9_./-]+/.exec(s.slice(i));
      if (m === null) throw badRequest(`Invalid filter clause: syntax error at position ${i} in '${s}'.`);
      out.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

class Parser {
  #pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly advanced: boolean,
  ) {}

  parseExpression(): Node {
    let left = this.#parseAnd();
    while (this.#peekWord('or')) {
      this.#pos++;
      left = { op: 'or', left, right: this.#parseAnd() };
    }
    return left;
  }

  expectEnd(): void {
    if (this.#pos < this.tokens.length)
      throw badRequest('Invalid filter clause: unexpected tokens at the end.');
  }

  #parseAnd(): Node {
    let left = this.#parseFactor();
    while (this.#peekWord('and')) {
      this.#pos++;
      left = { op: 'and', left, right: this.#parseFactor() };
    }
    return left;
  }

  #parseFactor(): Node {
    if (this.#peekWord('not')) {
      this.#pos++;
      this.#requireAdvanced('not');
      return { op: 'not', inner: this.#parseFactor() };
    }
    if (this.#peekPunct('(')) {
      this.#pos++;
      const inner = this.parseExpression();
      this.#expectPunct(')');
      return inner;
    }
    const word = this.#expectWord();
    const lower = word.toLowerCase();
    if ((lower === 'startswith' || lower === 'endswith') && this.#peekPunct('(')) {
      this.#pos++;
      const path = this.#property(this.#expectWord());
      this.#expectPunct(',');
      const value = this.#literal();
      this.#expectPunct(')');
      if (typeof value !== 'string')
        throw badRequest(`Invalid filter clause: ${word} needs a string literal.`);
      if (lower === 'endswith') this.#requireAdvanced(path);
      return { op: lower, path, value };
    }
    if (lower.startsWith('assignedlicenses/any')) return this.#anySku(word);
    const path = this.#property(word);
    const op = this.#expectWord().toLowerCase();
    if (op === 'eq' || op === 'ne') {
      if (op === 'ne') this.#requireAdvanced(path);
      return { op, path, value: this.#literal() };
    }
    if (op === 'in') {
      this.#expectPunct('(');
      const values: Value[] = [this.#literal()];
      while (this.#peekPunct(',')) {
        this.#pos++;
        values.push(this.#literal());
      }
      this.#expectPunct(')');
      return { op: 'in', path, values };
    }
    throw unsupportedQuery(
      `Unsupported or invalid query filter clause specified for property '${path}' of resource 'User'.`,
    );
  }

  /** `assignedLicenses/any(x:x/skuId eq {guid})` (learn.microsoft.com/graph/filter-query-parameter, lambda operators). */
  #anySku(word: string): Node {
    if (word.toLowerCase() !== 'assignedlicenses/any') throw unsupportedQuery();
    this.#expectPunct('(');
    const variable = this.#expectWord();
    this.#expectPunct(':');
    const member = this.#expectWord();
    if (member.toLowerCase() !== `${variable.toLowerCase()}/skuid`) throw unsupportedQuery();
    if (this.#expectWord().toLowerCase() !== 'eq') throw unsupportedQuery();
    const value = this.#expectWord();
    this.#expectPunct(')');
    return { op: 'anySku', skuId: value.toLowerCase() };
  }

  #property(word: string): string {
    const lower = word.toLowerCase();
    if (lower.startsWith('onpremisesextensionattributes/')) {
      const attr = word.slice('onPremisesExtensionAttributes/'.length);
      if (!/^extensionAttribute([1-9]|1[0-5])$/i.test(attr)) {
        throw badRequest(
          `Could not find a property named '${attr}' on type 'microsoft.graph.onPremisesExtensionAttributes'.`,
        );
      }
      this.#requireAdvanced(word);
      return `onPremisesExtensionAttributes/extensionAttribute${attr.slice('extensionAttribute'.length)}`;
    }
    const canonical = CANONICAL.get(lower);
    if (canonical === undefined) {
      throw badRequest(`Could not find a property named '${word}' on type 'microsoft.graph.user'.`);
    }
    if (!FILTERABLE.has(lower)) {
      throw unsupportedQuery(
        `Unsupported or invalid query filter clause specified for property '${canonical}' of resource 'User'.`,
      );
    }
    return canonical;
  }

  #requireAdvanced(what: string): void {
    if (!this.advanced) {
      throw unsupportedQuery(
        `Unsupported or invalid query filter clause specified for property '${what}' of resource 'User'.`,
      );
    }
  }

  #literal(): Value {
    const tok = this.tokens[this.#pos++];
    if (tok === undefined) throw badRequest('Invalid filter clause: a literal was expected.');
    if (tok.t === 'str') return tok.v;
    if (tok.t === 'word') {
      const lower = tok.v.toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
      if (lower === 'null') return null;
      return tok.v;
    }
    throw badRequest('Invalid filter clause: a literal was expected.');
  }

  #peekWord(w: string): boolean {
    const tok = this.tokens[this.#pos];
    return tok?.t === 'word' && tok.v.toLowerCase() === w;
  }

  #peekPunct(p: string): boolean {
    const tok = this.tokens[this.#pos];
    return tok?.t === 'punct' && tok.v === p;
  }

  #expectPunct(p: string): void {
    if (!this.#peekPunct(p)) throw badRequest(`Invalid filter clause: '${p}' expected.`);
    this.#pos++;
  }

  #expectWord(): string {
    const tok = this.tokens[this.#pos];
    if (tok?.t !== 'word') throw badRequest('Invalid filter clause: a property or operator was expected.');
    this.#pos++;
    return tok.v;
  }
}

function read(user: Record<string, unknown>, path: string): unknown {
  const [head, tail] = path.split('/');
  if (head === undefined) return undefined;
  const value = user[head];
  if (tail === undefined) return value;
  if (value === null || typeof value !== 'object') return undefined;
  return (value as Record<string, unknown>)[tail];
}

function same(actual: unknown, expected: Value): boolean {
  if (expected === null) return actual === null || actual === undefined;
  if (typeof expected === 'boolean') return actual === expected;
  return typeof actual === 'string' && actual.toLowerCase() === expected.toLowerCase();
}

function evaluate(node: Node, u: Record<string, unknown>): boolean {
  switch (node.op) {
    case 'and':
      return evaluate(node.left, u) && evaluate(node.right, u);
    case 'or':
      return evaluate(node.left, u) || evaluate(node.right, u);
    case 'not':
      return !evaluate(node.inner, u);
    case 'eq':
      return same(read(u, node.path), node.value);
    case 'ne':
      return !same(read(u, node.path), node.value);
    case 'in':
      return node.values.some((v) => same(read(u, node.path), v));
    case 'startswith': {
      const v = read(u, node.path);
      return typeof v === 'string' && v.toLowerCase().startsWith(node.value.toLowerCase());
    }
    case 'endswith': {
      const v = read(u, node.path);
      return typeof v === 'string' && v.toLowerCase().endsWith(node.value.toLowerCase());
    }
    case 'anySku': {
      const licenses = u['assignedLicenses'];
      return (
        Array.isArray(licenses) &&
        licenses.some(
          (l) =>
            typeof l === 'object' &&
            l !== null &&
            String((l as { skuId?: unknown }).skuId).toLowerCase() === node.skuId,
        )
      );
    }
  }
}
