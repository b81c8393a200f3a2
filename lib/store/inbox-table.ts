/**
 * The inbox table: which events intake has already published, so duplicates (which Graph and HR
 * senders both produce) become one job.
 *
 * Keys. RowKey = the event id, through {@link toTableKey} because event ids come from outside and
 * may hold characters Table keys refuse (`/ \ # ?`, control characters); values made only of
 * `[A-Za-z0-9._@-]` are kept as they are, anything else is stored as `~` + base64url (or `!` +
 * SHA-256 when very long). The raw values are kept as properties. PartitionKey = the source, a
 * spread digit and, for a source with a re-accept window (Graph), the window the entry was
 * recorded in: `graph-2-14561739`, `hr-0`.
 *
 * Why windows: a Graph notification counts as a duplicate only within its re-accept window (2
 * minutes), so only the entries of the current and the previous window can make one. Checking a
 * batch is then a query of those few partitions (a partition query is one request per 1,000
 * entries: learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination) instead of a
 * point read per event: 1,000 point reads and 1,000 inserts kept a batch of Graph's size from
 * being answered within Graph's 3 s (bench/intake.bench.ts, BENCHMARKS.md). Entries of older
 * windows never match again and are pruned with the rest. A query asks only for entries accepted
 * within the window, so the service skips older ones; what it still reads grows with the
 * notifications of the last 2 minutes, not with the batch.
 *
 * Why a spread digit (one of {@link INBOX_SPREAD}, from the event id's SHA-256): a partition is
 * served by one server and is targeted at 2,000 entities per second
 * (learn.microsoft.com/azure/storage/tables/scalability-targets), and keys that only grow (a
 * window number) send every write to the last one. The digit comes first, so each window's
 * entries land in {@link INBOX_SPREAD} key ranges.
 *
 * Intake checks ({@link TableInboxStore.check}), publishes, and only then records
 * ({@link TableInboxStore.record}: entity group transactions of up to 100 entities of one
 * partition, 4 MiB in all: learn.microsoft.com/rest/api/storageservices/
 * performing-entity-group-transactions). The inbox is therefore not what stops two concurrent first
 * deliveries from both publishing: their jobs share a deterministic MessageId, and Service Bus
 * duplicate detection drops the second. Recording uses Table storage's own atomicity: Insert
 * Entity (alone, or in a transaction, which then fails whole) answers 409 (EntityAlreadyExists)
 * when the key exists, and Update Entity with an `If-Match` ETag answers 412
 * (UpdateConditionNotSatisfied) when someone changed the row since it was read
 * (learn.microsoft.com/rest/api/storageservices/insert-entity, .../update-entity2); either only
 * means another recorder got there first, which is fine.
 */
import { createHash } from 'node:crypto';
import {
  odata,
  type TableClient,
  type TableEntity,
  type TableEntityResult,
  type TransactionAction,
} from '@azure/data-tables';
import type { InboxEntry, InboxOptions, InboxStatus, InboxStore } from './ports.js';
import { hasStatus } from './table-errors.js';
import { toTableKey } from './table-keys.js';
import { LARGE_TEXT_CHARS, SHORT_TEXT_CHARS, truncateText } from './table-limits.js';
import { deleteMatching } from './table-prune.js';
import { transactionGroups } from './table-transactions.js';

type InboxRow = Record<string, unknown>;

/** How many partitions each source (and window) is spread over. */
export const INBOX_SPREAD = 4;
/**
 * Inbox reads in flight per process, all requests together (point reads for sources without a
 * window, partition queries for the others).
 */
export const INBOX_READ_CONCURRENCY = 32;
/** Transactions and single-entity writes in flight per process. */
export const INBOX_WRITE_CONCURRENCY = 16;

/** The window an entry recorded at `at` belongs to. */
function windowOf(at: Date, windowMs: number): number {
  return Math.floor(at.getTime() / windowMs);
}

/**
 * The partition of an event: its source, its spread digit and, for a source with a re-accept
 * window, the window number. The parts after the source are all digits, so two sources never
 * share a partition.
 */
export function inboxPartitionKey(source: string, eventId: string, window?: number): string {
  const digest = createHash('sha256').update(eventId, 'utf8').digest();
  const spread = (digest[0] ?? 0) % INBOX_SPREAD;
  const base = `${toTableKey(source)}-${String(spread)}`;
  return window === undefined ? base : `${base}-${String(window)}`;
}

/** {@link InboxStore} on an Azure Table (`<prefix>inbox`). */
export class TableInboxStore implements InboxStore {
  readonly #client: TableClient;
  readonly #reads = concurrencyLimit(INBOX_READ_CONCURRENCY);
  readonly #writes = concurrencyLimit(INBOX_WRITE_CONCURRENCY);

