/**
 * The license worker: one queue message = one job = one user. Runs the engine and records the
 * outcome. Delayed retries are scheduled copies of the message (Functions' Service Bus trigger
 * has no backoff of its own: a throw means immediate redelivery), after which the original
 * completes by returning normally.
 */
import type { GraphGateway } from '../graph/gateway.js';
import { isGraphError } from '../graph/graph-error.js';
import type { GraphUser } from '../graph/types.js';
import type { OutcomeRecord } from '../licensing/types.js';
import type { Logger } from '../log.js';
import { jobSessionId, type JobPublisher, type LicenseJob } from '../queue/job.js';
import { parseJobMessage } from '../queue/parse-message.js';
import type { LeaverStore, OutcomeStore } from '../store/ports.js';
import { backoffMs } from './backoff.js';
import type { LicensingContextCache } from './licensing-context.js';
import { processUser } from './process-user.js';

export interface WorkerSettings {
  /** Attempts for a user that is not in Entra ID yet (an HR hire before AD sync). */
  hireRetryLimit: number;
  /** Attempts for throttling and outages. */
  transientRetryLimit: number;
  /** Attempts while seats are exhausted; after that the daily cleanup re-drives the job. */
  seatRetryLimit: number;
  retryBaseSeconds: number;
  deferredRetryMinutes: number;
}

/**
 * Attempts for a job that names a user by object id (a notification, delta or cleanup job) when
 * Graph no longer finds the user: only directory replication lag is worth waiting for; after
 * that the user was deleted, and there is nothing to license.
 */
export const GONE_USER_RETRY_LIMIT = 2;

export interface WorkerDeps {
  gateway: GraphGateway;
  contexts: LicensingContextCache;
  outcomes: OutcomeStore;
  /** People an HR leave was carried out for: the rules do not license them again. */
  leavers: LeaverStore;
  publisher: JobPublisher;
  logger: Logger;
  settings: WorkerSettings;
  now?: () => Date;
  random?: () => number;
}

/** Delivery facts from the trigger's metadata. */
export interface DeliveryInfo {
  messageId?: string | undefined;
  deliveryCount?: number | undefined;
  /** When Service Bus first accepted the message; the same on every delivery. */
  enqueuedTime?: Date | undefined;
}

export type WorkerResult =
  | { kind: 'recorded'; record: OutcomeRecord }
  | { kind: 'rescheduled'; record: OutcomeRecord | null; at: Date; attempt: number };

/**
 * A message that can never be processed. The worker records it (with the payload and the reason)
 * and throws this, so Service Bus redelivers it up to the queue's max delivery count and then
 * moves it to the dead-letter queue, where it can be inspected and replayed.
 */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

/**
 * The copy scheduled for the next attempt. Once the user has been found, the copy names them by
 * object id: it then sessions with every other job for that user (Graph notifications and delta
 * jobs carry the id), and a UPN renamed by AD sync between attempts cannot lose it.
 */
function nextCopy(job: LicenseJob, reason: string, resolvedUserId?: string): LicenseJob {
  return {
    ...job,
    ...(resolvedUserId === undefined ? {} : { user: { ...job.user, id: resolvedUserId } }),
    attempt: job.attempt + 1,
    lastDeferral: reason,
  };
}

