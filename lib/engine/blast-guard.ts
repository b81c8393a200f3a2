/**
 * The blast-radius guard's decision, in one pure module. Everything that can remove or reduce
 * licenses for many users at once (a CLI `apply`, a delta round, a day of HR leaves or of
 * notification-driven changes, a day of cleanup reclaims) counts its *reductions*: a managed SKU
 * removed, or plans disabled that were on. Above both thresholds (a share of the SKU's current
 * holders and an absolute count) the scope is held: no reduction is made until an admin releases
 * it. Additions are never held: a held user still gets what the rules add (a SKU swap keeps the old
 * SKU until the release).
 *
 * The thresholds are settings (`GUARD_REMOVAL_PERCENT`, `GUARD_REMOVAL_COUNT`, lib/config.ts); their
 * defaults (10 % and 25 users: a scope is held only above both) never hold an ordinary day's
 * handful of leavers.
 */
import { outcomeOfActions } from '../licensing/planner.js';
import type { LicensePlan, PlanAction } from '../licensing/types.js';

export interface GuardSettings {
  /** Share of a SKU's current holders (percent, 0 to 100) a scope may reduce without a release. */
  removalPercent: number;
  /** Users a scope may reduce without a release, whatever the share. */
  removalCount: number;
}

export const DEFAULT_GUARD_SETTINGS: GuardSettings = { removalPercent: 10, removalCount: 25 };

/** One reduction of one SKU for one user. */
export interface Reduction {
  skuId: string;
  skuPartNumber: string;
  /** `remove`: the SKU goes; `disablePlans`: plans that were on are switched off. */
  kind: 'remove' | 'disablePlans';
}

const lowerSet = (ids: readonly string[]) => new Set(ids.map((id) => id.toLowerCase()));

/** Plans an update switches off that were on (before → after). */
function newlyDisabled(action: Extract<PlanAction, { kind: 'updateDisabledPlans' }>): string[] {
  const before = lowerSet(action.before);
  return action.after.filter((p) => !before.has(p.toLowerCase()));
}

/** The reductions among planned actions (at most one per SKU). */
export function reductionsOf(actions: readonly PlanAction[]): Reduction[] {
  const out: Reduction[] = [];
  for (const a of actions) {
    if (a.kind === 'removeLicense') {
      out.push({ skuId: a.skuId.toLowerCase(), skuPartNumber: a.skuPartNumber, kind: 'remove' });
    } else if (a.kind === 'updateDisabledPlans' && newlyDisabled(a).length > 0) {
      out.push({ skuId: a.skuId.toLowerCase(), skuPartNumber: a.skuPartNumber, kind: 'disablePlans' });
    }
  }
  return out;
}

/** Whether any of the actions removes a SKU or switches a plan off. */
export function hasReductions(actions: readonly PlanAction[]): boolean {
  return reductionsOf(actions).length > 0;
}

/**
 * Splits actions into what may run while the guard holds (additions, usage locations, plans
 * switched on) and what waits for the release (removals; plans switched off). An update that does
 * both is split: the plans it switches on are kept, the rest is held as the update still to make.
 */
export function withholdReductions(actions: readonly PlanAction[]): {
  kept: PlanAction[];
  held: PlanAction[];
} {
  const kept: PlanAction[] = [];
  const held: PlanAction[] = [];
  for (const a of actions) {
    if (a.kind === 'removeLicense') {
      held.push(a);
      continue;
    }
    if (a.kind !== 'updateDisabledPlans' || newlyDisabled(a).length === 0) {
      kept.push(a);
      continue;
    }
    // Keep off only what is off now and should stay off: the plans the rule turns on come on.
    const wanted = lowerSet(a.after);
    const interim = a.before.filter((p) => wanted.has(p.toLowerCase()));
    if (interim.length !== a.before.length) kept.push({ ...a, after: interim });
    held.push({ ...a, before: interim });
  }
  return { kept, held };
}

/** The plan with its reductions withheld, and what was withheld. */
export function heldPlan(plan: LicensePlan): { plan: LicensePlan; held: PlanAction[] } {
  const { kept, held } = withholdReductions(plan.actions);
  // A usage location set only for an add that is still made stays; one alone is harmless too.
  return { plan: { ...plan, actions: kept, outcome: outcomeOfActions(kept, plan.conflicts) }, held };
}

