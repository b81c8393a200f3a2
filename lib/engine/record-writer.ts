/**
 * Writes a run's outcome records off the hot path: a run hands each record over and goes on with
 * the next user, while records are written with their own bounded concurrency. Every decision is
 * still recorded (the run waits for the writer before it reports), but a compliant user no longer
 * holds a concurrency slot for a storage round trip. Quiet decisions (nothing changed, nothing
 * failed: ../licensing/quiet-decision.ts), most of a steady tenant, are gathered and written in
 * bulk (`OutcomeStore.recordQuiet`). When the queue is full, `add` waits: memory stays bounded
 * however large the tenant.
 */
import { isQuietDecision } from '../licensing/quiet-decision.js';
import type { OutcomeRecord } from '../licensing/types.js';
import type { OutcomeStore } from '../store/ports.js';

export interface RecordWriterOptions {
  /** Writes in flight at once (default 16). */
  concurrency?: number;
  /**
   * Records held, waiting or being written, before `add` waits (default 4,000: a few MiB, and at
   * most two quiet batches in flight).
   */
  maxQueued?: number;
  /** Quiet decisions handed to the store at once (default 2,000: about 64 rows, one transaction). */
  quietBatch?: number;
}

type Item =
  { kind: 'one'; record: OutcomeRecord; clearPending: boolean } | { kind: 'quiet'; records: OutcomeRecord[] };

const sizeOf = (item: Item): number => (item.kind === 'one' ? 1 : item.records.length);

export class RecordWriter {
  readonly #store: Pick<OutcomeStore, 'record' | 'recordQuiet'>;
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #quietBatch: number;
  readonly #queue: Item[] = [];
  /** Records held: queued, in flight, and in the quiet batch being gathered. */
  #queuedRecords = 0;
  #gathering: OutcomeRecord[] = [];
  #running = 0;
  #written = 0;
  readonly #failed: { item: Item; error: unknown }[] = [];
  #idle: (() => void)[] = [];
  #space: (() => void)[] = [];

  constructor(store: Pick<OutcomeStore, 'record' | 'recordQuiet'>, options: RecordWriterOptions = {}) {
    this.#store = store;
    this.#concurrency = options.concurrency ?? 16;
    this.#maxQueued = options.maxQueued ?? 4_000;
    this.#quietBatch = Math.max(1, Math.min(options.quietBatch ?? 2_000, this.#maxQueued));
  }

  /** Queues a record; resolves once there is room for it (not once it is written). */
  async add(record: OutcomeRecord, options: { clearPending?: boolean } = {}): Promise<void> {
    while (this.#queuedRecords >= this.#maxQueued) await new Promise<void>((r) => this.#space.push(r));
    this.#queuedRecords++;
    if (isQuietDecision(record) && options.clearPending !== true) {
      this.#gathering.push(record);
      if (this.#gathering.length >= this.#quietBatch) this.#flushQuiet();
    } else {
      this.#queue.push({ kind: 'one', record, clearPending: options.clearPending ?? false });
    }
    this.#pump();
  }

  #flushQuiet(): void {
    if (this.#gathering.length === 0) return;
    this.#queue.push({ kind: 'quiet', records: this.#gathering });
    this.#gathering = [];
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      const item = this.#queue.shift() as Item;
      this.#running++;
      const write =
        item.kind === 'one'
          ? this.#store.record(item.record, { clearPending: item.clearPending })
          : this.#store.recordQuiet(item.records);
      write
        .then(
          () => {
            this.#written += sizeOf(item);
          },
          (error: unknown) => {
            this.#failed.push({ item, error });
          },
        )
        .finally(() => {
          this.#running--;
          this.#queuedRecords -= sizeOf(item);
          while (this.#queuedRecords < this.#maxQueued && this.#space.length > 0) this.#space.shift()?.();
          this.#pump();
          if (this.#running === 0 && this.#queue.length === 0) for (const r of this.#idle.splice(0)) r();
        });
    }
  }

  /**
   * Waits for every queued record; records that failed are tried once more. Returns those that
   * still could not be written (storage unavailable), with the last error.
   */
  async drain(): Promise<{ written: number; failed: OutcomeRecord[]; error: unknown }> {
    this.#flushQuiet();
    this.#pump();
    await this.#settled();
    const retry = this.#failed.splice(0);
    for (const { item } of retry) {
      this.#queuedRecords += sizeOf(item);
      this.#queue.push(item);
    }
    this.#pump();
    await this.#settled();
    const failed = this.#failed.splice(0);
    return {
      written: this.#written,
      failed: failed.flatMap((f) => (f.item.kind === 'one' ? [f.item.record] : f.item.records)),
      error: failed.at(-1)?.error ?? null,
    };
  }

  #settled(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise<void>((r) => this.#idle.push(r));
  }
}
