/**
 * One job for one user, the use case the worker and the CLI's runs share: read the user, look the
 * job up in the journal (a duplicate delivery ends here; a pending record left by a crash is
 * completed from what Graph shows), apply the leaver rule, decide, write the intent, apply, read
 * back. It returns the record the job ends this attempt with and, when it should be tried again,
 * why; writing that record (final or attempt) is the caller's, after the retry policy.
 */
import type { GraphGateway } from '../graph/gateway.js';
import { isGraphError } from '../graph/graph-error.js';
import type { GraphUser } from '../graph/types.js';
import type { OutcomeRecord } from '../licensing/types.js';
import type { Logger } from '../log.js';
import type { JobAction, JobGuardMarker } from '../queue/job.js';
import type { LeaverMark, OutcomeStore } from '../store/ports.js';
import { actionsInEffect } from './actions-in-effect.js';
import { applyPlan, type ApplyResult } from './apply-plan.js';
import { heldPlan, reductionsOf } from './blast-guard.js';
import { decide, needsWrites, remainingAfter, type Decision } from './decide.js';
import { leaverPolicy } from './leaver-policy.js';
import type { LicensingContext } from './licensing-context.js';
import {
  appliedRecord,
  decisionRecord,
  graphFailureRecord,
  notFoundRecord,
  pendingRecord,
  recoveredRecord,
  seatShortRecord,
  stalePlanRecord,
  storageUnavailableRecord,
  supersededRecord,
  type JobFacts,
  type UserRef,
} from './outcome-builder.js';
import { fitPlanned, type PlannedChange } from './planned-change.js';
import type { ReductionGuard } from './reduction-guard.js';
import type { RetryHint } from './retry-policy.js';

export interface JobRequest {
  facts: JobFacts;
  /** A user already read with the context's `$select` (a run's page), or a reference to read. */
  user: GraphUser | UserRef;
  action: JobAction;
  /** When the job's event says it happened (HR: effectiveAt or webhook-timestamp). */
  eventAt: Date;
  /** What the job's producer or a release said about its reductions (queue jobs). */
  guard?: JobGuardMarker | undefined;
  /** A change planned beforehand to carry out instead of the rules' (`apply --plan`, `revert`). */
  planned?: PlannedChange | undefined;
}

/** HR's marks as the job sees them: the worker's store, or a run's snapshot. */
export interface LeaverView {
  get(userId: string): Promise<LeaverMark | null>;
  set(userId: string, mark: LeaverMark): Promise<LeaverMark>;
}

export interface RunJobDeps {
  gateway: GraphGateway;
  context: LicensingContext;
  logger: Logger;
  now: () => Date;
  /** Where intent is written before a write; null for a dry run (which writes nothing). */
  journal: Pick<OutcomeStore, 'findJob' | 'record'> | null;
  /** Look the job up first (deliveries can repeat; a run's fresh job cannot). */
  lookUpJob: boolean;
  leavers: LeaverView | null;
  /**
   * Reads a user back after writes to verify them (one GET); null when the caller verifies later
   * itself (a run reads its changed users back in batches, see reconcile.ts).
   */
  readBack: ((userId: string) => Promise<GraphUser | null>) | null;
  /** The blast-radius guard, asked before any removal or plan reduction; null: none (dry runs). */
  guard?: ReductionGuard | null;
}

export type JobResult =
  /** The job already has its final record (a duplicate delivery): nothing was done. */
  | { kind: 'duplicate'; record: OutcomeRecord }
  | {
      kind: 'ended';
      record: OutcomeRecord;
      retry: RetryHint | null;
      user: GraphUser | null;
      decision: Decision | null;
      /** A pending record of this job exists: writing its final record must clear it. */
      pending: boolean;
      /**
       * Whether that pending record must stay if the job is tried again: only when the outcome of
       * a write is unknown. After a definite answer (a refusal, no seat) what happened is in this
       * attempt's record, and the pending record is withdrawn.
       */
      keepPending?: boolean;
      /** Writes were made and not read back yet (the caller verifies: `readBack` was null). */
      unverified?: boolean;
    };

