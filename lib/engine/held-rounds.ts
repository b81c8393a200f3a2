/**
 * What an admin does with a round the blast-radius guard held in the Functions app: look at it,
 * release it (its users' jobs are sent to the queue again, marked released, and the worker makes
 * the changes, deciding afresh for each user), or discard it (nothing it held is made; its users
 * are free again and their next job decides afresh, counted by the guard as usual).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import type { JobPublisher, LicenseJob } from '../queue/job.js';
import type { GuardStore, HeldJob, HeldRound } from '../store/ports.js';

export interface HeldRoundsDeps {
  store: GuardStore;
  logger: Logger;
  now: () => Date;
}

/** Every round, newest first, with how many users each still holds. */
export async function listRounds(store: GuardStore): Promise<{ round: HeldRound; users: number }[]> {
  const rounds = await store.listRounds();
  return Promise.all(
    rounds.map(async (round) => ({ round, users: (await store.listHeldJobs(round.id)).length })),
  );
}

/** A round and the users it holds (by user principal name), or null when there is no such round. */
export async function describeRound(
  store: GuardStore,
  id: string,
): Promise<{ round: HeldRound; jobs: HeldJob[] } | null> {
  const round = await store.getRound(id);
  if (round === null) return null;
  const jobs = await store.listHeldJobs(id);
  jobs.sort((a, b) => (a.userPrincipalName ?? a.userId).localeCompare(b.userPrincipalName ?? b.userId));
  return { round, jobs };
}

export type CloseResult =
  | { kind: 'done'; round: HeldRound; jobs: number }
  | { kind: 'notFound' }
  /** Released or discarded already (and nothing left to send). */
  | { kind: 'notHeld'; round: HeldRound };

/**
 * The job a release sends for a held user: the same event and action, marked released. Its id is
 * fixed by the round and the user, so a release resumed after a failure sends the same messages
 * (Service Bus drops the repeats within its duplicate-detection window).
 */
export function releasedJob(round: string, held: HeldJob): LicenseJob {
  const digest = createHash('sha256').update(`${round}\n${held.userId}`).digest('hex');
  return {
    version: 1,
    jobId: `released-${digest.slice(0, 32)}`,
    correlationId: randomUUID(),
    source: held.job.source,
    eventId: held.job.eventId,
    action: held.job.action,
    user: { id: held.userId },
    attempt: 0,
    acceptedAt: held.job.acceptedAt,
    eventAt: held.job.eventAt,
    guard: { round, verdict: 'released' },
  };
}

/**
 * Releases a held round: marks it released first (so two admins cannot both release it), sends its
 * users' jobs, then forgets them. A release that failed part way can be run again: it sends what
 * is left.
 */
export async function releaseRound(
  deps: HeldRoundsDeps & { publisher: Pick<JobPublisher, 'publish'> },
  id: string,
): Promise<CloseResult> {
  const round = await deps.store.getRound(id);
  if (round === null) return { kind: 'notFound' };
  const jobs = await deps.store.listHeldJobs(id);
  if (round.state === 'discarded' || (round.state === 'released' && jobs.length === 0))
    return { kind: 'notHeld', round };
  const sent = round.releasedJobs + jobs.length;
  if (!(await deps.store.closeRound(id, 'released', deps.now(), sent))) return { kind: 'notHeld', round };
  for (let i = 0; i < jobs.length; i += 100) {
    await deps.publisher.publish(jobs.slice(i, i + 100).map((j) => releasedJob(id, j)));
  }
  for (const j of jobs) await deps.store.dropHeldJob(j.userId, id);
  await deps.store.closeScope(round.scope, id);
  deps.logger.warn({ runId: id, path: round.path, jobs: jobs.length }, 'held round released');
  return { kind: 'done', round: { ...round, state: 'released', releasedJobs: sent }, jobs: jobs.length };
}

/** Discards a held round: nothing it held is made; its users are free again. */
export async function discardRound(deps: HeldRoundsDeps, id: string): Promise<CloseResult> {
  const round = await deps.store.getRound(id);
  if (round === null) return { kind: 'notFound' };
  if (!(await deps.store.closeRound(id, 'discarded', deps.now(), 0))) return { kind: 'notHeld', round };
  const jobs = await deps.store.listHeldJobs(id);
  for (const j of jobs) await deps.store.dropHeldJob(j.userId, id);
  await deps.store.closeScope(round.scope, id);
  deps.logger.warn({ runId: id, path: round.path, jobs: jobs.length }, 'held round discarded');
  return { kind: 'done', round: { ...round, state: 'discarded' }, jobs: jobs.length };
}
