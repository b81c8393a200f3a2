/**
 * The subscriptions table: the Graph change-notification subscriptions this app created
 * (PartitionKey `graph`, RowKey the subscription id), so the renewal timer knows what to renew.
 * The clientState secret itself is never stored, only the name of the setting that holds it.
 */
import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import type { SubscriptionRecord, SubscriptionStore } from './ports.js';
import { hasStatus } from './table-errors.js';
import { toTableKey } from './table-keys.js';

const PARTITION = 'graph';

/** The record's fields, all strings, in one place for writing and reading. */
const FIELDS = [
  'id',
  'resource',
  'changeType',
  'notificationUrl',
  'expirationDateTime',
  'clientStateRef',
  'updatedAt',
] as const satisfies readonly (keyof SubscriptionRecord)[];

/** {@link SubscriptionStore} on an Azure Table (`<prefix>subscriptions`). */
export class TableSubscriptionStore implements SubscriptionStore {
  readonly #client: TableClient;

  /** @param client - a client for the subscriptions table (created by `createStorage`). */
  constructor(client: TableClient) {
    this.#client = client;
  }

  /** Every stored subscription, in id order. */
  async list(): Promise<SubscriptionRecord[]> {
    const records: SubscriptionRecord[] = [];
    try {
      const rows = this.#client.listEntities({
        queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` },
      });
      for await (const row of rows) records.push(fromEntity(row));
    } catch (error) {
      throw new Error(`Could not list subscriptions in ${this.#client.tableName}`, { cause: error });
    }
    return records;
  }

  /** Inserts or replaces the record with this id. */
  async upsert(record: SubscriptionRecord): Promise<void> {
    const entity = { partitionKey: PARTITION, rowKey: toTableKey(record.id), ...pick(record) };
    try {
      await this.#client.upsertEntity(entity, 'Replace');
    } catch (error) {
      throw new Error(`Could not store subscription ${record.id}`, { cause: error });
    }
  }

  /** Removes the record with this id; absent is fine. */
  async delete(id: string): Promise<void> {
    try {
      await this.#client.deleteEntity(PARTITION, toTableKey(id));
    } catch (error) {
      if (hasStatus(error, 404)) return;
      throw new Error(`Could not delete subscription ${id}`, { cause: error });
    }
  }
}

/** Only the record's own fields: a caller's extra properties must not reach the table. */
function pick(record: SubscriptionRecord): SubscriptionRecord {
  const out = {} as Record<(typeof FIELDS)[number], string>;
  for (const field of FIELDS) out[field] = record[field];
  return out;
}

function fromEntity(row: TableEntityResult<Record<string, unknown>>): SubscriptionRecord {
  const out = {} as Record<(typeof FIELDS)[number], string>;
  for (const field of FIELDS) {
    const value = row[field];
    if (typeof value !== 'string') {
      throw new Error(`Subscription row ${row.rowKey ?? '?'}: property ${field} is missing`);
    }
    out[field] = value;
  }
  return out;
}
