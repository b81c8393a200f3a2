/**
 * `apply` on a terminal: the counts of a dry run first, then a question before changing more than
 * a handful of users. Never asked with `--yes`, or when stdin or stderr is not a terminal (a
 * script, a pipeline, a scheduled task): those apply as told. Kept in the CLI, around a plan-first
 * step; the engine knows nothing of it.
 */
import type { ReconcileSummary } from '../engine/reconcile.js';
import type { CliIo } from './command-context.js';
import { summaryTable } from './output.js';

/** Up to this many users changed, `apply` goes ahead without asking. */
export const ASK_ABOVE_USERS = 5;

/** Users a plan would change (licenses added, updated or removed). */
export function usersChanged(summary: ReconcileSummary): number {
  return summary.byOutcome.ASSIGNED + summary.byOutcome.UPDATED + summary.byOutcome.REMOVED;
}

/** Shows the plan's counts and asks; true to go on. Only `y` or `yes` (any case) means yes. */
export async function confirmApply(planned: ReconcileSummary, io: CliIo): Promise<boolean> {
  const changed = usersChanged(planned);
  if (changed <= ASK_ABOVE_USERS || !io.ask) return true;
  io.stderr.write(`${summaryTable(planned, true)}\n`);
  const answer = await io.ask(
    `Apply these changes to ${String(changed)} users (of ${String(planned.users)})? Graph will be written to. [y/N] `,
  );
  if (/^\s*y(es)?\s*$/i.test(answer)) return true;
  io.stderr.write(
    'Nothing changed. (Run `ems-licensing plan` to see each change; `apply --yes` skips this question.)\n',
  );
  return false;
}
