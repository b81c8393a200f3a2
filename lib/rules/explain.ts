/**
 * Human-readable explanation of an evaluation: which rule matched and why, and for each earlier
 * rule, the condition(s) it failed on. What the matched rule then wants is said by the licensing
 * side (licensing/explain.ts), which knows the licenses.
 */
import type { GraphUser } from '../graph/types.js';
import { entraTraceLines, oneLine } from './entra/explain.js';
import type { ConditionTrace, EvaluableRule, Evaluation } from './evaluate.js';

const OPERATOR_TEXT = {
  equals: 'equals',
  in: 'is one of',
  startsWith: 'starts with',
  endsWith: 'ends with',
  exists: 'exists',
} as const;

const show = (v: unknown): string =>
  Array.isArray(v) ? `[${v.map((x) => show(x)).join(', ')}]` : typeof v === 'string' ? `"${v}"` : String(v);

function leafText(t: Extract<ConditionTrace, { kind: 'attribute' | 'memberOf' }>): string {
  if (t.kind === 'memberOf')
    return `member of group ${t.groupId} (${t.result ? 'is a member' : 'not a member'})`;
  const seen = t.actual === null || t.actual === '' ? 'unset' : show(t.actual);
  const test =
    t.operator === 'exists'
      ? `${t.attribute} ${t.expected === true ? 'is set' : 'is unset'}`
      : `${t.attribute} ${OPERATOR_TEXT[t.operator]} ${show(t.expected)}`;
  return `${test} (value: ${seen})`;
}

/**
 * Lines for one condition tree. With `whyNot`, a failed `all` shows only its failed children
 * (the reason), so a long rule does not bury the one condition that mattered.
 */
function conditionLines(t: ConditionTrace, indent: string, whyNot: boolean): string[] {
  const mark = t.result ? '✓' : '✗';
  switch (t.kind) {
    case 'attribute':
    case 'memberOf':
      return [`${indent}${mark} ${leafText(t)}`];
    case 'not':
      return [`${indent}${mark} not:`, ...conditionLines(t.inner, `${indent}    `, false)];
    case 'entra':
      // A one-clause rule is its own explanation; a longer one lists each clause it holds.
      if (t.trace.kind === 'compare' || t.trace.kind === 'quantified')
        return entraTraceLines(t.trace, indent, whyNot).map((l) => l.replace(/^(\s*[✓✗]) /, '$1 entra: '));
      return [
        `${indent}${mark} entra: ${oneLine(t.rule)}`,
        ...entraTraceLines(t.trace, `${indent}    `, whyNot),
      ];
    case 'all':
    case 'any': {
      const children =
        whyNot && t.kind === 'all' && !t.result ? t.children.filter((c) => !c.result) : t.children;
      const head =
        t.kind === 'all'
          ? `${indent}${mark} all of${children.length < t.children.length ? ` (failed ${children.length} of ${t.children.length})` : ''}:`
          : `${indent}${mark} any of:`;
      return [head, ...children.flatMap((c) => conditionLines(c, `${indent}    `, whyNot))];
    }
  }
}

/** Readable lines saying which rule matched `user` and why, rule by rule, in the order tried. */
export function explainRuleTrace(evaluation: Evaluation<EvaluableRule>, user: GraphUser): string[] {
  const who = `${user.userPrincipalName} (${user.id})`;
  const matched = evaluation.matched;
  const lines = [
    matched === null
      ? `${who}: no rule matched (${evaluation.trace.length} tried).`
      : `${who}: rule "${matched.name}" matched (rule ${matched.index + 1}).`,
  ];
  for (const t of evaluation.trace) {
    lines.push(`  rule ${t.index + 1} "${t.rule}": ${t.matched ? 'MATCH' : 'no match'}`);
    lines.push(...conditionLines(t.condition, '    ', !t.matched));
  }
  return lines;
}