export type Step<T> = { ok: true; value: T } | { ok: false; result: EndedJob };

/** A job that ran this attempt (anything but a duplicate). */
export type EndedJob = Extract<JobResult, { kind: 'ended' }>;

const ended = (
  record: OutcomeRecord,
  retry: RetryHint | null,
  more: { user?: GraphUser | null; decision?: Decision | null; pending?: boolean } = {},
): EndedJob => ({
  kind: 'ended',
  record,
  retry,
  user: more.user ?? null,
  decision: more.decision ?? null,
  pending: more.pending ?? false,
});

function isGraphUser(u: GraphUser | UserRef): u is GraphUser {
  return 'assignedLicenses' in u && typeof u.id === 'string';
}

/** Runs one job. Graph and storage failures become results; only programming errors throw. */
export async function runJob(req: JobRequest, deps: RunJobDeps): Promise<JobResult> {
  const found = await resolveUser(req, deps);
  if (!found.ok) return found.result;
  const user = found.value;
  const prior = await priorRecord(req, user, deps);
  if (!prior.ok) return prior.result;
  if (prior.value?.phase === 'final') return { kind: 'duplicate', record: prior.value };
  if (prior.value?.phase !== 'pending') return decideAndApply(req, user, deps, false);
  if (actionsInEffect(user, prior.value.actions).state === 'all') {
    // A crash (or a lost answer) after the writes: they took effect; complete the record.
    const record = recoveredRecord(prior.value, user, deps.context.catalog, deps.now());
    return ended(record, null, { user, pending: true });
  }
  // An earlier try wrote its intent and did not (fully) carry it out: decide afresh from what
  // Graph shows now; the record says the job's story had a gap.
  const result = await decideAndApply(req, user, deps, true);
  return result.kind === 'ended' ? { ...result, record: { ...result.record, recovered: true } } : result;
}

async function decideAndApply(
  req: JobRequest,
  user: GraphUser,
  deps: RunJobDeps,
  hadPending: boolean,
): Promise<JobResult> {
  const groups = await groupsOf(req, user, deps);
  if (!groups.ok) return groups.result;
  const policy = await leaverStep(req, user, deps);
  if (!policy.ok) return withPending(policy.result, hadPending);
  const fresh = decide({
    user,
    groups: groups.value,
    rules: deps.context.rules,
    action: policy.value.action,
    policy: policy.value.policy,
    freeSeats: deps.context.seats.free,
    skuPartNumber: deps.context.catalog.skuPartNumber,
  });
  const fitted = plannedStep(req, user, fresh, deps);
  if (!fitted.ok) return withPending(fitted.result, hadPending);
  if (req.facts.dryRun) return dryRunResult(req, user, fitted.value, deps);
  const guarded = await guardStep(req, user, fitted.value, deps);
  if (!guarded.ok) return withPending(guarded.result, hadPending);
  const decision = guarded.value;
  if (!needsWrites(decision)) {
    const record = decisionRecord(req.facts, user, decision, deps.context.catalog, deps.now());
    const retry: RetryHint | null = decision.plan.deferred
      ? { reason: 'noSeats', skuPartNumber: decision.plan.deferred.skuPartNumber }
      : null;
    return ended(record, retry, { user, decision, pending: hadPending });
  }
  return writeAndApply(req, user, decision, deps, hadPending);
}

/**
 * Reads the job's user (unless the request carries one already). Not found or a Graph failure is
 * the job's result for this attempt.
 */
