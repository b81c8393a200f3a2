/**
 * Per-user operational marks in the checkpoints table: disabled accounts holding managed licenses
 * (PartitionKey `disabled`) and people who left (PartitionKey `leavers`), RowKey the user id.
 * Small state that, like the delta link, only the app reads; sharing the table keeps the deployed
 * infrastructure at four tables.
 */
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { isNewerMark } from './leaver-order.js';
import type { DisabledAccountStore, LeaverMark, LeaverStore } from './ports.js';
import { hasStatus } from './table-errors.js';
import { toTableKey } from './table-keys.js';

const PARTITION = 'disabled';

/** {@link DisabledAccountStore} on the checkpoints table. */
export class TableDisabledAccountStore implements DisabledAccountStore {
  readonly #client: TableClient;

  constructor(client: TableClient) {
    this.#client = client;
  }

  async list(): Promise<Map<string, Date>> {
    const out = new Map<string, Date>();
    const rows = this.#client.listEntities<{ userId: string; since: Date }>({
      queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` },
    });
    for await (const row of rows) {
      if (typeof row.userId === 'string' && row.since instanceof Date) out.set(row.userId, row.since);
    }
    return out;
  }

  async mark(userId: string, since: Date): Promise<void> {
    await this.#client.upsertEntity(
      { partitionKey: PARTITION, rowKey: toTableKey(userId), userId, since },
      'Replace',
    );
  }

  async unmark(userId: string): Promise<void> {
    try {
      await this.#client.deleteEntity(PARTITION, toTableKey(userId));
    } catch (error) {
      if (!hasStatus(error, 404))
        throw new Error(`Could not forget disabled account ${userId}`, { cause: error });
    }
  }
}

const LEAVERS = 'leavers';

type MarkRow = { userId?: string; state?: string; at?: Date; statedAt?: Date };

/** How many times a conditional write is tried when another writer gets in between. */
const MAX_CONDITIONAL_TRIES = 25;

/**
 * {@link LeaverStore} on the checkpoints table, PartitionKey `leavers`, RowKey the user id, one row
 * per person: `state` (`left` or `rehired`; rows from before this field's values used `leaver`)
 * and `at`, the HR event's time. Writes are conditional on the row's ETag, so two jobs for the same
 * person racing (a hire retried by the queue, a leave from another delivery) cannot let the older
 * event win.
 */
export class TableLeaverStore implements LeaverStore {
  readonly #client: TableClient;

  constructor(client: TableClient) {
    this.#client = client;
  }

  async #read(userId: string): Promise<{ mark: LeaverMark; etag: string } | null> {
    try {
      const row = await this.#client.getEntity<MarkRow>(LEAVERS, toTableKey(userId));
      return { mark: toMark(row), etag: row.etag };
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw new Error(`Could not read the leaver mark of ${userId}`, { cause: error });
    }
  }

  async get(userId: string): Promise<LeaverMark | null> {
    return (await this.#read(userId))?.mark ?? null;
  }

  async set(userId: string, mark: LeaverMark): Promise<LeaverMark> {
    const entity = {
      partitionKey: LEAVERS,
      rowKey: toTableKey(userId),
      userId,
      state: mark.state,
      at: mark.at,
      statedAt: mark.statedAt,
    };
    for (let tries = 1; ; tries++) {
      const current = await this.#read(userId);
      if (current !== null && !isNewerMark(mark, current.mark)) return current.mark;
      try {
        if (current === null) await this.#client.createEntity(entity);
        else await this.#client.updateEntity(entity, 'Replace', { etag: current.etag });
        return mark;
      } catch (error) {
        // 409: created meanwhile; 412: changed meanwhile. Read again and decide again.
        const raced = hasStatus(error, 409) || hasStatus(error, 412);
        if (!raced || tries >= MAX_CONDITIONAL_TRIES)
          throw new Error(`Could not write the leaver mark of ${userId}`, { cause: error });
        // Writers racing for the same row take turns: a short, growing, jittered pause.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * tries));
      }
    }
  }

  async listLeft(): Promise<Set<string>> {
    const out = new Set<string>();
    const rows = this.#client.listEntities<MarkRow>({
      queryOptions: {
        filter: odata`PartitionKey eq ${LEAVERS}`,
        select: ['userId', 'state', 'at', 'statedAt'],
      },
    });
    try {
      for await (const row of rows) {
        if (typeof row.userId === 'string' && toMark(row).state === 'left') out.add(row.userId);
      }
    } catch (error) {
      throw new Error('Could not list the leaver marks', { cause: error });
    }
    return out;
  }
}

function toMark(row: MarkRow): LeaverMark {
  const at = row.at instanceof Date ? row.at : new Date(0);
  return {
    state: row.state === 'rehired' ? 'rehired' : 'left',
    at,
    // Rows from before statedAt existed were written when the event was processed.
    statedAt: row.statedAt instanceof Date ? row.statedAt : at,
  };
}
