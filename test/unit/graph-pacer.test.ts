/**
 * The process-wide Graph pacer (lib/graph/pacer.ts) and its rate controller
 * (lib/graph/pace-controller.ts), on a fake clock: rates are counted exactly, pauses are walked
 * through step by step, and nothing waits on the wall clock.
 */
import { describe, expect, it } from 'vitest';
import { PaceController, parseShare } from '../../lib/graph/pace-controller.js';
import { GraphPacer, type PacerBudget } from '../../lib/graph/pacer.js';
import type { RequestCost } from '../../lib/graph/request-cost.js';
import { fakeClock, settle } from '../support/fake-clock.js';

const WRITE: RequestCost = { lane: 'write', resourceUnits: 1, writes: 1 };
const READ: RequestCost = { lane: 'read', resourceUnits: 1, writes: 0 };
const DOCUMENTED: PacerBudget = { writesPer150s: 3_000, resourceUnitsPer10s: 8_000 };

function setup(budget: PacerBudget = DOCUMENTED, maxWaitMs?: number) {
  const clock = fakeClock();
  const pacer = new GraphPacer(budget, {
    now: clock.now,
    sleep: clock.sleep,
    ...(maxWaitMs === undefined ? {} : { maxWaitMs }),
  });
  /** Queues `n` requests; `done` lists the fake time each one was admitted at (or -1 if held). */
  const queue = (n: number, cost: RequestCost = WRITE, signal?: AbortSignal) => {
    const done: number[] = [];
    const all = Array.from({ length: n }, () =>
      pacer.admit(cost, signal).then(
        (a) => {
          done.push(a.go ? clock.now() : -1);
        },
        () => {
          done.push(-2);
        },
      ),
    );
    return { done, all };
  };
  return { clock, pacer, queue };
}

const headers = (h: Record<string, string>) => new Headers(h);

