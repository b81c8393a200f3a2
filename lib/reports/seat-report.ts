/**
 * Gathers what the seat forecast needs and computes it (lib/licensing/seat-forecast.ts): a dry-run
 * plan over every user, the latest outcome of each user (who waits for a seat), and the hires HR
 * scheduled for later. Shared by `ems-licensing seats`, `validate` and the daily summary, so they
 * show the same figures.
 */
import { randomUUID } from 'node:crypto';
import type { LicensingContext } from '../engine/licensing-context.js';
import { reconcile, type UserResult } from '../engine/reconcile.js';
import { SeatLedger } from '../engine/seat-ledger.js';
import type { GraphGateway } from '../graph/gateway.js';
import { skusForHire } from '../licensing/hire-demand.js';
import {
  forecastSeats,
  skusAfterPlan,
  waitingForSeats,
  type HireDemand,
  type SkuForecast,
  type UserSeatUse,
} from '../licensing/seat-forecast.js';
import { SEAT_FORECAST_EVENT, type SeatForecastLogFields } from '../log-events.js';
import type { Logger } from '../log.js';
import type { LeaverStore, OutcomeStore, ScheduledHireStore } from '../store/ports.js';

const DAY_MS = 24 * 60 * 60_000;

/** How far back outcome records are read for who is waiting (the re-drive looks as far). */
export const WAITING_LOOKBACK_DAYS = 90;

export interface SeatReportDeps {
  gateway: GraphGateway;
  /** The rules and catalog; the report counts seats on a copy of the catalog. */
  context: LicensingContext;
  logger: Logger;
  /** Null when no storage is at hand: nobody is counted as waiting. */
  outcomes: Pick<OutcomeStore, 'listBetween'> | null;
  /** Null when no storage is at hand: no scheduled hires. */
  hires: Pick<ScheduledHireStore, 'listUpcoming'> | null;
  /** The app's leaver marks: a leaver holds no seat once the plan is through. */
  leavers?: Pick<LeaverStore, 'listLeft'>;
  now?: () => Date;
  concurrency?: number;
  onUsersRead?: (count: number) => void;
  onUser?: () => void;
}

export interface SeatReport {
  generatedAt: string;
  /** Users planned over. */
  users: number;
  skus: SkuForecast[];
  hires: {
    /** Upcoming hires HR scheduled. */
    upcoming: number;
    /** Of those, accounts already in the directory (counted with the plan, not again as hires). */
    alreadyInDirectory: number;
    /** Of those, hires no rule would license. */
    unlicensed: number;
  };
}

/** What one user's result says of seats; null when the user could not be read. */
function seatUse(result: UserResult): UserSeatUse | null {
  const decision = result.decision;
  if (!result.user || !decision) return null;
  const held = result.user.assignedLicenses.map((l) => l.skuId.toLowerCase());
  // A plan that must wait (no seat) or cannot run (no usage location) carries no actions; the
  // rules still want its licenses. A disabled account is given none (the planner's policy).
  const waits = decision.plan.deferred !== null || decision.plan.blocked !== null;
  const pending =
    waits && decision.desired.kind === 'licenses' && result.user.accountEnabled !== false
      ? decision.desired.licenses.map((l) => l.skuId)
      : null;
  return { held, after: skusAfterPlan(held, decision.plan.actions, pending) };
}

async function hireDemand(
  deps: SeatReportDeps,
  context: LicensingContext,
  now: Date,
): Promise<{ demand: HireDemand[]; upcoming: number; inDirectory: number; unlicensed: number }> {
  const upcoming = deps.hires ? await deps.hires.listUpcoming(now) : [];
  const demand: HireDemand[] = [];
  let inDirectory = 0;
  let unlicensed = 0;
  for (const hire of upcoming) {
    const opts = { correlationId: randomUUID() };
    const existing = hire.userPrincipalName
      ? await deps.gateway.getUser(hire.userPrincipalName, ['id'], opts)
      : hire.employeeId
        ? await deps.gateway.findUserByEmployeeId(hire.employeeId, ['id'], opts)
        : null;
    // An account that exists is in the plan already, with the licenses the rules give it.
    if (existing) {
      inDirectory++;
      continue;
    }
    const skuIds = skusForHire(hire, context.rules, hire.personKey);
    if (skuIds.length === 0) unlicensed++;
    else demand.push({ effectiveAt: hire.effectiveAt, skuIds });
  }
  return { demand, upcoming: upcoming.length, inDirectory, unlicensed };
}

