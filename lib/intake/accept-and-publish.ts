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
 * Checks every candidate (in parallel: the whole exchange must fit Graph's 3 s), publishes the new
 * jobs in one call, then records their events. A failed check or publish records nothing; a failed
 * record after a successful publish is only logged (the jobs are persisted).
 */
export async function acceptAndPublish(
  deps: Pick<IntakeDeps, 'inbox' | 'publisher' | 'logger' | 'now'>,
  source: JobSource,
  candidates: readonly Candidate[],
  options: { reacceptAfterMs?: number } = {},
): Promise<AcceptOutcome> {
  const now = deps.now();
  const checks = await Promise.allSettled(
    candidates.map((c) =>
      deps.inbox.seen(source, c.eventId, {
        now,
        ...(options.reacceptAfterMs === undefined ? {} : { reacceptAfterMs: options.reacceptAfterMs }),
      }),
    ),
  );

  const fresh: Candidate[] = [];
  let duplicates = 0;
  let inboxFailure: unknown;
  checks.forEach((r, i) => {
    const candidate = candidates[i];
    if (!candidate) return;
    if (r.status === 'rejected') inboxFailure ??= r.reason;
    else if (r.value) duplicates += 1;
    else fresh.push(candidate);
  });

  if (inboxFailure !== undefined) return { kind: 'unavailable', stage: 'inbox', cause: inboxFailure };
  if (fresh.length === 0) return { kind: 'nothing-new', duplicates };

  const jobs = fresh.map((c) => c.job);
  try {
    await deps.publisher.publish(jobs);
  } catch (cause) {
    return { kind: 'unavailable', stage: 'publish', cause };
  }
  await recordAll(deps, source, fresh, now);
  return { kind: 'published', jobs, duplicates };
}

async function recordAll(
  deps: Pick<IntakeDeps, 'inbox' | 'logger'>,
  source: JobSource,
  published: readonly Candidate[],
  now: Date,
): Promise<void> {
  const results = await Promise.allSettled(
    published.map((c) =>
      deps.inbox.record(source, c.eventId, { now, ...(c.detail ? { detail: c.detail } : {}) }),
    ),
  );
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    // The jobs are on the queue, so the answer is still a success. The cost: a redelivery of these
    // events is not recognised as a duplicate and publishes again (dropped by the broker within its
    // window, otherwise one more idempotent job).
    deps.logger.warn(
      { source, failed: failures.length, err: failures[0]?.reason },
      'jobs published but not recorded in the inbox; a redelivery will publish again',
    );
  }
}
