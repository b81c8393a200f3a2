/**
 * Storage ports. Adapters on @azure/data-tables live beside this file; tests run them on Azurite.
 */
import type { OutcomeRecord, PlanAction } from '../licensing/types.js';

/**
 * The outcome journal. Every job has one row for its pending-then-final record (keyed by the user,
 * the job's acceptance time and its id) and a row per attempt that was put off; writes are
 * upserts, so a repeat never adds a row.
 */
export interface OutcomeStore {
  /**
   * Writes a record under its job's key. A `pending` record is also listed in the pending index;
   * a `final` one with `clearPending` leaves it (pass it whenever the job wrote or found one).
   */
  record(outcome: OutcomeRecord, options?: { clearPending?: boolean }): Promise<void>;
  /**
   * Writes many final decisions of a bulk run that changed nothing (UNCHANGED, NO_RULE, SKIPPED:
   * see `isQuietDecision`) in as few requests as the store allows. `listByUser`, `listBetween` and
   * `prune` see them like any other record.
   */
  recordQuiet(outcomes: readonly OutcomeRecord[]): Promise<void>;
  /** The pending or final record of a job, or null. */
  findJob(userId: string, acceptedAt: string, jobId: string): Promise<OutcomeRecord | null>;
  /**
   * Removes a job's pending record (and its index entry) once it is known that its writes were
   * not made or are recorded elsewhere (an attempt record after a definite refusal). A final
   * record is never removed.
   */
  withdrawPending(userId: string, acceptedAt: string, jobId: string): Promise<void>;
  /** Pending records (begun, not completed), oldest first. */
  listPending(options?: { source?: string; before?: Date }): AsyncIterable<OutcomeRecord>;
  /** Newest first. */
  listByUser(userId: string, options?: { limit?: number }): Promise<OutcomeRecord[]>;
  /** The final records of the users a CLI run changed (`eventId` = the run id). */
  listRun(runId: string): AsyncIterable<OutcomeRecord>;
  /** Records with recordedAt in [from, to), any user, in no particular order. */
  listBetween(from: Date, to?: Date): AsyncIterable<OutcomeRecord>;
  /** Deletes records older than `before`; returns how many rows (a row of quiet decisions counts once). */
  prune(before: Date): Promise<number>;
}

/**
 * What the inbox knows of one event: never recorded, or not within the re-accept window (`new`),
 * recorded within it (`seen`: a duplicate), or recorded before it (`expired`: accept it again).
 */
export type InboxStatus = 'new' | 'seen' | 'expired';

/** One event to record once its job is published. */
export interface InboxEntry {
  eventId: string;
  /** A few non-secret words kept with the entry, for explanation. */
  detail?: Record<string, string>;
}

/**
 * Options of both calls. A source is used either always with `reacceptAfterMs` or never: its
 * entries are stored by window when it has one.
 */
export interface InboxOptions {
  /**
   * Graph's user notifications carry no unique id, so identical content later is a new change: an
   * entry at least this old no longer counts. Without it any entry counts (HR: `webhook-id` is
   * unique per event).
   */
  reacceptAfterMs?: number;
  /** Defaults to the current time. */
  now?: Date;
}

export interface InboxStore {
  /**
   * Read-only: which of these events were already published? Answers every id given, in a few
   * requests for the whole batch (not one per event, where the layout allows).
   */
  check(
    source: string,
    eventIds: readonly string[],
    options?: InboxOptions,
  ): Promise<Map<string, InboxStatus>>;
  /**
   * Records events whose jobs have been published (only then: recording first would turn a
   * failed publish plus the sender's retry into a lost event), in as few requests as the table
   * allows. Safe to call concurrently for the same events; an existing entry is moved forward to
   * `now`, never back. Throws when some could not be recorded, saying how many.
   */
  record(source: string, entries: readonly InboxEntry[], options?: InboxOptions): Promise<void>;
  /** Deletes entries older than `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

export interface Checkpoint {
  scope: string;
  deltaLink: string;
  takenAt: string;
  /** What the link was made for (e.g. a hash of the `$select`); a different one means start over. */
  fingerprint: string | null;
}

