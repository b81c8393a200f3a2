/**
 * The one durable step of intake, shared by both senders: record each event in the inbox, publish
 * a job for every event that was new, and undo the inbox writes if publishing fails, so the
 * sender's retry is processed instead of being mistaken for a duplicate.
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
 * Accepts every candidate's event (in parallel: the whole exchange must fit Graph's 3 s), then
 * publishes the new jobs in one call. On any failure the events this call accepted are forgotten.
 */
export async function acceptAndPublish(
  deps: Pick<IntakeDeps, 'inbox' | 'publisher' | 'logger' | 'now'>,
  source: JobSource,
  candidates: readonly Candidate[],
  options: { reacceptAfterMs?: number } = {},
): Promise<AcceptOutcome> {
  const now = deps.now();
  const results = await Promise.allSettled(
    candidates.map((c) =>
      deps.inbox.accept(source, c.eventId, {
        now,
        ...(options.reacceptAfterMs === undefined ? {} : { reacceptAfterMs: options.reacceptAfterMs }),
        ...(c.detail ? { detail: c.detail } : {}),
      }),
    ),
  );

  const accepted: Candidate[] = [];
  let duplicates = 0;
  let inboxFailure: unknown;
  results.forEach((r, i) => {
    const candidate = candidates[i];
    if (!candidate) return;
    if (r.status === 'rejected') inboxFailure ??= r.reason;
    else if (r.value) accepted.push(candidate);
    else duplicates += 1;
  });

  if (inboxFailure !== undefined) {
    await forgetAll(deps, source, accepted);
    return { kind: 'unavailable', stage: 'inbox', cause: inboxFailure };
  }
  if (accepted.length === 0) return { kind: 'nothing-new', duplicates };

  const jobs = accepted.map((c) => c.job);
  try {
    await deps.publisher.publish(jobs);
  } catch (cause) {
    await forgetAll(deps, source, accepted);
    return { kind: 'unavailable', stage: 'publish', cause };
  }
  return { kind: 'published', jobs, duplicates };
}

async function forgetAll(
  deps: Pick<IntakeDeps, 'inbox' | 'logger'>,
  source: JobSource,
  accepted: readonly Candidate[],
): Promise<void> {
  const results = await Promise.allSettled(accepted.map((c) => deps.inbox.forget(source, c.eventId)));
  const failed = results.filter((r) => r.status === 'rejected').length;
  if (failed > 0) {
    // The sender's retry will now be taken for a duplicate; the delta timer (Graph) or a manual
    // reconcile (HR) is the way back. Worth an error line, not worth failing differently.
    deps.logger.error({ source, failed }, 'could not forget inbox entries after a failed publish');
  }
}
