/**
 * Quiet decisions: what most users of a steady tenant get from a bulk run. They are recorded like
 * any other decision, but in bulk (`OutcomeStore.recordQuiet`): at 20,000 users, a storage
 * request per user kept `apply` waiting on storage for most of its time.
 */
import type { OutcomeRecord } from './types.js';

/**
 * A decision that changed nothing and needs nothing: the final record of a user a bulk run (the
 * CLI's `apply`) found as the rules want, found no rule for, or skipped by policy.
 */
export function isQuietDecision(outcome: OutcomeRecord): boolean {
  return (
    outcome.source === 'cli' &&
    outcome.phase === 'final' &&
    !outcome.dryRun &&
    outcome.eventId !== null &&
    outcome.actions.length === 0 &&
    outcome.error === null &&
    outcome.held == null &&
    (outcome.outcome === 'UNCHANGED' || outcome.outcome === 'NO_RULE' || outcome.outcome === 'SKIPPED')
  );
}
