/**
 * Tokens of an Entra membership rule, read on demand so that the first problem reported is the
 * first one in the text. Quoting follows learn.microsoft.com/entra/identity/users/groups-dynamic-membership
 * ("Supported values"): text in double quotes; a double quote inside is escaped with a backtick
 * (`` `" ``), a single quote is written twice (`''`); single-quoted text appears in the
 * documentation's memberOf example (`['value']`). The documentation's own examples also use an en
 * dash before operators (`–eq`, `–and`), so a dash of any kind starts an operator.
 */
import type { Span } from './ast.js';
import { EntraRuleError } from './rule-error.js';

export type Token =
  | { kind: '(' | ')' | '[' | ']' | ','; span: Span }
  | { kind: 'string'; value: string; span: Span }
  /** `-eq`, `–and`: the name after the dash, lower-cased. */
  | { kind: 'operator'; name: string; span: Span }
  /** Anything else up to a space or a delimiter: `user.department`, `true`, `42`, `and`, `_`. */
  | { kind: 'word'; value: string; span: Span }
  | { kind: 'end'; span: Span };

const DASHES = new Set(['-', '\u2013', '\u2014', '\u2212']);
const DELIMITERS = new Set(['(', ')', '[', ']', ',', '"', "'"]);
const CURLY_QUOTES = new Set(['\u201c', '\u201d', '\u2018', '\u2019']);

const isSpace = (c: string): boolean => /\s/.test(c);
const isLetter = (c: string): boolean => /[A-Za-z]/.test(c);

export class Tokenizer {
  readonly #text: string;
  #pos = 0;
  #peeked: Token | null = null;

  constructor(text: string) {
    this.#text = text;
  }

  peek(): Token {
    this.#peeked ??= this.#read();
    return this.#peeked;
  }

  next(): Token {
    const token = this.peek();
    this.#peeked = null;
    return token;
  }

  #error(start: number, end: number, reason: string, fix: string): EntraRuleError {
    return new EntraRuleError(this.#text, { start, end }, reason, fix);
  }

  #read(): Token {
    const s = this.#text;
    while (this.#pos < s.length && isSpace(s.charAt(this.#pos))) this.#pos++;
    const start = this.#pos;
    if (start >= s.length) return { kind: 'end', span: { start, end: start } };
    const c = s.charAt(start);
    if (c === '(' || c === ')' || c === '[' || c === ']' || c === ',') {
      this.#pos++;
      return { kind: c, span: { start, end: start + 1 } };
    }
    if (c === '"' || c === "'") return this.#quoted(c);
    if (c === '`' && s.charAt(start + 1) === '"') return this.#backtickQuoted();
    if (CURLY_QUOTES.has(c)) {
      throw this.#error(
        start,
        start + 1,
        'a typographic (curly) quote, which the rule syntax does not read as a quote',
        'use straight double quotes: "value" (curly quotes usually come from pasting out of a document)',
      );
    }
    if (DASHES.has(c) && isLetter(s.charAt(start + 1))) {
      let end = start + 1;
      while (end < s.length && isLetter(s.charAt(end))) end++;
      this.#pos = end;
      return { kind: 'operator', name: s.slice(start + 1, end).toLowerCase(), span: { start, end } };
    }
    let end = start;
    while (end < s.length && !isSpace(s.charAt(end)) && !DELIMITERS.has(s.charAt(end))) end++;
    if (end === start) end = start + 1;
    this.#pos = end;
    return { kind: 'word', value: s.slice(start, end), span: { start, end } };
  }

  /** `"…"` or `'…'`: a backtick escapes a double quote or a backtick; a doubled `''` is one `'`. */
  #quoted(quote: '"' | "'"): Token {
    const s = this.#text;
    const start = this.#pos;
    let value = '';
    let i = start + 1;
    for (;;) {
      if (i >= s.length) {
        throw this.#error(
          start,
          start + 1,
          'this text value has no closing quote',
          `end the value with ${quote}; to put a double quote inside, write \`"`,
        );
      }
      const ch = s.charAt(i);
      const after = s.charAt(i + 1);
      if (ch === '`' && (after === '"' || after === '`')) {
        value += after;
        i += 2;
      } else if (ch === "'" && after === "'") {
        value += "'";
        i += 2;
      } else if (ch === quote) {
        i++;
        break;
      } else {
        value += ch;
        i++;
      }
    }
    this.#pos = i;
    return { kind: 'string', value, span: { start, end: i } };
  }

  /** `` `"Sales`" ``: the documentation's way of writing a value that contains the quotes. */
  #backtickQuoted(): Token {
    const s = this.#text;
    const start = this.#pos;
    const close = s.indexOf('`"', start + 2);
    if (close === -1) {
      throw this.#error(
        start,
        start + 2,
        'this value opens with `" but never closes with `"',
        'end it with `"',
      );
    }
    this.#pos = close + 2;
    return { kind: 'string', value: `"${s.slice(start + 2, close)}"`, span: { start, end: close + 2 } };
  }
}
