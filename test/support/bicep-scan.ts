/**
 * Just enough Bicep reading for tests that keep infra honest without the Bicep CLI: find an object
 * or array literal after an anchor, list its top-level entries, read simple string, number and
 * boolean values. Strings (with `${…}` interpolation and `'''` multi-line strings) and comments are
 * skipped when matching brackets, so braces inside them do not confuse the structure.
 */

const OPEN = new Set(['{', '[', '(']);
const CLOSE = new Set(['}', ']', ')']);

/** Index just past the string literal starting at `start` (which holds a `'`). */
function skipString(text: string, start: number): number {
  if (text.startsWith("'''", start)) {
    const end = text.indexOf("'''", start + 3);
    if (end < 0) throw new Error(`Unterminated multi-line string at offset ${start}`);
    return end + 3;
  }
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      i += 2;
    } else if (c === "'") {
      return i + 1;
    } else if (c === '$' && text[i + 1] === '{') {
      i = skipExpression(text, i + 2, '}');
    } else {
      i += 1;
    }
  }
  throw new Error(`Unterminated string at offset ${start}`);
}

/** Index just past the comment starting at `start`, or `start` when there is none. */
function skipComment(text: string, start: number): number {
  if (text.startsWith('//', start)) {
    const end = text.indexOf('\n', start);
    return end < 0 ? text.length : end;
  }
  if (text.startsWith('/*', start)) {
    const end = text.indexOf('*/', start + 2);
    if (end < 0) throw new Error(`Unterminated comment at offset ${start}`);
    return end + 2;
  }
  return start;
}

/** Index just past the `closer` that ends an expression begun at `start` (nesting respected). */
function skipExpression(text: string, start: number, closer: string): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i] ?? '';
    const afterComment = skipComment(text, i);
    if (afterComment !== i) {
      i = afterComment;
      continue;
    }
    if (c === "'") {
      i = skipString(text, i);
      continue;
    }
    if (OPEN.has(c)) depth += 1;
    else if (CLOSE.has(c)) {
      if (depth === 0) {
        if (c !== closer) throw new Error(`Unbalanced ${c} at offset ${i}, expected ${closer}`);
        return i + 1;
      }
      depth -= 1;
    }
    i += 1;
  }
  throw new Error(`No closing ${closer} after offset ${start}`);
}

/** Index just past the bracket matching the one at `open`. */
export function matchBracket(text: string, open: number): number {
  const c = text[open];
  const closer = c === '{' ? '}' : c === '[' ? ']' : c === '(' ? ')' : undefined;
  if (!closer) throw new Error(`No bracket at offset ${open}`);
  return skipExpression(text, open + 1, closer);
}

/**
 * The literal (`{…}` or `[…]`, brackets included) that first follows a match of `anchor`, or
 * undefined when the anchor does not occur.
 */
export function literalAfter(text: string, anchor: RegExp, bracket: '{' | '[' = '{'): string | undefined {
  const m = anchor.exec(text);
  if (!m) return undefined;
  const open = text.indexOf(bracket, m.index + m[0].length - (m[0].endsWith(bracket) ? 1 : 0));
  if (open < 0) return undefined;
  return text.slice(open, matchBracket(text, open));
}

/**
 * Splits the inside of an object or array literal into top-level items: separated by newlines or
 * commas at depth 0; a line that starts with `?`, `:`, `.`, `&&`, `||` continues the previous item
 * (multi-line ternaries). Comments are dropped.
 */
function topLevelItems(literal: string): string[] {
  const inner = literal.slice(1, -1);
  const items: string[] = [];
  let current = '';
  let i = 0;
  const flush = () => {
    const t = current.trim();
    if (t) {
      const prev = items.length - 1;
      if (prev >= 0 && /^(\?|:|\.|&&|\|\|)/.test(t)) items[prev] = `${items[prev] ?? ''} ${t}`;
      else items.push(t);
    }
    current = '';
  };
  while (i < inner.length) {
    const c = inner[i] ?? '';
    const afterComment = skipComment(inner, i);
    if (afterComment !== i) {
      i = afterComment;
      continue;
    }
    if (c === "'") {
      const end = skipString(inner, i);
      current += inner.slice(i, end);
      i = end;
    } else if (OPEN.has(c)) {
      const end = matchBracket(inner, i);
      current += inner.slice(i, end);
      i = end;
    } else if (c === '\n' || c === ',') {
      flush();
      i += 1;
    } else {
      current += c;
      i += 1;
    }
  }
  flush();
  return items;
}

/** Top-level `key: value` entries of an object literal, in order (keys unquoted). */
export function objectEntries(literal: string): Map<string, string> {
  if (!literal.startsWith('{')) throw new Error('Not an object literal');
  const entries = new Map<string, string>();
  for (const item of topLevelItems(literal)) {
    const m = /^(?:'((?:[^'\\]|\\.)*)'|([A-Za-z_$][\w$]*))\s*:\s*([\s\S]*)$/.exec(item);
    if (!m) throw new Error(`Not a key: value entry: ${item}`);
    entries.set(m[1] ?? m[2] ?? '', (m[3] ?? '').trim());
  }
  return entries;
}

/** Top-level items of an array literal. */
export function arrayItems(literal: string): string[] {
  if (!literal.startsWith('[')) throw new Error('Not an array literal');
  return topLevelItems(literal);
}

/** The value of a plain string literal without interpolation, else undefined. */
export function stringValue(expr: string | undefined): string | undefined {
  if (expr === undefined) return undefined;
  const m = /^'((?:[^'\\$]|\\.|\$(?!\{))*)'$/.exec(expr.trim());
  return m ? (m[1] ?? '').replace(/\\(.)/g, '$1') : undefined;
}

/** `true`/`false`/a number literal, else undefined. */
export function scalarValue(expr: string | undefined): boolean | number | undefined {
  const t = expr?.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t !== undefined && /^-?\d+$/.test(t)) return Number(t);
  return undefined;
}

/** Every `'br/public:avm/res/<path>:<version>'` module reference in the text. */
export function avmModules(text: string): { path: string; version: string }[] {
  return [...text.matchAll(/'br\/public:avm\/res\/([a-z0-9/-]+):(\d+\.\d+\.\d+)'/g)].map((m) => ({
    path: m[1] ?? '',
    version: m[2] ?? '',
  }));
}
