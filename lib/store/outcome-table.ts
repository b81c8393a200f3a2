/**
 * The outcomes table: one row per recorded decision.
 *
 * Keys: PartitionKey = the user id (through {@link toTableKey}), RowKey = inverted time + `_` +
 * job id. "Query results are sorted by PartitionKey, then by RowKey" ("Querying tables and
 * entities", learn.microsoft.com/rest/api/storageservices/querying-tables-and-entities), so an
 * inverted time makes a user's newest record come first without a sort, and the job id keeps two
 * records of the same millisecond apart.
 *
 * Size budget (Table limits, see table-limits.ts): nine short strings of at most 4,096 UTF-16
 * chars (8 KiB each, 72 KiB) and seven large texts (the five JSON arrays, the error JSON and the
 * payload) of at most 32,000 chars (62.5 KiB each, 437.5 KiB), plus a boolean, a double, a
 * datetime and a few counters: about 0.5 MiB in the worst case, inside the 1 MiB entity limit,
 * with ~25 of the 252 properties allowed.
 */
import { odata, type TableClient, type TableEntity, type TableEntityResult } from '@azure/data-tables';
import type { OutcomeStore } from './ports.js';
import { OUTCOME_KINDS, type OutcomeKind, type OutcomeRecord } from '../licensing/types.js';
import { hasStatus } from './table-errors.js';
import { toTableKey } from './table-keys.js';
import { LARGE_TEXT_CHARS, SHORT_TEXT_CHARS, fitJsonArray, truncateText } from './table-limits.js';
import { deleteMatching } from './table-prune.js';

/** The largest millisecond value a JavaScript Date can hold (ECMA-262 "Time Values"). */
const MAX_TIME_MS = 8.64e15;
/** Digits of {@link MAX_TIME_MS}: every inverted time is padded to this width so it sorts as text. */
const INVERTED_TIME_DIGITS = 16;

/** The array-valued fields of an outcome, stored as JSON text. */
const ARRAY_FIELDS = ['skus', 'licensesBefore', 'licensesAfter', 'actions', 'conflicts'] as const;
type ArrayField = (typeof ARRAY_FIELDS)[number];

/** Row key prefix for a time: later times give smaller strings, so they list first. */
export function invertedTime(ms: number): string {
  const clamped = Math.min(Math.max(Math.trunc(ms), 0), MAX_TIME_MS);
  return String(MAX_TIME_MS - clamped).padStart(INVERTED_TIME_DIGITS, '0');
}

type Row = Record<string, unknown>;

/** {@link OutcomeStore} on an Azure Table (`<prefix>outcomes`). */
export class TableOutcomeStore implements OutcomeStore {
  readonly #client: TableClient;

  /** @param client - a client for the outcomes table (created by `createStorage`). */
  constructor(client: TableClient) {
    this.#client = client;
  }

  /**
   * Inserts one record. Oversized text is truncated with a marker rather than failing the insert.
   * A 409 means this exact row (same user, millisecond and job) is already stored, typically the
   * SDK retrying an insert whose first response was lost, so it counts as recorded.
   */
  async record(outcome: OutcomeRecord): Promise<void> {
    const entity = toEntity(outcome);
    try {
      await this.#client.createEntity(entity);
    } catch (error) {
      if (hasStatus(error, 409)) return;
      throw new Error(
        `Could not record the ${outcome.outcome} outcome of job ${outcome.jobId} for user ${outcome.userId} in table ${this.#client.tableName}`,
        { cause: error },
      );
    }
  }

  /** A user's records, newest first; at most `limit` of them when given. */
  async listByUser(userId: string, options: { limit?: number } = {}): Promise<OutcomeRecord[]> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const records: OutcomeRecord[] = [];
    if (limit <= 0) return records;
    const pages = this.#client
      .listEntities<Row>({ queryOptions: { filter: odata`PartitionKey eq ${toTableKey(userId)}` } })
      // A page holds at most 1,000 entities (Query Timeout and Pagination); ask for no more than needed.
      .byPage({ maxPageSize: Math.min(limit, 1_000) });
    try {
      for await (const page of pages) {
        for (const row of page) {
          records.push(fromEntity(row));
          if (records.length >= limit) return records;
        }
      }
    } catch (error) {
      throw new Error(`Could not list the outcomes of user ${userId}`, { cause: error });
    }
    return records;
  }

  /** Records with `recordedAt` in [from, to), across all users, in no particular order. */
  async *listBetween(from: Date, to?: Date): AsyncIterable<OutcomeRecord> {
    const filter =
      to === undefined ? odata`recordedAt ge ${from}` : odata`recordedAt ge ${from} and recordedAt lt ${to}`;
    try {
      for await (const row of this.#client.listEntities<Row>({ queryOptions: { filter } })) {
        yield fromEntity(row);
      }
    } catch (error) {
      throw new Error(`Could not list outcomes recorded from ${from.toISOString()}`, {
        cause: error,
      });
    }
  }

  /** Deletes records with `recordedAt` before `before`, in per-user transactions of ≤ 100. */
  async prune(before: Date): Promise<number> {
    try {
      return await deleteMatching(this.#client, odata`recordedAt lt ${before}`);
    } catch (error) {
      throw new Error(`Could not prune outcomes recorded before ${before.toISOString()}`, {
        cause: error,
      });
    }
  }
}

