/**
 * Delta catch-up: Graph sends no `missed` lifecycle event for users, so a delta query on a timer
 * closes any gap the notifications left (learn.microsoft.com/graph/delta-query-users). Follows
 * `@odata.nextLink` to the `@odata.deltaLink`, keeps that link in the checkpoints table, and
 * falls back to a full resync when Graph rejects the token (410 Gone / syncStateNotFound).
 * Users already as the rules want are not queued.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { GraphGateway } from '../graph/gateway.js';
import { isGraphError } from '../graph/graph-error.js';
import type { GraphUser } from '../graph/types.js';
import type { Logger } from '../log.js';
import type { JobPublisher, LicenseJob } from '../queue/job.js';
import type { CheckpointStore } from '../store/ports.js';
import { hasReductions } from './blast-guard.js';
import type { LicensingContext, LicensingContextCache } from './licensing-context.js';
import { plannedWork } from './needs-work.js';
import { gateRound, type ReducingJob, type RoundGuardDeps } from './round-guard.js';

export const DELTA_SCOPE = 'users';

export interface DeltaCatchUpDeps {
  gateway: GraphGateway;
  checkpoints: CheckpointStore;
  publisher: JobPublisher;
  contexts: LicensingContextCache;
  logger: Logger;
  now?: () => Date;
  /** Jobs per publish call (one Service Bus batch). */
  publishBatch?: number;
  /** The blast-radius guard over the round's reductions (round-guard.ts). */
  guard?: Omit<RoundGuardDeps, 'logger' | 'now'>;
}

export interface DeltaCatchUpResult {
  fullSync: boolean;
  pages: number;
  changed: number;
  removed: number;
  queued: number;
  /** Users whose removals or plan reductions the guard held (their jobs are queued marked held). */
  held: number;
  /** The held round's id (release it with `ems-licensing release <id>`), or null. */
  heldRound: string | null;
}

/**
 * What a delta link stands for: the `$select` it was made with, and what the rules want (every
 * rule's conditions, its resolved licenses and plans, the defaults). When either changes, deltas since the link
 * say nothing about users the change concerns: a rule now testing a new attribute, a rule wanting
 * other plans, or Microsoft adding a plan to a SKU an `enabledPlans` allow-list names (which
 * changes that rule's resolved disabled plans). Then the next round is a full sync.
 */
