/**
 * Processes one user: read (unless the caller already has the user), evaluate the rules, plan,
 * apply, re-read to verify, and return the outcome record. Recording is left to the caller (the
 * worker may turn a DEFERRED into FAILED once retries run out; the CLI's `plan` records nothing).
 */
import type { GraphGateway } from '../graph/gateway.js';
import { isGraphError, type GraphError } from '../graph/graph-error.js';
import type { GraphUser } from '../graph/types.js';
import { desiredStateFor } from '../licensing/desired.js';
import { assignLicenseBody, formatLicenses, planLicenses } from '../licensing/planner.js';
import type {
  CompiledRule,
  LicensePlan,
  OutcomeKind,
  OutcomeRecord,
  PlanAction,
} from '../licensing/types.js';
import type { Logger } from '../log.js';
import { jobSessionId, type JobAction } from '../queue/job.js';
import { evaluateRules, type Evaluation } from '../rules/evaluate.js';
import type { LeaverStore } from '../store/ports.js';
import type { LicensingContext } from './licensing-context.js';
import { predictLicenses } from './predict-licenses.js';

/** A user to look up: by object id, UPN, or employeeId (HR events may only carry the latter). */
export interface UserRef {
  id?: string | undefined;
  userPrincipalName?: string | undefined;
  employeeId?: string | undefined;
}

export interface ProcessUserRequest {
  /** A user already read with the context's `$select` (a reconcile page), or a reference to read. */
  user: GraphUser | UserRef;
  action: JobAction;
  source: string;
  eventId: string | null;
  jobId: string;
  correlationId: string;
  dryRun: boolean;
  /**
   * Asked once the user is found, before anything is planned: a reason when the job no longer
   * applies (a delayed leave after which HR rehired the person), or null to go on.
   */
  supersededBy?: (user: GraphUser) => Promise<string | null>;
}

export interface ProcessUserDeps {
  gateway: GraphGateway;
  context: LicensingContext;
  logger: Logger;
  /**
   * People HR said left (the worker's leaver marks). A reconcile of one is a leave: their own
   * license removal comes back as a change, and the rules alone would license them again. Only
   * an HR hire or update (source `hr`) reconciles them normally.
   */
  leavers?: Pick<LeaverStore, 'has'>;
  now?: () => Date;
}

/** Why the job should be tried again later; `null` when the outcome is final. */
export type RetryHint =
  | { reason: 'userNotFound' }
  | { reason: 'noSeats'; skuPartNumber: string }
  | { reason: 'transient'; afterMs: number | null };

export interface ProcessUserResult {
  record: OutcomeRecord;
  user: GraphUser | null;
  evaluation: Evaluation<CompiledRule> | null;
  plan: LicensePlan | null;
  retry: RetryHint | null;
  /** Graph writes made (usageLocation PATCH and assignLicense). */
  writes: number;
}

function isGraphUser(u: GraphUser | UserRef): u is GraphUser {
  return 'assignedLicenses' in u && typeof u.id === 'string';
}

async function readUser(
  gateway: GraphGateway,
  ref: UserRef,
  select: readonly string[],
  correlationId: string,
) {
  const opts = { correlationId };
  if (ref.id) return gateway.getUser(ref.id, select, opts);
  if (ref.userPrincipalName) return gateway.getUser(ref.userPrincipalName, select, opts);
  if (ref.employeeId) return gateway.findUserByEmployeeId(ref.employeeId, select, opts);
  return null;
}

/**
 * The outcome partition of a user not (yet) found: the reference itself, as the queue's session
 * id spells it (`upn-<digest>`, `emp-<digest>`: no personal data in keys or logs); the record's
 * userPrincipalName holds the UPN for queries.
 */
function refKey(ref: UserRef): string {
  return jobSessionId({ user: ref });
}

function refLabel(ref: UserRef): string {
  return ref.id ?? (ref.userPrincipalName ? 'the given userPrincipalName' : 'the given employeeId');
}

