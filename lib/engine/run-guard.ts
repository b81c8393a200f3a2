/**
 * The blast-radius guard of one CLI run (`apply`, `apply --plan`, `revert`). The run knows its
 * reductions before it makes the first one (its plan), so the verdict is given up front: a held
 * run makes no reduction at all; a run that may go ahead may make what its plan showed, and holds
 * any reduction beyond it that would take it over the guard's limits (the tenant changed between
 * the plan and the writes) or over the admin's `--allow-removals N`.
 */
import { guardVerdict, ReductionTally, type GuardSettings, type GuardVerdict } from './blast-guard.js';
import { ALLOW, type GuardAnswer, type GuardCheck, type ReductionGuard } from './reduction-guard.js';

export interface RunGuardOptions {
  runId: string;
  settings: GuardSettings;
  /** The verdict over the run's plan. */
  verdict: GuardVerdict;
  /** What the plan showed, per SKU: reductions up to these counts were reviewed with the plan. */
  planned: ReadonlyMap<string, number>;
  /** Why the run is held (for the records), when it is. */
  reason: string;
  /** How to release it, as the admin types it. */
  release: string;
}

export class RunGuard implements ReductionGuard {
  readonly #o: RunGuardOptions;
  readonly #tally = new ReductionTally();
  /** Users whose reductions this run allowed: a retry of theirs (in the run's retry rounds) stays allowed. */
  readonly #allowed = new Set<string>();

  constructor(options: RunGuardOptions) {
    this.#o = options;
  }

  check(c: GuardCheck): Promise<GuardAnswer> {
    const o = this.#o;
    if (o.verdict.hold) return Promise.resolve(this.#hold(o.reason));
    if (this.#allowed.has(c.user.id)) return Promise.resolve(ALLOW);
    this.#tally.add(c.user.id, c.decision.plan.actions);
    const counts = this.#tally.counts();
    // Within what the plan showed: reviewed, go ahead. Beyond it: only within the guard's limits.
    const beyondPlan = [...counts].some(([sku, n]) => n.reductions > (o.planned.get(sku) ?? 0));
    if (!beyondPlan) return Promise.resolve(this.#allow(c.user.id));
    const now = guardVerdict({
      counts,
      users: this.#tally.users,
      holders: c.holders,
      settings: o.settings,
      allowRemovals: o.verdict.allowed,
    });
    if (!now.hold) return Promise.resolve(this.#allow(c.user.id));
    return Promise.resolve(
      this.#hold(
        `The blast-radius guard held this removal: it goes beyond what the run's plan showed and takes the run over the guard's limits (${now.over.map((s) => `${s.skuPartNumber} ${String(s.reductions)} of at most ${String(s.limit)}`).join('; ')}). Nothing was removed.`,
      ),
    );
  }

  #allow(userId: string): GuardAnswer {
    this.#allowed.add(userId);
    return ALLOW;
  }

  #hold(reason: string): GuardAnswer {
    return { kind: 'hold', roundId: this.#o.runId, reason, release: this.#o.release };
  }
}
