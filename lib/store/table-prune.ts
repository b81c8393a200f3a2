/**
 * Deleting every entity that matches a filter, in entity group transactions.
 *
 * "Performing entity group transactions" (learn.microsoft.com/rest/api/storageservices/
 * performing-entity-group-transactions): all entities of one transaction share a PartitionKey,
 * each appears once, and a transaction holds at most 100 entities (4 MiB). Deletes carry only
 * keys, so the size limit is never the constraint; the count and the partition are.
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { hasStatus } from './table-errors.js';
import { MAX_TRANSACTION_ACTIONS } from './table-transactions.js';

/**
 * Deletes every entity of `client`'s table that matches `filter` (an OData expression built with
 * the `odata` template); returns how many were deleted. Rows are streamed, so memory stays flat:
 * the query's continuation token points at the next key, which deleting earlier rows does not
 * move.
 */
export async function deleteMatching(client: TableClient, filter: string): Promise<number> {
  let deleted = 0;
  let partition: string | undefined;
  let batch: TransactionAction[] = [];

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const actions = batch;
    batch = [];
    deleted += await submitDeletes(client, actions);
  };

  const rows = client.listEntities({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } });
  for await (const row of rows) {
    const { partitionKey, rowKey } = row;
    if (partitionKey === undefined || rowKey === undefined) continue;
    if (partitionKey !== partition || batch.length === MAX_TRANSACTION_ACTIONS) {
      await flush();
      partition = partitionKey;
    }
    batch.push(['delete', { partitionKey, rowKey }]);
  }
  await flush();
  return deleted;
}

/**
 * Submits one partition's deletes. If another process deleted one of these rows meanwhile, the
 * whole transaction fails with 404 and nothing is deleted; the rows are then deleted one by one,
 * counting only those this call removed.
 */
async function submitDeletes(client: TableClient, actions: TransactionAction[]): Promise<number> {
  try {
    await client.submitTransaction(actions);
    return actions.length;
  } catch (error) {
    if (!hasStatus(error, 404)) throw error;
  }
  let deleted = 0;
  for (const [, entity] of actions) {
    try {
      await client.deleteEntity(entity.partitionKey, entity.rowKey);
      deleted += 1;
    } catch (error) {
      if (!hasStatus(error, 404)) throw error;
    }
  }
  return deleted;
}