  /** @param client - a client for the inbox table (created by `createStorage`). */
  constructor(client: TableClient) {
    this.#client = client;
  }

  /**
   * The status of every event id given (repeats in the list are looked up once). With a window,
   * one query per partition that can hold a match (the events' spread digits, in the current and
   * the previous window: at most 2 × {@link INBOX_SPREAD}); without, one point read per event. An
   * entry whose time cannot be read counts as expired: publishing twice is safer than never.
   */
  async check(
    source: string,
    eventIds: readonly string[],
    options: InboxOptions = {},
  ): Promise<Map<string, InboxStatus>> {
    const now = options.now ?? new Date();
    const unique = [...new Set(eventIds)];
    const windowMs = options.reacceptAfterMs;
    let found: Map<string, number>;
    try {
      found =
        windowMs === undefined
          ? await this.#readEach(source, unique)
          : await this.#readWindows(
              source,
              unique,
              windowOf(now, windowMs),
              new Date(now.getTime() - windowMs),
            );
    } catch (error) {
      const what = unique.length === 1 ? `event ${unique[0] ?? ''}` : `${String(unique.length)} events`;
      throw new Error(`Could not look up ${what} from ${source} in the inbox`, { cause: error });
    }
    const statuses = new Map<string, InboxStatus>();
    for (const eventId of unique) {
      const acceptedMs = found.get(eventId);
      if (acceptedMs === undefined) statuses.set(eventId, 'new');
      else if (windowMs === undefined) statuses.set(eventId, 'seen');
      else {
        const fresh = !Number.isNaN(acceptedMs) && now.getTime() - acceptedMs < windowMs;
        statuses.set(eventId, fresh ? 'seen' : 'expired');
      }
    }
    return statuses;
  }

  /**
   * Records published events at `now` (default: the current time), in entity group transactions
   * (one partition, at most 100 entities each). If one of a transaction's events exists by then (a
   * concurrent recorder), that transaction's events are recorded one by one instead: an existing
   * entry older than `now` is replaced, conditionally on its ETag; a newer one is kept. Losing a
   * race to another recorder (409, 412) is fine.
   */
  async record(source: string, entries: readonly InboxEntry[], options: InboxOptions = {}): Promise<void> {
    const now = options.now ?? new Date();
    const window = options.reacceptAfterMs === undefined ? undefined : windowOf(now, options.reacceptAfterMs);
    const byEvent = new Map<string, TableEntity<InboxRow>>();
    for (const e of entries) byEvent.set(e.eventId, toEntity(source, e.eventId, now, e.detail, window));

    let failed = 0;
    let firstError: unknown;
    await Promise.all(
      transactionGroups([...byEvent.values()]).map((group) =>
        this.#writes(() => this.#insertGroup(group, now)).catch((error: unknown) => {
          failed += group.length;
          firstError ??= error;
        }),
      ),
    );
    if (failed > 0) {
      throw new Error(
        `Could not record ${String(failed)} of ${String(byEvent.size)} events from ${source} in the inbox`,
        {
          cause: firstError,
        },
      );
    }
  }

  /** Deletes entries recorded before `before`; returns how many. */
  async prune(before: Date): Promise<number> {
    try {
      return await deleteMatching(this.#client, odata`acceptedAt lt ${before}`);
    } catch (error) {
      throw new Error(`Could not prune inbox entries accepted before ${before.toISOString()}`, {
        cause: error,
      });
    }
  }

  /** Point reads, a few at a time: event id → when it was accepted (NaN when unreadable). */
  async #readEach(source: string, eventIds: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    let failure: { error: unknown } | undefined;
    await Promise.all(
      eventIds.map((eventId) =>
        this.#reads(async () => {
          // After one failure the rest are not tried: a failing endpoint must not cost one
          // timeout per event.
          if (failure !== undefined) return;
          try {
            const row = await this.#read(inboxPartitionKey(source, eventId), toTableKey(eventId));
            if (row !== undefined) found.set(eventId, acceptedMsOf(row));
          } catch (error) {
            failure ??= { error };
          }
        }),
      ),
    );
    if (failure !== undefined) throw failure.error;
    return found;
  }

  /**
   * Queries of the partitions of `window` and the one before it that the events' spread digits
   * name, for the entries accepted since `since` (older ones cannot make a duplicate; the service
   * skips them, so they are not sent): event id → the latest time it was accepted.
   */
  async #readWindows(
    source: string,
    eventIds: readonly string[],
    window: number,
    since: Date,
  ): Promise<Map<string, number>> {
    const byRowKey = new Map(eventIds.map((id) => [toTableKey(id), id]));
    const partitions = new Set(
      eventIds.flatMap((id) => [
        inboxPartitionKey(source, id, window),
        inboxPartitionKey(source, id, window - 1),
      ]),
    );
    const found = new Map<string, number>();
    await Promise.all(
      [...partitions].map((partitionKey) =>
        this.#reads(async () => {
          const rows = this.#client.listEntities<InboxRow>({
            queryOptions: {
              filter: odata`PartitionKey eq ${partitionKey} and acceptedAt ge ${since}`,
              select: ['RowKey', 'acceptedAt'],
            },
          });
          for await (const row of rows) {
            const eventId = row.rowKey === undefined ? undefined : byRowKey.get(row.rowKey);
            if (eventId === undefined) continue;
            const acceptedMs = acceptedMsOf(row);
            const before = found.get(eventId);
            if (before === undefined || Number.isNaN(before) || acceptedMs > before)
              found.set(eventId, acceptedMs);
          }
        }),
      ),
    );
    return found;
  }

  /**
   * One transaction of inserts. 409: one of the events was recorded meanwhile, and the transaction
   * wrote nothing; record each on its own (each one then inserts or moves its entry forward).
   */
  async #insertGroup(group: TableEntity<InboxRow>[], now: Date): Promise<void> {
    const [only] = group;
    if (group.length === 1 && only) {
      await this.#recordOne(only, now);
      return;
    }
    try {
      await this.#client.submitTransaction(group.map((entity): TransactionAction => ['create', entity]));
    } catch (error) {
      if (!hasStatus(error, 409)) throw error;
      await Promise.all(group.map((entity) => this.#recordOne(entity, now)));
    }
  }

  /** Insert, or move an older entry forward (never back). */
  async #recordOne(entity: TableEntity<InboxRow>, now: Date): Promise<void> {
    try {
      if (await this.#insert(entity)) return;
      const existing = await this.#read(entity.partitionKey, entity.rowKey);
      // Pruned since the insert failed: insert again (a 409 now means someone else recorded it).
      if (existing === undefined) {
        await this.#insert(entity);
        return;
      }
      const acceptedMs = acceptedMsOf(existing);
      if (!Number.isNaN(acceptedMs) && acceptedMs >= now.getTime()) return;
      await this.#client.updateEntity(entity, 'Replace', { etag: existing.etag });
    } catch (error) {
      // 412: another recorder replaced it first. 404: pruned meanwhile; the event was published,
      // and at worst a later identical delivery publishes once more (an idempotent job).
      if (hasStatus(error, 412) || hasStatus(error, 404)) return;
      throw new Error(`Could not record event ${String(entity['eventId'])} in the inbox`, { cause: error });
    }
  }

  /** The row, or `undefined` when there is none (404). */
  async #read(partitionKey: string, rowKey: string): Promise<TableEntityResult<InboxRow> | undefined> {
    try {
      return await this.#client.getEntity<InboxRow>(partitionKey, rowKey);
    } catch (error) {
      if (hasStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Insert-only: true when created, false when the key already exists (409). */
  async #insert(entity: TableEntity<InboxRow>): Promise<boolean> {
    try {
      await this.#client.createEntity(entity);
      return true;
    } catch (error) {
      if (hasStatus(error, 409)) return false;
      throw error;
    }
  }
}

function acceptedMsOf(row: InboxRow): number {
  const acceptedAt = row['acceptedAt'];
  return acceptedAt instanceof Date ? acceptedAt.getTime() : Number.NaN;
}

function toEntity(
  source: string,
  eventId: string,
  now: Date,
  detail: Record<string, string> | undefined,
  window: number | undefined,
): TableEntity<InboxRow> {
  const entity: TableEntity<InboxRow> = {
    partitionKey: inboxPartitionKey(source, eventId, window),
    rowKey: toTableKey(eventId),
    source: truncateText(source, SHORT_TEXT_CHARS),
    eventId: truncateText(eventId, SHORT_TEXT_CHARS),
    acceptedAt: now,
  };
  // Informational only (nothing reads it back through the port), so plain truncation is fine.
  if (detail !== undefined) entity['detail'] = truncateText(JSON.stringify(detail), LARGE_TEXT_CHARS);
  return entity;
}

/**
 * Runs at most `max` tasks at once, in call order. A finishing task hands its slot straight to
 * the next waiting one, so the limit holds even when new calls arrive meanwhile.
 */
function concurrencyLimit(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active -= 1;
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < max) active += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      release();
    }
  };
}
