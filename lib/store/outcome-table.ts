/**
 * The outcomes table: one row per recorded decision.
 *
 * Keys: PartitionKey = the user id (through {@link toTableKey}), RowKey = the job's inverted
 * acceptance time + `_` + job id, and for an attempt record `_a` + the attempt number. "Query
 * results are sorted by PartitionKey, then by RowKey" ("Querying tables and entities",
 * learn.microsoft.com/rest/api/storageservices/querying-tables-and-entities), so an inverted time
 * makes a user's newest job come first without a sort. The keys depend only on the job, never on
 * when the row is written: a job's pending and final record are the same row, a duplicate
 * delivery or a rerun overwrites it (writes are upserts) instead of adding one, and a user's
 * history holds exactly one final record per job.
 *
 * Pending records are also listed in an index partition ({@link PENDING_PARTITION}), so a run that
 * starts after a crash finds the jobs whose story is unfinished without scanning the table.
 *
 * Size budget (Table limits, see table-limits.ts): eleven short strings of at most 4,096 UTF-16
 * chars (8 KiB each, 88 KiB) and nine large texts (the five JSON arrays, the error JSON, the
 * payload, the licenses before as Graph gave them, the actions the guard held) of at most 32,000
 * chars (62.5 KiB each, 562.5 KiB), plus a boolean, a double, a datetime, the policy and a few
 * counters: about 0.65 MiB in the worst case, inside the 1 MiB entity limit, with ~30 of the 252
 * properties allowed.
 *
 * A CLI run's changes are also listed in an index partition per run ({@link runPartition}), which
 * is what `revert RUN_ID` reads.
 */
import {
  odata,
  type TableClient,
  type TableEntity,
  type TableEntityResult,
  type TransactionAction,
} from '@azure/data-tables';
import type { OutcomeStore } from './ports.js';
import {
  OUTCOME_KINDS,
  OUTCOME_PHASES,
  OUTCOME_POLICIES,
  type OutcomeKind,
  type OutcomePhase,
  type OutcomePolicy,
  type OutcomeRecord,
  type OutcomeSource,
  type PlanAction,
} from '../licensing/types.js';
import type { AssignedLicense } from '../graph/types.js';
import { JOB_SOURCES } from '../queue/job.js';
import { hasStatus } from './table-errors.js';
import { toTableKey } from './table-keys.js';
import { LARGE_TEXT_CHARS, SHORT_TEXT_CHARS, fitJsonArray, truncateText } from './table-limits.js';
import { deleteMatching } from './table-prune.js';
import { transactionGroups } from './table-transactions.js';
import {
  QUIET_PARTITION_END,
  QUIET_PARTITION_PREFIX,
  decisionsOf,
  isQuietRow,
  quietRangeOf,
  quietRows,
} from './quiet-rows.js';

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

/**
 * The index of pending records. `$` is outside the plain key alphabet and not one of the markers
 * of encoded keys (see table-keys.ts), so no user's partition can have this name.
 */
export const PENDING_PARTITION = '$pending';

/**
 * The index of the users a CLI run changed (`$run:<run id>`, RowKey the user's partition and row
 * key): what `revert RUN_ID` reads, without scanning the table for the run's event id.
 */
export function runPartition(runId: string): string {
  return `$run:${toTableKey(runId)}`;
}

/** Records a run's index lists: the changes of a CLI run (what a revert would undo). */
function indexedInRun(outcome: OutcomeRecord): outcome is OutcomeRecord & { eventId: string } {
  return (
    outcome.source === 'cli' &&
    outcome.phase === 'final' &&
    !outcome.dryRun &&
    outcome.eventId !== null &&
    outcome.actions.length > 0
  );
}

/** The RowKey of a job's pending/final row. */
export function jobRowKey(acceptedAt: string, jobId: string): string {
  const parsed = Date.parse(acceptedAt);
  return `${invertedTime(Number.isNaN(parsed) ? 0 : parsed)}_${toTableKey(jobId)}`;
}

function rowKeyOf(outcome: OutcomeRecord): string {
  const job = jobRowKey(outcome.acceptedAt, outcome.jobId);
  return outcome.phase === 'attempt' ? `${job}_a${String(outcome.attempt).padStart(4, '0')}` : job;
}

function pendingIndexKey(partitionKey: string, rowKey: string): string {
  return `${partitionKey}|${rowKey}`;
}

