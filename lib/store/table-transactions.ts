/**
 * Entity group transactions ("Performing entity group transactions",
 * learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions): all entities
 * of one transaction share a PartitionKey, each appears once, and a transaction holds at most 100
 * operations and 4 MiB.
 */
import type { TableEntity } from '@azure/data-tables';

/** The most operations one entity group transaction may hold. */
export const MAX_TRANSACTION_ACTIONS = 100;
/** Stay well under the 4 MiB limit: entities may carry up to 64 KiB a property. */
const TRANSACTION_BUDGET_BYTES = 2 * 1024 * 1024;
/** Room for a transaction operation's own headers in the multipart body. */
const OPERATION_OVERHEAD_BYTES = 512;

/** Groups entities into transactions: one partition each, at most 100 entities and 2 MiB. */
export function transactionGroups<T extends object>(entities: readonly TableEntity<T>[]): TableEntity<T>[][] {
  const byPartition = new Map<string, TableEntity<T>[]>();
  for (const e of entities) {
    const list = byPartition.get(e.partitionKey);
    if (list) list.push(e);
    else byPartition.set(e.partitionKey, [e]);
  }
  const groups: TableEntity<T>[][] = [];
  for (const list of byPartition.values()) {
    let group: TableEntity<T>[] = [];
    let bytes = 0;
    for (const entity of list) {
      // A UTF-16 code unit takes at most 3 bytes in the UTF-8 request body.
      const size = JSON.stringify(entity).length * 3 + OPERATION_OVERHEAD_BYTES;
      const full = group.length === MAX_TRANSACTION_ACTIONS || bytes + size > TRANSACTION_BUDGET_BYTES;
      if (group.length > 0 && full) {
        groups.push(group);
        group = [];
        bytes = 0;
      }
      group.push(entity);
      bytes += size;
    }
    if (group.length > 0) groups.push(group);
  }
  return groups;
}
