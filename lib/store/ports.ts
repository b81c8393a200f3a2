/**
 * Storage ports. Adapters on @azure/data-tables live beside this file; tests run them on Azurite.
 */
import type { OutcomeRecord } from '../licensing/types.js';

export interface OutcomeStore {
  /** Inserts one record (PK user id, RK inverted time + job id). */
  record(outcome: OutcomeRecord): Promise<void>;
  /** Newest first. */
  listByUser(userId: string, options?: { limit?: number }): Promise<OutcomeRecord[]>;
  /** Records with recordedAt in [from, to), any user, in no particular order. */
  listBetween(from: Date, to?: Date): AsyncIterable<OutcomeRecord>;
  /** Deletes records older than `before`; returns how many. */
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

export interface CheckpointStore {
  get(scope: string): Promise<Checkpoint | null>;
  put(scope: string, deltaLink: string, takenAt?: Date, fingerprint?: string): Promise<void>;
  delete(scope: string): Promise<void>;
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
 * People an HR `leave` was carried out for. A later notification or delta round for them (their
 * own license removal is a change) must not license them again by the rules; an HR hire or update
 * clears the mark.
 */
export interface LeaverStore {
  has(userId: string): Promise<boolean>;
  mark(userId: string, at: Date): Promise<void>;
  /** HR says the person is (back) in: no longer a leaver; the time is kept (see rehiredSince). */
  clear(userId: string, at?: Date): Promise<void>;
  /** Whether HR said the person is in at or after `since` (a leave accepted before is superseded). */
  rehiredSince(userId: string, since: Date): Promise<boolean>;
}