/** Plans over every user (writing nothing) and forecasts every managed SKU. */
export async function buildSeatReport(deps: SeatReportDeps): Promise<SeatReport> {
  const now = (deps.now ?? (() => new Date()))();
  // A dry run reserves seats as it goes; it must not touch the seat ledger of a shared context.
  const context: LicensingContext = {
    ...deps.context,
    seats: new SeatLedger(deps.context.catalog.freeSeats),
  };
  const uses: UserSeatUse[] = [];
  const summary = await reconcile({
    gateway: deps.gateway,
    context,
    logger: deps.logger,
    dryRun: true,
    concurrency: deps.concurrency ?? 8,
    outcomes: null,
    ...(deps.leavers ? { leavers: deps.leavers } : {}),
    ...(deps.onUsersRead ? { onUsersRead: deps.onUsersRead } : {}),
    onResult: (result) => {
      deps.onUser?.();
      const use = seatUse(result);
      if (use) uses.push(use);
    },
  });

  const records = [];
  if (deps.outcomes) {
    for await (const r of deps.outcomes.listBetween(
      new Date(now.getTime() - WAITING_LOOKBACK_DAYS * DAY_MS),
      now,
    )) {
      records.push({
        userId: r.userId,
        recordedAt: r.recordedAt,
        outcome: r.outcome,
        dryRun: r.dryRun,
        phase: r.phase,
        errorCode: r.error?.code ?? null,
        skus: r.skus,
      });
    }
  }
  const waiting = waitingForSeats(records, (part) => context.catalog.resolveSku(part)?.skuId ?? null);
  const hires = await hireDemand(deps, context, now);
  const managed = [...context.rules.managedSkuIds]
    .map((id) => context.catalog.sku(id))
    .filter((s): s is NonNullable<typeof s> => s !== null)
    .map((s) => ({
      skuId: s.skuId,
      sku: s.skuPartNumber,
      prepaid: s.prepaidUnits.enabled,
      consumedUnits: s.consumedUnits,
    }))
    .sort((a, b) => a.sku.localeCompare(b.sku));
  return {
    generatedAt: now.toISOString(),
    users: summary.users,
    skus: forecastSeats({ now, skus: managed, users: uses, waiting, hires: hires.demand }),
    hires: { upcoming: hires.upcoming, alreadyInDirectory: hires.inDirectory, unlicensed: hires.unlicensed },
  };
}

/** One log line per SKU (`seat forecast`), for the workbook and the seats alert. */
export function logSeatForecast(logger: Logger, report: SeatReport): void {
  for (const f of report.skus) {
    const fields: SeatForecastLogFields = {
      sku: f.sku,
      skuId: f.skuId,
      prepaid: f.prepaid,
      consumed: f.consumed,
      free: f.free,
      wanted: f.wanted,
      short: f.short,
      waiting: f.waiting,
      scheduledHires: f.scheduledHires,
      runsOutOn: f.runsOutOn,
      runsOutBasis: f.runsOutBasis,
    };
    logger.info(fields, SEAT_FORECAST_EVENT);
  }
}

/** Scheduled hires that started this long ago are forgotten by the daily cleanup. */
export const HIRE_RETENTION_DAYS = 30;

/**
 * The daily cleanup's seat forecast: the report, logged per SKU, with hires long started pruned.
 * A forecast that cannot be made (Graph briefly unavailable) is logged and left out of the
 * summary; it does not stop the cleanup.
 */
export function cleanupSeatForecast(
  deps: Omit<SeatReportDeps, 'context' | 'now'> & { hires: ScheduledHireStore | null },
): (context: LicensingContext, now: Date) => Promise<SkuForecast[] | null> {
  return async (context, now) => {
    try {
      if (deps.hires) await deps.hires.prune(new Date(now.getTime() - HIRE_RETENTION_DAYS * DAY_MS));
      const report = await buildSeatReport({ ...deps, context, now: () => now });
      logSeatForecast(deps.logger, report);
      return report.skus;
    } catch (err) {
      deps.logger.warn({ err }, 'seat forecast could not be made; the summary goes without it');
      return null;
    }
  };
}
