/**
 * Seats per managed SKU, now and ahead: what the tenant has (prepaid, consumed, free), what the
 * rules want (from a dry-run plan over every user), who is waiting for a seat (their latest
 * outcome is a seat deferral), the demand of hires HR scheduled for later, and the date the SKU
 * runs out at that pace. Pure: the CLI's `seats`, `validate` and the daily summary gather the
 * inputs (lib/reports/seat-report.ts) and all compute the figures here.
 */
import type { PlanAction } from './types.js';

const DAY_MS = 24 * 60 * 60_000;

/** One managed SKU as the catalog shows it. */
export interface SkuSeats {
  skuId: string;
  /** Part number, e.g. `EMS`. */
  sku: string;
  /** `prepaidUnits.enabled`. */
  prepaid: number;
  consumedUnits: number;
}

/** One user's SKUs now and once the plan is through (lower-case SKU ids). */
export interface UserSeatUse {
  held: readonly string[];
  after: readonly string[];
}

/** A hire HR scheduled whose account does not exist yet, with the SKUs the rules would give. */
export interface HireDemand {
  effectiveAt: Date;
  skuIds: readonly string[];
}

export interface SeatForecastInput {
  now: Date;
  skus: readonly SkuSeats[];
  /** Every user of the tenant, from a dry-run plan. */
  users: Iterable<UserSeatUse>;
  /** Users whose latest outcome is DEFERRED for lack of a seat, by SKU id (lower case). */
  waiting: ReadonlyMap<string, number>;
  hires: readonly HireDemand[];
}

/** How the run-out date was found. */
export type RunOutBasis =
  /** No seat is left once the plan is through (or it is short already). */
  | 'now'
  /** The scheduled hires use up the seats left: the date of the hire that takes the last one. */
  | 'scheduled'
  /** The scheduled hires leave seats over: at their pace (hires per day), the date none are left. */
  | 'pace';

export interface SkuForecast {
  sku: string;
  skuId: string;
  prepaid: number;
  consumed: number;
  /** prepaid - consumed, never below 0. */
  free: number;
  /** Users who hold it once the plan is through, and those the plan would give it once possible. */
  wanted: number;
  /** Seats missing for `wanted`: wanted - prepaid, at least 0. */
  short: number;
  /** Users whose latest outcome is DEFERRED waiting for a seat of it. */
  waiting: number;
  /** Scheduled hires, not yet in the directory, the rules would give it. */
  scheduledHires: number;
  /** Seats left once the plan and every scheduled hire are through (negative: missing). */
  leftAfterHires: number;
  /** Scheduled hires per day, from now to the last scheduled start; null without hires. */
  hiresPerDay: number | null;
  /** The day (UTC, YYYY-MM-DD) no seat is left; null when no known demand gets there. */
  runsOutOn: string | null;
  runsOutBasis: RunOutBasis | null;
}

const day = (d: Date): string => d.toISOString().slice(0, 10);

/**
 * The SKUs a user holds once the plan is through. A plan that must wait (no free seat) or cannot
 * run (no usage location) carries no actions; its user still wants the licenses the rules name,
 * so `pendingWant` (the rules' SKUs) is added then.
 */
export function skusAfterPlan(
  held: readonly string[],
  actions: readonly PlanAction[],
  pendingWant: readonly string[] | null,
): string[] {
  const after = new Set(held.map((s) => s.toLowerCase()));
  for (const a of actions) {
    if (a.kind === 'addLicense') after.add(a.skuId.toLowerCase());
    else if (a.kind === 'removeLicense') after.delete(a.skuId.toLowerCase());
  }
  for (const s of pendingWant ?? []) after.add(s.toLowerCase());
  return [...after];
}