const CONFLICT_FIX =
  "A license inherited from a group cannot be changed per user. Change the group's license settings (Entra admin center > Groups > Licenses) or take the user out of the group, or change the rule.";

/** Processes one user. Graph failures become outcomes; only programming errors throw. */
export async function processUser(
  req: ProcessUserRequest,
  deps: ProcessUserDeps,
): Promise<ProcessUserResult> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const { gateway, context } = deps;
  const log = deps.logger.child({ correlationId: req.correlationId, jobId: req.jobId });
  const catalog = context.catalog;
  const partNumber = (skuId: string) => catalog.skuPartNumber(skuId);

  const base = {
    jobId: req.jobId,
    correlationId: req.correlationId,
    source: req.source,
    eventId: req.eventId,
    dryRun: req.dryRun,
  };
  const finish = (
    user: GraphUser | null,
    fields: Partial<OutcomeRecord> & { outcome: OutcomeKind },
  ): OutcomeRecord => ({
    ...base,
    userId: user?.id ?? (isGraphUser(req.user) ? req.user.id : refKey(req.user)),
    userPrincipalName:
      user?.userPrincipalName ?? (isGraphUser(req.user) ? null : (req.user.userPrincipalName ?? null)),
    rule: null,
    skus: [],
    licensesBefore: user ? formatLicenses(user.assignedLicenses, catalog) : [],
    licensesAfter: user ? formatLicenses(user.assignedLicenses, catalog) : [],
    actions: [],
    conflicts: [],
    error: null,
    retryAt: null,
    durationMs: now().getTime() - started.getTime(),
    recordedAt: now().toISOString(),
    ...fields,
  });
  const failed = (user: GraphUser | null, e: GraphError, extra: Partial<OutcomeRecord> = {}) =>
    finish(user, {
      outcome: 'FAILED',
      error: { code: e.code || e.kind, message: e.message, fix: e.fix },
      ...extra,
    });

  // 1. The user's current state.
  let user: GraphUser | null;
  try {
    user = isGraphUser(req.user)
      ? req.user
      : await readUser(gateway, req.user, context.select, req.correlationId);
  } catch (e) {
    if (!isGraphError(e)) throw e;
    const retry: RetryHint | null = e.transient
      ? { reason: 'transient', afterMs: e.retryAfterMs ?? null }
      : null;
    return {
      record: retry
        ? finish(null, { outcome: 'DEFERRED', error: { code: e.kind, message: e.message, fix: e.fix } })
        : failed(null, e),
      user: null,
      evaluation: null,
      plan: null,
      retry,
      writes: 0,
    };
  }
  if (!user) {
    const record = finish(null, {
      outcome: 'DEFERRED',
      error: {
        code: 'UserNotFound',
        message: `No user matches ${refLabel(req.user as UserRef)} (not synced to Entra ID yet?).`,
        fix: 'Check that the account exists in Entra ID (AD sync runs every 30 minutes by default); the job is retried with backoff.',
      },
    });
    return { record, user: null, evaluation: null, plan: null, retry: { reason: 'userNotFound' }, writes: 0 };
  }

  const superseded = req.supersededBy ? await req.supersededBy(user) : null;
  if (superseded !== null) {
    const record = finish(user, {
      outcome: 'UNCHANGED',
      error: { code: 'Superseded', message: superseded, fix: 'None needed.' },
    });
    return { record, user, evaluation: null, plan: null, retry: null, writes: 0 };
  }

  // 2. Rules: groups only when the rules test membership (one call for all groups).
  let groups: ReadonlySet<string> = new Set<string>();
  try {
    if (context.groupIds.length > 0) {
      groups = new Set(
        await gateway.checkMemberGroups(user.id, context.groupIds, { correlationId: req.correlationId }),
      );
    }
  } catch (e) {
    if (!isGraphError(e)) throw e;
    const retry: RetryHint | null = e.transient
      ? { reason: 'transient', afterMs: e.retryAfterMs ?? null }
      : null;
    const record = retry
      ? finish(user, { outcome: 'DEFERRED', error: { code: e.kind, message: e.message, fix: e.fix } })
      : failed(user, e);
    return { record, user, evaluation: null, plan: null, retry, writes: 0 };
  }
  const evaluation = evaluateRules(context.rules, user, groups);
  // A reclaim is decided by the cleanup and done later: if the account was enabled again in
  // between, it is an ordinary reconcile, not a removal.
  let action = req.action === 'reclaim' && user.accountEnabled !== false ? 'reconcile' : req.action;
  if (action === 'reconcile' && req.source !== 'hr' && (await deps.leavers?.has(user.id))) {
    action = 'leave';
    log.info({ userId: user.id }, 'user left (HR); treating the change as a leave');
  }
  const desired = desiredStateFor(evaluation, context.rules, action);
  const plan = planLicenses({
    user,
    desired,
    managedSkuIds: context.rules.managedSkuIds,
    freeSeats: (skuId) => catalog.freeSeats(skuId),
    defaultUsageLocation: context.rules.defaults.usageLocation ?? null,
    skuPartNumber: partNumber,
  });

  const skus = [
    ...new Set([
      ...(desired.kind === 'licenses' ? desired.licenses.map((l) => l.skuPartNumber) : []),
      ...plan.actions.flatMap((a) => ('skuPartNumber' in a ? [a.skuPartNumber] : [])),
      ...plan.conflicts.map((c) => c.skuPartNumber),
    ]),
  ];
  const common: Partial<OutcomeRecord> = {
    rule: evaluation.matched?.name ?? (desired.kind === 'removeManaged' ? desired.rule : null),
    skus,
    actions: plan.actions,
    conflicts: plan.conflicts,
  };
  const conflictError =
    plan.conflicts.length > 0
      ? {
          code: 'GroupInheritedLicense',
          message: plan.conflicts.map((c) => c.reason).join(' '),
          fix: CONFLICT_FIX,
        }
      : null;
  const done = (
    fields: Partial<OutcomeRecord> & { outcome: OutcomeKind },
    retry: RetryHint | null,
    writes: number,
  ) => ({
    record: finish(user, { ...common, ...fields }),
    user,
    evaluation,
    plan,
    retry,
    writes,
  });

  // 3. Plans that must not run.
  if (plan.blocked) {
    return done(
      {
        outcome: 'FAILED',
        actions: [],
        error: { code: plan.blocked.code, message: plan.blocked.reason, fix: plan.blocked.fix },
      },
      null,
      0,
    );
  }
  if (plan.deferred) {
    const sku = plan.deferred.skuPartNumber;
    return done(
      {
        outcome: 'DEFERRED',
        // Only the SKU short of seats: the cleanup re-drives the job when that one has seats.
        skus: [sku],
        actions: [],
        error: {
          code: 'NoFreeSeats',
          message: plan.deferred.reason,
          fix: `Buy more ${sku} licenses or free some; the job is tried again when seats are available.`,
        },
      },
      { reason: 'noSeats', skuPartNumber: sku },
      0,
    );
  }
  const asPlanned = () =>
    done(
      {
        outcome: plan.outcome,
        licensesAfter: formatLicenses(predictLicenses(user.assignedLicenses, plan.actions), catalog),
        error: conflictError,
      },
      null,
      0,
    );
  if (plan.actions.length === 0) return asPlanned();

  // 4. Seats are reserved first so concurrent users cannot overshoot the free count. A dry run
  // reserves too (and keeps them): its context lives for one CLI run, and the plan must show the
  // users that `apply` would defer once the seats run out, not promise every one of them a seat.
  const adds = plan.actions.filter(
    (a): a is Extract<PlanAction, { kind: 'addLicense' }> => a.kind === 'addLicense',
  );
  const reserved: string[] = [];
  for (const add of adds) {
    if (!catalog.reserveSeat(add.skuId)) {
      for (const r of reserved) catalog.releaseSeat(r);
      return done(
        {
          outcome: 'DEFERRED',
          skus: [add.skuPartNumber],
          actions: [],
          error: {
            code: 'NoFreeSeats',
            message: `No free ${add.skuPartNumber} seat left in this run.`,
            fix: `Buy more ${add.skuPartNumber} licenses or free some; the job is tried again when seats are available.`,
          },
        },
        { reason: 'noSeats', skuPartNumber: add.skuPartNumber },
        0,
      );
    }
    reserved.push(add.skuId);
  }
  if (req.dryRun) return asPlanned();

  // 5. Apply.
  let writes = 0;
  const applied: PlanAction[] = [];
  try {
    for (const action of plan.actions) {
      if (action.kind !== 'setUsageLocation') continue;
      await gateway.setUsageLocation(user.id, action.to, { correlationId: req.correlationId });
      writes++;
      applied.push(action);
    }
    const body = assignLicenseBody(plan);
    if (body) {
      await gateway.assignLicense(user.id, body, { correlationId: req.correlationId });
      writes++;
      applied.push(...plan.actions.filter((a) => a.kind !== 'setUsageLocation'));
    }
  } catch (e) {
    for (const r of reserved) catalog.releaseSeat(r);
    if (!isGraphError(e)) throw e;
    log.warn(
      { kind: e.kind, status: e.status, code: e.code, userId: user.id },
      'graph refused a license change',
    );
    const fields = { actions: applied, error: { code: e.code || e.kind, message: e.message, fix: e.fix } };
    if (e.kind === 'seatsExhausted') {
      // Graph's message names the SKU ("Subscription with SKU {skuId} does not have any available licenses.").
      const message = e.message.toLowerCase();
      const full = adds.find((a) => message.includes(a.skuId.toLowerCase())) ?? adds[0];
      if (full) catalog.markExhausted(full.skuId);
      const sku = full?.skuPartNumber ?? 'the SKU';
      return done(
        {
          outcome: 'DEFERRED',
          skus: [sku],
          actions: applied,
          // The same code as a seat shortage seen before calling Graph, so the cleanup re-drives both.
          error: { code: 'NoFreeSeats', message: e.message, fix: e.fix },
        },
        { reason: 'noSeats', skuPartNumber: sku },
        writes,
      );
    }
    if (e.transient) {
      return done(
        { outcome: 'DEFERRED', ...fields },
        { reason: 'transient', afterMs: e.retryAfterMs ?? null },
        writes,
      );
    }
    return done({ outcome: 'FAILED', ...fields }, null, writes);
  }

  // 6. Verify: read the user back and check the rules would now ask for nothing.
  let after: GraphUser | null = null;
  try {
    after = await gateway.getUser(user.id, context.select, { correlationId: req.correlationId });
  } catch (e) {
    if (!isGraphError(e)) throw e;
    log.warn({ kind: e.kind, userId: user.id }, 'could not re-read the user to verify');
  }
  let verifyError: OutcomeRecord['error'] = conflictError;
  if (after) {
    const recheck = planLicenses({
      user: after,
      desired,
      managedSkuIds: context.rules.managedSkuIds,
      freeSeats: () => Number.POSITIVE_INFINITY,
      defaultUsageLocation: context.rules.defaults.usageLocation ?? null,
      skuPartNumber: partNumber,
    });
    if (recheck.actions.length > 0) {
      verifyError = {
        code: 'NotVerified',
        message: `Graph accepted the change, but a re-read still differs from the rules (${String(recheck.actions.length)} action(s) left).`,
        fix: "Run `ems-licensing explain <user>`; if it persists, check the user's licenseAssignmentStates for errors in the Entra admin center.",
      };
    }
  }
  const licensesAfter = after
    ? formatLicenses(after.assignedLicenses, catalog)
    : formatLicenses(predictLicenses(user.assignedLicenses, plan.actions), catalog);
  log.info({ userId: user.id, outcome: plan.outcome, writes }, 'license change applied');
  return done({ outcome: plan.outcome, actions: applied, licensesAfter, error: verifyError }, null, writes);
}
