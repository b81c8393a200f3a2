/**
 * From an evaluation to what the rules want for one user, given why the user is being
 * processed: a normal reconcile follows the matched rule; a leaver or a reclaim removes the
 * managed SKUs whatever rule matches.
 */
import type { Evaluation } from '../rules/evaluate.js';
import type { CompiledRule, CompiledRules, DesiredState } from './types.js';

/** Why the user is processed: `reconcile` (rules decide), `leave` (HR leaver), `reclaim` (cleanup). */
export type DesiredAction = 'reconcile' | 'leave' | 'reclaim';

/** The desired license state for one user. */
export function desiredStateFor(
  evaluation: Evaluation<CompiledRule>,
  compiled: Pick<CompiledRules, 'defaults'>,
  action: DesiredAction,
): DesiredState {
  const rule = evaluation.matched;
  if (action === 'leave')
    return { kind: 'removeManaged', rule: rule?.name ?? null, reason: 'the user left (HR leave event)' };
  if (action === 'reclaim')
    return {
      kind: 'removeManaged',
      rule: rule?.name ?? null,
      reason: 'reclaimed: the account is disabled or gone past the grace period',
    };
  if (rule === null) {
    return compiled.defaults.unmatched === 'remove'
      ? { kind: 'removeManaged', rule: null, reason: 'no rule matched and defaults.unmatched is remove' }
      : { kind: 'leave' };
  }
  if (rule.licenses === 'none')
    return { kind: 'removeManaged', rule: rule.name, reason: `rule "${rule.name}" says license: none` };
  return { kind: 'licenses', rule: rule.name, licenses: rule.licenses };
}
