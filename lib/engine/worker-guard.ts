/**
 * The blast-radius guard as the Functions worker asks it (see blast-guard.ts for the decision).
 * Jobs counted by their producer carry its verdict (a delta round, a day of cleanup reclaims: the
 * producer saw the whole round before publishing any of it). Jobs no producer counted, an HR leave
 * or a change notification, are counted here, per UTC day and path: the first reductions up to the
 * guard's limits go ahead, the rest of the day's are held in the day's round. A user already held
 * in a round stays held there, whatever job comes for them next, until the round is released.
 */
import type { Logger } from '../log.js';
import type { GuardPath, GuardStore, HeldJob, HeldRound } from '../store/ports.js';
import {
  limitFor,
  skuCountText,
  withholdReductions,
  type GuardSettings,
  type SkuCount,
} from './blast-guard.js';
import { logHeldRound } from '../log-events.js';
import { ALLOW, type GuardAnswer, type GuardCheck, type ReductionGuard } from './reduction-guard.js';

export interface WorkerGuardDeps {
  store: GuardStore;
  settings: GuardSettings;
  logger: Logger;
  now: () => Date;
}

/** How an admin releases (or drops) a held round. */
export function releaseText(roundId: string): string {
  return `Review it with \`ems-licensing held ${roundId}\`, then release it with \`ems-licensing release ${roundId}\` (or drop it with \`ems-licensing release ${roundId} --discard\`).`;
}

const PATH_WORDS: Record<GuardPath, string> = {
  delta: 'delta round',
  cleanup: 'cleanup reclaims of',
  hr: 'HR leaves of',
  graph: 'changes from notifications of',
};

/** A round's name in a sentence: `delta round delta-…`, `HR leaves of 2026-05-01`. */
export function roundWords(path: GuardPath, scope: string): string {
  return path === 'delta'
    ? `${PATH_WORDS.delta} ${scope}`
    : `${PATH_WORDS[path]} ${scope.slice(path.length + 1)}`;
}

function pathOf(source: string): GuardPath | null {
  return source === 'graph' || source === 'delta' || source === 'hr' || source === 'cleanup' ? source : null;
}

export class WorkerGuard implements ReductionGuard {
  readonly #d: WorkerGuardDeps;

  constructor(deps: WorkerGuardDeps) {
    this.#d = deps;
  }

  async check(c: GuardCheck): Promise<GuardAnswer> {
    const path = pathOf(c.facts.source);
    if (path === null || c.marker?.verdict === 'released') return ALLOW;
    if (c.marker?.verdict === 'held') return this.#hold(c, path, c.marker.round);
    const open = await this.#d.store.heldJobOf(c.user.id);
    if (open !== null) {
      const round = await this.#d.store.getRound(open.roundId);
      if (round?.state === 'held') return this.#hold(c, path, round.id, open);
    }
    if (c.marker?.verdict === 'allowed') return ALLOW;
    return this.#count(c, path);
  }

  /** A job no producer counted: counted in its path's scope for the day. */
  async #count(c: GuardCheck, path: GuardPath): Promise<GuardAnswer> {
    const now = this.#d.now();
    const scope = `${path}-${now.toISOString().slice(0, 10)}`;
    const { settings } = this.#d;
    const tally = await this.#d.store.tally(
      scope,
      c.facts.jobId,
      c.reductions.map((r) => r.skuId),
      (counts) => [...counts].every(([sku, n]) => n <= limitFor(c.holders(sku), settings)),
      now,
    );
    if (tally.allowed || tally.roundId === null) return ALLOW;
    if ((await this.#d.store.getRound(tally.roundId)) === null) {
      await this.#open(c, path, scope, tally.roundId, tally.counts);
    }
    return this.#hold(c, path, tally.roundId);
  }

  /** Opens a day's round: what went over, logged once for the operator. */
  async #open(
    c: GuardCheck,
    path: GuardPath,
    scope: string,
    roundId: string,
    counts: Record<string, number>,
  ): Promise<void> {
    const names = new Map(c.reductions.map((r) => [r.skuId, r.skuPartNumber]));
    const skus: SkuCount[] = Object.entries(counts).map(([skuId, reductions]) => {
      const holders = c.holders(skuId);
      return {
        skuId,
        skuPartNumber: names.get(skuId) ?? skuId,
        reductions,
        holders,
        limit: limitFor(holders, this.#d.settings),
      };
    });
    const over = skus.filter((s) => s.reductions > s.limit);
    const { settings } = this.#d;
    const at = this.#d.now().toISOString();
    const round: HeldRound = {
      id: roundId,
      path,
      scope,
      state: 'held',
      createdAt: at,
      updatedAt: at,
      reason:
        `The blast-radius guard held the ${roundWords(path, scope)} past its limit: ${over.map(skuCountText).join('; ')}. ` +
        `Reductions past ${String(settings.removalPercent)} % of a SKU's holders and ${String(settings.removalCount)} users in a day wait for a release; nothing was removed.`,
      skus,
      releasedJobs: 0,
    };
    await this.#d.store.putRound(round);
    const worst = over[0] ?? skus[0];
    logHeldRound(this.#d.logger, {
      runId: roundId,
      path,
      held: worst?.reductions ?? 0,
      holders: worst?.holders ?? 0,
      thresholdPercent: settings.removalPercent,
      thresholdCount: settings.removalCount,
      release: releaseText(roundId),
    });
  }

  /** Holds the job in a round: its held job is recorded (for the release) unless a stronger one is. */
  async #hold(c: GuardCheck, path: GuardPath, roundId: string, existing?: HeldJob): Promise<GuardAnswer> {
    const round = await this.#d.store.getRound(roundId);
    // A leave or reclaim already held for the user is what a release must send, not a later reconcile.
    const keep =
      existing !== undefined && existing.roundId === roundId && existing.job.action !== 'reconcile';
    if (!keep) {
      await this.#d.store.holdJob({
        roundId,
        userId: c.user.id,
        userPrincipalName: c.user.userPrincipalName,
        heldAt: this.#d.now().toISOString(),
        job: {
          source: path,
          action: c.action,
          eventId: c.facts.eventId ?? c.facts.jobId,
          eventAt: c.eventAt.toISOString(),
          acceptedAt: c.facts.acceptedAt,
        },
        actions: withholdReductions(c.decision.plan.actions).held,
      });
    }
    const reason =
      round?.reason ?? `The blast-radius guard held this change in round ${roundId}; nothing was removed.`;
    return { kind: 'hold', roundId, reason, release: releaseText(roundId) };
  }
}