/** The most reductions of a SKU a scope may make without a release. */
export function limitFor(holders: number, settings: GuardSettings): number {
  return Math.max(settings.removalCount, Math.floor((Math.max(0, holders) * settings.removalPercent) / 100));
}

/** A SKU's reductions in a scope, against its holders and the limit they give. */
export interface SkuCount {
  skuId: string;
  skuPartNumber: string;
  reductions: number;
  holders: number;
  limit: number;
}

export interface GuardVerdict {
  /** True: no reduction of the scope may be made until it is released. */
  hold: boolean;
  /** Every SKU the scope reduces. */
  skus: SkuCount[];
  /** Those above their limit. */
  over: SkuCount[];
  /** Users the scope would reduce (any SKU). */
  users: number;
  /** The release an admin gave (`--allow-removals N`), when one was given. */
  allowed: number | null;
}

/**
 * Counts a scope's reductions: per SKU, and the users concerned. A user counts once per SKU
 * however many times they are added (a job retried, a user planned twice).
 */
export class ReductionTally {
  readonly #bySku = new Map<string, { part: string; users: Set<string> }>();
  readonly #users = new Set<string>();

  add(userId: string, actions: readonly PlanAction[]): Reduction[] {
    const reductions = reductionsOf(actions);
    for (const r of reductions) {
      const entry = this.#bySku.get(r.skuId) ?? { part: r.skuPartNumber, users: new Set<string>() };
      entry.users.add(userId);
      this.#bySku.set(r.skuId, entry);
    }
    if (reductions.length > 0) this.#users.add(userId);
    return reductions;
  }

  /** Reductions per SKU (lower-case skuId → part number and count). */
  counts(): Map<string, { skuPartNumber: string; reductions: number }> {
    return new Map(
      [...this.#bySku].map(([skuId, e]) => [skuId, { skuPartNumber: e.part, reductions: e.users.size }]),
    );
  }

  get users(): number {
    return this.#users.size;
  }
}

/** What the verdict needs to know of a scope. */
export interface VerdictInput {
  counts: ReadonlyMap<string, { skuPartNumber: string; reductions: number }>;
  users: number;
  /** Current holders of a SKU (the catalog's consumedUnits). */
  holders: (skuId: string) => number;
  settings: GuardSettings;
  /** `--allow-removals N`: the scope may reduce up to N users; null when not given. */
  allowRemovals?: number | null;
}

/** Whether a scope is held: some SKU above its limit, and no release covering every user. */
export function guardVerdict(input: VerdictInput): GuardVerdict {
  const skus = [...input.counts]
    .map(([skuId, c]) => {
      const holders = input.holders(skuId);
      return {
        skuId,
        skuPartNumber: c.skuPartNumber,
        reductions: c.reductions,
        holders,
        limit: limitFor(holders, input.settings),
      };
    })
    .sort((a, b) => a.skuPartNumber.localeCompare(b.skuPartNumber));
  const over = skus.filter((s) => s.reductions > s.limit);
  const allowed = input.allowRemovals ?? null;
  const released = allowed !== null && input.users <= allowed;
  return { hold: over.length > 0 && !released, skus, over, users: input.users, allowed };
}

/** One SKU's count in words: `EMS for 230 users (77 % of 300 holders; the limit is 30)`. */
export function skuCountText(s: SkuCount): string {
  const share =
    s.holders > 0
      ? `${String(Math.round((s.reductions / s.holders) * 100))} % of ${String(s.holders)} holders`
      : 'no holders listed';
  return `${s.skuPartNumber} for ${String(s.reductions)} user(s) (${share}; the limit is ${String(s.limit)})`;
}

/** Why a verdict holds, in one sentence. */
export function holdReason(v: GuardVerdict, settings: GuardSettings, scope: string): string {
  const over = v.over.map(skuCountText).join('; ');
  const given =
    v.allowed === null
      ? ''
      : ` --allow-removals ${String(v.allowed)} does not cover the ${String(v.users)} user(s).`;
  return (
    `The blast-radius guard held ${scope}: it would remove or reduce ${over}. ` +
    `A scope is held above both ${String(settings.removalPercent)} % of a SKU's holders and ` +
    `${String(settings.removalCount)} users (GUARD_REMOVAL_PERCENT, GUARD_REMOVAL_COUNT); nothing was removed.${given}`
  );
}