/** {@link OutcomeStore} on an Azure Table (`<prefix>outcomes`). */
export class TableOutcomeStore implements OutcomeStore {
  readonly #client: TableClient;

  /** @param client - a client for the outcomes table (created by `createStorage`). */
  constructor(client: TableClient) {
    this.#client = client;
  }

  /**
   * Writes one record under its job's key (upsert: a repeat lands on the same row). Oversized
   * text is truncated with a marker rather than failing the write. A pending record is also
   * entered in the pending index; a final one leaves it when `clearPending` says the job had one.
   */
  async record(outcome: OutcomeRecord, options: { clearPending?: boolean } = {}): Promise<void> {
    const entity = toEntity(outcome);
    const index = pendingIndexKey(entity.partitionKey, entity.rowKey);
    try {
      if (outcome.phase === 'pending') {
        // The index first: an index entry without its row is skipped by the sweep; a pending row
        // without an index entry would be found only by its own job.
        await this.#client.upsertEntity(
          {
            partitionKey: PENDING_PARTITION,
            rowKey: toTableKey(index),
            pk: entity.partitionKey,
            rk: entity.rowKey,
            source: outcome.source,
            since: new Date(outcome.recordedAt),
          },
          'Replace',
        );
      }
      await this.#client.upsertEntity(entity, 'Replace');
      if (indexedInRun(outcome)) {
        await this.#client.upsertEntity(
          {
            partitionKey: runPartition(outcome.eventId),
            rowKey: toTableKey(index),
            pk: entity.partitionKey,
            rk: entity.rowKey,
            // Pruned with the records (`indexedAt`, not `recordedAt`: listBetween reads records only).
            indexedAt: entity['recordedAt'],
          },
          'Replace',
        );
      }
      if (outcome.phase === 'final' && options.clearPending === true) {
        await this.#client.deleteEntity(PENDING_PARTITION, toTableKey(index)).catch((error: unknown) => {
          if (!hasStatus(error, 404)) throw error;
        });
      }
    } catch (error) {
      throw new Error(
        `Could not record the ${outcome.phase} ${outcome.outcome} outcome of job ${outcome.jobId} for user ${outcome.userId} in table ${this.#client.tableName}`,
        { cause: error },
      );
    }
  }

  /**
   * Writes quiet decisions (final, nothing changed, nothing failed) many to a row (./quiet-rows.ts)
   * in entity group transactions: a few requests per thousand users instead of one per user.
   * Upserts, so a repeat lands on the same rows.
   */
  async recordQuiet(outcomes: readonly OutcomeRecord[]): Promise<void> {
    // A decision that is not quiet is refused before anything is written.
    const groups = transactionGroups(quietRows(outcomes));
    try {
      // One partition per run: its transactions go out one after another.
      for (const group of groups) {
        await this.#client.submitTransaction(group.map((e): TransactionAction => ['upsert', e, 'Replace']));
      }
    } catch (error) {
      throw new Error(
        `Could not record ${String(outcomes.length)} unchanged decision(s) in table ${this.#client.tableName}`,
        { cause: error },
      );
    }
  }

  /** The pending or final record of a job (one row per job), or null when there is none yet. */
  async findJob(userId: string, acceptedAt: string, jobId: string): Promise<OutcomeRecord | null> {
    try {
      const row = await this.#client.getEntity<Row>(toTableKey(userId), jobRowKey(acceptedAt, jobId));
      return fromEntity(row);
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw new Error(`Could not read the record of job ${jobId} for user ${userId}`, { cause: error });
    }
  }

  async withdrawPending(userId: string, acceptedAt: string, jobId: string): Promise<void> {
    const pk = toTableKey(userId);
    const rk = jobRowKey(acceptedAt, jobId);
    try {
      const row = await this.#client.getEntity<Row>(pk, rk);
      if (row['phase'] === 'pending') await this.#client.deleteEntity(pk, rk, { etag: row.etag });
      await this.#client.deleteEntity(PENDING_PARTITION, toTableKey(pendingIndexKey(pk, rk)));
    } catch (error) {
      // Gone already, or completed meanwhile (412): either way nothing pending is left to withdraw.
      if (hasStatus(error, 404) || hasStatus(error, 412)) return;
      throw new Error(`Could not withdraw the pending record of job ${jobId} for user ${userId}`, {
        cause: error,
      });
    }
  }

  /**
   * Pending records (jobs that wrote their intent and have no final record yet), oldest first,
   * optionally only those of one source or begun before a time. An index entry whose row has
   * meanwhile become final is dropped on the way.
   */
  async *listPending(options: { source?: string; before?: Date } = {}): AsyncIterable<OutcomeRecord> {
    const filters = [odata`PartitionKey eq ${PENDING_PARTITION}`];
    if (options.source !== undefined) filters.push(odata`source eq ${options.source}`);
    if (options.before !== undefined) filters.push(odata`since lt ${options.before}`);
    const entries: { pk: string; rk: string; rowKey: string; since: number }[] = [];
    try {
      for await (const row of this.#client.listEntities<Row>({
        queryOptions: { filter: filters.join(' and ') },
      })) {
        const pk = row['pk'];
        const rk = row['rk'];
        const since = row['since'];
        if (typeof pk !== 'string' || typeof rk !== 'string' || row.rowKey === undefined) continue;
        entries.push({ pk, rk, rowKey: row.rowKey, since: since instanceof Date ? since.getTime() : 0 });
      }
    } catch (error) {
      throw new Error('Could not list pending outcome records', { cause: error });
    }
    entries.sort((a, b) => a.since - b.since);
    for (const entry of entries) {
      let record: OutcomeRecord | null = null;
      try {
        record = fromEntity(await this.#client.getEntity<Row>(entry.pk, entry.rk));
      } catch (error) {
        if (!hasStatus(error, 404))
          throw new Error('Could not read a pending outcome record', { cause: error });
      }
      if (record?.phase === 'pending') {
        yield record;
        continue;
      }
      // Completed (or gone) since the entry was written: the index entry is stale.
      await this.#client.deleteEntity(PENDING_PARTITION, entry.rowKey).catch(() => undefined);
    }
  }

  /**
   * The final records of the users a CLI run changed (`eventId` = the run id), in no particular
   * order; empty for an unknown run.
   */
  async *listRun(runId: string): AsyncIterable<OutcomeRecord> {
    const entries: { pk: string; rk: string }[] = [];
    try {
      for await (const row of this.#client.listEntities<Row>({
        queryOptions: { filter: odata`PartitionKey eq ${runPartition(runId)}` },
      })) {
        const { pk, rk } = row;
        if (typeof pk === 'string' && typeof rk === 'string') entries.push({ pk, rk });
      }
      for (const { pk, rk } of entries) {
        try {
          yield fromEntity(await this.#client.getEntity<Row>(pk, rk));
        } catch (error) {
          // Pruned since: the record is gone, and so is what a revert would need.
          if (!hasStatus(error, 404)) throw error;
        }
      }
    } catch (error) {
      throw new Error(`Could not list the changes of run ${runId}`, { cause: error });
    }
  }

  /**
   * A user's records, newest first; at most `limit` of them when given. Both places are read: the
   * user's own partition, and the user's bucket of quiet decisions in every run (./quiet-rows.ts).
   */
  async listByUser(userId: string, options: { limit?: number } = {}): Promise<OutcomeRecord[]> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return [];
    const range = quietRangeOf(userId);
    try {
      const [own, quiet] = await Promise.all([
        this.#newest(odata`PartitionKey eq ${toTableKey(userId)}`, limit),
        this.#quietOf(
          userId,
          odata`PartitionKey ge ${QUIET_PARTITION_PREFIX} and PartitionKey lt ${QUIET_PARTITION_END} and RowKey ge ${range.from} and RowKey lt ${range.to}`,
        ),
      ]);
      return [...own, ...quiet]
        .sort((a, b) => (a.recordedAt < b.recordedAt ? 1 : a.recordedAt > b.recordedAt ? -1 : 0))
        .slice(0, limit);
    } catch (error) {
      throw new Error(`Could not list the outcomes of user ${userId}`, { cause: error });
    }
  }

  async #quietOf(userId: string, filter: string): Promise<OutcomeRecord[]> {
    const records: OutcomeRecord[] = [];
    for await (const row of this.#client.listEntities<Row>({ queryOptions: { filter } })) {
      for (const r of decisionsOf(row)) if (r.userId === userId) records.push(r);
    }
    return records;
  }

  async #newest(filter: string, limit: number): Promise<OutcomeRecord[]> {
    const records: OutcomeRecord[] = [];
    const pages = this.#client
      .listEntities<Row>({ queryOptions: { filter } })
      // A page holds at most 1,000 entities (Query Timeout and Pagination); ask for no more than needed.
      .byPage({ maxPageSize: Math.min(limit, 1_000) });
    for await (const page of pages) {
      for (const row of page) {
        records.push(fromEntity(row));
        if (records.length >= limit) return records;
      }
    }
    return records;
  }

  /** Records with `recordedAt` in [from, to), across all users, in no particular order. */
  async *listBetween(from: Date, to?: Date): AsyncIterable<OutcomeRecord> {
    // A row of quiet decisions spans [quietFrom, recordedAt]: it is read when that overlaps.
    const filter =
      to === undefined
        ? odata`recordedAt ge ${from}`
        : odata`(recordedAt ge ${from} and recordedAt lt ${to}) or (quietFrom lt ${to} and recordedAt ge ${from})`;
    const fromMs = from.getTime();
    const toMs = to?.getTime() ?? Number.POSITIVE_INFINITY;
    try {
      for await (const row of this.#client.listEntities<Row>({ queryOptions: { filter } })) {
        if (!isQuietRow(row)) {
          yield fromEntity(row);
          continue;
        }
        for (const r of decisionsOf(row)) {
          const at = Date.parse(r.recordedAt);
          if (at >= fromMs && at < toMs) yield r;
        }
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
      // Records, and the run index entries beside them, in one pass over the table.
      return await deleteMatching(this.#client, odata`recordedAt lt ${before} or indexedAt lt ${before}`);
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
    rowKey: rowKeyOf(outcome),
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
    phase: outcome.phase,
    attempt: outcome.attempt,
    acceptedAt: short(outcome.acceptedAt),
    writes: outcome.writes,
    recovered: outcome.recovered,
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
  if (outcome.assignedBefore !== undefined)
    entity['assignedBefore'] = fitJsonArray(outcome.assignedBefore, LARGE_TEXT_CHARS).json;
  if (outcome.policy != null) entity['policy'] = outcome.policy;
  if (outcome.held != null) {
    entity['heldIn'] = short(outcome.held.roundId);
    entity['heldActions'] = fitJsonArray(outcome.held.actions, LARGE_TEXT_CHARS).json;
  }
  return entity;
}

function jsonArrayOf(row: TableEntityResult<Row>, name: string): unknown[] | undefined {
  const value = row[name];
  if (typeof value !== 'string') return undefined;
  const parsed: unknown = JSON.parse(value);
  return Array.isArray(parsed) ? parsed : undefined;
}

/** The fields added with the blast-radius guard: absent on older rows. */
function guardFields(row: TableEntityResult<Row>): Pick<OutcomeRecord, 'assignedBefore' | 'policy' | 'held'> {
  const before = jsonArrayOf(row, 'assignedBefore') as AssignedLicense[] | undefined;
  const policy = row['policy'];
  const heldIn = row['heldIn'];
  const known = typeof policy === 'string' && (OUTCOME_POLICIES as readonly string[]).includes(policy);
  return {
    ...(before === undefined ? {} : { assignedBefore: before }),
    ...(known ? { policy: policy as OutcomePolicy } : {}),
    ...(typeof heldIn === 'string'
      ? { held: { roundId: heldIn, actions: (jsonArrayOf(row, 'heldActions') ?? []) as PlanAction[] } }
      : {}),
  };
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
    source: sourceOf(text('source'), where),
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
    // Rows written before phases existed were one insert per decision: a DEFERRED with a retry
    // time was an attempt, anything else where the job ended.
    phase: phaseOf(row['phase'], optionalText('retryAt')),
    attempt: typeof row['attempt'] === 'number' ? row['attempt'] : 0,
    acceptedAt: optionalText('acceptedAt') ?? text('recordedAtText'),
    writes: typeof row['writes'] === 'number' ? row['writes'] : 0,
    recovered: row['recovered'] === true,
    ...guardFields(row),
  };
  const payload = optionalText('payload');
  if (payload !== null) record.payload = payload;
  return record;
}

function sourceOf(value: string, where: string): OutcomeSource {
  if ((JOB_SOURCES as readonly string[]).includes(value) || value === 'queue') return value as OutcomeSource;
  throw new Error(`${where}: unknown source ${value}`);
}

function phaseOf(value: unknown, retryAt: string | null): OutcomePhase {
  if (typeof value === 'string' && (OUTCOME_PHASES as readonly string[]).includes(value)) {
    return value as OutcomePhase;
  }
  return retryAt === null ? 'final' : 'attempt';
}

function isOutcomeKind(value: string): value is OutcomeKind {
  return (OUTCOME_KINDS as readonly string[]).includes(value);
}
