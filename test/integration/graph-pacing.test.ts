/**
 * The pacer in the real Graph client (createGraphClient's middleware chain, the gateway) against
 * the simulator enforcing Graph's write limit over HTTP. One fake clock drives the pacer, the retry
 * middleware's sleeps and the simulator's token buckets, so the buckets see exactly the times the
 * pacer chose, and no test waits for Retry-After on the wall clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGraphClient } from '../../lib/graph/client.js';
import { SimulatorCredential } from '../../lib/graph/credential.js';
import type { GraphGateway } from '../../lib/graph/gateway.js';
import { isGraphError } from '../../lib/graph/graph-error.js';
import { createGraphGateway } from '../../lib/graph/graph-gateway.js';
import { GraphPacer } from '../../lib/graph/pacer.js';
import { startSimulator, type Simulator, type ThrottlingInput } from '@ems-licensing/graph-simulator';
import { IDS, smallTenant } from '@ems-licensing/graph-simulator/test-support';
import { fakeClock, type FakeClock } from '../support/fake-clock.js';

const started: Simulator[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

async function setup(throttling: ThrottlingInput, paced: boolean) {
  const clock = fakeClock();
  const epoch = Date.parse('2025-03-01T10:00:00Z');
  const sim = await startSimulator({
    tenant: smallTenant(),
    now: () => new Date(epoch + clock.now()),
    throttling,
  });
  started.push(sim);
  const pacer = new GraphPacer(
    { writesPer150s: 3_000, resourceUnitsPer10s: 3_500 },
    { now: clock.now, sleep: clock.sleep, maxWaitMs: 600_000 },
  );
  const client = createGraphClient({
    baseUrl: sim.url,
    credential: new SimulatorCredential(),
    maxRetries: 3,
    retry: { sleep: clock.sleep, random: () => 0.5, maxDelayMs: 600_000 },
    ...(paced ? { pacer } : {}),
  });
  return { clock, sim, pacer, gateway: createGraphGateway({ client }) };
}

/** Runs fake time forward, timer by timer, giving real I/O a moment between steps. */
async function drive(clock: FakeClock, until: () => boolean, limitMs: number): Promise<void> {
  const io = () => new Promise<void>((resolve) => setTimeout(resolve, 5));
  while (!until() && clock.now() < limitMs) {
    await io();
    const due = clock.nextDue();
    if (due === undefined) continue;
    await clock.advance(Math.min(due, limitMs) - clock.now());
  }
  await io();
}

function writes(gateway: GraphGateway, n: number) {
  const settled: (true | string)[] = [];
  const all = Array.from({ length: n }, () =>
    gateway.setUsageLocation(IDS.bob, 'DE').then(
      () => settled.push(true),
      (e: unknown) => settled.push(isGraphError(e) ? e.kind : String(e)),
    ),
  );
  return { settled, all };
}

describe('pacing through the real Graph client', () => {
  it('keeps 25 concurrent writes under a drained write budget: no 429 at all', async () => {
    const { clock, sim, gateway } = await setup({ initialFill: 0 }, true);
    const { settled } = writes(gateway, 25);
    await drive(clock, () => settled.length === 25, 5_000);
    expect(settled).toEqual(Array.from({ length: 25 }, () => true));
    expect(sim.counters.throttled()).toBe(0);
    // 19.6 writes/s against Graph's 20/s: 25 writes take 25/19.6 s.
    expect(clock.now()).toBeCloseTo((25 * 1000) / 19.6, 0);
  });

  it('without the pacer, the same writes come back as 429s', async () => {
    const { clock, sim, gateway } = await setup({ initialFill: 0 }, false);
    const { settled } = writes(gateway, 25);
    // All 25 go out at once, at fake time 0, into the drained bucket.
    while (sim.counters.writes() < 25) await new Promise((resolve) => setTimeout(resolve, 5));
    await drive(clock, () => settled.length === 25, 600_000);
    expect(sim.counters.throttled()).toBeGreaterThanOrEqual(25);
  });

  it('holds every write of the process while Graph’s Retry-After runs, then resumes', async () => {
    // 3 writes per 150 s: the 4th is refused with Retry-After 100 s (the refusal is charged).
    const { clock, sim, pacer, gateway } = await setup({ writesPer150s: 3 }, true);
    const first = writes(gateway, 4);
    await drive(clock, () => sim.counters.throttled() === 1, 5_000);
    const refusedAt = clock.now();
    expect(sim.counters.writes()).toBe(4);
    const later = writes(gateway, 2);
    await drive(clock, () => false, refusedAt + 99_000);
    // Nothing reached Graph during the pause: not the retry, not the two new writes.
    expect(sim.counters.writes()).toBe(4);
    expect(pacer.stats().pauses).toBe(1);
    await drive(clock, () => first.settled.length + later.settled.length === 6, refusedAt + 600_000);
    expect([...first.settled, ...later.settled]).toEqual([true, true, true, true, true, true]);
  });
});
