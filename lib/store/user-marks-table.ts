/**
 * Per-user operational marks in the checkpoints table: disabled accounts holding managed licenses
 * (PartitionKey `disabled`) and people who left (PartitionKey `leavers`), RowKey the user id.
 * Small state that, like the delta link, only the app reads; sharing the table keeps the deployed
 * infrastructure at four tables.
 */
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { DisabledAccountStore, LeaverStore } from './ports.js';
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

/**
 * {@link LeaverStore} on the checkpoints table, PartitionKey `leavers`, RowKey the user id. A row
 * is `state: leaver` or `state: rehired` (kept, with its time, so a delayed leave accepted before
 * the rehire can tell it was superseded).
 */
export class TableLeaverStore implements LeaverStore {
  readonly #client: TableClient;

  constructor(client: TableClient) {
    this.#client = client;
  }

  async #row(userId: string): Promise<{ state: string; at: Date } | null> {
    try {
      const row = await this.#client.getEntity<{ state?: string; at?: Date }>(LEAVERS, toTableKey(userId));
      return { state: row.state ?? 'leaver', at: row.at instanceof Date ? row.at : new Date(0) };
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw new Error(`Could not read the leaver mark of ${userId}`, { cause: error });
    }
  }

  async has(userId: string): Promise<boolean> {
    return (await this.#row(userId))?.state === 'leaver';
  }

  async rehiredSince(userId: string, since: Date): Promise<boolean> {
    const row = await this.#row(userId);
    return row?.state === 'rehired' && row.at.getTime() >= since.getTime();
  }

  async mark(userId: string, at: Date): Promise<void> {
    await this.#client.upsertEntity(
      { partitionKey: LEAVERS, rowKey: toTableKey(userId), userId, state: 'leaver', at },
      'Replace',
    );
  }

  async clear(userId: string, at: Date = new Date()): Promise<void> {
    await this.#client.upsertEntity(
      { partitionKey: LEAVERS, rowKey: toTableKey(userId), userId, state: 'rehired', at },
      'Replace',
    );
  }
}
