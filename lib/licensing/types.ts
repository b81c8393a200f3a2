/**
 * The licensing model's shared types: what rules resolve to, what the planner returns, and the
 * outcome of one job. Pure data; no I/O.
 */
import type { AssignedLicense } from '../graph/types.js';
import type { JobSource } from '../queue/job.js';
import type { Condition } from '../rules/schema.js';

/** Terminal outcomes of one job. Every job ends in exactly one, recorded once. */
export const OUTCOME_KINDS = [
  'ASSIGNED', // a managed SKU was added
  'UPDATED', // a managed SKU's disabled plans changed, or SKUs were swapped
  'REMOVED', // managed SKUs were removed (leave, no rule with `remove`, reclaim)
  'UNCHANGED', // already as the rules want: zero writes
  'NO_RULE', // no rule matched and the default is `leave`
  'CONFLICT', // a managed SKU is inherited from a group and differs from the rule: reported, not written
  'DEFERRED', // not done now (no free seat, user not synced yet, throttled): will be tried again
  'FAILED', // Graph refused, or the input was bad: needs an operator
  'HELD', // the blast-radius guard held its removals (too many at once): nothing removed until released
  'SKIPPED', // the rules would license the user, a policy withholds it (disabled account, leaver), or a
  //            planned change no longer fits the user (`apply --plan`, `revert`): nothing written
] as const;
export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

/** A license a rule wants, resolved against the tenant's catalog (all GUIDs). */
export interface ResolvedLicense {
  skuId: string;
  skuPartNumber: string;
  /** Full list of plan GUIDs to disable (an `enabledPlans` allow-list is already inverted). */
  disabledPlans: string[];
}

/** What the rules want for one user. */
export type DesiredState =
  | { kind: 'licenses'; rule: string; licenses: ResolvedLicense[] }
  /** Remove every managed SKU (a `leave`, or no rule matched with `unmatched: remove`). */
  | { kind: 'removeManaged'; rule: string | null; reason: string }
  /** No rule matched and the default is `leave`: touch nothing. */
  | { kind: 'leave' };

export type PlanAction =
  | { kind: 'setUsageLocation'; from: string | null; to: string }
  | { kind: 'addLicense'; skuId: string; skuPartNumber: string; disabledPlans: string[] }
  | {
      kind: 'updateDisabledPlans';
      skuId: string;
      skuPartNumber: string;
      before: string[];
      after: string[];
    }
  | { kind: 'removeLicense'; skuId: string; skuPartNumber: string };

export interface PlanConflict {
  skuId: string;
  skuPartNumber: string;
  /** Group(s) the license comes from. */
  groupIds: string[];
  reason: string;
}

export interface LicensePlan {
  /** In order: setUsageLocation first, then license changes (sent as one assignLicense call). */
  actions: PlanAction[];
  conflicts: PlanConflict[];
  /** Set when the plan cannot run now (no free seat): no action may be executed. */
  deferred: { reason: string; skuId: string; skuPartNumber: string } | null;
  /** Set when the plan cannot run at all (no usage location and no default). */
  blocked: { code: string; reason: string; fix: string } | null;
  /** The outcome the plan leads to if applied successfully. */
  outcome: OutcomeKind;
  /** Facts worth showing that change nothing, e.g. a SKU also inherited from a group. */
  notes?: string[];
}

/**
 * Where a record stands in its job's story:
 * - `pending`: the job's intent, written before its first Graph write (planned actions, licenses
 *   before); completed later under the same key, so a crash between the write and the record
 *   leaves a pending record that the next delivery or run completes from what Graph shows;
 * - `attempt`: a try that ended DEFERRED and will be repeated (`retryAt` set); one per attempt;
 * - `final`: where the job ended. Every job has exactly one.
 */
export const OUTCOME_PHASES = ['pending', 'attempt', 'final'] as const;
export type OutcomePhase = (typeof OUTCOME_PHASES)[number];

/** The source of a recorded job: a job source, or `queue` for a malformed message. */
export type OutcomeSource = JobSource | 'queue';

/** One recorded decision (one row of the outcomes table). */
export interface OutcomeRecord {
  userId: string;
  userPrincipalName: string | null;
  jobId: string;
  correlationId: string;
  /** Where the job came from; `queue` for a message that could not be read as a job. */
  source: OutcomeSource;
  eventId: string | null;
  rule: string | null;
  outcome: OutcomeKind;
  /** The managed SKUs involved (part numbers); for a DEFERRED `NoFreeSeats`, only those short of seats. */
  skus: string[];
  /** assignedLicenses before and after, as `PART:disabledPlanName,…` strings. */
  licensesBefore: string[];
  licensesAfter: string[];
  actions: PlanAction[];
  conflicts: PlanConflict[];
  error: { code: string; message: string; fix: string } | null;
  /** For DEFERRED: when it will be tried again (ISO time). */
  retryAt: string | null;
  dryRun: boolean;
  durationMs: number;
  recordedAt: string;
  phase: OutcomePhase;
  /** The job's attempt (0 for the first delivery; scheduled copies count up). */
  attempt: number;
  /** When the job was accepted: with `jobId`, the key of the job's one final record. */
  acceptedAt: string;
  /** Write requests sent to Graph for the job, answered or not, refused or not (Graph counts them all). */
  writes: number;
  /**
   * Completed from a pending record left by a crash, a killed run or a lost answer: what the job
   * did was read back from Graph rather than seen when it happened.
   */
  recovered: boolean;
  /** For malformed input: the payload as received (truncated), so nothing is lost. */
  payload?: string;
  /**
   * `assignedLicenses` before the job, as Graph gave them (GUIDs): what `revert` puts back.
   * Absent on records written before it was kept, and when the user was never read.
   */
  assignedBefore?: AssignedLicense[];
  /** A policy that shaped the job: the account is disabled, or HR said the person left. */
  policy?: OutcomePolicy | null;
  /**
   * Removals and plan reductions the blast-radius guard held (outcome `HELD`, or beside a failure
   * of what was not held): the held round or run they wait in, and the actions withheld.
   */
  held?: { roundId: string; actions: PlanAction[] } | null;
}

/** Policies that withhold what the rules want: a disabled account, a leaver (HR said they left). */
export const OUTCOME_POLICIES = ['disabledAccount', 'leaver'] as const;
export type OutcomePolicy = (typeof OUTCOME_POLICIES)[number];

/** A rule ready to evaluate: its `when` as written, its licenses resolved against the catalog. */
export interface CompiledRule {
  name: string;
  /** Position in the file, 0-based (rules are tried in this order). */
  index: number;
  description: string | null;
  when: Condition;
  /** The licenses the rule wants, or `none` (remove every managed SKU). */
  licenses: ResolvedLicense[] | 'none';
}

/** A rules file resolved against the tenant's SKUs (see compileRules). */
export interface CompiledRules {
  rules: CompiledRule[];
  /** Every SKU some rule names (lower-case GUIDs): the only SKUs the planner ever touches. */
  managedSkuIds: ReadonlySet<string>;
  defaults: {
    /** Set on users without one before a license is added; null: none configured. */
    usageLocation: string | null;
    /** Users no rule matches: `leave` them alone or `remove` managed SKUs. */
    unmatched: 'leave' | 'remove';
  };
}
