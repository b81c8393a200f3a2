/**
 * Completes the pending records of jobs that can no longer complete them themselves: a CLI run
 * that was killed (the next run sweeps its own source's pending records first) or a worker job
 * whose message is gone (the cleanup sweeps those past the queue's message lifetime). Each user is
 * read again: if every planned action holds the record is completed as planned (recovered);
 * otherwise it ends `DEFERRED` / `Interrupted` with the actions that did take effect, and the next
 * run or event decides afresh. A user Graph cannot read just now is left for the next sweep.
 */
import type { GraphGateway } from '../graph/gateway.js';
import { isGraphError } from '../graph/graph-error.js';
import type { Logger } from '../log.js';
import type { OutcomeStore } from '../store/ports.js';
import { actionsInEffect } from './actions-in-effect.js';
import type { LicensingContext } from './licensing-context.js';
import { interruptedRecord, recoveredRecord } from './outcome-builder.js';

export interface RecoverDeps {
  outcomes: Pick<OutcomeStore, 'listPending' | 'record'>;
  gateway: GraphGateway;
  context: LicensingContext;
  logger: Logger;
  now: () => Date;
}

export interface RecoverReport {
  /** Completed as planned: the change had been made. */
  recovered: number;
  /** Completed as interrupted: the change had not (or only partly) been made. */
  interrupted: number;
  /** Left pending: Graph could not be read. */
  left: number;
}

export async function recoverPending(
  deps: RecoverDeps,
  filter: { source?: string; before?: Date },
): Promise<RecoverReport> {
  const report: RecoverReport = { recovered: 0, interrupted: 0, left: 0 };
  const { catalog, select } = deps.context;
  for await (const pending of deps.outcomes.listPending(filter)) {
    let user;
    try {
      user = await deps.gateway.getUser(pending.userId, select, { correlationId: pending.correlationId });
    } catch (e) {
      if (!isGraphError(e)) throw e;
      report.left++;
      continue;
    }
    const effect = user ? actionsInEffect(user, pending.actions) : null;
    const record =
      user && effect?.state === 'all'
        ? recoveredRecord(pending, user, catalog, deps.now())
        : interruptedRecord(pending, user, effect?.holding ?? [], catalog, deps.now());
    await deps.outcomes.record(record, { clearPending: true });
    if (record.outcome === 'DEFERRED') report.interrupted++;
    else report.recovered++;
  }
  if (report.recovered + report.interrupted + report.left > 0)
    deps.logger.warn({ ...report, ...filter }, 'completed pending records left by an earlier run');
  return report;
}
