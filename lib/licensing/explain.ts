/**
 * `explain`'s account of one user's evaluation: the rule trace (rules/explain.ts), then what the
 * matched rule wants in license terms, or what happens to a user no rule matches.
 */
import type { GraphUser } from '../graph/types.js';
import type { Evaluation } from '../rules/evaluate.js';
import { explainRuleTrace } from '../rules/explain.js';
import type { LicenseNames } from './catalog.js';
import { licenseText } from './describe.js';
import type { CompiledRule } from './types.js';

export interface ExplainOptions {
  /** Turns GUIDs into part numbers and plan names in the licenses a rule wants. */
  names?: LicenseNames;
  /** defaults.unmatched, to say what happens when no rule matches. */
  unmatched?: 'leave' | 'remove';
}

/** Readable lines explaining `evaluation` for `user`: which rule matched, why, and what it wants. */
export function explainEvaluation(
  evaluation: Evaluation<CompiledRule>,
  user: GraphUser,
  options: ExplainOptions = {},
): string[] {
  return [...explainRuleTrace(evaluation, user), wantsLine(evaluation.matched, options)];
}

function wantsLine(matched: CompiledRule | null, options: ExplainOptions): string {
  if (matched === null) {
    return options.unmatched === 'remove'
      ? '  → defaults.unmatched is remove: managed licenses are removed.'
      : '  → defaults.unmatched is leave: licenses are left as they are.';
  }
  if (matched.licenses === 'none') return '  → license: none: managed licenses are removed.';
  return `  → wants: ${matched.licenses.map((l) => licenseText(l, options.names)).join('; ')}`;
}