function short(value: string): string {
  return truncateText(value, SHORT_TEXT_CHARS);
}

/** The error object as JSON of at most LARGE_TEXT_CHARS, shrinking its texts until it fits. */
function errorJson(error: NonNullable<OutcomeRecord['error']>): string {
  // JSON escaping can grow a string up to six times (control characters), so measure the result.
  for (let budget = 10_000; ; budget = Math.floor(budget / 2)) {
    const json = JSON.stringify({
      code: truncateText(error.code, budget),
      message: truncateText(error.message, budget),
      fix: truncateText(error.fix, budget),
    });
    if (json.length <= LARGE_TEXT_CHARS || budget < 100) return json;
  }
}

function toEntity(outcome: OutcomeRecord): TableEntity<Row> {
  const parsed = Date.parse(outcome.recordedAt);
  const when = Number.isNaN(parsed) ? new Date() : new Date(parsed);
  const entity: TableEntity<Row> = {
    partitionKey: toTableKey(outcome.userId),
    rowKey: `${invertedTime(when.getTime())}_${toTableKey(outcome.jobId)}`,
    userId: short(outcome.userId),
    jobId: short(outcome.jobId),
    correlationId: short(outcome.correlationId),
    source: short(outcome.source),
    outcome: outcome.outcome,
    dryRun: outcome.dryRun,
    // Numbers without a type go over the wire untyped and the service takes integers as Int32;
    // a duration is neither bounded to 32 bits nor always whole, so it is sent as Edm.Double.
    durationMs: { value: String(outcome.durationMs), type: 'Double' },
    // Typed DateTime for range filters; the exact text is kept beside it for a lossless read.
    recordedAt: when,
    recordedAtText: short(outcome.recordedAt),
  };
  // Table storage has no null: an absent property reads back as null.
  if (outcome.userPrincipalName !== null) entity['userPrincipalName'] = short(outcome.userPrincipalName);
  if (outcome.eventId !== null) entity['eventId'] = short(outcome.eventId);
  if (outcome.rule !== null) entity['rule'] = short(outcome.rule);
  if (outcome.retryAt !== null) entity['retryAt'] = short(outcome.retryAt);
  if (outcome.error !== null) entity['error'] = errorJson(outcome.error);
  for (const field of ARRAY_FIELDS) {
    const { json, omitted } = fitJsonArray(outcome[field], LARGE_TEXT_CHARS);
    entity[field] = json;
    if (omitted > 0) entity[`${field}Omitted`] = omitted;
  }
  if (outcome.payload !== undefined) entity['payload'] = truncateText(outcome.payload, LARGE_TEXT_CHARS);
  return entity;
}

function fromEntity(row: TableEntityResult<Row>): OutcomeRecord {
  const where = `outcome row ${row.partitionKey ?? '?'}/${row.rowKey ?? '?'}`;
  const text = (name: string): string => {
    const value = row[name];
    if (typeof value !== 'string') throw new Error(`${where}: property ${name} is missing`);
    return value;
  };
  const optionalText = (name: string): string | null => {
    const value = row[name];
    return typeof value === 'string' ? value : null;
  };
  const array = <T>(name: ArrayField): T[] => {
    const value: unknown = JSON.parse(text(name));
    if (!Array.isArray(value)) throw new Error(`${where}: property ${name} is not a JSON array`);
    return value as T[];
  };
  const outcome = text('outcome');
  if (!isOutcomeKind(outcome)) throw new Error(`${where}: unknown outcome ${outcome}`);
  const errorText = optionalText('error');
  const record: OutcomeRecord = {
    userId: text('userId'),
    userPrincipalName: optionalText('userPrincipalName'),
    jobId: text('jobId'),
    correlationId: text('correlationId'),
    source: text('source'),
    eventId: optionalText('eventId'),
    rule: optionalText('rule'),
    outcome,
    skus: array('skus'),
    licensesBefore: array('licensesBefore'),
    licensesAfter: array('licensesAfter'),
    actions: array('actions'),
    conflicts: array('conflicts'),
    error: errorText === null ? null : (JSON.parse(errorText) as NonNullable<OutcomeRecord['error']>),
    retryAt: optionalText('retryAt'),
    dryRun: row['dryRun'] === true,
    durationMs: Number(row['durationMs']),
    recordedAt: text('recordedAtText'),
  };
  const payload = optionalText('payload');
  if (payload !== null) record.payload = payload;
  return record;
}

function isOutcomeKind(value: string): value is OutcomeKind {
  return (OUTCOME_KINDS as readonly string[]).includes(value);
}
