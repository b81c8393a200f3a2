/**
 * The blast-radius guard's state in the checkpoints table (sharing it keeps the deployed
 * infrastructure at four tables), in four partitions:
 *
 * | PartitionKey  | RowKey    | holds                                                         |
 * | ------------- | --------- | ------------------------------------------------------------- |
 * | `guard-round` | round id  | a held round: path, scope, state, reason, counts per SKU      |
 * | `guard-held`  | user id   | the user's held job: its round, what a release sends again    |
 * | `guard-scope` | scope     | a day's counts per SKU (JSON), its open round, the round count |
 * | `guard-job`   | job id    | a job counted in a scope, and its verdict (counted once)       |
 *
 * Scope counts are written conditionally on their ETag, so two workers counting at once cannot both
 * take the last reduction a scope allows.
 */
import { odata, type TableClient } from '@azure/data-tables';
import type { PlanAction } from '../licensing/types.js';
import type { GuardStore, HeldJob, HeldRound, ScopeTally } from './ports.js';
import { hasStatus } from './table-errors.js';
import { toTableKey } from './table-keys.js';
import { deleteMatching } from './table-prune.js';
import { LARGE_TEXT_CHARS, SHORT_TEXT_CHARS, fitJsonArray, truncateText } from './table-limits.js';

const ROUNDS = 'guard-round';
const HELD = 'guard-held';
const SCOPES = 'guard-scope';
const JOBS = 'guard-job';

/**
 * How many times a conditional write is tried when another writer gets in between: a day's scope is
 * one row every worker counting that day's HR leaves writes, so a burst makes a crowd.
 */
const MAX_CONDITIONAL_TRIES = 25;

/** Writers racing for the same row take turns: a short, growing, jittered pause. */
const takeTurns = (tries: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * tries));

type Row = Record<string, unknown>;

const text = (row: Row, name: string): string => {
  const v = row[name];
  return typeof v === 'string' ? v : '';
};

const json = <T>(row: Row, name: string, fallback: T): T => {
  const v = row[name];
  if (typeof v !== 'string') return fallback;
  try {
    return JSON.parse(v) as T;
  } catch {
    return fallback;
  }
};

function roundOf(row: Row): HeldRound {
  const state = text(row, 'state');
  const path = text(row, 'path');
  return {
    id: text(row, 'roundId'),
    path: path === 'delta' || path === 'cleanup' || path === 'hr' ? path : 'graph',
    scope: text(row, 'scope'),
    state: state === 'released' || state === 'discarded' ? state : 'held',
    createdAt: text(row, 'createdAt'),
    updatedAt: text(row, 'updatedAt'),
    reason: text(row, 'reason'),
    skus: json(row, 'skus', []),
    releasedJobs: typeof row['releasedJobs'] === 'number' ? row['releasedJobs'] : 0,
  };
}

function heldOf(row: Row): HeldJob {
  return {
    roundId: text(row, 'roundId'),
    userId: text(row, 'userId'),
    userPrincipalName: typeof row['userPrincipalName'] === 'string' ? row['userPrincipalName'] : null,
    heldAt: text(row, 'heldAt'),
    job: json(row, 'job', {
      source: 'graph' as const,
      action: 'reconcile' as const,
      eventId: '',
      eventAt: '',
      acceptedAt: '',
    }),
    actions: json<PlanAction[]>(row, 'actions', []),
  };
}

/** {@link GuardStore} on the checkpoints table. */
export class TableGuardStore implements GuardStore {
  readonly #client: TableClient;

  constructor(client: TableClient) {
    this.#client = client;
  }

