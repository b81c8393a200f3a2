/**
 * The inbox table: which events intake has already published, so duplicates (which Graph and HR
 * senders both produce) become one job.
 *
 * Keys: PartitionKey = source, RowKey = event id, both through {@link toTableKey} because event
 * ids come from outside and may hold characters Table keys refuse (`/ \ # ?`, control
 * characters); values made only of `[A-Za-z0-9._@-]` are kept as they are, anything else is
 * stored as `~` + base64url (or `!` + SHA-256 when very long). The raw values are kept as
 * properties.
 *
 * Intake checks ({@link TableInboxStore.seen}), publishes, and only then records
 * ({@link TableInboxStore.record}). The inbox is therefore not what stops two concurrent first
 * deliveries from both publishing: their jobs share a deterministic MessageId, and Service Bus
 * duplicate detection drops the second. Recording uses Table storage's own atomicity: Insert
 * Entity fails with 409 (EntityAlreadyExists) when the key exists, and Update Entity with an
 * `If-Match` ETag fails with 412 (UpdateConditionNotSatisfied) when someone changed the row since
 * it was read (learn.microsoft.com/rest/api/storageservices/insert-entity, .../update-entity2);
 * either only means another recorder got there first, which is fine.
 */
import { odata, type TableClient, type TableEntity, type TableEntityResult } from '@azure/data-tables';
import type { InboxStore } from './ports.js';
import { hasStatus } from './table-errors.js';
import { toTableKey } from './table-keys.js';
import { LARGE_TEXT_CHARS, SHORT_TEXT_CHARS, truncateText } from './table-limits.js';
import { deleteMatching } from './table-prune.js';

type InboxRow = Record<string, unknown>;

/** {@link InboxStore} on an Azure Table (`<prefix>inbox`). */
export class TableInboxStore implements InboxStore {
  readonly #client: TableClient;

  /** @param client - a client for the inbox table (created by `createStorage`). */
  constructor(client: TableClient) {
    this.#client = client;
  }

  /**
   * `true` if the event was recorded before (and, with `reacceptAfterMs`, less than that long
   * before `now`). An entry whose time cannot be read counts as old: publishing twice is safer than
   * never. Reads only; `now` defaults to the current time.
   */
  async seen(
    source: string,
    eventId: string,
    options: { reacceptAfterMs?: number; now?: Date } = {},
  ): Promise<boolean> {
    let existing: TableEntityResult<InboxRow> | undefined;
    try {
      existing = await this.#read(toTableKey(source), toTableKey(eventId));
    } catch (error) {
      throw new Error(`Could not look up event ${eventId} from ${source} in the inbox`, { cause: error });
    }
    if (existing === undefined) return false;
    if (options.reacceptAfterMs === undefined) return true;
    const acceptedMs = acceptedMsOf(existing);
    const nowMs = (options.now ?? new Date()).getTime();
    return !Number.isNaN(acceptedMs) && nowMs - acceptedMs < options.reacceptAfterMs;
  }

  /**
   * Records a published event at `now` (default: the current time). An existing entry older than
   * `now` is replaced (a Graph re-accept), conditionally on its ETag; a newer one is kept. Losing a
   * race to another recorder (409, 412) is fine: the entry is there either way.
   */
  async record(
    source: string,
    eventId: string,
    options: { detail?: Record<string, string>; now?: Date } = {},
  ): Promise<void> {
    const now = options.now ?? new Date();
    const entity = toEntity(source, eventId, now, options.detail);
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
      throw new Error(`Could not record event ${eventId} from ${source} in the inbox`, {
        cause: error,
      });
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
): TableEntity<InboxRow> {
  const entity: TableEntity<InboxRow> = {
    partitionKey: toTableKey(source),
    rowKey: toTableKey(eventId),
    source: truncateText(source, SHORT_TEXT_CHARS),
    eventId: truncateText(eventId, SHORT_TEXT_CHARS),
    acceptedAt: now,
  };
  // Informational only (nothing reads it back through the port), so plain truncation is fine.
  if (detail !== undefined) entity['detail'] = truncateText(JSON.stringify(detail), LARGE_TEXT_CHARS);
  return entity;
}