/** The forecast of every SKU in `input.skus`, in that order. */
export function forecastSeats(input: SeatForecastInput): SkuForecast[] {
  const wanted = new Map<string, number>();
  for (const u of input.users) {
    for (const s of new Set(u.after.map((x) => x.toLowerCase()))) wanted.set(s, (wanted.get(s) ?? 0) + 1);
  }
  return input.skus.map((sku) => {
    const id = sku.skuId.toLowerCase();
    const want = wanted.get(id) ?? 0;
    const hires = input.hires
      .filter((h) => h.effectiveAt > input.now && h.skuIds.some((s) => s.toLowerCase() === id))
      .map((h) => h.effectiveAt)
      .sort((a, b) => a.getTime() - b.getTime());
    const leftNow = sku.prepaid - want;
    const last = hires[hires.length - 1];
    const spanDays = last ? Math.max(1, (last.getTime() - input.now.getTime()) / DAY_MS) : null;
    const hiresPerDay = spanDays === null ? null : hires.length / spanDays;
    let runsOutOn: string | null = null;
    let runsOutBasis: RunOutBasis | null = null;
    if (leftNow <= 0) {
      runsOutOn = day(input.now);
      runsOutBasis = 'now';
    } else if (hires.length >= leftNow) {
      // The hire that takes the last seat.
      runsOutOn = day(hires[leftNow - 1] ?? input.now);
      runsOutBasis = 'scheduled';
    } else if (hiresPerDay !== null && hiresPerDay > 0) {
      runsOutOn = day(new Date(input.now.getTime() + (leftNow / hiresPerDay) * DAY_MS));
      runsOutBasis = 'pace';
    }
    return {
      sku: sku.sku,
      skuId: sku.skuId,
      prepaid: sku.prepaid,
      consumed: sku.consumedUnits,
      free: Math.max(0, sku.prepaid - sku.consumedUnits),
      wanted: want,
      short: Math.max(0, want - sku.prepaid),
      waiting: input.waiting.get(id) ?? 0,
      scheduledHires: hires.length,
      leftAfterHires: leftNow - hires.length,
      hiresPerDay: hiresPerDay === null ? null : Math.round(hiresPerDay * 1000) / 1000,
      runsOutOn,
      runsOutBasis,
    };
  });
}

/** One outcome record, as far as waiting for a seat goes. */
export interface WaitingRecordFacts {
  userId: string;
  recordedAt: string;
  outcome: string;
  dryRun: boolean;
  /** `pending` (a job's intent before its first write), `attempt` or `final`. */
  phase: string;
  errorCode: string | null;
  /** Part numbers (a seat deferral names only the SKU that is short). */
  skus: readonly string[];
}

/**
 * Users waiting for a seat, by SKU id: those whose latest (not dry-run) record is DEFERRED with
 * `NoFreeSeats`. A later record of any kind (the job went through, or failed) means they no
 * longer wait. `resolve` turns a part number into a SKU id (null when the tenant has none).
 */
export function waitingForSeats(
  records: Iterable<WaitingRecordFacts>,
  resolve: (partNumber: string) => string | null,
): Map<string, number> {
  const latest = new Map<string, WaitingRecordFacts>();
  for (const r of records) {
    // A pending record is a job under way, not where the user stands: they wait until it ends.
    if (r.dryRun || r.phase === 'pending') continue;
    const prev = latest.get(r.userId);
    if (!prev || prev.recordedAt < r.recordedAt) latest.set(r.userId, r);
  }
  const waiting = new Map<string, number>();
  for (const r of latest.values()) {
    if (r.outcome !== 'DEFERRED' || r.errorCode !== 'NoFreeSeats') continue;
    for (const part of r.skus) {
      const id = resolve(part)?.toLowerCase();
      if (id) waiting.set(id, (waiting.get(id) ?? 0) + 1);
    }
  }
  return waiting;
}

/** Lines for `validate`: a SKU the rules want on more users than it has seats. */
export function shortfallWarnings(forecast: readonly SkuForecast[]): string[] {
  return forecast
    .filter((f) => f.short > 0)
    .map(
      (f) =>
        `the rules want ${f.sku} on ${String(f.wanted)} users, but the tenant has ${String(f.prepaid)} seats (${String(f.short)} short): buy ${String(f.short)} more or narrow the rules; until then the users beyond the seats are DEFERRED.`,
    );
}
