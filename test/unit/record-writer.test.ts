import { describe, expect, it } from 'vitest';
import { RecordWriter } from '../../lib/engine/record-writer.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';

const record = (jobId: string) => ({ jobId }) as unknown as OutcomeRecord;

describe('RecordWriter', () => {
  it('writes every record with at most `concurrency` in flight, and never queues more than allowed', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const written: string[] = [];
    const releases: (() => void)[] = [];
    const store = {
      record: async (r: OutcomeRecord) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((resolve) => releases.push(resolve));
        inFlight--;
        written.push(r.jobId);
      },
    };
    const writer = new RecordWriter(store, { concurrency: 2, maxQueued: 3 });
    let added = 0;
    const adding = (async () => {
      for (let i = 0; i < 10; i++) {
        await writer.add(record(`j${String(i)}`));
        added++;
      }
    })();
    await new Promise((r) => setImmediate(r));
    // Two in flight and three queued: the sixth add waits for room.
    expect(added).toBe(5);
    while (written.length < 10) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await adding;
    expect(maxInFlight).toBe(2);
    expect(written.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `j${String(i)}`).sort());
    expect((await writer.drain()).written).toBe(10);
  });

  it('tries a failed record once more when drained, and reports what still failed', async () => {
    const attempts = new Map<string, number>();
    const store = {
      record: (r: OutcomeRecord) => {
        const n = (attempts.get(r.jobId) ?? 0) + 1;
        attempts.set(r.jobId, n);
        if (r.jobId === 'always' || (r.jobId === 'once' && n === 1))
          return Promise.reject(new Error('storage down'));
        return Promise.resolve();
      },
    };
    const writer = new RecordWriter(store);
    for (const id of ['ok', 'once', 'always']) await writer.add(record(id));
    const result = await writer.drain();
    expect(result.written).toBe(2);
    expect(result.failed.map((r) => r.jobId)).toEqual(['always']);
    expect((result.error as Error).message).toBe('storage down');
    expect(attempts.get('once')).toBe(2);
  });
});