/** Processes one queue message body. Throws only when the message must be redelivered. */
export async function runLicenseJob(
  body: unknown,
  delivery: DeliveryInfo,
  deps: WorkerDeps,
): Promise<WorkerResult> {
  const now = deps.now ?? (() => new Date());
  const random = deps.random ?? Math.random;
  const { settings } = deps;
  const parsed = parseJobMessage(body);
  if (!parsed.ok) {
    // Keyed by the enqueue time and MessageId, the record is the same row on every delivery:
    // written once whichever delivery gets through, never duplicated.
    const at = (delivery.enqueuedTime ?? now()).toISOString();
    const record: OutcomeRecord = {
      userId: 'malformed-messages',
      userPrincipalName: null,
      jobId: delivery.messageId ?? `unknown-${at}`,
      correlationId: delivery.messageId ?? 'unknown',
      source: 'queue',
      eventId: delivery.messageId ?? null,
      rule: null,
      outcome: 'FAILED',
      skus: [],
      licensesBefore: [],
      licensesAfter: [],
      actions: [],
      conflicts: [],
      error: {
        code: 'MalformedMessage',
        message: parsed.reason,
        fix: 'Fix the sender, then replay the message from the dead-letter queue (docs/operations.md).',
      },
      retryAt: null,
      dryRun: false,
      durationMs: 0,
      recordedAt: at,
      payload: parsed.payload,
    };
    // Record it (idempotent, see above), then let Service Bus dead-letter it at the delivery limit.
    await deps.outcomes.record(record);
    deps.logger.error({ messageId: delivery.messageId, reason: parsed.reason }, 'malformed license job');
    throw new PoisonMessageError(`Malformed license job ${delivery.messageId ?? ''}: ${parsed.reason}`);
  }
  const job = parsed.job;
  const log = deps.logger.child({ correlationId: job.correlationId, jobId: job.jobId });

  // A job that must wait (HR leave with a grace period) goes back on the queue for its time.
  // The copy must get a new MessageId (attempt + 1): with the same id, duplicate detection would
  // drop it as a repeat of the message being handled, and the job would be lost.
  if (job.notBefore && new Date(job.notBefore).getTime() > now().getTime()) {
    const at = new Date(job.notBefore);
    const copy = nextCopy(job, `not due before ${job.notBefore}`);
    await deps.publisher.schedule(copy, at);
    log.info({ at: at.toISOString() }, 'job not due yet; scheduled');
    return { kind: 'rescheduled', record: null, at, attempt: copy.attempt };
  }

  let context;
  try {
    context = await deps.contexts.get();
  } catch (e) {
    // No catalog yet (Graph unavailable at cold start) or the rules do not fit the tenant (a SKU
    // or plan gone): nothing can be decided for anyone. Keep the job, record why, try again later;
    // a fixed rules file or a recovered Graph picks it up.
    return deferWithoutContext(job, e, deps, now, random);
  }
  const result = await processUser(
    {
      user: job.user,
      action: job.action,
      source: job.source,
      eventId: job.eventId,
      jobId: job.jobId,
      correlationId: job.correlationId,
      dryRun: false,
      // A leave from HR waits out its grace period on the queue; a hire or update HR sent for the
      // person in the meantime wins.
      ...(job.source === 'hr' && job.action === 'leave'
        ? {
            supersededBy: async (user: GraphUser) =>
              (await deps.leavers.rehiredSince(user.id, new Date(job.acceptedAt)))
                ? 'HR sent a hire or update for this person after this leave; the leave no longer applies.'
                : null,
          }
        : {}),
    },
    { gateway: deps.gateway, context, logger: log, leavers: deps.leavers, now },
  );

  // HR says the person is (back) in: forget any leave at once, whatever this attempt's outcome
  // (a deferred one too), or a seat shortage now would leave them marked and unlicensed for good.
  if (result.user && job.source === 'hr' && job.action === 'reconcile')
    await deps.leavers.clear(result.user.id, now());

  let record = result.record;
  const retry = result.retry;
  if (retry) {
    let limit: number;
    let delay: number;
    switch (retry.reason) {
      case 'userNotFound':
        // An HR event may come before AD sync; an id from Graph itself only needs replication.
        limit = job.source === 'hr' || !job.user.id ? settings.hireRetryLimit : GONE_USER_RETRY_LIMIT;
        delay = backoffMs(job.attempt, settings.retryBaseSeconds * 1000, random);
        break;
      case 'noSeats':
        limit = settings.seatRetryLimit;
        delay = settings.deferredRetryMinutes * 60_000;
        deps.contexts.invalidate();
        break;
      case 'transient':
        limit = settings.transientRetryLimit;
        delay = Math.max(
          retry.afterMs ?? 0,
          backoffMs(job.attempt, settings.retryBaseSeconds * 1000, random),
        );
        break;
    }
    if (job.attempt < limit) {
      const at = new Date(now().getTime() + delay);
      record = { ...record, outcome: 'DEFERRED', retryAt: at.toISOString() };
      await deps.publisher.schedule(
        nextCopy(job, `${retry.reason}: ${record.error?.message ?? ''}`, result.user?.id),
        at,
      );
      await deps.outcomes.record(record);
      log.info({ reason: retry.reason, attempt: job.attempt + 1, at: at.toISOString() }, 'job deferred');
      return { kind: 'rescheduled', record, at, attempt: job.attempt + 1 };
    }
    if (retry.reason === 'noSeats') {
      // Still DEFERRED: the daily cleanup re-drives it once seats are free.
      record = { ...record, outcome: 'DEFERRED', retryAt: null };
    } else if (retry.reason === 'userNotFound' && job.source !== 'hr' && job.user.id) {
      // Deleted since the event (a soft delete arrives as an update): nothing to do, nothing to fix.
      record = {
        ...record,
        outcome: 'UNCHANGED',
        retryAt: null,
        error: {
          code: 'UserNotFound',
          message:
            'The user no longer exists in Entra ID (deleted since the event); there is nothing to license.',
          fix: 'None needed.',
        },
      };
    } else {
      const tries = String(job.attempt + 1);
      record = {
        ...record,
        outcome: 'FAILED',
        retryAt: null,
        error: {
          code: record.error?.code ?? retry.reason,
          message:
            retry.reason === 'userNotFound'
              ? `The user did not appear in Entra ID after ${tries} attempts.`
              : `Graph kept failing after ${tries} attempts: ${record.error?.message ?? ''}`,
          fix:
            retry.reason === 'userNotFound'
              ? 'Check the HR record (UPN or employeeId) matches the synced account and that AD sync runs; then resend the event.'
              : (record.error?.fix ?? 'Check Graph service health, then replay the job.'),
        },
      };
    }
  }
  // Remember a completed leave.
  const leaveDone =
    job.action === 'leave' &&
    record.outcome !== 'DEFERRED' &&
    record.outcome !== 'FAILED' &&
    record.error?.code !== 'Superseded';
  if (result.user && leaveDone) {
    await deps.leavers.mark(result.user.id, now());
  }
  await deps.outcomes.record(record);
  return { kind: 'recorded', record };
}

