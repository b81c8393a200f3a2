/**
 * The checkpoints table: the delta link of each delta-query scope (PartitionKey `delta`, RowKey
 * the scope). A delta link is a URL with an opaque token, a few KB at most; it is never truncated
 * (a cut link is useless), so one over the 32K-character String limit is refused loudly.
 */
import type { TableClient } from '@azure/data-tables';
import type { Checkpoint, CheckpointStore, DeltaRound } from './ports.js';
import { hasStatus } from './table-errors.js';
import { toTableKey } from './table-keys.js';
import { MAX_STRING_PROPERTY_CHARS } from './table-limits.js';

const PARTITION = 'delta';
/** Row key suffix of a scope's round in progress (`|` is outside the plain key alphabet). */
const ROUND = '|round';

/** {@link CheckpointStore} on an Azure Table (`<prefix>checkpoints`). */
export class TableCheckpointStore implements CheckpointStore {
  readonly #client: TableClient;

  /** @param client - a client for the checkpoints table (created by `createStorage`). */
  constructor(client: TableClient) {
    this.#client = client;
  }

  /** The checkpoint of `scope`, or null when there is none (start a full sync). */
  async get(scope: string): Promise<Checkpoint | null> {
    let row;
    try {
      row = await this.#client.getEntity(PARTITION, toTableKey(scope));
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw new Error(`Could not read the delta checkpoint of ${scope}`, { cause: error });
    }
    const { deltaLink, takenAt, fingerprint } = row;
    if (typeof deltaLink !== 'string' || !(takenAt instanceof Date)) {
      throw new Error(`Delta checkpoint ${scope} in ${this.#client.tableName} is malformed`);
    }
    return {
      scope,
      deltaLink,
      takenAt: takenAt.toISOString(),
      fingerprint: typeof fingerprint === 'string' ? fingerprint : null,
    };
  }

  /** Stores (or replaces) the checkpoint of `scope`; `takenAt` defaults to now. */
  async put(
    scope: string,
    deltaLink: string,
    takenAt: Date = new Date(),
    fingerprint?: string,
  ): Promise<void> {
    if (deltaLink.length > MAX_STRING_PROPERTY_CHARS) {
      throw new Error(
        `The delta link of ${scope} is ${deltaLink.length} characters; Table storage holds at most ${MAX_STRING_PROPERTY_CHARS} in one property`,
      );
    }
    try {
      await this.#client.upsertEntity(
        {
          partitionKey: PARTITION,
          rowKey: toTableKey(scope),
          scope,
          deltaLink,
          takenAt,
          ...(fingerprint === undefined ? {} : { fingerprint }),
        },
        'Replace',
      );
    } catch (error) {
      throw new Error(`Could not store the delta checkpoint of ${scope}`, { cause: error });
    }
  }

  /** Removes the checkpoint of `scope` (the next delta run starts over); absent is fine. */
  async delete(scope: string): Promise<void> {
    try {
      await this.#client.deleteEntity(PARTITION, toTableKey(scope));
    } catch (error) {
      if (hasStatus(error, 404)) return;
      throw new Error(`Could not delete the delta checkpoint of ${scope}`, { cause: error });
    }
  }

  async getRound(scope: string): Promise<DeltaRound | null> {
    try {
      const row = await this.#client.getEntity(PARTITION, toTableKey(scope + ROUND));
      const { id, start, startedAt } = row;
      if (typeof id !== 'string' || typeof start !== 'string' || typeof startedAt !== 'string') return null;
      return { id, start, startedAt };
    } catch (error) {
      if (hasStatus(error, 404)) return null;
      throw new Error(`Could not read the delta round of ${scope}`, { cause: error });
    }
  }

  async putRound(scope: string, round: DeltaRound): Promise<void> {
    try {
      await this.#client.upsertEntity(
        { partitionKey: PARTITION, rowKey: toTableKey(scope + ROUND), ...round },
        'Replace',
      );
    } catch (error) {
      throw new Error(`Could not store the delta round of ${scope}`, { cause: error });
    }
  }

  async clearRound(scope: string): Promise<void> {
    try {
      await this.#client.deleteEntity(PARTITION, toTableKey(scope + ROUND));
    } catch (error) {
      if (hasStatus(error, 404)) return;
      throw new Error(`Could not clear the delta round of ${scope}`, { cause: error });
    }
  }
}
