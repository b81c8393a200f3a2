/**
 * The inbox table: which events intake has already accepted, so duplicates (which Graph and HR
 * senders both produce) become one job.
 *
 * Keys: PartitionKey = source, RowKey = event id, both through {@link toTableKey} because event
 * ids come from outside and may hold characters Table keys refuse (`/ \ # ?`, control
 * characters); values made only of `[A-Za-z0-9._@-]` are kept as they are, anything else is
 * stored as `~` + base64url (or `!` + SHA-256 when very long). The raw values are kept as
 * properties.
 *
 * Dedupe relies on Table storage's own atomicity: Insert Entity fails with 409
 * (EntityAlreadyExists) when the key exists, and Update Entity with an `If-Match` ETag fails with
 * 412 (UpdateConditionNotSatisfied) when someone changed the row since it was read
 * (learn.microsoft.com/rest/api/storageservices/insert-entity, .../update-entity2). No
 * read-then-write race can make two callers both win.
 */
import { odata, type TableClient, type TableEntity } from '@azure/data-tables';
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
   * `true` if this call is the one that accepted the event, `false` if it was accepted before.
   * With `reacceptAfterMs`, an entry at least that old is replaced (ETag-conditional, so of
   * several concurrent callers exactly one gets `true`). `now` defaults to the current time.
   */
  async accept(
    source: string,
    eventId: string,
    options: { reacceptAfterMs?: number; detail?: Record<string, string>; now?: Date } = {},
  ): Promise<boolean> {
    const now = options.now ?? new Date();
    const entity = toEntity(source, eventId, now, options.detail);
    try {
      if (await this.#insert(entity)) return true;
      if (options.reacceptAfterMs === undefined) return false;
      return await this.#reaccept(entity, now, options.reacceptAfterMs);
    } catch (error) {
      throw new Error(`Could not record event ${eventId} from ${source} in the inbox`, {
        cause: error,
      });
    }
  }

  /** Forgets an event so the sender's retry is accepted again; forgetting an unknown one is fine. */
  async forget(source: string, eventId: string): Promise<void> {
    try {
      await this.#client.deleteEntity(toTableKey(source), toTableKey(eventId));
    } catch (error) {
      if (hasStatus(error, 404)) return;
      throw new Error(`Could not forget event ${eventId} from ${source}`, { cause: error });
    }
  }

  /** Deletes entries accepted before `before`; returns how many. */
  async prune(before: Date): Promise<number> {
    try {
      return await deleteMatching(this.#client, odata`acceptedAt lt ${before}`);
    } catch (error) {
      throw new Error(`Could not prune inbox entries accepted before ${before.toISOString()}`, {
        cause: error,
      });
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

  /** Replaces an entry older than the window, conditionally on the ETag that was read. */
  async #reaccept(entity: TableEntity<InboxRow>, now: Date, windowMs: number): Promise<boolean> {
    let existing;
    try {
      existing = await this.#client.getEntity<InboxRow>(entity.partitionKey, entity.rowKey);
    } catch (error) {
      // Forgotten or pruned since our insert failed: the insert decides again.
      if (hasStatus(error, 404)) return this.#insert(entity);
      throw error;
    }
    const acceptedAt = existing['acceptedAt'];
    const acceptedMs = acceptedAt instanceof Date ? acceptedAt.getTime() : Number.NaN;
    // An entry whose time cannot be read is treated as old: accepting twice is safer than never.
    if (!Number.isNaN(acceptedMs) && now.getTime() - acceptedMs < windowMs) return false;
    try {
      await this.#client.updateEntity(entity, 'Replace', { etag: existing.etag });
      return true;
    } catch (error) {
      // 412: another caller replaced it first and won. 404: it was deleted meanwhile.
      if (hasStatus(error, 412)) return false;
      if (hasStatus(error, 404)) return this.#insert(entity);
      throw error;
    }
  }
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
