/**
 * Readable lines for an evaluated membership rule: each clause as written, whether it held, and
 * the value it saw on the user. The layout matches the rest of `explain` (✓/✗, nested indents).
 */
import type { EntraTrace, SeenValue } from './evaluate.js';

const MAX_ITEMS_SHOWN = 3;

/** A clause on one line: the rule's own text with its line breaks and runs of spaces folded. */
export const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** The value a clause saw: `"Sales"`, `true`, `unset`, `["a", "b", … 3 more]`, `none`. */
export function seenText(v: SeenValue): string {
  if (v === null) return 'unset';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v.length === 0) return 'none';
  const shown = v.slice(0, MAX_ITEMS_SHOWN).map((x) => JSON.stringify(x));
  return `[${shown.join(', ')}${v.length > MAX_ITEMS_SHOWN ? `, … ${v.length - MAX_ITEMS_SHOWN} more` : ''}]`;
}

/** What one clause saw, for a leaf: `value: "Sales"` or `3 items, 1 matching: "SMTP:…"`. */
export function leafDetail(t: Extract<EntraTrace, { kind: 'compare' | 'quantified' }>): string {
  if (t.kind === 'compare') return `value: ${seenText(t.actual)}`;
  const count = `${t.items} item${t.items === 1 ? '' : 's'}, ${t.matching} matching`;
  if (t.decidedBy === null) return count;
  return `${count}; ${t.quantifier === 'any' ? 'first match' : 'first not matching'}: ${JSON.stringify(t.decidedBy)}`;
}

/**
 * Lines for a clause tree. With `whyNot`, a failed `-and` shows only its failed clauses (the
 * reason), so a long rule does not bury the clause that mattered.
 */
export function entraTraceLines(t: EntraTrace, indent: string, whyNot: boolean): string[] {
  const mark = t.result ? '✓' : '✗';
  switch (t.kind) {
    case 'compare':
    case 'quantified':
      return [`${indent}${mark} ${oneLine(t.text)} (${leafDetail(t)})`];
    case 'not':
      return [`${indent}${mark} -not:`, ...entraTraceLines(t.inner, `${indent}    `, false)];
    case 'and':
    case 'or': {
      const children =
        whyNot && t.kind === 'and' && !t.result ? t.children.filter((c) => !c.result) : t.children;
      const partial =
        children.length < t.children.length ? ` (failed ${children.length} of ${t.children.length})` : '';
      return [
        `${indent}${mark} ${t.kind === 'and' ? 'all of (-and)' : 'any of (-or)'}${partial}:`,
        ...children.flatMap((c) => entraTraceLines(c, `${indent}    `, whyNot)),
      ];
    }
  }
}

/** The first failing leaf of a trace that did not hold (the clause to quote as "why not"). */
export function firstFailingClause(
  t: EntraTrace,
): Extract<EntraTrace, { kind: 'compare' | 'quantified' }> | null {
  if (t.result) return null;
  switch (t.kind) {
    case 'compare':
    case 'quantified':
      return t;
    case 'not':
      // `-not X` failed because X held: the clause is X itself, reported as such.
      return t.inner.kind === 'compare' || t.inner.kind === 'quantified' ? t.inner : null;
    case 'and':
      for (const c of t.children) {
        const found = firstFailingClause(c);
        if (found !== null) return found;
      }
      return null;
    case 'or':
      return t.children.map(firstFailingClause).find((c) => c !== null) ?? null;
  }
}
