/**
 * Rules that look wrong, found before they act: a rule no user in the tenant reaches, a `memberOf`
 * group that does not exist, and `unmatched: remove` removing more than the blast-radius guard
 * allows. `validate` and `plan` print them; `apply` refuses to run with any of them unless told
 * `--accept-warnings`. Pure: the counts come from a plan over every user (plan-collector.ts) and
 * the missing groups from Graph.
 */
import type { CompiledRules } from '../licensing/types.js';
import { groupIdsUsed } from '../rules/select.js';
import { skuCountText, type GuardVerdict } from './blast-guard.js';

export const RULE_WARNING_CODES = ['RuleMatchesNobody', 'GroupNotFound', 'UnmatchedRemovesTooMany'] as const;
export type RuleWarningCode = (typeof RULE_WARNING_CODES)[number];

export interface RuleWarning {
  code: RuleWarningCode;
  /** The rule concerned (null for `defaults.unmatched`). */
  rule: string | null;
  message: string;
  fix: string;
}

export interface RuleWarningInput {
  rules: CompiledRules;
  /** Users read. */
  users: number;
  /** Users each rule decided (the first rule that matched them), by rule name. */
  decidedBy: ReadonlyMap<string, number>;
  /** Group ids `memberOf` names that Graph does not know (lower-case). */
  missingGroups: ReadonlySet<string>;
  /** The guard's verdict over the removals `unmatched: remove` makes; null when it is `leave`. */
  unmatched: GuardVerdict | null;
}

export function ruleWarnings(input: RuleWarningInput): RuleWarning[] {
  const out: RuleWarning[] = [];
  for (const rule of input.rules.rules) {
    const missing = groupIdsUsed({ rules: [rule] }).filter((g) => input.missingGroups.has(g));
    for (const group of missing) {
      out.push({
        code: 'GroupNotFound',
        rule: rule.name,
        message: `memberOf names group ${group}, which does not exist in the tenant: nobody is a member of it.`,
        fix: 'Check the group’s object id (Entra admin center > Groups > the group > Overview > Object ID).',
      });
    }
    if (input.users > 0 && (input.decidedBy.get(rule.name) ?? 0) === 0) {
      out.push({
        code: 'RuleMatchesNobody',
        rule: rule.name,
        message: `No user in the tenant is decided by this rule (0 of ${String(input.users)}): none matches it, or an earlier rule matches them first.`,
        fix: 'Check its values for typos (`ems-licensing explain <user>` shows every condition tried) and the order of the rules.',
      });
    }
  }
  const u = input.unmatched;
  if (u?.hold) {
    out.push({
      code: 'UnmatchedRemovesTooMany',
      rule: null,
      message: `defaults.unmatched: remove would remove ${u.over.map(skuCountText).join('; ')} from users no rule matches: more than the blast-radius guard allows.`,
      fix: 'Check the rules for a typo that makes users match nothing (the plan lists them with no rule), or set unmatched: leave.',
    });
  }
  return out;
}