export async function resolveUser(
  req: Pick<JobRequest, 'facts' | 'user'>,
  deps: Pick<RunJobDeps, 'gateway' | 'context' | 'now'>,
): Promise<Step<GraphUser>> {
  if (isGraphUser(req.user)) return { ok: true, value: req.user };
  const ref = req.user;
  const { gateway, context } = deps;
  const opts = { correlationId: req.facts.correlationId };
  try {
    const user = ref.id
      ? await gateway.getUser(ref.id, context.select, opts)
      : ref.userPrincipalName
        ? await gateway.getUser(ref.userPrincipalName, context.select, opts)
        : ref.employeeId
          ? await gateway.findUserByEmployeeId(ref.employeeId, context.select, opts)
          : null;
    if (user) return { ok: true, value: user };
    return { ok: false, result: ended(notFoundRecord(req.facts, deps.now()), { reason: 'userNotFound' }) };
  } catch (e) {
    if (!isGraphError(e)) throw e;
    const record = graphFailureRecord(req.facts, null, null, e, null, deps.now());
    return { ok: false, result: ended(record, transientHint(e)) };
  }
}

function transientHint(e: { transient: boolean; retryAfterMs: number | undefined }): RetryHint | null {
  return e.transient ? { reason: 'transient', afterMs: e.retryAfterMs ?? null } : null;
}

async function priorRecord(
  req: JobRequest,
  user: GraphUser,
  deps: RunJobDeps,
): Promise<Step<OutcomeRecord | null>> {
  if (!deps.lookUpJob || deps.journal === null) return { ok: true, value: null };
  try {
    return { ok: true, value: await deps.journal.findJob(user.id, req.facts.acceptedAt, req.facts.jobId) };
  } catch (e) {
    deps.logger.warn({ err: e, jobId: req.facts.jobId }, 'outcome journal unavailable');
    const record = storageUnavailableRecord(req.facts, user, e, deps.now());
    return { ok: false, result: ended(record, { reason: 'storage' }, { user }) };
  }
}

async function groupsOf(
  req: JobRequest,
  user: GraphUser,
  deps: RunJobDeps,
): Promise<Step<ReadonlySet<string>>> {
  const ids = deps.context.groupIds;
  if (ids.length === 0) return { ok: true, value: new Set<string>() };
  try {
    const member = await deps.gateway.checkMemberGroups(user.id, ids, {
      correlationId: req.facts.correlationId,
    });
    return { ok: true, value: new Set(member.map((g) => g.toLowerCase())) };
  } catch (e) {
    if (!isGraphError(e)) throw e;
    const record = graphFailureRecord(req.facts, user, null, e, deps.context.catalog, deps.now());
    return { ok: false, result: ended(record, transientHint(e), { user }) };
  }
}

/**
 * The leaver rule for this job, with its mark written before anything else (a leave's mark first,
 * so nothing can license the person again in the gap before the removal). Returns the action.
 */
async function leaverStep(
  req: JobRequest,
  user: GraphUser,
  deps: RunJobDeps,
): Promise<Step<{ action: JobAction; policy: 'leaver' | null }>> {
  if (deps.leavers === null) return { ok: true, value: { action: req.action, policy: null } };
  const { facts } = req;
  try {
    const mark = await deps.leavers.get(user.id);
    const rule = leaverPolicy(
      {
        source: sourceOf(facts),
        action: req.action,
        eventAt: req.eventAt,
        statedAt: new Date(facts.acceptedAt),
      },
      mark,
    );
    if (rule.kind === 'superseded') {
      const record = supersededRecord(facts, user, rule.reason, deps.context.catalog, deps.now());
      return { ok: false, result: ended(record, null, { user }) };
    }
    if (rule.mark !== null && !facts.dryRun) await deps.leavers.set(user.id, rule.mark);
    if (rule.policy === 'leaver')
      deps.logger.info({ userId: user.id }, 'user left (HR); treating the job as a leave');
    return { ok: true, value: { action: rule.action, policy: rule.policy } };
  } catch (e) {
    deps.logger.warn({ err: e, jobId: facts.jobId }, 'leaver marks unavailable');
    const record = storageUnavailableRecord(facts, user, e, deps.now());
    return { ok: false, result: ended(record, { reason: 'storage' }, { user }) };
  }
}

/**
 * A planned change (`apply --plan`, `revert`) replaces the rules' plan when it still fits the user;
 * when it does not, the job ends here, SKIPPED, having written nothing.
 */
