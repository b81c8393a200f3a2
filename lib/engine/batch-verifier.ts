/**
 * Verifies a run's changes in batches: users whose writes went through are read back fifteen at a
 * time (`$filter=id in (...)`, the most one filter clause takes) instead of one GET each, without
 * holding the run's concurrency slots, and their final records are written once read back. A
 * batch that cannot be read leaves its records as the writes predicted them (the pending records
 * were already completed by then in the sense that matters: Graph accepted the writes).
 */
import type { GraphGateway } from '../graph/gateway.js';
import { MAX_IN_FILTER_VALUES } from '../graph/graph-gateway.js';
import { isGraphError } from '../graph/graph-error.js';
import type { OutcomeRecord } from '../licensing/types.js';
import type { Logger } from '../log.js';
import { remainingAfter, type Decision } from './decide.js';
import type { LicensingContext } from './licensing-context.js';
import { verifiedRecord } from './outcome-builder.js';

export interface Unverified {
  userId: string;
  record: OutcomeRecord;
  decision: Decision;
}

export interface BatchVerifierDeps {
  gateway: GraphGateway;
  context: LicensingContext;
  logger: Logger;
  now: () => Date;
  correlationId: string;
  /** Receives each record once verified (or once its batch could not be read). */
  onVerified: (record: OutcomeRecord) => Promise<void>;
  /** Batches read at once (default 4). */
  concurrency?: number;
}

export class BatchVerifier {
  readonly #deps: BatchVerifierDeps;
  #batch: Unverified[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #notVerified = 0;
  #unread = 0;

  constructor(deps: BatchVerifierDeps) {
    this.#deps = deps;
  }

  /** Queues a changed user; a full batch is read in the background. */
  async add(item: Unverified): Promise<void> {
    this.#batch.push(item);
    if (this.#batch.length >= MAX_IN_FILTER_VALUES) await this.#flush();
  }

  async #flush(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length === 0) return;
    while (this.#inFlight.size >= (this.#deps.concurrency ?? 4)) await Promise.race(this.#inFlight);
    const p: Promise<void> = this.#verify(batch).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  async #verify(batch: Unverified[]): Promise<void> {
    const { gateway, context } = this.#deps;
    let read = new Map<string, Awaited<ReturnType<GraphGateway['getUsers']>>[number]>();
    try {
      const users = await gateway.getUsers(
        batch.map((b) => b.userId),
        context.select,
        { correlationId: this.#deps.correlationId },
      );
      read = new Map(users.map((u) => [u.id.toLowerCase(), u]));
    } catch (e) {
      if (!isGraphError(e)) throw e;
      this.#unread += batch.length;
      this.#deps.logger.warn(
        { kind: e.kind, users: batch.length },
        'could not read changed users back to verify',
      );
    }
    for (const item of batch) {
      const after = read.get(item.userId.toLowerCase()) ?? null;
      const still = after
        ? remainingAfter(item.decision, after, context.rules, context.catalog.skuPartNumber).actions.length
        : 0;
      if (still > 0) this.#notVerified++;
      await this.#deps.onVerified(
        verifiedRecord(item.record, after, still, context.catalog, this.#deps.now()),
      );
    }
  }

  /** Reads back what is left and waits for every batch. */
  async drain(): Promise<{ notVerified: number; unread: number }> {
    await this.#flush();
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight);
    return { notVerified: this.#notVerified, unread: this.#unread };
  }
}
