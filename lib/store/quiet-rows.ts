/**
 * How quiet decisions (../licensing/quiet-decision.ts: final, nothing changed, nothing failed,
 * most of a steady tenant) are kept in the outcomes table: many to a row, so a bulk run of 20,000
 * users writes a few hundred rows in a handful of entity group transactions instead of a request
 * per user. At 20,000 users a row per user kept `apply` waiting on storage for a quarter of its
 * time and grew the CLI by 110 MiB (BENCHMARKS.md, "Steady state").
 *
 * Layout (learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model:
 * a string property holds at most 64 KiB, an entity 1 MiB; performing-entity-group-transactions:
 * a transaction holds up to 100 entities of one partition and 4 MiB):
 * - PartitionKey `$quiet:<run id>`: a run's rows go out together, in transactions;
 * - RowKey `<bucket>|<first job id>[|<n>]`: the bucket is one of 64, from a digest of the user's
 *   key, so one user's quiet decisions are the rows of one RowKey range in each run: what
 *   `history USER` reads (about a 64th of each run's rows);
 * - `recordedAt` (the latest decision of the row) and `quietFrom` (the earliest): pruning and
 *   time-range reads see the row while any of its decisions is in range;
 * - `d0`, `d1`, …: the decisions as one JSON array cut into property-sized pieces, each decision
 *   without the fields every quiet decision shares (restored on read).
 */
import { createHash } from 'node:crypto';
import type { TableEntity, TableEntityResult } from '@azure/data-tables';
import { isQuietDecision } from '../licensing/quiet-decision.js';
import type { OutcomeRecord } from '../licensing/types.js';
import { toTableKey } from './table-keys.js';

type Row = Record<string, unknown>;

export const QUIET_PARTITION_PREFIX = '$quiet:';
/** Rows whose PartitionKey is in [QUIET_PARTITION_PREFIX, QUIET_PARTITION_END) hold quiet decisions. */
export const QUIET_PARTITION_END = '$quiet;';
const BUCKETS = 64;
/** Characters per `dN` property: under 32,767 UTF-16 units (64 KiB). */
const PART_CHARS = 30_000;
/** Parts per row: well under the 1 MiB entity limit even for text outside ASCII. */
const MAX_PARTS = 12;

function quietPartitionOf(runId: string): string {
  return `${QUIET_PARTITION_PREFIX}${toTableKey(runId)}`;
}

/** The bucket of a user: two hex digits, 00 to 3f. */
export function quietBucket(userId: string): string {
  const byte = createHash('sha1').update(toTableKey(userId)).digest()[0] ?? 0;
  return (byte % BUCKETS).toString(16).padStart(2, '0');
}

/** The OData filter for the rows that may hold a user's quiet decisions, in every run. */
export function quietRangeOf(userId: string): { from: string; to: string } {
  const bucket = quietBucket(userId);
  // `}` follows `|`: the range is exactly the rows whose key starts with `<bucket>|`.
  return { from: `${bucket}|`, to: `${bucket}}` };
}

/** What every quiet decision has in common, left out of the row and put back on read. */
type Shared = 'source' | 'phase' | 'dryRun' | 'actions' | 'error' | 'retryAt' | 'held' | 'eventId';
type Compact = Omit<OutcomeRecord, Shared>;

function compact(record: OutcomeRecord): Compact {
  const {
    source: _source,
    phase: _phase,
    dryRun: _dryRun,
    actions: _actions,
    error: _error,
    retryAt: _retryAt,
    held: _held,
    eventId: _eventId,
    ...rest
  } = record;
  return rest;
}

function expand(c: Compact, eventId: string): OutcomeRecord {
  return {
    ...c,
    source: 'cli',
    phase: 'final',
    dryRun: false,
    actions: [],
    error: null,
    retryAt: null,
    eventId,
  };
}

/**
 * The rows for quiet decisions, grouped by run and bucket. Throws on a decision that is not quiet
 * (it would lose its actions or its error).
 */
export function quietRows(records: readonly OutcomeRecord[]): TableEntity<Row>[] {
  const groups = new Map<string, { runId: string; bucket: string; records: OutcomeRecord[] }>();
  for (const r of records) {
    if (!isQuietDecision(r) || r.eventId === null) {
      throw new Error(
        `Only final decisions of a bulk run that changed nothing are recorded in bulk; job ${r.jobId} is ${r.phase} ${r.outcome}`,
      );
    }
    const bucket = quietBucket(r.userId);
    const key = `${r.eventId}\n${bucket}`;
    const group = groups.get(key);
    if (group) group.records.push(r);
    else groups.set(key, { runId: r.eventId, bucket, records: [r] });
  }
  const rows: TableEntity<Row>[] = [];
  for (const { runId, bucket, records: group } of groups.values()) {
    const first = group[0] as OutcomeRecord;
    const base = `${bucket}|${toTableKey(first.jobId)}`;
    let rowIndex = 0;
    let pending: OutcomeRecord[] = [];
    let pendingChars = 2;
    const flush = () => {
      if (pending.length === 0) return;
      rows.push(rowOf(runId, rowIndex === 0 ? base : `${base}|${String(rowIndex)}`, pending));
      rowIndex++;
      pending = [];
      pendingChars = 2;
    };
    for (const r of group) {
      const size = JSON.stringify(compact(r)).length + 1;
      if (pendingChars + size > PART_CHARS * MAX_PARTS) flush();
      pending.push(r);
      pendingChars += size;
    }
    flush();
  }
  return rows;
}

function rowOf(runId: string, rowKey: string, records: OutcomeRecord[]): TableEntity<Row> {
  const times = records.map((r) => Date.parse(r.recordedAt)).filter((t) => !Number.isNaN(t));
  const now = Date.now();
  const json = JSON.stringify(records.map(compact));
  const row: TableEntity<Row> = {
    partitionKey: quietPartitionOf(runId),
    rowKey,
    eventId: runId,
    quietDecisions: records.length,
    // Typed DateTime, like every record's, for the range filters and pruning.
    recordedAt: new Date(times.length > 0 ? Math.max(...times) : now),
    quietFrom: new Date(times.length > 0 ? Math.min(...times) : now),
    parts: Math.ceil(json.length / PART_CHARS),
  };
  for (let i = 0; i * PART_CHARS < json.length; i++) {
    row[`d${String(i)}`] = json.slice(i * PART_CHARS, (i + 1) * PART_CHARS);
  }
  return row;
}

export function isQuietRow(row: TableEntityResult<Row>): boolean {
  const pk = row.partitionKey ?? '';
  return pk >= QUIET_PARTITION_PREFIX && pk < QUIET_PARTITION_END;
}

/** The decisions of a quiet row. */
export function decisionsOf(row: TableEntityResult<Row>): OutcomeRecord[] {
  const where = `quiet row ${row.partitionKey ?? '?'}/${row.rowKey ?? '?'}`;
  const parts = row['parts'];
  const eventId = row['eventId'];
  if (typeof parts !== 'number' || typeof eventId !== 'string') {
    throw new Error(`${where}: properties parts and eventId are missing`);
  }
  let json = '';
  for (let i = 0; i < parts; i++) {
    const part = row[`d${String(i)}`];
    if (typeof part !== 'string') throw new Error(`${where}: property d${String(i)} is missing`);
    json += part;
  }
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error(`${where}: the decisions are not a JSON array`);
  return (parsed as Compact[]).map((c) => expand(c, eventId));
}
