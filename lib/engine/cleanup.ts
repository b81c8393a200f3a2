/**
 * The daily cleanup: reclaims managed licenses from accounts disabled longer than the configured
 * number of days, re-drives jobs parked for lack of seats once seats are free, prunes old records,
 * and writes a daily summary (JSON and Markdown) to blob storage.
 *
 * Graph has no "disabled since" attribute, so the first cleanup that sees an account disabled
 * notes the day in a table; the reclaim counts from there.
 */
import { randomUUID } from 'node:crypto';
import type { GraphGateway } from '../graph/gateway.js';
import type { GraphUser } from '../graph/types.js';
import { OUTCOME_KINDS, type OutcomeKind, type OutcomeRecord } from '../licensing/types.js';
import type { SkuForecast } from '../licensing/seat-forecast.js';
import type { Logger } from '../log.js';
import type { JobPublisher, LicenseJob } from '../queue/job.js';
import type { PlanAction } from '../licensing/types.js';
import type {
  DisabledAccountStore,
  GuardStore,
  InboxStore,
  OutcomeStore,
  SummaryWriter,
} from '../store/ports.js';
import type { GuardSettings } from './blast-guard.js';
import type { LicensingContext, LicensingContextCache } from './licensing-context.js';
import { recoverPending } from './recover-pending.js';
import { gateRound, type ReducingJob } from './round-guard.js';
import { renderSummaryMarkdown, type DailySummary } from './summary.js';

const DAY_MS = 24 * 60 * 60_000;

/** Inbox entries only need to outlive replays: twice the webhook tolerance, Graph's 4 h retries. */
export const INBOX_RETENTION_DAYS = 2;
/** How far back cleanup looks for jobs parked for lack of seats (outcomes are kept 180 days by default). */
export const REDRIVE_LOOKBACK_DAYS = 90;
/**
 * A worker job's pending record older than this cannot be completed by its own job any more: the
 * queue's messages live 14 days (`defaultMessageTimeToLive` in infra/main.bicep), then expire to
 * the dead-letter queue. The cleanup completes such records from what Graph shows.
 */
export const ORPHANED_PENDING_DAYS = 14;

export interface CleanupSettings {
  /** 0 turns reclaiming off. */
  disabledReclaimDays: number;
  outcomeRetentionDays: number;
  /** Default {@link INBOX_RETENTION_DAYS}. */
  inboxRetentionDays?: number;
  /** How far back DEFERRED outcomes are looked for; default {@link REDRIVE_LOOKBACK_DAYS}. */
  redriveLookbackDays?: number;
}

export interface CleanupDeps {
  gateway: GraphGateway;
  contexts: LicensingContextCache;
  outcomes: OutcomeStore;
  inbox: InboxStore;
  disabled: DisabledAccountStore;
  publisher: JobPublisher;
  summaries: SummaryWriter;
  logger: Logger;
  settings: CleanupSettings;
  /** The blast-radius guard over a day's reclaims (round-guard.ts), and where it keeps its state. */
  guard?: { store: GuardStore; settings: GuardSettings };
  now?: () => Date;
  /** The seat forecast for the summary (lib/reports/seat-report.ts cleanupSeatForecast). */
  seatForecast?: (context: LicensingContext, now: Date) => Promise<SkuForecast[] | null>;
}

export interface CleanupReport {
  reclaimQueued: number;
  /** Reclaims the guard held (queued marked held: recorded HELD, nothing removed), and their round. */
  reclaimHeld: number;
  heldRound: string | null;
  disabledTracked: number;
  redriveQueued: number;
  outcomesPruned: number;
  inboxPruned: number;
  /** Orphaned pending records completed from what Graph shows (see ORPHANED_PENDING_DAYS). */
  pendingCompleted: number;
  /** The guard's day counts and closed rounds older than the outcome retention, deleted. */
  guardPruned: number;
  summary: { jsonBlob: string; markdownBlob: string };
}

function job(
  action: LicenseJob['action'],
  userId: string,
  eventId: string,
  correlationId: string,
  at: Date,
): LicenseJob {
  return {
    version: 1,
    jobId: randomUUID(),
    correlationId,
    source: 'cleanup',
    eventId,
    action,
    user: { id: userId },
    attempt: 0,
    acceptedAt: at.toISOString(),
  };
}

