/**
 * The license worker: one queue message = one job = one user. A thin loop over the engine's parts:
 * parse the message, run the job (run-job.ts), ask the retry policy what next, and settle: a
 * scheduled copy of the message for a later attempt, or the job's final record. Functions' Service
 * Bus trigger has no backoff of its own (a throw means immediate redelivery), so delayed retries
 * are scheduled copies and the original completes by returning normally.
 */
import type { GraphGateway } from '../graph/gateway.js';
import { isGraphError } from '../graph/graph-error.js';
import type { OutcomeRecord } from '../licensing/types.js';
import type { Logger } from '../log.js';
import { jobSessionId, type JobPublisher, type LicenseJob } from '../queue/job.js';
import { parseJobMessage } from '../queue/parse-message.js';
import type { LeaverStore, OutcomeStore } from '../store/ports.js';
import type { LicensingContext, LicensingContextCache } from './licensing-context.js';
import {
  asAttempt,
  asGivenUp,
  contextUnavailableRecord,
  malformedRecord,
  storageUnavailableRecord,
  type JobFacts,
} from './outcome-builder.js';
import type { ReductionGuard } from './reduction-guard.js';
import { nextStep, type RetryHint, type RetrySettings } from './retry-policy.js';
import { resolveUser, runJob, type EndedJob } from './run-job.js';

export type WorkerSettings = RetrySettings;

