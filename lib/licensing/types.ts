/**
 * The licensing model's shared types: what rules resolve to, what the planner returns, and the
 * outcome of one job. Pure data; no I/O.
 */

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
}

/** A one-line, human-readable summary of a plan action (uses part numbers, not GUIDs). */
export type ActionSummary = string;

/** One recorded decision (one row of the outcomes table). */
export interface OutcomeRecord {
  userId: string;
  userPrincipalName: string | null;
  jobId: string;
  correlationId: string;
  /** graph | delta | hr | cleanup | cli */
  source: string;
  eventId: string | null;
  rule: string | null;
  outcome: OutcomeKind;
  /** The managed SKUs involved (part numbers). */
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
  /** For malformed input: the payload as received (truncated), so nothing is lost. */
  payload?: string;
}