describe('GraphPacer: the write rate', () => {
  it('admits writes at 98 % of 3,000 per 150 s (19.6/s), however many wait', async () => {
    const { clock, queue } = setup();
    const { done } = queue(400);
    await clock.advance(1_500);
    expect(done.length).toBe(29); // floor(19.6 × 1.5)
    await clock.advance(8_800);
    expect(done.length).toBe(201); // floor(19.6 × 10.3)
    // Evenly spaced: never two writes closer than 1/19.6 s.
    const gaps = done.slice(1).map((t, i) => t - (done[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000 / 19.6 - 1e-6);
  });

  it('holds the rate over minutes, with a burst of at most one second after idling', async () => {
    const { clock, queue } = setup();
    await clock.advance(60_000); // idle: the burst builds up to 19.6 writes, no more
    const { done } = queue(3_000);
    await clock.advance(1);
    expect(done.length).toBe(19);
    await clock.advance(119_999);
    // 19.6 of burst + 19.6/s for 120 s.
    expect(done.length).toBe(Math.floor(19.6 + 19.6 * 120 - 1e-9));
  });

  it('keeps reads on their own lane, paced by resource units', async () => {
    const { clock, queue } = setup({ writesPer150s: 3_000, resourceUnitsPer10s: 100 });
    const reads = queue(50, { lane: 'read', resourceUnits: 2, writes: 0 });
    const writes = queue(5);
    await clock.advance(1_000);
    // 9.8 RU/s: the five writes (own lane) spent 5 RU of it too, leaving 4.8 RU: two 2-RU reads.
    expect(writes.done.length).toBe(5);
    expect(reads.done.length).toBe(2);
  });

  it('passes requests that no budget applies to (subscriptions) straight through', async () => {
    const { pacer } = setup();
    await expect(pacer.admit({ lane: 'none', resourceUnits: 0, writes: 0 })).resolves.toEqual({ go: true });
  });

  it('drops a waiter whose signal aborts, without spending its slot', async () => {
    const { clock, queue } = setup();
    const controller = new AbortController();
    const aborted = queue(1, WRITE, controller.signal);
    const after = queue(1);
    controller.abort(new Error('job cancelled'));
    await clock.advance(1000 / 19.6 + 0.001);
    expect(aborted.done).toEqual([-2]);
    expect(after.done.length).toBe(1);
    expect(after.done[0]).toBeCloseTo(1000 / 19.6, 6);
  });
});

describe('GraphPacer: a 429 pauses every writer of the process', () => {
  it('admits no write until Retry-After has passed, then resumes at its pace', async () => {
    const { clock, pacer, queue } = setup();
    const { done } = queue(100);
    await clock.advance(1_000);
    expect(done.length).toBe(19);
    pacer.observe(
      WRITE,
      429,
      headers({ 'retry-after': '5', 'x-ms-throttle-scope': 'Tenant_Application/Write/app/tenant' }),
    );
    await clock.advance(4_999);
    expect(done.length).toBe(19);
    await clock.advance(1);
    expect(done.length).toBe(19); // the pause ends empty: no burst into a just-refilled bucket
    await clock.advance(1000 / 19.6);
    expect(done.length).toBe(20);
    expect(done[19]).toBeCloseTo(6_000 + 1000 / 19.6, 6);
    expect(pacer.stats().pauses).toBe(1);
  });

  it('keeps reads going when Graph says only the write limit was hit', async () => {
    const { clock, pacer, queue } = setup();
    pacer.observe(
      WRITE,
      429,
      headers({ 'retry-after': '30', 'x-ms-throttle-information': 'WriteLimitExceeded' }),
    );
    const writes = queue(3);
    const reads = queue(3, READ);
    await clock.advance(10_000);
    expect(writes.done).toEqual([]);
    expect(reads.done.length).toBe(3);
  });

  it('stops reads and writes alike for the resource-unit limit', async () => {
    const { clock, pacer, queue } = setup();
    pacer.observe(
      READ,
      429,
      headers({ 'retry-after': '2', 'x-ms-throttle-scope': 'Tenant_Application/ReadWrite/app/tenant' }),
    );
    const writes = queue(1);
    const reads = queue(1, READ);
    await clock.advance(1_999);
    expect([writes.done, reads.done]).toEqual([[], []]);
    await clock.advance(200);
    expect([writes.done.length, reads.done.length]).toEqual([1, 1]);
  });

  it('extends the pause when a later 429 asks for longer, never shortens it', async () => {
    const { clock, pacer, queue } = setup();
    pacer.observe(WRITE, 429, headers({ 'retry-after': '10' }));
    pacer.observe(WRITE, 429, headers({ 'retry-after': '2' }));
    const { done } = queue(1);
    await clock.advance(9_999);
    expect(done).toEqual([]);
    await clock.advance(1_000);
    expect(done.length).toBe(1);
  });

  it('answers at once, without sending, when the pause is longer than the caller may wait', async () => {
    const { clock, pacer, queue } = setup(DOCUMENTED, 60_000);
    const waiting = queue(2);
    pacer.observe(WRITE, 429, headers({ 'retry-after': '120' }));
    await clock.advance(1_000);
    // Those already waiting and those arriving later alike.
    expect(waiting.done).toEqual([-1, -1]);
    await expect(pacer.admit(WRITE)).resolves.toEqual({ go: false, pausedForMs: 119_000 });
    expect(pacer.stats().held).toBe(3);
  });
});

describe('GraphPacer: the limit percentage slows the pace before any 429', () => {
  /** Graph's share of the write bucket as instances spending `total`/s together would see it. */
  const share = (start: number, totalPerSecond: number, ms: number) =>
    start + ((totalPerSecond - 20) * ms) / 1000 / 3_000;

  it('scales a rising trend down to its share of the budget', async () => {
    const { clock, pacer, queue } = setup();
    const { done } = queue(400);
    // Three instances at 19.6/s each: 58.8/s against a refill of 20/s.
    for (let ms = 0; ms <= 2_000; ms += 250) {
      await clock.advance(ms === 0 ? 0 : 250);
      pacer.observe(
        WRITE,
        200,
        headers({ 'x-ms-throttle-limit-percentage': share(0.85, 58.8, ms).toFixed(2) }),
      );
    }
    // The trend is read once the share has moved two steps (0.02, at 1.25 s): 24 writes at
    // 19.6/s by then, then the lower rate; 19.6/s throughout would have made 39.
    expect(done.length).toBe(28);
    const rate = pacer.stats().writeRate;
    expect(rate).toBeGreaterThan(5.5);
    expect(rate).toBeLessThan(7.5);
    await clock.advance(2_900); // still within the quiet period: no climb yet
    expect(done.filter((t) => t > 2_000).length).toBe(Math.floor(rate * 2.9 + 1e-9));
  });

  it('leaves a lone instance at full pace, even with Graph’s bucket nearly empty', async () => {
    const { clock, pacer } = setup();
    // 19.6/s against 20/s: the share falls very slowly, the header stays near 1.00.
    for (let ms = 0; ms <= 12_000; ms += 200) {
      await clock.advance(ms === 0 ? 0 : 200);
      pacer.observe(
        WRITE,
        200,
        headers({ 'x-ms-throttle-limit-percentage': share(1.0, 19.6, ms).toFixed(2) }),
      );
    }
    expect(pacer.stats().writeRate).toBeCloseTo(19.6, 6);
  });

  it('creeps up a five-hundredth of the ceiling per second with the header there and no 429 for 3 s', () => {
    const controller = new PaceController({
      maxRate: 19.6,
      minRate: 0.2,
      capacity: 3_000,
      refillPerSecond: 20,
    });
    controller.throttled(0);
    controller.throttled(1_000); // cut to 15.68
    controller.observe('1.00', 1_000);
    expect(controller.rate(4_000)).toBeCloseTo(15.68, 6);
    controller.observe('1.00', 4_000);
    // From 4 s (3 s after the last 429): 0.0392/s for 1 s.
    expect(controller.rate(5_000)).toBeCloseTo(15.68 + 0.0392, 6);
  });

  it('climbs back a tenth of the ceiling per second once the header has been gone 3 s', () => {
    const controller = new PaceController({
      maxRate: 19.6,
      minRate: 0.2,
      capacity: 3_000,
      refillPerSecond: 20,
    });
    let changedAt = 0;
    for (let ms = 0; ms <= 2_000; ms += 250) {
      if (controller.observe(share(0.9, 58.8, ms).toFixed(2), ms) !== null) changedAt = ms;
    }
    expect(changedAt).toBe(1_250);
    const low = controller.rate(2_000);
    expect(low).toBeLessThan(7.5);
    // Calm from 4.25 s (3 s after the change): creeping while the header was recent…
    const crept = low + 0.75 * 0.0392;
    expect(controller.rate(5_000)).toBeCloseTo(crept, 6);
    // …then, the header gone for 3 s, climbing by 1.96/s.
    expect(controller.rate(7_000)).toBeCloseTo(crept + 2 * 1.96, 6);
    expect(controller.rate(60_000)).toBe(19.6);
  });

  it('goes back to the ceiling once the trend shows the instance is alone', async () => {
    const { clock, pacer } = setup();
    // 429s a second apart: 19.6 → 15.68 → 12.54 → 10.04.
    for (let i = 0; i < 4; i++) {
      pacer.observe(WRITE, 429, headers({ 'retry-after': '1' }));
      await clock.advance(1_000);
    }
    expect(pacer.stats().writeRate).toBeCloseTo(19.6 * 0.8 ** 3, 6);
    // Alone at about 10/s against a refill of 20/s, Graph's share falls from 1.00 (bucket empty)
    // by 0.0033 a second: two steps of the header's 0.01 after about 6 s.
    for (let ms = 0; ms <= 7_000; ms += 250) {
      await clock.advance(ms === 0 ? 0 : 250);
      const share = 1 - ((20 - 10) * ms) / 1000 / 3_000;
      pacer.observe(WRITE, 200, headers({ 'x-ms-throttle-limit-percentage': share.toFixed(2) }));
    }
    // Read from two-decimal values, the total comes out near 9.8/s: back to within 2 % of 19.6.
    expect(pacer.stats().writeRate).toBeGreaterThan(19.2);
    expect(pacer.stats().writeRate).toBeLessThanOrEqual(19.6);
  });

  it('cuts the rate by a fifth when 429s follow each other, not for a lone one, at most once a second', () => {
    const controller = new PaceController({
      maxRate: 19.6,
      minRate: 0.2,
      capacity: 3_000,
      refillPerSecond: 20,
    });
    expect(controller.throttled(0)).toBeNull();
    expect(controller.throttled(30_000)).toBeNull();
    expect(controller.throttled(35_000)).toEqual({ reason: 'repeated429', from: 19.6, to: 19.6 * 0.8 });
    // Answers to requests already in flight say nothing new.
    expect(controller.throttled(35_010)).toBeNull();
    expect(controller.throttled(35_999)).toBeNull();
    const cut = controller.throttled(36_000);
    expect(cut?.reason).toBe('repeated429');
    expect(cut?.to).toBeCloseTo(19.6 * 0.8 * 0.8, 6);
  });

  it('waits for a trend larger than the header’s precision before acting', () => {
    const controller = new PaceController({
      maxRate: 19.6,
      minRate: 0.2,
      capacity: 3_000,
      refillPerSecond: 20,
    });
    // One-decimal values: a rise from 0.9 to 0.9 (rounded) says nothing for up to 10 s.
    for (let ms = 0; ms <= 9_000; ms += 500) expect(controller.observe('0.9', ms)).toBeNull();
    expect(controller.rate(9_000)).toBe(19.6);
  });
});

describe('GraphPacer: Graph’s own resource-unit count', () => {
  it('charges the difference when x-ms-resource-unit says a request cost more than estimated', async () => {
    const { clock, pacer, queue } = setup({ writesPer150s: 3_000, resourceUnitsPer10s: 100 });
    await clock.advance(1_000); // 9.8 RU in the bucket
    pacer.observe(READ, 200, headers({ 'x-ms-resource-unit': '5' }));
    const { done } = queue(9, READ);
    await settle();
    expect(done.length).toBe(5); // 9.8 − 4 extra RU
  });
});

describe('parseShare', () => {
  it('reads shares and tolerates percentages; ignores junk', () => {
    expect(parseShare('0.85')).toBe(0.85);
    expect(parseShare('1.8')).toBe(1.8);
    expect(parseShare('85')).toBe(0.85);
    expect(parseShare('high')).toBeNull();
    expect(parseShare('-1')).toBeNull();
  });
});

describe('GraphPacer: a failing sleep', () => {
  it('releases the waiters rather than leave requests hanging', async () => {
    const pacer = new GraphPacer(DOCUMENTED, {
      now: () => 0,
      sleep: () => Promise.reject(new Error('timer broken')),
    });
    await expect(Promise.all([pacer.admit(WRITE), pacer.admit(WRITE)])).resolves.toEqual([
      { go: true },
      { go: true },
    ]);
  });
});

describe('GraphPacer: settings', () => {
  it('refuses a budget that is not a positive number', () => {
    expect(() => new GraphPacer({ writesPer150s: 0, resourceUnitsPer10s: 100 })).toThrow(
      'pacer budget writesPer150s must be a positive number, got 0',
    );
  });
});