function plannedStep(req: JobRequest, user: GraphUser, fresh: Decision, deps: RunJobDeps): Step<Decision> {
  if (!req.planned) return { ok: true, value: fresh };
  const fit = fitPlanned(req.planned, user, fresh);
  if (fit.ok) return { ok: true, value: fit.decision };
  const { catalog } = deps.context;
  const record =
    fit.code === 'Policy'
      ? decisionRecord(req.facts, user, fit.decision, catalog, deps.now())
      : stalePlanRecord(req.facts, user, { ...fit, label: req.planned.label }, catalog, deps.now());
  return { ok: false, result: ended(record, null, { user, decision: fresh }) };
}

/**
 * Asks the blast-radius guard before any removal or plan reduction. Held: the reductions are taken
 * out of the plan (what it adds still goes ahead) and the record will say HELD, where and why.
 */
async function guardStep(
  req: JobRequest,
  user: GraphUser,
  decision: Decision,
  deps: RunJobDeps,
): Promise<Step<Decision>> {
  const reductions = needsWrites(decision) ? reductionsOf(decision.plan.actions) : [];
  if (!deps.guard || reductions.length === 0) return { ok: true, value: decision };
  const { catalog } = deps.context;
  try {
    const answer = await deps.guard.check({
      facts: req.facts,
      action: req.action,
      eventAt: req.eventAt,
      user,
      decision,
      reductions,
      holders: (skuId) => catalog.sku(skuId)?.consumedUnits ?? 0,
      marker: req.guard,
    });
    if (answer.kind === 'allow') return { ok: true, value: decision };
    const { plan, held } = heldPlan(decision.plan);
    deps.logger.info({ userId: user.id, roundId: answer.roundId }, 'reductions held by the guard');
    const { roundId, reason, release } = answer;
    return { ok: true, value: { ...decision, plan, held: { roundId, actions: held, reason, release } } };
  } catch (e) {
    deps.logger.warn({ err: e, jobId: req.facts.jobId }, 'blast-radius guard unavailable');
    const record = storageUnavailableRecord(req.facts, user, e, deps.now());
    return { ok: false, result: ended(record, { reason: 'storage' }, { user, decision }) };
  }
}

function sourceOf(facts: JobFacts) {
  return facts.source === 'queue' ? 'graph' : facts.source;
}

function withPending(result: JobResult, pending: boolean): JobResult {
  return result.kind === 'ended' ? { ...result, pending: result.pending || pending } : result;
}

/**
 * A dry run shows what `apply` would do, seats included: it takes them from the run's ledger (and
 * keeps them) so the plan shows the users `apply` would defer once the seats run out.
 */
function dryRunResult(req: JobRequest, user: GraphUser, decision: Decision, deps: RunJobDeps): JobResult {
  const now = deps.now();
  const { seats, catalog } = deps.context;
  if (needsWrites(decision)) {
    for (const a of decision.plan.actions) {
      if (a.kind !== 'addLicense' || seats.reserve(a.skuId)) continue;
      const message = `No free ${a.skuPartNumber} seat left in this run.`;
      const record = seatShortRecord(req.facts, user, decision, a.skuPartNumber, message, catalog, now);
      return ended(record, { reason: 'noSeats', skuPartNumber: a.skuPartNumber }, { user, decision });
    }
  }
  return ended(decisionRecord(req.facts, user, decision, catalog, now), null, { user, decision });
}