/**
 * The licensing context could not be had. Records a DEFERRED outcome with the reason and schedules
 * the job again (the seat-retry budget and delay: the fix is an operator's or Graph's, not
 * seconds away); past the budget the outcome is FAILED with the reason.
 */
async function deferWithoutContext(
  job: LicenseJob,
  error: unknown,
  deps: WorkerDeps,
  now: () => Date,
  random: () => number,
): Promise<WorkerResult> {
  const transient = isGraphError(error) && error.transient;
  const message = error instanceof Error ? error.message : String(error);
  const at = now();
  const retryAt =
    job.attempt < deps.settings.seatRetryLimit
      ? new Date(
          at.getTime() +
            (transient
              ? backoffMs(job.attempt, deps.settings.retryBaseSeconds * 1000, random)
              : deps.settings.deferredRetryMinutes * 60_000),
        )
      : null;
  const record: OutcomeRecord = {
    userId: jobSessionId(job),
    userPrincipalName: job.user.userPrincipalName ?? null,
    jobId: job.jobId,
    correlationId: job.correlationId,
    source: job.source,
    eventId: job.eventId,
    rule: null,
    outcome: retryAt ? 'DEFERRED' : 'FAILED',
    skus: [],
    licensesBefore: [],
    licensesAfter: [],
    actions: [],
    conflicts: [],
    error: {
      code: transient ? 'CatalogUnavailable' : 'RulesDoNotFitTenant',
      message: `The licensing rules could not be loaded against the tenant: ${message}`,
      fix: transient
        ? 'Graph was unavailable; the job is tried again.'
        : 'Run `ems-licensing validate` against the tenant, fix rules.yaml (a SKU or plan it names is gone or not assignable), and redeploy; deferred jobs are tried again.',
    },
    retryAt: retryAt?.toISOString() ?? null,
    dryRun: false,
    durationMs: 0,
    recordedAt: at.toISOString(),
  };
  if (retryAt) await deps.publisher.schedule(nextCopy(job, record.error?.code ?? 'context'), retryAt);
  await deps.outcomes.record(record);
  deps.logger.error(
    { jobId: job.jobId, code: record.error?.code, err: message },
    'licensing context unavailable',
  );
  return retryAt
    ? { kind: 'rescheduled', record, at: retryAt, attempt: job.attempt + 1 }
    : { kind: 'recorded', record };
}
