/**
 * Log events that Azure Monitor reads: their message (`msg`) and their fields, in one place.
 *
 * The workbook and the alert rules in infra/ query the app's log lines (infra/queries/*.kql), and
 * test/unit/monitoring-queries.test.ts checks that every field a query names is one the app
 * actually logs: it reads every log call in lib/ (the keys of the objects logged, with their
 * types) and the field interfaces below. Rename a field here or in a log call and that test says
 * which query still uses the old name.
 *
 * Events the app logs elsewhere (`delta round finished`, `job deferred`, …) are found by that same
 * test in their own files; the ones here are new, or are emitted by code that is still being built
 * (`held round`: the blast-radius guard) and need a contract they log against.
 */
import type { Logger } from './log.js';

/** Every outcome record but a job's pending intent, as it is written (lib/store/logged-outcome-store.ts). */
export const OUTCOME_RECORDED_EVENT = 'outcome recorded';

export interface OutcomeRecordedLogFields {
  /** ASSIGNED, UPDATED, REMOVED, UNCHANGED, NO_RULE, CONFLICT, DEFERRED, FAILED, HELD, SKIPPED. */
  outcome: string;
  /** `final` (where the job ended: one per job) or `attempt` (a try put off, tried again). */
  phase: string;
  /** graph, hr, delta, cleanup, cli, queue. */
  source: string;
  rule: string | null;
  /** Managed SKUs involved, part numbers. */
  skus: string[];
  /** The error code (`NoFreeSeats`, `NoUsageLocation`, Graph's code…), or null. */
  code: string | null;
  /** The error's message (addresses redacted), or null. */
  detail: string | null;
  /** What to do about it, or null. */
  fix: string | null;
  /** For a DEFERRED attempt that is tried again: when. */
  retryAt: string | null;
  /** The job's attempt (0 for the first delivery). */
  attempt: number;
  /** Write requests sent to Graph for the job. */
  writes: number;
  userId: string;
  jobId: string;
  correlationId: string;
  /** The source event: an HR webhook-id, a delta round, a CLI run id. */
  eventId: string | null;
  /** For HELD (and a failure beside held reductions): the held round's or run's id (`runId` of `held round`). */
  heldIn: string | null;
  durationMs: number;
}

/** Seats of each managed SKU, each time the app reads the catalog (lib/reports/seat-log.ts). */
export const SEATS_READ_EVENT = 'seats read';

export interface SeatsReadLogFields {
  sku: string;
  skuId: string;
  /** prepaidUnits.enabled */
  prepaid: number;
  consumed: number;
  /** prepaid - consumed, never below 0. */
  free: number;
}

/** The daily seat forecast of each managed SKU (lib/reports/seat-report.ts). */
export const SEAT_FORECAST_EVENT = 'seat forecast';

export interface SeatForecastLogFields extends SeatsReadLogFields {
  wanted: number;
  short: number;
  waiting: number;
  scheduledHires: number;
  runsOutOn: string | null;
  runsOutBasis: string | null;
}

/**
 * A round of changes held by the blast-radius guard: it would have removed or reduced licenses for
 * more users than the thresholds allow, so nothing was removed until an admin releases it. The
 * held users' outcome records say `HELD` with the round's id (`heldIn`). Logged at warn by the
 * guard (lib/engine/worker-guard.ts, lib/engine/round-guard.ts), through {@link logHeldRound}.
 */
export const HELD_ROUND_EVENT = 'held round';

export interface HeldRoundLogFields {
  /** The run id (CLI apply), delta round, HR burst or cleanup day that was held. */
  runId: string;
  /** Which path held it: `delta`, `hr`, `graph` (change notifications) or `cleanup`. */
  path: string;
  /** Users whose licenses the round would have removed or reduced. */
  held: number;
  /** Current holders of the SKUs concerned (the share is held / holders). */
  holders: number;
  /** The thresholds the round went over: a share of the holders (percent) and a count. */
  thresholdPercent: number;
  thresholdCount: number;
  /** How to release it: the command or setting, as the admin types it. */
  release: string;
}

/** Logs a held round in the shape the workbook and docs/operations.md expect. */
export function logHeldRound(logger: Logger, fields: HeldRoundLogFields): void {
  logger.warn(fields, HELD_ROUND_EVENT);
}