/** The managed SKUs the user holds directly (a reclaim removes them), as removals. */
function managedRemovals(user: GraphUser, context: LicensingContext): PlanAction[] {
  const managed = context.rules.managedSkuIds;
  const direct =
    user.licenseAssignmentStates.length > 0
      ? user.licenseAssignmentStates.filter((s) => !s.assignedByGroup).map((s) => s.skuId)
      : user.assignedLicenses.map((l) => l.skuId);
  return [...new Set(direct.map((id) => id.toLowerCase()))]
    .filter((id) => managed.has(id))
    .map((skuId) => ({ kind: 'removeLicense', skuId, skuPartNumber: context.catalog.skuPartNumber(skuId) }));
}

/** Whether a user already waits in a held round (a reclaim held on an earlier day). */
async function waitsInHeldRound(deps: CleanupDeps, userId: string): Promise<boolean> {
  if (!deps.guard) return false;
  const held = await deps.guard.store.heldJobOf(userId);
  if (held === null) return false;
  return (await deps.guard.store.getRound(held.roundId))?.state === 'held';
}

async function reclaim(deps: CleanupDeps, context: LicensingContext, now: Date, correlationId: string) {
  const tracked = await deps.disabled.list();
  const jobs: ReducingJob[] = [];
  let stillDisabled = 0;
  const seen = new Set<string>();
  for await (const page of deps.gateway.listUsers(context.select, { correlationId })) {
    for (const user of page) {
      seen.add(user.id);
      const since = tracked.get(user.id);
      const removals = managedRemovals(user, context);
      const disabledWithLicense = user.accountEnabled === false && removals.length > 0;
      if (!disabledWithLicense) {
        if (since) await deps.disabled.unmark(user.id);
        continue;
      }
      stillDisabled++;
      if (!since) {
        await deps.disabled.mark(user.id, now);
        continue;
      }
      const due = now.getTime() - since.getTime() >= deps.settings.disabledReclaimDays * DAY_MS;
      if (due && !(await waitsInHeldRound(deps, user.id))) {
        const eventId = `reclaim-${user.id}-${since.toISOString().slice(0, 10)}`;
        jobs.push({
          job: job('reclaim', user.id, eventId, correlationId, now),
          userPrincipalName: user.userPrincipalName,
          actions: removals,
        });
      }
    }
  }
  // Accounts deleted since: nothing to reclaim (deletion frees the seat after 30 days).
  for (const id of tracked.keys()) if (!seen.has(id)) await deps.disabled.unmark(id);
  const gated = await gateReclaims(deps, context, now, jobs);
  if (gated.jobs.length > 0) await deps.publisher.publish(gated.jobs);
  return {
    queued: gated.jobs.length,
    tracked: stillDisabled,
    held: gated.held ? gated.jobs.length : 0,
    round: gated.held ? gated.round : null,
  };
}

/** A day's reclaims through the guard (round `cleanup-<UTC day>`). */
async function gateReclaims(deps: CleanupDeps, context: LicensingContext, now: Date, jobs: ReducingJob[]) {
  const round = `cleanup-${now.toISOString().slice(0, 10)}`;
  if (!deps.guard || jobs.length === 0) return { jobs: jobs.map((j) => j.job), held: false, round };
  const gated = await gateRound(
    { ...deps.guard, logger: deps.logger, now: () => now },
    {
      id: round,
      path: 'cleanup',
      scope: round,
      holders: (skuId) => context.catalog.sku(skuId)?.consumedUnits ?? 0,
    },
    jobs,
  );
  return { ...gated, round };
}

async function redrive(deps: CleanupDeps, context: LicensingContext, now: Date, correlationId: string) {
  const latest = new Map<string, OutcomeRecord>();
  const from = new Date(
    now.getTime() - (deps.settings.redriveLookbackDays ?? REDRIVE_LOOKBACK_DAYS) * DAY_MS,
  );
  for await (const r of deps.outcomes.listBetween(from, now)) {
    // Where each user's jobs stand: finals and attempts (a job the worker still retries for seats
    // is re-driven as soon as seats exist); a pending record is an intent, not a standing.
    if (r.dryRun || r.source === 'cli' || r.phase === 'pending') continue;
    const prev = latest.get(r.userId);
    if (!prev || prev.recordedAt < r.recordedAt) latest.set(r.userId, r);
  }
  const free = new Map<string, number>();
  const jobs: LicenseJob[] = [];
  for (const r of latest.values()) {
    if (r.outcome !== 'DEFERRED' || r.error?.code !== 'NoFreeSeats') continue;
    // Re-drive only as many users as each SKU has free seats now.
    const skus = r.skus
      .map((name) => context.catalog.resolveSku(name))
      .filter((s): s is NonNullable<typeof s> => s !== null);
    const ok = skus.every((s) => {
      const left = free.get(s.skuId) ?? context.catalog.freeSeats(s.skuId);
      return left > 0;
    });
    if (!ok) continue;
    for (const s of skus) free.set(s.skuId, (free.get(s.skuId) ?? context.catalog.freeSeats(s.skuId)) - 1);
    jobs.push(job('reconcile', r.userId, `redrive-${r.jobId}`, correlationId, now));
  }
  if (jobs.length > 0) await deps.publisher.publish(jobs);
  return jobs.length;
}