export interface WorkerDeps {
  gateway: GraphGateway;
  contexts: LicensingContextCache;
  outcomes: OutcomeStore;
  /** What HR last said about each person (see leaver-policy.ts). */
  leavers: LeaverStore;
  publisher: JobPublisher;
  logger: Logger;
  settings: WorkerSettings;
  /** The blast-radius guard (worker-guard.ts), asked before any removal or plan reduction. */
  guard?: ReductionGuard | null;
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
  | { kind: 'rescheduled'; record: OutcomeRecord | null; at: Date; attempt: number }
  /** The job already had its final record (a repeated delivery): nothing done. */
  | { kind: 'duplicate'; record: OutcomeRecord }
  /** Sent on under the user's object id (see {@link forwardById}). */
  | { kind: 'forwarded'; userId: string };

/**
 * A message that can never be processed. The worker records it (with the payload and the reason)
 * and throws this, so Service Bus redelivers it up to the queue's max delivery count and then
 * moves it to the dead-letter queue, where it can be inspected and replayed.
 */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

/** The copy of a job scheduled for its next attempt; it names the user by object id once known. */
function nextCopy(job: LicenseJob, reason: string, resolvedUserId?: string): LicenseJob {
  return {
    ...job,
    ...(resolvedUserId === undefined ? {} : { user: { ...job.user, id: resolvedUserId } }),
    attempt: job.attempt + 1,
    lastDeferral: reason,
  };
}

function factsOf(job: LicenseJob, startedAt: Date): JobFacts {
  return {
    jobId: job.jobId,
    correlationId: job.correlationId,
    source: job.source,
    eventId: job.eventId,
    acceptedAt: job.acceptedAt,
    attempt: job.attempt,
    dryRun: false,
    userRef: job.user,
    startedAt,
  };
}

/** Processes one queue message body. Throws only when the message must be redelivered. */
export async function runLicenseJob(
  body: unknown,
  delivery: DeliveryInfo,
  deps: WorkerDeps,
): Promise<WorkerResult> {
  const now = deps.now ?? (() => new Date());
  const parsed = parseJobMessage(body);
  if (!parsed.ok) return recordMalformed(parsed, delivery, deps, now);
  const job = parsed.job;
  const log = deps.logger.child({ correlationId: job.correlationId, jobId: job.jobId });

  // A job that must wait (HR leave with a grace period) goes back on the queue for its time. The
  // copy gets a new MessageId (attempt + 1): with the same id, duplicate detection would drop it.
  if (job.notBefore && new Date(job.notBefore).getTime() > now().getTime()) {
    const at = new Date(job.notBefore);
    const copy = nextCopy(job, `not due before ${job.notBefore}`);
    await deps.publisher.schedule(copy, at);
    log.info({ at: at.toISOString() }, 'job not due yet; scheduled');
    return { kind: 'rescheduled', record: null, at, attempt: copy.attempt };
  }
  const facts = factsOf(job, now());
  let context;
  try {
    context = await deps.contexts.get();
  } catch (e) {
    // No catalog yet (Graph down at a cold start) or the rules no longer fit the tenant: nothing
    // can be decided for anyone. Keep the job and record why; a recovered Graph or a fixed rules
    // file picks it up.
    const transient = isGraphError(e) && e.transient;
    log.error({ err: e, transient }, 'licensing context unavailable');
    const record = contextUnavailableRecord(facts, e, transient, now());
    return settle(
      job,
      {
        kind: 'ended',
        record,
        retry: { reason: 'context', transient },
        user: null,
        decision: null,
        pending: false,
      },
      deps,
      log,
    );
  }
  if (job.user.id === undefined) return forwardById(job, facts, context, deps, log);
  const result = await runJob(
    {
      facts,
      user: job.user,
      action: job.action,
      eventAt: new Date(job.eventAt ?? job.acceptedAt),
      guard: job.guard,
    },
    {
      gateway: deps.gateway,
      context,
      logger: log,
      now,
      journal: deps.outcomes,
      lookUpJob: true,
      leavers: deps.leavers,
      readBack: (userId) =>
        deps.gateway.getUser(userId, context.select, { correlationId: job.correlationId }),
      guard: deps.guard ?? null,
    },
  );
  if (result.kind === 'duplicate') {
    log.info({ outcome: result.record.outcome }, 'job already recorded; repeated delivery ignored');
    return { kind: 'duplicate', record: result.record };
  }
  if (result.retry?.reason === 'noSeats') deps.contexts.invalidate();
  return settle(job, result, deps, log);
}

/**
 * A job that names its user by UPN or employeeId (an HR event) runs in a session of its own, so
 * it could otherwise run beside a job for the same user named by object id. It only looks the user
 * up; once found, it is sent on under the object id, whose session serializes it with every other
 * job for that user, and it changes nothing under the reference (no mark, no record, no write). A
 * repeated forward has the same MessageId and is dropped by duplicate detection.
 */
async function forwardById(
  job: LicenseJob,
  facts: JobFacts,
  context: LicensingContext,
  deps: WorkerDeps,
  log: Logger,
): Promise<WorkerResult> {
  const now = deps.now ?? (() => new Date());
  const found = await resolveUser({ facts, user: job.user }, { gateway: deps.gateway, context, now });
  if (!found.ok) return settle(job, found.result, deps, log);
  const userId = found.value.id;
  await deps.publisher.publish([{ ...job, user: { ...job.user, id: userId } }]);
  log.info({ userId }, 'user found; job sent on under the object id');
  return { kind: 'forwarded', userId };
}

/** Carries out the retry policy's decision: a scheduled copy, or the job's final record. */
async function settle(
  job: LicenseJob,
  result: EndedJob,
  deps: WorkerDeps,
  log: Logger,
): Promise<WorkerResult> {
  const now = (deps.now ?? (() => new Date()))();
  const random = deps.random ?? Math.random;
  const step = nextStep(
    { source: job.source, attempt: job.attempt, namedById: job.user.id !== undefined },
    result.retry,
    deps.settings,
    now,
    random,
  );
  if (step.kind === 'retry') {
    const reason = `${result.retry?.reason ?? 'retry'}: ${result.record.error?.message ?? ''}`;
    await deps.publisher.schedule(nextCopy(job, reason, result.user?.id), step.at);
    const record = asAttempt(result.record, step.at);
    // An attempt's record only tells the story; the job is safe on the queue either way.
    await deps.outcomes
      .record(record)
      .catch((e: unknown) => log.warn({ err: e }, 'could not record an attempt'));
    if (result.pending && result.keepPending !== true) {
      // What this attempt did is known and recorded: no intent is left in flight.
      await deps.outcomes
        .withdrawPending(record.userId, record.acceptedAt, record.jobId)
        .catch((e: unknown) => log.warn({ err: e }, 'could not withdraw a pending record'));
    }
    log.info(
      { reason: result.retry?.reason, attempt: job.attempt + 1, at: step.at.toISOString() },
      'job deferred',
    );
    return { kind: 'rescheduled', record, at: step.at, attempt: job.attempt + 1 };
  }
  const record =
    step.kind === 'giveUp'
      ? asGivenUp(result.record, step.how, job.attempt + 1, result.retry?.reason ?? 'retry')
      : result.record;
  try {
    await deps.outcomes.record(record, { clearPending: result.pending });
  } catch (e) {
    return keepForStorage(job, result, e, deps, log);
  }
  return { kind: 'recorded', record };
}

/**
 * The final record could not be written (storage outage). The job is kept: a copy is scheduled
 * with backoff, and when it runs it finds the pending record (if writes were made) and completes
 * it from what Graph shows, or decides again. Never dead-lettered without a record.
 */
async function keepForStorage(
  job: LicenseJob,
  result: EndedJob,
  cause: unknown,
  deps: WorkerDeps,
  log: Logger,
): Promise<WorkerResult> {
  const now = (deps.now ?? (() => new Date()))();
  const hint: RetryHint = { reason: 'storage' };
  const step = nextStep(
    { source: job.source, attempt: job.attempt, namedById: true },
    hint,
    deps.settings,
    now,
    deps.random ?? Math.random,
  );
  // Past the storage budget there is still nothing better than trying again later.
  const at =
    step.kind === 'retry' ? step.at : new Date(now.getTime() + deps.settings.deferredRetryMinutes * 60_000);
  await deps.publisher.schedule(
    nextCopy(job, 'storage: the outcome could not be recorded', result.user?.id),
    at,
  );
  log.error(
    { err: cause, at: at.toISOString() },
    'outcome not recorded (storage unavailable); job scheduled again',
  );
  return {
    kind: 'rescheduled',
    record: storageUnavailableRecord(factsOf(job, now), result.user, cause, now),
    at,
    attempt: job.attempt + 1,
  };
}

async function recordMalformed(
  parsed: { reason: string; payload: string },
  delivery: DeliveryInfo,
  deps: WorkerDeps,
  now: () => Date,
): Promise<never> {
  // Keyed by the enqueue time and MessageId, the record is the same row on every delivery.
  const record = malformedRecord(
    { messageId: delivery.messageId ?? null, enqueuedAt: delivery.enqueuedTime ?? now() },
    parsed.reason,
    parsed.payload,
  );
  await deps.outcomes.record(record);
  deps.logger.error({ messageId: delivery.messageId, reason: parsed.reason }, 'malformed license job');
  throw new PoisonMessageError(`Malformed license job ${delivery.messageId ?? ''}: ${parsed.reason}`);
}

export { jobSessionId };
