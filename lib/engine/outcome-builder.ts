/**
 * Every outcome record is built here, from the facts of the job and the stage it reached. Nothing
 * else assembles an `OutcomeRecord`, so the fields mean the same thing whichever path a job took
 * (worker, CLI run, recovery after a crash) and a new field is added in one place.
 */
import { isGraphError, type GraphError } from '../graph/graph-error.js';
import type { GraphUser } from '../graph/types.js';
import type { LicenseNames } from '../licensing/catalog.js';
import { formatLicenses } from '../licensing/planner.js';
import type { OutcomeKind, OutcomeRecord, PlanAction } from '../licensing/types.js';
import { jobSessionId, type JobSource } from '../queue/job.js';
import type { Decision } from './decide.js';
import { predictLicenses } from './predict-licenses.js';

/** A user to look up: by object id, UPN, or employeeId (HR events may only carry the latter). */
export interface UserRef {
  id?: string | undefined;
  userPrincipalName?: string | undefined;
  employeeId?: string | undefined;
}

/** What is known of a job before anything happens. */
export interface JobFacts {
  jobId: string;
  correlationId: string;
  source: JobSource | 'queue';
  eventId: string | null;
  acceptedAt: string;
  attempt: number;
  dryRun: boolean;
  /** How the job names its user (for the partition of a user never found). */
  userRef: UserRef;
  startedAt: Date;
}

export type OutcomeError = NonNullable<OutcomeRecord['error']>;

const CONFLICT_FIX =
  "A license inherited from a group cannot be changed per user. Change the group's license settings (Entra admin center > Groups > Licenses) or take the user out of the group, or change the rule.";

const seatFix = (sku: string) =>
  `Buy more ${sku} licenses or free some; the job is tried again when seats are available.`;

function base(facts: JobFacts, user: GraphUser | null, names: LicenseNames | null, now: Date): OutcomeRecord {
  const licenses = user && names ? formatLicenses(user.assignedLicenses, names) : [];
  return {
    jobId: facts.jobId,
    correlationId: facts.correlationId,
    source: facts.source,
    eventId: facts.eventId,
    dryRun: facts.dryRun,
    // A user never found is filed under the reference, as the queue's session id spells it
    // (`upn-<digest>`, `emp-<digest>`: no personal data in keys or logs).
    userId: user?.id ?? facts.userRef.id ?? jobSessionId({ user: facts.userRef }),
    userPrincipalName: user?.userPrincipalName ?? facts.userRef.userPrincipalName ?? null,
    rule: null,
    outcome: 'UNCHANGED',
    skus: [],
    licensesBefore: licenses,
    licensesAfter: licenses,
    actions: [],
    conflicts: [],
    error: null,
    retryAt: null,
    durationMs: Math.max(0, now.getTime() - facts.startedAt.getTime()),
    recordedAt: now.toISOString(),
    phase: 'final',
    attempt: facts.attempt,
    acceptedAt: facts.acceptedAt,
    writes: 0,
    recovered: false,
    ...(user
      ? {
          assignedBefore: user.assignedLicenses.map((l) => ({
            skuId: l.skuId,
            disabledPlans: [...l.disabledPlans],
          })),
        }
      : {}),
  };
}

/** The part numbers a decision involves: what the rule wants, what changes, what conflicts. */
function skusOf(decision: Decision): string[] {
  const { desired, plan } = decision;
  return [
    ...new Set([
      ...(desired.kind === 'licenses' ? desired.licenses.map((l) => l.skuPartNumber) : []),
      ...plan.actions.flatMap((a) => ('skuPartNumber' in a ? [a.skuPartNumber] : [])),
      ...plan.conflicts.map((c) => c.skuPartNumber),
    ]),
  ];
}

function ruleOf(decision: Decision): string | null {
  return (
    decision.planned?.label ??
    decision.evaluation.matched?.name ??
    (decision.desired.kind === 'removeManaged' ? decision.desired.rule : null)
  );
}

