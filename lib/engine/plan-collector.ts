/**
 * What a plan over every user (a dry run) shows beyond each user's line: the reductions the
 * blast-radius guard counts, the users each rule decides, what `unmatched: remove` would remove,
 * and (for `plan --out`) each changed user's entry of the plan artifact. Fed one result at a time,
 * as the run reports them.
 */
import type { LicenseNames } from '../licensing/catalog.js';
import { ReductionTally } from './blast-guard.js';
import { planEntry, type PlanEntry } from './plan-artifact.js';
import type { UserResult } from './reconcile.js';

export class PlanCollector {
  /** Every reduction the plan makes. */
  readonly reductions = new ReductionTally();
  /** Reductions of users no rule matches, with `unmatched: remove`. */
  readonly unmatchedRemovals = new ReductionTally();
  /** Users each rule decides (first match), by rule name. */
  readonly decidedBy = new Map<string, number>();
  readonly entries: PlanEntry[] = [];
  readonly #names: LicenseNames;
  readonly #keepEntries: boolean;

  constructor(names: LicenseNames, options: { keepEntries: boolean }) {
    this.#names = names;
    this.#keepEntries = options.keepEntries;
  }

  add(result: UserResult): void {
    const { record, user, decision } = result;
    const matched = decision?.evaluation.matched?.name;
    if (matched !== undefined) this.decidedBy.set(matched, (this.decidedBy.get(matched) ?? 0) + 1);
    if (user === null || record.actions.length === 0) return;
    this.reductions.add(user.id, record.actions);
    const unmatched =
      decision?.desired.kind === 'removeManaged' &&
      decision.desired.rule === null &&
      decision.action === 'reconcile';
    if (unmatched) this.unmatchedRemovals.add(user.id, record.actions);
    if (this.#keepEntries) {
      this.entries.push(
        planEntry(user, { rule: record.rule, outcome: record.outcome, actions: record.actions }, this.#names),
      );
    }
  }
}
