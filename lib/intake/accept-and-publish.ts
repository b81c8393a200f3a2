/**
 * The one durable step of intake, shared by both senders, in the order check → publish → record:
 *
 * 1. Ask the inbox (read-only) which events were already published; those are duplicates.
 * 2. Publish the jobs of the others in one call.
 * 3. Only after a successful publish, record those events in the inbox.
 *
 * Recording before publishing would open a race: a retry overlapping a slow first attempt would be
 * answered "duplicate" while that attempt then failed, and the event would be lost. In this order a
 * failed publish leaves nothing behind, so the sender's retry is processed normally. Two concurrent
 * first deliveries may both publish; their jobs carry the same deterministic MessageId (see
 * `jobMessageId`), so Service Bus duplicate detection keeps one.
 */
import type { JobSource, LicenseJob } from '../queue/job.js';
import type { InboxEntry, InboxStatus } from '../store/ports.js';
import type { IntakeDeps } from './http.js';

/** One event and the job it turns into if the inbox has not seen it. */
export interface Candidate {
  eventId: string;
  job: LicenseJob;
  /** A few non-secret words stored with the inbox entry, for explanation. */
  detail?: Record<string, string>;
}

/** What happened; the caller maps it to an HTTP status. */
export type AcceptOutcome =
  | { kind: 'published'; jobs: LicenseJob[]; duplicates: number }
  | { kind: 'nothing-new'; duplicates: number }
  | { kind: 'unavailable'; stage: 'inbox' | 'publish'; cause: unknown };

/**
 * Checks every candidate in one inbox call (the reads run in parallel: the whole exchange must fit
 * Graph's 3 s), publishes the new jobs in one call, then records their events in one call
 * (transactions). A failed check or publish records nothing; a failed record after a successful
 * publish is only logged (the jobs are persisted).
 */
export async function acceptAndPublish(
  deps: Pick<IntakeDeps, 'inbox' | 'publisher' | 'logger' | 'now'>,
  source: JobSource,
  candidates: readonly Candidate[],
  options: { reacceptAfterMs?: number } = {},
): Promise<AcceptOutcome> {
  const now = deps.now();
  const inboxOptions = {
    now,
    ...(options.reacceptAfterMs === undefined ? {} : { reacceptAfterMs: options.reacceptAfterMs }),
  };
  let statuses: Map<string, InboxStatus>;
  try {
    statuses = await deps.inbox.check(
      source,
      candidates.map((c) => c.eventId),
      inboxOptions,
    );
  } catch (cause) {
    return { kind: 'unavailable', stage: 'inbox', cause };
  }

  const fresh = candidates.filter((c) => statuses.get(c.eventId) !== 'seen');
  const duplicates = candidates.length - fresh.length;
  if (fresh.length === 0) return { kind: 'nothing-new', duplicates };

  const jobs = fresh.map((c) => c.job);
  try {
    await deps.publisher.publish(jobs);
  } catch (cause) {
    return { kind: 'unavailable', stage: 'publish', cause };
  }
  const entries: InboxEntry[] = fresh.map((c) => ({
    eventId: c.eventId,
    ...(c.detail ? { detail: c.detail } : {}),
  }));
  try {
    await deps.inbox.record(source, entries, inboxOptions);
  } catch (error) {
    // The jobs are on the queue, so the answer is still a success. The cost: a redelivery of these
    // events is not recognised as a duplicate and publishes again (dropped by the broker within its
    // window, otherwise one more idempotent job).
    deps.logger.warn(
      { source, published: jobs.length, err: error },
      'jobs published but not recorded in the inbox; a redelivery will publish them again',
    );
  }
  return { kind: 'published', jobs, duplicates };
}