/** Writes the intent, applies the plan, reads the user back. */
async function writeAndApply(
  req: JobRequest,
  user: GraphUser,
  decision: Decision,
  deps: RunJobDeps,
  hadPending: boolean,
): Promise<JobResult> {
  const { facts } = req;
  const log = deps.logger.child({ correlationId: facts.correlationId, jobId: facts.jobId });
  try {
    await deps.journal?.record(pendingRecord(facts, user, decision, deps.context.catalog, deps.now()));
  } catch (e) {
    log.warn({ err: e }, 'could not write the job intent; nothing changed');
    const record = storageUnavailableRecord(facts, user, e, deps.now());
    return ended(record, { reason: 'storage' }, { user, decision, pending: hadPending });
  }
  const opts = { correlationId: facts.correlationId };
  const result = await applyPlan(user, decision.plan, {
    gateway: deps.gateway,
    seats: deps.context.seats,
    reread: () => deps.gateway.getUser(user.id, deps.context.select, opts),
    correlationId: facts.correlationId,
    log,
  });
  if (result.kind !== 'applied') return notApplied(facts, user, decision, result, deps, log);
  return verified(facts, user, decision, result, deps, log);
}

/** A plan that did not (fully) go through: no seat, a refusal, or a write whose outcome is unknown. */
function notApplied(
  facts: JobFacts,
  user: GraphUser,
  decision: Decision,
  result: Exclude<ApplyResult, { kind: 'applied' }>,
  deps: RunJobDeps,
  log: Logger,
): EndedJob {
  const { catalog } = deps.context;
  const now = deps.now();
  const more = { user, decision, pending: true };
  if (result.kind === 'noSeat') {
    const message = `No free ${result.skuPartNumber} seat left.`;
    const record = seatShortRecord(facts, user, decision, result.skuPartNumber, message, catalog, now);
    return ended(record, { reason: 'noSeats', skuPartNumber: result.skuPartNumber }, more);
  }
  const { error } = result;
  log.warn(
    { kind: error.kind, status: error.status, code: error.code, userId: user.id },
    'graph refused a license change',
  );
  const extra = { actions: result.applied, writes: result.writes };
  if (result.seatSku !== null) {
    const record = seatShortRecord(facts, user, decision, result.seatSku, error.message, catalog, now, extra);
    return ended(record, { reason: 'noSeats', skuPartNumber: result.seatSku }, more);
  }
  const record = graphFailureRecord(facts, user, decision, error, catalog, now, {
    applied: result.applied,
    writes: result.writes,
  });
  if (!error.outcomeUnknown) return ended(record, transientHint(error), more);
  // Graph may have made the change: the next try reads the user and completes the pending record.
  const retry = { reason: 'transient' as const, afterMs: error.retryAfterMs ?? null };
  return { ...ended({ ...record, outcome: 'DEFERRED' }, retry, more), keepPending: true };
}

/** The writes went through: read the user back (or leave that to the caller) and record it. */
async function verified(
  facts: JobFacts,
  user: GraphUser,
  decision: Decision,
  result: Extract<ApplyResult, { kind: 'applied' }>,
  deps: RunJobDeps,
  log: Logger,
): Promise<EndedJob> {
  const { catalog } = deps.context;
  const more = { user, decision, pending: true };
  if (deps.readBack === null) {
    const input = { ...result, after: result.lastRead, stillNeeded: 0 };
    return {
      ...ended(appliedRecord(facts, user, decision, input, catalog, deps.now()), null, more),
      unverified: true,
    };
  }
  const after = await readBackQuietly(user.id, deps.readBack, log);
  const stillNeeded = after
    ? remainingAfter(decision, after, deps.context.rules, catalog.skuPartNumber).actions.length
    : 0;
  log.info(
    { userId: user.id, outcome: decision.plan.outcome, writes: result.writes },
    'license change applied',
  );
  const input = { ...result, after: after ?? result.lastRead, stillNeeded };
  return ended(appliedRecord(facts, user, decision, input, catalog, deps.now()), null, more);
}

/** The read-back that verifies a change; a failure only costs the verification. */
async function readBackQuietly(
  userId: string,
  readBack: (userId: string) => Promise<GraphUser | null>,
  log: Logger,
): Promise<GraphUser | null> {
  try {
    return await readBack(userId);
  } catch (e) {
    if (!isGraphError(e)) throw e;
    log.warn({ kind: e.kind, userId }, 'could not re-read the user to verify');
    return null;
  }
}
