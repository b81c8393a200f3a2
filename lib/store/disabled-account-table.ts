/**
 * Disabled accounts holding managed licenses, in the checkpoints table under PartitionKey
 * `disabled` (RowKey the user id): small, operational state that, like the delta link, only the
 * timers read. Sharing the table keeps the deployed infrastructure at four tables.
 */
import type { TableClient } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { DisabledAccountStore } from './ports.js';
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
