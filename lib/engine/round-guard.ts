/**
 * The blast-radius guard for producers that see a whole round before publishing it: a delta round
 * (above all a full resync after a rules change) and a day of cleanup reclaims. The round's
 * reducing jobs are counted together; over the guard's limits, the round is held: recorded with
 * its users (so a release can send their jobs again), logged, and its jobs sent marked `held`, so
 * the worker records each user HELD and makes only what the rules add. Under the limits they are
 * sent marked `allowed`, and the worker does not count them again.
 */
import type { PlanAction } from '../licensing/types.js';
import type { Logger } from '../log.js';
import type { JobGuardMarker, LicenseJob } from '../queue/job.js';
import type { GuardPath, GuardStore } from '../store/ports.js';
import {
  guardVerdict,
  holdReason,
  ReductionTally,
  withholdReductions,
  type GuardSettings,
} from './blast-guard.js';
import { logHeldRound } from '../log-events.js';
import { releaseText, roundWords } from './worker-guard.js';

export interface RoundGuardDeps {
  store: GuardStore;
  settings: GuardSettings;
  logger: Logger;
  now: () => Date;
}

/** A job of the round whose plan reduces licenses. */
export interface ReducingJob {
  job: LicenseJob;
  userPrincipalName: string | null;
  actions: PlanAction[];
}

export interface GatedRound {
  /** The jobs to publish, each marked with the verdict. */
  jobs: LicenseJob[];
  held: boolean;
}

/** Counts a round's reducing jobs and marks them; a held round is recorded and logged first. */
export async function gateRound(
  deps: RoundGuardDeps,
  round: { id: string; path: GuardPath; scope: string; holders: (skuId: string) => number },
  reducing: readonly ReducingJob[],
): Promise<GatedRound> {
  const tally = new ReductionTally();
  for (const r of reducing) tally.add(r.job.user.id ?? r.job.jobId, r.actions);
  const verdict = guardVerdict({
    counts: tally.counts(),
    users: tally.users,
    holders: round.holders,
    settings: deps.settings,
  });
  const marker: JobGuardMarker = { round: round.id, verdict: verdict.hold ? 'held' : 'allowed' };
  const jobs = reducing.map((r) => ({ ...r.job, guard: marker }));
  if (!verdict.hold) return { jobs, held: false };

  const at = deps.now().toISOString();
  const reason = holdReason(verdict, deps.settings, `the ${roundWords(round.path, round.scope)}`);
  await deps.store.putRound({
    id: round.id,
    path: round.path,
    scope: round.scope,
    state: 'held',
    createdAt: at,
    updatedAt: at,
    reason,
    skus: verdict.skus,
    releasedJobs: 0,
  });
  for (const r of reducing) {
    const { job } = r;
    if (job.user.id === undefined) continue;
    await deps.store.holdJob({
      roundId: round.id,
      userId: job.user.id,
      userPrincipalName: r.userPrincipalName,
      heldAt: at,
      job: {
        source: round.path,
        action: job.action,
        eventId: job.eventId,
        eventAt: job.eventAt ?? job.acceptedAt,
        acceptedAt: job.acceptedAt,
      },
      actions: withholdReductions(r.actions).held,
    });
  }
  const worst = verdict.over[0];
  logHeldRound(deps.logger, {
    runId: round.id,
    path: round.path,
    held: tally.users,
    holders: worst?.holders ?? 0,
    thresholdPercent: deps.settings.removalPercent,
    thresholdCount: deps.settings.removalCount,
    release: releaseText(round.id),
  });
  return { jobs, held: true };
}