/**
 * A delta round under way: its id (the event id of every job it publishes, so a round replayed
 * after a crash publishes the same MessageIds and the broker drops the repeats) and where it
 * started (a delta link, or `full:` and the context fingerprint). A new round from the same start
 * reuses the id; any other start gets a new one, so two full syncs never share their ids.
 */
export interface DeltaRound {
  id: string;
  start: string;
  startedAt: string;
}

export interface CheckpointStore {
  get(scope: string): Promise<Checkpoint | null>;
  put(scope: string, deltaLink: string, takenAt?: Date, fingerprint?: string): Promise<void>;
  delete(scope: string): Promise<void>;
  /** The round under way for `scope`, if one started and did not finish. */
  getRound(scope: string): Promise<DeltaRound | null>;
  putRound(scope: string, round: DeltaRound): Promise<void>;
  /** The round finished (its checkpoint is stored). */
  clearRound(scope: string): Promise<void>;
}

export interface SubscriptionRecord {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  expirationDateTime: string;
  /** The name of the setting that holds the clientState (never the secret itself). */
  clientStateRef: string;
  updatedAt: string;
}

export interface SubscriptionStore {
  list(): Promise<SubscriptionRecord[]>;
  upsert(record: SubscriptionRecord): Promise<void>;
  delete(id: string): Promise<void>;
}

export interface SummaryWriter {
  /**
   * Writes a run summary twice, as `<name>.json` (machine-readable) and `<name>.md` (for a
   * person); returns where each was written.
   */
  write(name: string, json: unknown, markdown: string): Promise<{ jsonBlob: string; markdownBlob: string }>;
}

/**
 * Accounts seen disabled while holding managed licenses, and since when (Graph has no "disabled
 * since" attribute, so the cleanup notes the first day it saw each one).
 */
export interface DisabledAccountStore {
  list(): Promise<Map<string, Date>>;
  mark(userId: string, since: Date): Promise<void>;
  unmark(userId: string): Promise<void>;
}

/**
 * What HR last said about a person: `at`, when HR says it happens (the event's effectiveAt, else
 * its webhook-timestamp), and `statedAt`, when the event was accepted (breaks ties: of two events
 * effective at the same time, the one stated later wins).
 */
export interface LeaverMark {
  state: 'left' | 'rehired';
  at: Date;
  statedAt: Date;
}

/**
 * What HR last said about each person: left (their managed licenses stay off, whatever a
 * notification or a rules change says) or (re)hired. Only a newer HR event replaces a mark, so
 * events that arrive out of order (a hire retried for days, a leave delayed by its grace period)
 * cannot undo a later one.
 */
export interface LeaverStore {
  get(userId: string): Promise<LeaverMark | null>;
  /**
   * Sets the mark unless the stored one is newer (later `at`, then later `statedAt`; a full tie
   * goes to a leave). Returns the mark in force afterwards.
   */
  set(userId: string, mark: LeaverMark): Promise<LeaverMark>;
  /** Every person currently marked as left (read once per bulk run). */
  listLeft(): Promise<Set<string>>;
}

/** Where a held round was counted: the path whose reductions it holds. */
export type GuardPath = 'delta' | 'cleanup' | 'hr' | 'graph';

/** `held` until an admin releases it (its jobs are sent again) or discards it (they are dropped). */
export type HeldRoundState = 'held' | 'released' | 'discarded';

/**
 * A round of reductions the blast-radius guard held (lib/engine/blast-guard.ts): a delta round, a
 * day of cleanup reclaims, or what went over a day's limit of HR leaves or notification-driven
 * changes. Its held jobs ({@link HeldJob}) wait for a deliberate release.
 */
export interface HeldRound {
  id: string;
  path: GuardPath;
  /** The scope counted: the delta round's id, or `<path>-<UTC day>`. */
  scope: string;
  state: HeldRoundState;
  createdAt: string;
  updatedAt: string;
  /** Why it was held, as the records say. */
  reason: string;
  /** The counts when it was held, per SKU. */
  skus: { skuId: string; skuPartNumber: string; reductions: number; holders: number; limit: number }[];
  /** Jobs sent again by the release (released rounds). */
  releasedJobs: number;
}

