import { describe, expect, it } from 'vitest';
import { RecordWriter } from '../../lib/engine/record-writer.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';

const record = (jobId: string) => ({ jobId }) as unknown as OutcomeRecord;
const notQuiet = () => Promise.reject(new Error('no quiet decision expected'));

/** A final UNCHANGED decision of a CLI run: a quiet one. */
const quiet = (jobId: string, fields: Partial<OutcomeRecord> = {}) =>
  ({
    jobId,
    userId: jobId,
    source: 'cli',
    phase: 'final',
    dryRun: false,
    eventId: 'run-1',
    actions: [],
    error: null,
    outcome: 'UNCHANGED',
    ...fields,
  }) as unknown as OutcomeRecord;

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
      recordQuiet: notQuiet,
    };
    const writer = new RecordWriter(store, { concurrency: 2, maxQueued: 5 });
    let added = 0;
    const adding = (async () => {
      for (let i = 0; i < 10; i++) {
        await writer.add(record(`j${String(i)}`));
        added++;
      }
    })();
    await new Promise((r) => setImmediate(r));
    // Five held (two in flight, three queued): the sixth add waits for room.
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
      recordQuiet: notQuiet,
    };
    const writer = new RecordWriter(store);
    for (const id of ['ok', 'once', 'always']) await writer.add(record(id));
    const result = await writer.drain();
    expect(result.written).toBe(2);
    expect(result.failed.map((r) => r.jobId)).toEqual(['always']);
    expect((result.error as Error).message).toBe('storage down');
    expect(attempts.get('once')).toBe(2);
  });

  it('gathers quiet decisions into batches and writes everything else one by one', async () => {
    const single: string[] = [];
    const batches: string[][] = [];
    const store = {
      record: (r: OutcomeRecord) => {
        single.push(r.jobId);
        return Promise.resolve();
      },
      recordQuiet: (rs: readonly OutcomeRecord[]) => {
        batches.push(rs.map((r) => r.jobId));
        return Promise.resolve();
      },
    };
    const writer = new RecordWriter(store, { quietBatch: 3 });
    for (let i = 0; i < 7; i++) await writer.add(quiet(`q${String(i)}`));
    await writer.add(quiet('changed', { outcome: 'ASSIGNED', actions: [{ kind: 'assign' }] as never }));
    await writer.add(quiet('failed', { outcome: 'FAILED', error: { code: 'x', message: 'y', fix: 'z' } }));
    await writer.add(quiet('dry', { dryRun: true }));
    await writer.add(quiet('worker', { source: 'graph' }));
    // A quiet decision of a job that had a pending row must clear it: written on its own.
    await writer.add(quiet('had-pending'), { clearPending: true });
    const result = await writer.drain();

    expect(result).toMatchObject({ written: 12, failed: [] });
    expect(batches).toEqual([['q0', 'q1', 'q2'], ['q3', 'q4', 'q5'], ['q6']]);
    expect(single.sort()).toEqual(['changed', 'dry', 'failed', 'had-pending', 'worker']);
  });

  it('reports every decision of a quiet batch that could not be written', async () => {
    let calls = 0;
    const store = {
      record: () => Promise.resolve(),
      recordQuiet: () => {
        calls++;
        return Promise.reject(new Error('storage down'));
      },
    };
    const writer = new RecordWriter(store, { quietBatch: 2 });
    for (const id of ['a', 'b', 'c']) await writer.add(quiet(id));
    const result = await writer.drain();
    expect(result.written).toBe(0);
    expect(result.failed.map((r) => r.jobId).sort()).toEqual(['a', 'b', 'c']);
    // Two batches, each tried twice.
    expect(calls).toBe(4);
  });
});