function conflictError(decision: Decision): OutcomeError | null {
  const { conflicts } = decision.plan;
  if (conflicts.length === 0) return null;
  return {
    code: 'GroupInheritedLicense',
    message: conflicts.map((c) => c.reason).join(' '),
    fix: CONFLICT_FIX,
  };
}

function decided(
  facts: JobFacts,
  user: GraphUser,
  decision: Decision,
  names: LicenseNames,
  now: Date,
): OutcomeRecord {
  const { held } = decision;
  return {
    ...base(facts, user, names, now),
    rule: ruleOf(decision),
    skus: skusOf(decision),
    actions: decision.plan.actions,
    conflicts: decision.plan.conflicts,
    error: conflictError(decision),
    ...(decision.policy === null ? {} : { policy: decision.policy }),
    ...(held ? { held: { roundId: held.roundId, actions: held.actions } } : {}),
  };
}

const POLICY_TEXT: Record<NonNullable<Decision['policy']>, { message: string; fix: string }> = {
  disabledAccount: {
    message:
      'The rules would license this user, but the account is disabled: no license is added to a disabled account.',
    fix: 'None needed. If the account should be licensed, enable it; the next change to it licenses it.',
  },
  leaver: {
    message:
      'The rules would license this user, but HR said the person left: their managed licenses stay off.',
    fix: 'None needed. An HR hire or update for the person brings them back.',
  },
};

/** The same policies, met by a planned change (a saved plan, a revert) that adds a license. */
const PLANNED_POLICY_TEXT: typeof POLICY_TEXT = {
  disabledAccount: {
    message:
      'The planned change adds a license, but the account is disabled now: no license is added to a disabled account.',
    fix: 'None needed. If the account should be licensed, enable it; the next change to it licenses it by the rules.',
  },
  leaver: {
    message:
      'The planned change adds a license, but HR said the person left: their managed licenses stay off.',
    fix: 'None needed. An HR hire or update for the person brings them back.',
  },
};

/**
 * Where a decision that went through ends: HELD when the guard withheld reductions (why and how to
 * release it in `error`), SKIPPED when a policy withheld everything the rules want, else the
 * plan's outcome.
 */
function finalOutcome(decision: Decision, record: OutcomeRecord): Pick<OutcomeRecord, 'outcome' | 'error'> {
  const { held, policy, plan } = decision;
  if (held) {
    return { outcome: 'HELD', error: { code: 'HeldByGuard', message: held.reason, fix: held.release } };
  }
  const outcome: OutcomeKind = plan.outcome;
  if (policy !== null && outcome === 'UNCHANGED') {
    const text = decision.planned ? PLANNED_POLICY_TEXT[policy] : POLICY_TEXT[policy];
    return { outcome: 'SKIPPED', error: { code: policyCode(policy), ...text } };
  }
  return { outcome, error: record.error };
}

function policyCode(policy: NonNullable<Decision['policy']>): string {
  return policy === 'leaver' ? 'Leaver' : 'DisabledAccount';
}

/**
 * A planned change that no longer fits the user (`apply --plan`, `revert`): their licenses changed
 * since the plan was made, or the rules now want something else. Nothing is written.
 */
export function stalePlanRecord(
  facts: JobFacts,
  user: GraphUser,
  detail: { code: 'ChangedSincePlan' | 'RulesNowDiffer'; message: string; label: string | null },
  names: LicenseNames,
  now: Date,
): OutcomeRecord {
  return {
    ...base(facts, user, names, now),
    rule: detail.label,
    outcome: 'SKIPPED',
    error: {
      code: detail.code,
      message: detail.message,
      fix:
        detail.code === 'ChangedSincePlan'
          ? 'Make a new plan (`ems-licensing plan --out FILE`), review it, and apply that one.'
          : 'The user changed since the plan (an attribute the rules test): make a new plan and review it.',
    },
  };
}

/**
 * A decision that makes no write now: nothing to do, a dry run, a plan that must not run (no
 * usage location and no default), or one put off for lack of seats.
 */