/** A user's reductions held in a round, with what it takes to send the job again on release. */
export interface HeldJob {
  roundId: string;
  userId: string;
  userPrincipalName: string | null;
  heldAt: string;
  job: {
    source: 'graph' | 'delta' | 'hr' | 'cleanup';
    action: 'reconcile' | 'leave' | 'reclaim';
    eventId: string;
    /** HR's own time of the event (orders HR events); the release keeps it. */
    eventAt: string;
    acceptedAt: string;
  };
  /** The reductions withheld when it was held (for the listing; a release decides afresh). */
  actions: PlanAction[];
}

/** A job counted in a day's scope: allowed, or held in the scope's open round (opened by it or before). */
export interface ScopeTally {
  allowed: boolean;
  roundId: string | null;
  /** This job opened the round (the first held in it). */
  opened: boolean;
  /** The scope's counts per SKU with this job's reductions (what went over, when held). */
  counts: Record<string, number>;
}

/**
 * The blast-radius guard's state, in the checkpoints table: held rounds, the held job of each user,
 * the daily scopes' counts and which jobs were counted.
 */
export interface GuardStore {
  getRound(id: string): Promise<HeldRound | null>;
  /** Creates or replaces a round. */
  putRound(round: HeldRound): Promise<void>;
  /** Every round, newest first. */
  listRounds(): Promise<HeldRound[]>;
  /**
   * Moves a round out of `held` (conditional on it still being held); false when it was not held.
   * A released round may be closed again as released (a release resumed after a failure).
   */
  closeRound(id: string, state: 'released' | 'discarded', at: Date, releasedJobs: number): Promise<boolean>;
  /** Records a user's held job (one per user: a later hold replaces an earlier one). */
  holdJob(job: HeldJob): Promise<void>;
  /** The user's held job, if any. */
  heldJobOf(userId: string): Promise<HeldJob | null>;
  listHeldJobs(roundId: string): Promise<HeldJob[]>;
  /** Forgets a user's held job if it is (still) in `roundId`. */
  dropHeldJob(userId: string, roundId: string): Promise<void>;
  /**
   * Counts a job's reductions in a day's scope, once per job: allowed while `fits` says the counts
   * after it are within the guard's limits; past that, held in the scope's open round (opened when
   * needed: `<scope>`, then `<scope>-2`…). A scope with an open round holds every later reduction.
   */
  tally(
    scope: string,
    jobId: string,
    skuIds: readonly string[],
    fits: (counts: ReadonlyMap<string, number>) => boolean,
    now: Date,
  ): Promise<ScopeTally>;
  /** The scope's open round was released or discarded: the next hold opens a new one. */
  closeScope(scope: string, roundId: string): Promise<void>;
  /** Deletes scope counts and job marks older than `before`, and rounds closed before it. */
  prune(before: Date): Promise<number>;
}

/** A hire HR announced for a later start (`effectiveAt`), remembered for the seat forecast. */
export interface ScheduledHire {
  /**
   * Who, as the job's session id spells it (`upn-<digest>`, `emp-<digest>`): one entry per person,
   * so a hire HR sends again (a new start date) replaces the earlier one.
   */
  personKey: string;
  userPrincipalName: string | null;
  employeeId: string | null;
  effectiveAt: Date;
  /** What HR said of the person (organisational attributes only), to predict their license. */
  attributes: Record<string, string>;
  /** The HR event (webhook-id) that announced it. */
  eventId: string;
  recordedAt: Date;
}

/** Hires HR scheduled for later: the demand side of the seat forecast. */
export interface ScheduledHireStore {
  /** Remembers a hire, replacing an earlier one for the same person. */
  record(hire: ScheduledHire): Promise<void>;
  /** The person will not start (HR sent a leave): forget their scheduled hire, if any. */
  forget(personKey: string): Promise<void>;
  /** Hires starting after `from`, soonest first. */
  listUpcoming(from: Date): Promise<ScheduledHire[]>;
  /** Deletes hires that started before `before`; returns how many. */
  prune(before: Date): Promise<number>;
}