async function summarize(
  deps: CleanupDeps,
  context: LicensingContext,
  now: Date,
  extra: Omit<
    DailySummary,
    'date' | 'generatedAt' | 'outcomes' | 'retriesScheduled' | 'seats' | 'failures' | 'heldRounds'
  >,
) {
  const outcomes = Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as Record<OutcomeKind, number>;
  const failures = new Map<string, number>();
  let retriesScheduled = 0;
  for await (const r of deps.outcomes.listBetween(new Date(now.getTime() - DAY_MS), now)) {
    if (r.dryRun || r.phase === 'pending') continue;
    // An attempt is one try of a job that goes on, not where the job ended.
    if (r.phase === 'attempt') {
      retriesScheduled++;
      continue;
    }
    outcomes[r.outcome]++;
    if (r.outcome === 'FAILED' && r.error) failures.set(r.error.code, (failures.get(r.error.code) ?? 0) + 1);
  }
  const held = deps.guard ? (await deps.guard.store.listRounds()).filter((r) => r.state === 'held') : [];
  const summary: DailySummary = {
    date: now.toISOString().slice(0, 10),
    heldRounds: held.map((r) => ({ id: r.id, path: r.path, createdAt: r.createdAt, reason: r.reason })),
    generatedAt: now.toISOString(),
    outcomes,
    retriesScheduled,
    failures: Object.fromEntries(failures),
    seats: context.catalog.skus().map((s) => ({
      sku: s.skuPartNumber,
      managed: context.rules.managedSkuIds.has(s.skuId.toLowerCase()),
      enabled: s.prepaidUnits.enabled,
      consumed: s.consumedUnits,
      free: context.catalog.freeSeats(s.skuId),
    })),
    ...extra,
  };
  return deps.summaries.write(`daily/${summary.date}`, summary, renderSummaryMarkdown(summary));
}

export async function runCleanup(deps: CleanupDeps): Promise<CleanupReport> {
  const now = (deps.now ?? (() => new Date()))();
  const correlationId = randomUUID();
  const log = deps.logger.child({ task: 'cleanup', correlationId });
  // Fresh seat counts: a re-drive decision on stale numbers would park the jobs again.
  deps.contexts.invalidate();
  const context = await deps.contexts.get();

  const reclaimed =
    deps.settings.disabledReclaimDays > 0
      ? await reclaim(deps, context, now, correlationId)
      : { queued: 0, tracked: 0, held: 0, round: null };
  const redriveQueued = await redrive(deps, context, now, correlationId);
  const outcomesPruned = await deps.outcomes.prune(
    new Date(now.getTime() - deps.settings.outcomeRetentionDays * DAY_MS),
  );
  const inboxPruned = await deps.inbox.prune(
    new Date(now.getTime() - (deps.settings.inboxRetentionDays ?? INBOX_RETENTION_DAYS) * DAY_MS),
  );
  const orphans = await recoverPending(
    { outcomes: deps.outcomes, gateway: deps.gateway, context, logger: log, now: () => now },
    { before: new Date(now.getTime() - ORPHANED_PENDING_DAYS * DAY_MS) },
  );
  const guardPruned = deps.guard
    ? await deps.guard.store.prune(new Date(now.getTime() - deps.settings.outcomeRetentionDays * DAY_MS))
    : 0;
  const seatForecast = deps.seatForecast ? await deps.seatForecast(context, now) : undefined;
  const summary = await summarize(deps, context, now, {
    ...(seatForecast === undefined ? {} : { seatForecast }),
    reclaimQueued: reclaimed.queued,
    disabledWithLicense: reclaimed.tracked,
    redriveQueued,
    outcomesPruned,
    inboxPruned,
  });
  const report = {
    reclaimQueued: reclaimed.queued,
    reclaimHeld: reclaimed.held,
    heldRound: reclaimed.round,
    disabledTracked: reclaimed.tracked,
    redriveQueued,
    outcomesPruned,
    inboxPruned,
    pendingCompleted: orphans.recovered + orphans.interrupted,
    guardPruned,
    summary,
  };
  log.info(report, 'cleanup finished');
  return report;
}