export function decisionRecord(
  facts: JobFacts,
  user: GraphUser,
  decision: Decision,
  names: LicenseNames,
  now: Date,
): OutcomeRecord {
  const record = decided(facts, user, decision, names, now);
  const { plan } = decision;
  if (plan.blocked) {
    return {
      ...record,
      outcome: 'FAILED',
      actions: [],
      error: { code: plan.blocked.code, message: plan.blocked.reason, fix: plan.blocked.fix },
    };
  }
  if (plan.deferred)
    return seatShortRecord(
      facts,
      user,
      decision,
      plan.deferred.skuPartNumber,
      plan.deferred.reason,
      names,
      now,
    );
  return {
    ...record,
    ...finalOutcome(decision, record),
    licensesAfter: formatLicenses(predictLicenses(user.assignedLicenses, plan.actions), names),
  };
}

/** No seat for an add: only the SKU short of seats is named, so the cleanup re-drives on it alone. */
export function seatShortRecord(
  facts: JobFacts,
  user: GraphUser,
  decision: Decision,
  sku: string,
  message: string,
  names: LicenseNames,
  now: Date,
  extra: { actions?: PlanAction[]; writes?: number } = {},
): OutcomeRecord {
  return {
    ...decided(facts, user, decision, names, now),
    outcome: 'DEFERRED',
    skus: [sku],
    actions: extra.actions ?? [],
    writes: extra.writes ?? 0,
    error: { code: 'NoFreeSeats', message, fix: seatFix(sku) },
  };
}

/** The job's intent, written before its first write; completed later under the same key. */
export function pendingRecord(
  facts: JobFacts,
  user: GraphUser,
  decision: Decision,
  names: LicenseNames,
  now: Date,
): OutcomeRecord {
  return {
    ...decisionRecord(facts, user, decision, names, now),
    phase: 'pending',
  };
}

/** The writes were made (and read back, when `after` is given). */
export function appliedRecord(
  facts: JobFacts,
  user: GraphUser,
  decision: Decision,
  result: { applied: PlanAction[]; writes: number; after: GraphUser | null; stillNeeded: number },
  names: LicenseNames,
  now: Date,
): OutcomeRecord {
  const record = decided(facts, user, decision, names, now);
  const notVerified = result.stillNeeded > 0 ? notVerifiedError(result.stillNeeded) : null;
  const final = finalOutcome(decision, record);
  return {
    ...record,
    outcome: final.outcome,
    actions: result.applied,
    writes: result.writes,
    licensesAfter: formatLicenses(
      result.after?.assignedLicenses ?? predictLicenses(user.assignedLicenses, result.applied),
      names,
    ),
    error: notVerified ?? final.error,
  };
}

/**
 * An applied record completed by a read-back made later (a run verifies its changes in batches):
 * the licenses as Graph shows them, and a NotVerified problem when the rules still want changes.
 */
export function verifiedRecord(
  record: OutcomeRecord,
  after: GraphUser | null,
  stillNeeded: number,
  names: LicenseNames,
  now: Date,
): OutcomeRecord {
  if (after === null) return record;
  const notVerified = stillNeeded > 0 ? notVerifiedError(stillNeeded) : null;
  return {
    ...record,
    licensesAfter: formatLicenses(after.assignedLicenses, names),
    error: notVerified ?? record.error,
    durationMs: Math.max(
      record.durationMs,
      now.getTime() - Date.parse(record.recordedAt) + record.durationMs,
    ),
    recordedAt: now.toISOString(),
  };
}

function notVerifiedError(stillNeeded: number): OutcomeError {
  return {
    code: 'NotVerified',
    message: `Graph accepted the change, but a re-read still differs from the rules (${String(stillNeeded)} action(s) left).`,
    fix: "Run `ems-licensing explain <user>`; if it persists, check the user's licenseAssignmentStates for errors in the Entra admin center.",
  };
}

