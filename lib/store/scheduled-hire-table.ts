/**
 * Scheduled hires in the checkpoints table, PartitionKey `hires`, RowKey the person key (a digest,
 * never a UPN): small operational state like the leaver marks beside it, so the deployment keeps
 * its four tables. The UPN and employeeId are properties (the forecast looks the person up by
 * them); the table is access-controlled like the outcomes table.
 */
import { odata, type TableClient } from '@azure/data-tables';
import type { ScheduledHire, ScheduledHireStore } from './ports.js';
import { hasStatus } from './table-errors.js';
import { toTableKey } from './table-keys.js';
import { deleteMatching } from './table-prune.js';

const PARTITION = 'hires';

/** The attributes kept with a hire: a table property holds 64 KiB; HR's summary needs far less. */
const MAX_ATTRIBUTES_CHARS = 4_096;

interface HireEntity {
  personKey?: string;
  userPrincipalName?: string;
  employeeId?: string;
  effectiveAt?: Date;
  attributes?: string;
  eventId?: string;
  recordedAt?: Date;
}

function parseAttributes(text: string | undefined): Record<string, string> {
  if (text === undefined) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    return Object.fromEntries(
      Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return {};
  }
}

/** {@link ScheduledHireStore} on the checkpoints table. */
export class TableScheduledHireStore implements ScheduledHireStore {
  readonly #client: TableClient;

  constructor(client: TableClient) {
    this.#client = client;
  }

  async record(hire: ScheduledHire): Promise<void> {
    const attributes = JSON.stringify(hire.attributes);
    await this.#client.upsertEntity(
      {
        partitionKey: PARTITION,
        rowKey: toTableKey(hire.personKey),
        personKey: hire.personKey,
        ...(hire.userPrincipalName === null ? {} : { userPrincipalName: hire.userPrincipalName }),
        ...(hire.employeeId === null ? {} : { employeeId: hire.employeeId }),
        effectiveAt: hire.effectiveAt,
        // Cut at a key boundary would break the JSON; an oversized summary is dropped whole.
        attributes: attributes.length <= MAX_ATTRIBUTES_CHARS ? attributes : '{}',
        eventId: hire.eventId,
        recordedAt: hire.recordedAt,
      },
      'Replace',
    );
  }

  async forget(personKey: string): Promise<void> {
    try {
      await this.#client.deleteEntity(PARTITION, toTableKey(personKey));
    } catch (error) {
      if (!hasStatus(error, 404)) throw new Error('Could not forget a scheduled hire', { cause: error });
    }
  }

  async listUpcoming(from: Date): Promise<ScheduledHire[]> {
    const rows = this.#client.listEntities<HireEntity>({
      queryOptions: { filter: odata`PartitionKey eq ${PARTITION} and effectiveAt gt ${from}` },
    });
    const hires: ScheduledHire[] = [];
    for await (const row of rows) {
      if (!(row.effectiveAt instanceof Date) || typeof row.personKey !== 'string') continue;
      hires.push({
        personKey: row.personKey,
        userPrincipalName: row.userPrincipalName ?? null,
        employeeId: row.employeeId ?? null,
        effectiveAt: row.effectiveAt,
        attributes: parseAttributes(row.attributes),
        eventId: row.eventId ?? '',
        recordedAt: row.recordedAt instanceof Date ? row.recordedAt : row.effectiveAt,
      });
    }
    return hires.sort((a, b) => a.effectiveAt.getTime() - b.effectiveAt.getTime());
  }

  prune(before: Date): Promise<number> {
    return deleteMatching(this.#client, odata`PartitionKey eq ${PARTITION} and effectiveAt lt ${before}`);
  }
}