  async #get(pk: string, key: string): Promise<(Row & { etag: string }) | null> {
    try {
      return await this.#client.getEntity<Row>(pk, toTableKey(key));
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw new Error(`Could not read ${pk} ${key} from ${this.#client.tableName}`, { cause: error });
    }
  }

  async getRound(id: string): Promise<HeldRound | null> {
    const row = await this.#get(ROUNDS, id);
    return row ? roundOf(row) : null;
  }

  async putRound(round: HeldRound): Promise<void> {
    await this.#upsert({
      partitionKey: ROUNDS,
      rowKey: toTableKey(round.id),
      roundId: round.id,
      path: round.path,
      scope: truncateText(round.scope, SHORT_TEXT_CHARS),
      state: round.state,
      createdAt: round.createdAt,
      updatedAt: round.updatedAt,
      reason: truncateText(round.reason, LARGE_TEXT_CHARS),
      skus: fitJsonArray(round.skus, LARGE_TEXT_CHARS).json,
      releasedJobs: round.releasedJobs,
      at: new Date(round.updatedAt),
    });
  }

  async listRounds(): Promise<HeldRound[]> {
    const rounds = await this.#list(ROUNDS, roundOf);
    return rounds.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async closeRound(
    id: string,
    state: 'released' | 'discarded',
    at: Date,
    releasedJobs: number,
  ): Promise<boolean> {
    const row = await this.#get(ROUNDS, id);
    if (row === null) return false;
    const round = roundOf(row);
    const resumable = round.state === 'released' && state === 'released';
    if (round.state !== 'held' && !resumable) return false;
    try {
      await this.#client.updateEntity(
        {
          partitionKey: ROUNDS,
          rowKey: toTableKey(id),
          state,
          updatedAt: at.toISOString(),
          releasedJobs,
          at,
        },
        'Merge',
        { etag: row.etag },
      );
      return true;
    } catch (error) {
      // Closed by someone else in between: this call did not close it.
      if (hasStatus(error, 412)) return false;
      throw new Error(`Could not close held round ${id}`, { cause: error });
    }
  }

  async holdJob(job: HeldJob): Promise<void> {
    await this.#upsert({
      partitionKey: HELD,
      rowKey: toTableKey(job.userId),
      roundId: job.roundId,
      userId: job.userId,
      ...(job.userPrincipalName === null ? {} : { userPrincipalName: job.userPrincipalName }),
      heldAt: job.heldAt,
      job: JSON.stringify(job.job),
      actions: fitJsonArray(job.actions, LARGE_TEXT_CHARS).json,
      at: new Date(job.heldAt),
    });
  }

  async heldJobOf(userId: string): Promise<HeldJob | null> {
    const row = await this.#get(HELD, userId);
    return row ? heldOf(row) : null;
  }

  async listHeldJobs(roundId: string): Promise<HeldJob[]> {
    return this.#list(HELD, heldOf, odata` and roundId eq ${roundId}`);
  }

  async dropHeldJob(userId: string, roundId: string): Promise<void> {
    const row = await this.#get(HELD, userId);
    if (row === null || text(row, 'roundId') !== roundId) return;
    try {
      await this.#client.deleteEntity(HELD, toTableKey(userId), { etag: row.etag });
    } catch (error) {
      // Gone, or held again in another round meanwhile (412): not this round's to drop.
      if (hasStatus(error, 404) || hasStatus(error, 412)) return;
      throw new Error(`Could not drop the held job of ${userId}`, { cause: error });
    }
  }

  async tally(
    scope: string,
    jobId: string,
    skuIds: readonly string[],
    fits: (counts: ReadonlyMap<string, number>) => boolean,
    now: Date,
  ): Promise<ScopeTally> {
    const mark = await this.#get(JOBS, jobId);
    if (mark !== null) {
      const roundId = text(mark, 'roundId');
      return {
        allowed: mark['allowed'] === true,
        roundId: roundId === '' ? null : roundId,
        opened: false,
        counts: json(mark, 'counts', {}),
      };
    }
    const result = await this.#count(scope, skuIds, fits, now);
    await this.#upsert({
      partitionKey: JOBS,
      rowKey: toTableKey(jobId),
      scope,
      allowed: result.allowed,
      ...(result.roundId === null ? {} : { roundId: result.roundId }),
      counts: JSON.stringify(result.counts),
      at: now,
    });
    return result;
  }

  async #count(
    scope: string,
    skuIds: readonly string[],
    fits: (counts: ReadonlyMap<string, number>) => boolean,
    now: Date,
  ): Promise<ScopeTally> {
    for (let tries = 1; ; tries++) {
      const row = await this.#get(SCOPES, scope);
      const stored = row ? json<Record<string, number>>(row, 'counts', {}) : {};
      const counts = new Map(Object.entries(stored));
      for (const sku of new Set(skuIds)) counts.set(sku, (counts.get(sku) ?? 0) + 1);
      const open = row ? text(row, 'openRound') : '';
      if (open !== '')
        return { allowed: false, roundId: open, opened: false, counts: Object.fromEntries(counts) };
      const allowed = fits(counts);
      const seq = (row && typeof row['rounds'] === 'number' ? row['rounds'] : 0) + (allowed ? 0 : 1);
      const roundId = allowed ? null : seq === 1 ? scope : `${scope}-${String(seq)}`;
      const entity = {
        partitionKey: SCOPES,
        rowKey: toTableKey(scope),
        scope,
        // Held reductions are not made: only what was allowed counts against the limits.
        counts: JSON.stringify(allowed ? Object.fromEntries(counts) : stored),
        openRound: roundId ?? '',
        rounds: seq,
        at: now,
      };
      try {
        if (row === null) await this.#client.createEntity(entity);
        else await this.#client.updateEntity(entity, 'Replace', { etag: row.etag });
        return { allowed, roundId, opened: !allowed, counts: Object.fromEntries(counts) };
      } catch (error) {
        const raced = hasStatus(error, 409) || hasStatus(error, 412);
        if (!raced || tries >= MAX_CONDITIONAL_TRIES)
          throw new Error(`Could not count a reduction in guard scope ${scope}`, { cause: error });
        await takeTurns(tries);
      }
    }
  }

  async closeScope(scope: string, roundId: string): Promise<void> {
    for (let tries = 1; ; tries++) {
      const row = await this.#get(SCOPES, scope);
      if (row === null || text(row, 'openRound') !== roundId) return;
      try {
        await this.#client.updateEntity(
          { partitionKey: SCOPES, rowKey: toTableKey(scope), openRound: '' },
          'Merge',
          { etag: row.etag },
        );
        return;
      } catch (error) {
        if (!hasStatus(error, 412) || tries >= MAX_CONDITIONAL_TRIES)
          throw new Error(`Could not close guard scope ${scope}`, { cause: error });
        await takeTurns(tries);
      }
    }
  }

  async prune(before: Date): Promise<number> {
    try {
      const counted =
        (await deleteMatching(this.#client, odata`PartitionKey eq ${SCOPES} and at lt ${before}`)) +
        (await deleteMatching(this.#client, odata`PartitionKey eq ${JOBS} and at lt ${before}`));
      const closed = await deleteMatching(
        this.#client,
        odata`PartitionKey eq ${ROUNDS} and state ne ${'held'} and at lt ${before}`,
      );
      return counted + closed;
    } catch (error) {
      throw new Error(`Could not prune the guard's records from before ${before.toISOString()}`, {
        cause: error,
      });
    }
  }

  async #upsert(entity: Row & { partitionKey: string; rowKey: string }): Promise<void> {
    try {
      await this.#client.upsertEntity(entity, 'Replace');
    } catch (error) {
      throw new Error(
        `Could not write ${entity.partitionKey} ${entity.rowKey} to ${this.#client.tableName}`,
        {
          cause: error,
        },
      );
    }
  }

  async #list<T>(pk: string, map: (row: Row) => T, extra = ''): Promise<T[]> {
    const out: T[] = [];
    try {
      for await (const row of this.#client.listEntities<Row>({
        queryOptions: { filter: odata`PartitionKey eq ${pk}` + extra },
      })) {
        out.push(map(row));
      }
    } catch (error) {
      throw new Error(`Could not list ${pk} in ${this.#client.tableName}`, { cause: error });
    }
    return out;
  }
}