/** Graph refused or failed. Transient failures are DEFERRED (the retry policy decides what next). */
export function graphFailureRecord(
  facts: JobFacts,
  user: GraphUser | null,
  decision: Decision | null,
  error: GraphError,
  names: LicenseNames | null,
  now: Date,
  extra: { applied?: PlanAction[]; writes?: number } = {},
): OutcomeRecord {
  const start =
    user && decision && names ? decided(facts, user, decision, names, now) : base(facts, user, names, now);
  return {
    ...start,
    outcome: error.transient ? 'DEFERRED' : 'FAILED',
    actions: extra.applied ?? [],
    writes: extra.writes ?? 0,
    error: { code: error.code || error.kind, message: error.message, fix: error.fix },
  };
}

/** No user matches the job's reference (not synced yet, or deleted). */
export function notFoundRecord(facts: JobFacts, now: Date): OutcomeRecord {
  const ref = facts.userRef;
  const label = ref.id ?? (ref.userPrincipalName ? 'the given userPrincipalName' : 'the given employeeId');
  return {
    ...base(facts, null, null, now),
    outcome: 'DEFERRED',
    error: {
      code: 'UserNotFound',
      message: `No user matches ${label} (not synced to Entra ID yet?).`,
      fix: 'Check that the account exists in Entra ID (AD sync runs every 30 minutes by default); the job is retried with backoff.',
    },
  };
}

/** The job no longer applies (a leave after which HR rehired the person). */
export function supersededRecord(
  facts: JobFacts,
  user: GraphUser,
  reason: string,
  names: LicenseNames,
  now: Date,
): OutcomeRecord {
  return {
    ...base(facts, user, names, now),
    outcome: 'UNCHANGED',
    error: { code: 'Superseded', message: reason, fix: 'None needed.' },
  };
}

/** The job's record cannot be read or written (Table storage unavailable): kept and tried again. */
export function storageUnavailableRecord(
  facts: JobFacts,
  user: GraphUser | null,
  cause: unknown,
  now: Date,
): OutcomeRecord {
  return {
    ...base(facts, user, null, now),
    outcome: 'DEFERRED',
    error: {
      code: 'StorageUnavailable',
      message: `The outcome journal could not be reached: ${cause instanceof Error ? cause.message : String(cause)}`,
      fix: 'Nothing was changed without a record; the job is tried again with backoff. If it persists, check the storage account (firewall, role assignments, service health).',
    },
  };
}

/** The rules could not be loaded against the tenant (no catalog yet, or a SKU they name is gone). */
export function contextUnavailableRecord(
  facts: JobFacts,
  error: unknown,
  transient: boolean,
  now: Date,
): OutcomeRecord {
  const message = error instanceof Error ? error.message : String(error);
  if (isGraphError(error) && !transient) {
    // Graph refused to list the catalog (a missing permission, a bad token): its fix says which.
    return {
      ...base(facts, null, null, now),
      outcome: 'DEFERRED',
      error: {
        code: error.code || error.kind,
        message: `The SKU catalog (GET /subscribedSkus) could not be read: ${message}`,
        fix: `${error.fix} Deferred jobs are tried again.`,
      },
    };
  }
  return {
    ...base(facts, null, null, now),
    outcome: 'DEFERRED',
    error: {
      code: transient ? 'CatalogUnavailable' : 'RulesDoNotFitTenant',
      message: `The licensing rules could not be loaded against the tenant: ${message}`,
      fix: transient
        ? 'Graph was unavailable; the job is tried again.'
        : 'Run `ems-licensing validate` against the tenant, fix rules.yaml (a SKU or plan it names is gone or not assignable), and redeploy; deferred jobs are tried again.',
    },
  };
}

/** A queue message that does not parse: kept with its payload, keyed so every delivery writes the same row. */
export function malformedRecord(
  delivery: { messageId: string | null; enqueuedAt: Date },
  reason: string,
  payload: string,
): OutcomeRecord {
  const at = delivery.enqueuedAt.toISOString();
  const id = delivery.messageId ?? `unknown-${at}`;
  return {
    ...base(
      {
        jobId: id,
        correlationId: delivery.messageId ?? 'unknown',
        source: 'queue',
        eventId: delivery.messageId,
        acceptedAt: at,
        attempt: 0,
        dryRun: false,
        userRef: { id: 'malformed-messages' },
        startedAt: delivery.enqueuedAt,
      },
      null,
      null,
      delivery.enqueuedAt,
    ),
    outcome: 'FAILED',
    error: {
      code: 'MalformedMessage',
      message: reason,
      fix: 'Fix the sender, then replay the message from the dead-letter queue (docs/operations.md).',
    },
    payload,
  };
}

