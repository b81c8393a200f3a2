import { describe, expect, it } from 'vitest';
import { prefetched } from '../../lib/engine/prefetch.js';

describe('prefetched', () => {
  it('asks for the next page while the consumer works on the current one', async () => {
    const log: string[] = [];
    async function* pages() {
      for (let i = 1; i <= 3; i++) {
        log.push(`fetch ${String(i)}`);
        await Promise.resolve();
        yield i;
      }
    }
    for await (const page of prefetched(pages())) {
      await new Promise((r) => setImmediate(r));
      log.push(`use ${String(page)}`);
    }
    expect(log).toEqual(['fetch 1', 'fetch 2', 'use 1', 'fetch 3', 'use 2', 'use 3']);
  });

  it('throws the read-ahead failure in turn, after the pages before it were used', async () => {
    const used: number[] = [];
    async function* pages() {
      yield 1;
      await Promise.resolve();
      throw new Error('page 2 failed');
    }
    await expect(
      (async () => {
        for await (const page of prefetched(pages())) used.push(page);
      })(),
    ).rejects.toThrow('page 2 failed');
    expect(used).toEqual([1]);
  });
});
