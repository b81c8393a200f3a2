/**
 * Runs `worker` over items with at most `limit` in flight. Bounded concurrency keeps a reconcile
 * under Graph's per-app write budget (about 20 writes/s per tenant; GRAPH-FACTS.md, throttling).
 */
export async function forEachConcurrent<T>(
  items: AsyncIterable<T> | Iterable<T>,
  limit: number,
  worker: (item: T) => Promise<void>,
): Promise<void> {
  if (limit < 1) throw new RangeError(`concurrency must be at least 1, got ${limit}`);
  const running = new Set<Promise<void>>();
  let failure: unknown = null;
  try {
    for await (const item of items) {
      if (failure !== null) break;
      const p: Promise<void> = worker(item)
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => running.delete(p));
      running.add(p);
      if (running.size >= limit) await Promise.race(running);
    }
  } finally {
    // Also when the source fails: no task is left running behind the caller's back.
    await Promise.all(running);
  }
  if (failure !== null)
    throw failure instanceof Error ? failure : new Error('a concurrent task failed', { cause: failure });
}
