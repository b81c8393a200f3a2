/**
 * Reads one item ahead of its consumer: while a page of users is being processed, the next page
 * is already on its way from Graph, so a run waits on Graph only when Graph is the slower side.
 */
export async function* prefetched<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  // The read ahead may fail while the consumer is busy; it is awaited (and thrown) in turn below.
  next.catch(() => undefined);
  try {
    for (;;) {
      const current = await next;
      if (current.done === true) return;
      next = iterator.next();
      next.catch(() => undefined);
      yield current.value;
    }
  } finally {
    await iterator.return?.();
  }
}
