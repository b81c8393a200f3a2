/**
 * An {@link OutcomeStore} that also logs every record it writes (but a job's pending intent), as
 * `outcome recorded`: the
 * outcomes table is the record, and this line is how outcomes reach Application Insights (the
 * workbook's outcomes chart, failures with their fix, deferred jobs, and the FAILED alert).
 * FAILED is logged at warn, everything else at info. No personal data: the user is named by
 * object id (or by digest when only a UPN was known), never by UPN, and addresses in an error's
 * message are redacted.
 */
import { redactAddresses } from '../graph/error-mapping.js';
import { OUTCOME_RECORDED_EVENT, type OutcomeRecordedLogFields } from '../log-events.js';
import type { Logger } from '../log.js';
import type { OutcomeRecord } from '../licensing/types.js';
import type { OutcomeStore } from './ports.js';

export function withOutcomeLog(store: OutcomeStore, logger: Logger): OutcomeStore {
  const logRecorded = (r: OutcomeRecord): void => {
    const fields: OutcomeRecordedLogFields = {
      outcome: r.outcome,
      phase: r.phase,
      source: r.source,
      rule: r.rule,
      skus: r.skus,
      code: r.error?.code ?? null,
      // Messages can name the user ("ann@contoso.com has no usageLocation"): addresses are cut.
      detail: r.error ? redactAddresses(r.error.message) : null,
      fix: r.error?.fix ?? null,
      retryAt: r.retryAt,
      attempt: r.attempt,
      writes: r.writes,
      userId: r.userId,
      jobId: r.jobId,
      correlationId: r.correlationId,
      eventId: r.eventId,
      heldIn: r.held?.roundId ?? null,
      durationMs: r.durationMs,
    };
    logger[r.outcome === 'FAILED' ? 'warn' : 'info'](fields, OUTCOME_RECORDED_EVENT);
  };
  return {
    async record(r, options) {
      await store.record(r, options);
      // A pending record is the job's intent before its first write; its outcome comes later.
      if (r.phase !== 'pending') logRecorded(r);
    },
    async recordQuiet(records) {
      await store.recordQuiet(records);
      for (const r of records) logRecorded(r);
    },
    findJob: (userId, acceptedAt, jobId) => store.findJob(userId, acceptedAt, jobId),
    withdrawPending: (userId, acceptedAt, jobId) => store.withdrawPending(userId, acceptedAt, jobId),
    listPending: (options) => store.listPending(options),
    listByUser: (userId, options) => store.listByUser(userId, options),
    listBetween: (from, to) => store.listBetween(from, to),
    listRun: (runId) => store.listRun(runId),
    prune: (before) => store.prune(before),
  };
}