/**
 * A pending record completed from what Graph shows now: every planned action holds, so the job
 * did what it set out to do (the answer or the record was lost on the way).
 */
export function recoveredRecord(
  pending: OutcomeRecord,
  user: GraphUser,
  names: LicenseNames,
  now: Date,
): OutcomeRecord {
  return {
    ...pending,
    phase: 'final',
    recovered: true,
    licensesAfter: formatLicenses(user.assignedLicenses, names),
    durationMs: Math.max(0, now.getTime() - Date.parse(pending.acceptedAt)),
    recordedAt: now.toISOString(),
    error: null,
  };
}

/**
 * A pending record of a run that was stopped (a killed CLI) whose change was not (or only partly)
 * made: the job ended there. The next run decides afresh for the user.
 */
export function interruptedRecord(
  pending: OutcomeRecord,
  user: GraphUser | null,
  holding: PlanAction[],
  names: LicenseNames | null,
  now: Date,
): OutcomeRecord {
  return {
    ...pending,
    phase: 'final',
    recovered: true,
    outcome: 'DEFERRED',
    actions: holding,
    retryAt: null,
    licensesAfter: user && names ? formatLicenses(user.assignedLicenses, names) : pending.licensesBefore,
    recordedAt: now.toISOString(),
    error: {
      code: 'Interrupted',
      message:
        holding.length === 0
          ? 'The run was stopped before this change was made; nothing was changed.'
          : `The run was stopped part way: ${String(holding.length)} of ${String(pending.actions.length)} planned action(s) took effect.`,
      fix: 'Run `ems-licensing apply` again: it decides afresh for this user.',
    },
  };
}

/** An attempt that will be repeated at `retryAt`. */
export function asAttempt(record: OutcomeRecord, retryAt: Date): OutcomeRecord {
  return { ...record, phase: 'attempt', outcome: 'DEFERRED', retryAt: retryAt.toISOString() };
}

/** How a job that ran out of attempts ends (see retry-policy.ts). */
export type GiveUp = 'parked' | 'gone' | 'failed' | 'notDone';

/** The final record of a job whose retries ran out. */
export function asGivenUp(record: OutcomeRecord, how: GiveUp, tries: number, reason: string): OutcomeRecord {
  const final = { ...record, phase: 'final' as const, retryAt: null };
  switch (how) {
    case 'parked':
      // Still DEFERRED: the daily cleanup re-drives it once seats are free.
      return { ...final, outcome: 'DEFERRED' };
    case 'gone':
      return {
        ...final,
        outcome: 'UNCHANGED',
        error: {
          code: 'UserNotFound',
          message:
            'The user no longer exists in Entra ID (deleted since the event); there is nothing to license.',
          fix: 'None needed.',
        },
      };
    case 'notDone':
      return {
        ...final,
        outcome: 'DEFERRED',
        error: {
          code: record.error?.code ?? reason,
          message: `Not done in this run after ${String(tries)} attempt(s): ${record.error?.message ?? reason}`,
          fix: 'Run `ems-licensing apply` again later (Graph was throttling or unavailable).',
        },
      };
    case 'failed':
      return {
        ...final,
        outcome: 'FAILED',
        error: {
          code: record.error?.code ?? reason,
          message:
            reason === 'userNotFound'
              ? `The user did not appear in Entra ID after ${String(tries)} attempts.`
              : `Gave up after ${String(tries)} attempts: ${record.error?.message ?? reason}`,
          fix:
            reason === 'userNotFound'
              ? 'Check the HR record (UPN or employeeId) matches the synced account and that AD sync runs; then resend the event.'
              : (record.error?.fix ?? 'Check Graph service health, then replay the job.'),
        },
      };
  }
}