export function contextFingerprint(context: Pick<LicensingContext, 'select' | 'rules'>): string {
  const rules = context.rules.rules.map((r) => ({
    name: r.name,
    // Which users a rule matches: a changed condition (a department value, an Entra rule) reaches
    // users whose attributes did not change, so it too must start a full sync.
    when: r.when,
    licenses:
      r.licenses === 'none'
        ? 'none'
        : r.licenses.map((l) => ({
            sku: l.skuId.toLowerCase(),
            off: l.disabledPlans.map((p) => p.toLowerCase()).sort(),
          })),
  }));
  return createHash('sha256')
    .update(
      JSON.stringify({
        select: [...context.select].map((s) => s.toLowerCase()).sort(),
        rules,
        defaults: context.rules.defaults,
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

/**
 * The round's id: the one stored for a round that started from the same place and did not finish
 * (a crash replay publishes the same MessageIds, which the broker drops), else a new one. A full
 * sync started again after one finished (a rules change, a rejected token) gets a new id, so
 * Service Bus's duplicate detection cannot drop its jobs as repeats of the earlier sync's.
 */
async function roundFor(deps: DeltaCatchUpDeps, start: string, now: Date): Promise<string> {
  const open = await deps.checkpoints.getRound(DELTA_SCOPE);
  if (open && open.start === start) return open.id;
  const id = randomUUID();
  await deps.checkpoints.putRound(DELTA_SCOPE, { id, start, startedAt: now.toISOString() });
  return id;
}

/** One catch-up round. A round replayed after a crash yields the same MessageIds (deduplicated). */
export async function deltaCatchUp(deps: DeltaCatchUpDeps): Promise<DeltaCatchUpResult> {
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ task: 'delta-catchup' });
  const context = await deps.contexts.get();
  const stored = await deps.checkpoints.get(DELTA_SCOPE);
  // A delta link only reports what changed in the directory; when the rules (or the plans they
  // resolve to) changed instead, start over with a full sync (see contextFingerprint).
  const fingerprint = contextFingerprint(context);
  const checkpoint = stored && stored.fingerprint === fingerprint ? stored : null;
  if (stored && !checkpoint)
    log.info('the rules or the plans they want changed since the stored delta link; full resync');
  try {
    return await round(deps, context, checkpoint?.deltaLink ?? null, now, log);
  } catch (e) {
    if (checkpoint && isGraphError(e) && e.kind === 'syncStateNotFound') {
      log.warn({ code: e.code }, 'delta token rejected; starting a full resync');
      await deps.checkpoints.delete(DELTA_SCOPE);
      return round(deps, context, null, now, log);
    }
    throw e;
  }
}

async function round(
  deps: DeltaCatchUpDeps,
  context: LicensingContext,
  deltaLink: string | null,
  now: () => Date,
  log: Logger,
): Promise<DeltaCatchUpResult> {
  const correlationId = randomUUID();
  const start = deltaLink ?? `full:${contextFingerprint(context)}`;
  const eventId = `delta-${await roundFor(deps, createHash('sha256').update(start).digest('hex'), now())}`;
  const result: DeltaCatchUpResult = {
    fullSync: deltaLink === null,
    pages: 0,
    changed: 0,
    removed: 0,
    queued: 0,
    held: 0,
    heldRound: null,
  };
  // Reductions wait until the whole round is seen: the guard counts them together.
  const reducing: ReducingJob[] = [];
  const batchSize = deps.publishBatch ?? 100;
  let pending: LicenseJob[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    await deps.publisher.publish(pending);
    result.queued += pending.length;
    pending = [];
  };

  let page = await deps.gateway.deltaPage(deltaLink ? { link: deltaLink } : { select: context.select }, {
    correlationId,
  });
  for (;;) {
    result.pages++;
    result.removed += page.removed.length;
    for (const item of page.users) {
      result.changed++;
      // After the first round, "updated instances are represented by their id with at least the
      // properties that have been updated" (learn.microsoft.com/graph/delta-query-overview): the
      // item may lack the license state, so read the user whole before deciding.
      const user = result.fullSync
        ? item
        : await deps.gateway.getUser(item.id, context.select, { correlationId });
      if (!user) continue;
      const work = await plannedWork(user, context, deps.gateway, correlationId);
      if (!work.needed) continue;
      const job = jobFor(user, eventId, correlationId, now());
      if (hasReductions(work.actions)) {
        reducing.push({ job, userPrincipalName: user.userPrincipalName, actions: work.actions });
        continue;
      }
      pending.push(job);
      if (pending.length >= batchSize) await flush();
    }
    if (page.nextLink) {
      page = await deps.gateway.deltaPage({ link: page.nextLink }, { correlationId });
      continue;
    }
    await flush();
    await publishReducing(deps, context, eventId, reducing, result, log);
    if (!page.deltaLink) throw new Error('Graph ended a delta round without an @odata.deltaLink');
    // Only after every job of the round is published: a crash before this replays the round.
    await deps.checkpoints.put(DELTA_SCOPE, page.deltaLink, now(), contextFingerprint(context));
    await deps.checkpoints.clearRound(DELTA_SCOPE);
    break;
  }
  log.info(result, 'delta round finished');
  return result;
}

/** The round's reducing jobs, through the guard: marked allowed, or held (and the round recorded). */
async function publishReducing(
  deps: DeltaCatchUpDeps,
  context: LicensingContext,
  roundId: string,
  reducing: ReducingJob[],
  result: DeltaCatchUpResult,
  log: Logger,
): Promise<void> {
  if (reducing.length === 0) return;
  const jobs = deps.guard
    ? await gateRound(
        { ...deps.guard, logger: log, now: deps.now ?? (() => new Date()) },
        {
          id: roundId,
          path: 'delta',
          scope: roundId,
          holders: (skuId) => context.catalog.sku(skuId)?.consumedUnits ?? 0,
        },
        reducing,
      )
    : { jobs: reducing.map((r) => r.job), held: false };
  const batchSize = deps.publishBatch ?? 100;
  for (let i = 0; i < jobs.jobs.length; i += batchSize)
    await deps.publisher.publish(jobs.jobs.slice(i, i + batchSize));
  result.queued += jobs.jobs.length;
  if (jobs.held) {
    result.held = jobs.jobs.length;
    result.heldRound = roundId;
  }
}

function jobFor(user: GraphUser, eventId: string, correlationId: string, at: Date): LicenseJob {
  return {
    version: 1,
    jobId: randomUUID(),
    correlationId,
    source: 'delta',
    eventId,
    action: 'reconcile',
    user: { id: user.id },
    attempt: 0,
    acceptedAt: at.toISOString(),
  };
}
