/**
 * At most one task per key at a time, per process: the guard on lifecycle work. Graph repeats
 * `reauthorizationRequired` until the subscription is reauthorized
 * (learn.microsoft.com/graph/change-notifications-lifecycle-events), and each one handled means
 * Graph calls; a repeat that arrives while the first is still being handled adds nothing.
 */
export class OneAtATime {
  readonly #running = new Map<string, Promise<void>>();

  /**
   * Starts `task` unless one for `key` (compared case-insensitively) is still running; returns
   * its promise, or `null` when skipped. The key is free again once the task settles, whether it
   * succeeded or failed.
   */
  run(key: string, task: () => Promise<void>): Promise<void> | null {
    const k = key.toLowerCase();
    if (this.#running.has(k)) return null;
    // Called through a promise, so a task that throws synchronously also frees the key.
    const started = new Promise<void>((resolve) => resolve(task())).finally(() => this.#running.delete(k));
    this.#running.set(k, started);
    return started;
  }

  /** Keys whose task is running. */
  get running(): number {
    return this.#running.size;
  }
}
