/**
 * Writes a run's outcome records off the hot path: a run hands each record over and goes on with
 * the next user, while records are written with their own bounded concurrency. Every decision is
 * still recorded (the run waits for the writer before it reports), but a compliant user no longer
 * holds a concurrency slot for a storage round trip. When the queue is full, `add` waits: memory
 * stays bounded however large the tenant.
 */
import type { OutcomeRecord } from '../licensing/types.js';
import type { OutcomeStore } from '../store/ports.js';

export interface RecordWriterOptions {
  /** Writes in flight at once (default 16). */
  concurrency?: number;
  /** Records waiting before `add` waits (default 1,000). */
  maxQueued?: number;
}

interface Item {
  record: OutcomeRecord;
  clearPending: boolean;
}

export class RecordWriter {
  readonly #store: Pick<OutcomeStore, 'record'>;
  readonly #concurrency: number;
  readonly #maxQueued: number;
  readonly #queue: Item[] = [];
  #running = 0;
  #written = 0;
  readonly #failed: { item: Item; error: unknown }[] = [];
  #idle: (() => void)[] = [];
  #space: (() => void)[] = [];

  constructor(store: Pick<OutcomeStore, 'record'>, options: RecordWriterOptions = {}) {
    this.#store = store;
    this.#concurrency = options.concurrency ?? 16;
    this.#maxQueued = options.maxQueued ?? 1_000;
  }

  /** Queues a record; resolves once there is room for it (not once it is written). */
  async add(record: OutcomeRecord, options: { clearPending?: boolean } = {}): Promise<void> {
    while (this.#queue.length >= this.#maxQueued) await new Promise<void>((r) => this.#space.push(r));
    this.#queue.push({ record, clearPending: options.clearPending ?? false });
    this.#pump();
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#queue.length > 0) {
      const item = this.#queue.shift() as Item;
      this.#space.shift()?.();
      this.#running++;
      this.#store
        .record(item.record, { clearPending: item.clearPending })
        .then(
          () => {
            this.#written++;
          },
          (error: unknown) => {
            this.#failed.push({ item, error });
          },
        )
        .finally(() => {
          this.#running--;
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
    await this.#settled();
    const retry = this.#failed.splice(0);
    for (const { item } of retry) this.#queue.push(item);
    this.#pump();
    await this.#settled();
    const failed = this.#failed.splice(0);
    return {
      written: this.#written,
      failed: failed.map((f) => f.item.record),
      error: failed.at(-1)?.error ?? null,
    };
  }

  #settled(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise<void>((r) => this.#idle.push(r));
  }
}
