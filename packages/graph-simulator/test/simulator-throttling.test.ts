/**
 * The simulator's optional Graph throttling (src/throttle.ts) and latency (src/latency.ts) over real HTTP, with the simulator's clock injected so the token
 * buckets refill only when the test moves time on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  requestCost,
  resourceUnitsPer10sFor,
  SIMULATED_APP_ID,
  startSimulator,
  type Simulator,
  type ThrottlingInput,
} from '../src/index.js';
import { latencyFor } from '../src/latency.js';
import { call, errorOf, IDS, smallTenant } from './test-support.js';

const started: Simulator[] = [];
let clock = new Date('2025-03-01T10:00:00Z');
const advance = (ms: number) => {
  clock = new Date(clock.getTime() + ms);
};

async function simulator(throttling?: boolean | ThrottlingInput, tenantThrottling?: boolean) {
  clock = new Date('2025-03-01T10:00:00Z');
  const tenant = smallTenant();
  const sim = await startSimulator({
    tenant: tenantThrottling === undefined ? tenant : { ...tenant, throttling: tenantThrottling },
    now: () => clock,
    ...(throttling === undefined ? {} : { throttling }),
  });
  started.push(sim);
  return sim;
}

const patchUsageLocation = (sim: Simulator, userId: string) =>
  call(sim.url, 'PATCH', `/v1.0/users/${userId}`, { usageLocation: 'DE' });

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
});

describe('throttling off (the default)', () => {
  it('adds no throttling headers and never answers 429', async () => {
    const sim = await simulator();
    for (let i = 0; i < 30; i++) expect((await patchUsageLocation(sim, IDS.bob)).status).toBe(204);
    const res = await call(sim.url, 'GET', '/v1.0/users?$select=id');
    expect(res.headers.get('x-ms-resource-unit')).toBeNull();
    expect(sim.throttleStats()).toBeNull();
    expect(sim.counters.throttled()).toBe(0);
  });
});

describe('the write limit per app and tenant', () => {
  it('admits the budget, then answers 429 with Retry-After, scope and information', async () => {
    const sim = await simulator({ writesPer150s: 3 });
    for (let i = 0; i < 3; i++) {
      const ok = await patchUsageLocation(sim, IDS.bob);
      expect(ok.status).toBe(204);
      expect(ok.headers.get('x-ms-resource-unit')).toBe('1');
    }
    const refused = await patchUsageLocation(sim, IDS.bob);
    expect(refused.status).toBe(429);
    expect(errorOf(refused).code).toBe('TooManyRequests');
    // 3 writes per 150 s refill one write every 50 s; the refusal itself was charged: 2 refills.
    expect(refused.headers.get('retry-after')).toBe('100');
    expect(refused.headers.get('x-ms-throttle-scope')).toBe(
      `Tenant_Application/Write/${SIMULATED_APP_ID}/${IDS.tenant}`,
    );
    expect(refused.headers.get('x-ms-throttle-information')).toBe('WriteLimitExceeded');
    expect(sim.counters.throttled()).toBe(1);
    expect(sim.throttleStats()).toEqual({ checked: 4, throttled: 1, resourceUnits: 4 });
  });

  it('charges a refused write too, so retrying early only pushes the wait further', async () => {
    const sim = await simulator({ writesPer150s: 3 });
    for (let i = 0; i < 3; i++) await patchUsageLocation(sim, IDS.bob);
    expect((await patchUsageLocation(sim, IDS.bob)).headers.get('retry-after')).toBe('100');
    // Asking again before Retry-After is charged as well: one more refill is owed.
    expect((await patchUsageLocation(sim, IDS.bob)).headers.get('retry-after')).toBe('150');
    advance(100_000);
    const early = await patchUsageLocation(sim, IDS.bob);
    expect(early.status).toBe(429);
    expect(early.headers.get('retry-after')).toBe('100');
    advance(100_000);
    expect((await patchUsageLocation(sim, IDS.bob)).status).toBe(204);
  });

  it('does not charge refused writes when chargeThrottled is false', async () => {
    const sim = await simulator({ writesPer150s: 3, chargeThrottled: false });
    for (let i = 0; i < 3; i++) await patchUsageLocation(sim, IDS.bob);
    expect((await patchUsageLocation(sim, IDS.bob)).headers.get('retry-after')).toBe('50');
    expect((await patchUsageLocation(sim, IDS.bob)).headers.get('retry-after')).toBe('50');
    advance(50_000);
    expect((await patchUsageLocation(sim, IDS.bob)).status).toBe(204);
  });

  it('refills continuously from an empty start: one write per 50 s at 3 per 150 s', async () => {
    const sim = await simulator({ writesPer150s: 3, initialFill: 0 });
    advance(49_000);
    expect((await patchUsageLocation(sim, IDS.bob)).headers.get('retry-after')).toBe('51');
    advance(52_000);
    expect((await patchUsageLocation(sim, IDS.bob)).status).toBe(204);
  });

  it('sends the limit percentage only above 0.8 of the limit, up to 1.8', async () => {
    const sim = await simulator({ writesPer150s: 10, chargeThrottled: true });
    const seen: (string | null)[] = [];
    for (let i = 0; i < 12; i++) {
      seen.push((await patchUsageLocation(sim, IDS.bob)).headers.get('x-ms-throttle-limit-percentage'));
    }
    // Used after each write: 0.1 … 0.8 (no header), 0.9, 1.0, then refusals counted: 1.1, 1.2.
    expect(seen).toEqual([null, null, null, null, null, null, null, null, '0.90', '1.00', '1.10', '1.20']);
  });

  it('applies the tenant-wide write limit (all apps) too', async () => {
    const sim = await simulator({ writesPer150s: 100, tenantWritesPer300s: 2 });
    await patchUsageLocation(sim, IDS.bob);
    await patchUsageLocation(sim, IDS.bob);
    const refused = await patchUsageLocation(sim, IDS.bob);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-ms-throttle-scope')).toBe(`Tenant/Write/${SIMULATED_APP_ID}/${IDS.tenant}`);
    expect(refused.headers.get('retry-after')).toBe('300');
  });
});

describe('the resource-unit limit', () => {
  it('charges reads by Graph’s cost table and refuses them when the RU bucket is empty', async () => {
    const sim = await simulator({ resourceUnitsPer10s: 5 });
    const list = await call(sim.url, 'GET', '/v1.0/users?$select=id');
    expect(list.headers.get('x-ms-resource-unit')).toBe('1');
    const skus = await call(sim.url, 'GET', '/v1.0/subscribedSkus');
    expect(skus.headers.get('x-ms-resource-unit')).toBe('3');
    const refused = await call(sim.url, 'GET', '/v1.0/users');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-ms-resource-unit')).toBe('2');
    expect(refused.headers.get('x-ms-throttle-scope')).toBe(
      `Tenant_Application/ReadWrite/${SIMULATED_APP_ID}/${IDS.tenant}`,
    );
    expect(refused.headers.get('x-ms-throttle-information')).toBe('ResourceUnitLimitExceeded');
    // 5 RU per 10 s is 0.5 RU/s; 1 RU was left, the refusal was charged (-1): 3 RU to wait for.
    expect(refused.headers.get('retry-after')).toBe('6');
  });

  it('leaves subscriptions (not an identity resource) unlimited and uncounted', async () => {
    const sim = await simulator({ resourceUnitsPer10s: 1 });
    for (let i = 0; i < 3; i++) {
      const res = await call(sim.url, 'GET', '/v1.0/subscriptions');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ms-resource-unit')).toBeNull();
    }
    expect(sim.throttleStats()?.checked).toBe(0);
  });

  it('is turned on by the tenant file, and the start option can turn it off again', async () => {
    const fromFile = await simulator(undefined, true);
    expect((await call(fromFile.url, 'GET', '/v1.0/users')).headers.get('x-ms-resource-unit')).toBe('2');
    const overridden = await simulator(false, true);
    expect((await call(overridden.url, 'GET', '/v1.0/users')).headers.get('x-ms-resource-unit')).toBeNull();
  });
});

describe('request costs (learn.microsoft.com/graph/throttling-limits)', () => {
  it('follows the cost table and the query adjustments, never below 1', () => {
    expect(requestCost('listUsers', {})).toEqual({ resourceUnits: 2, writes: 0 });
    expect(requestCost('listUsers', { $select: 'id' })).toEqual({ resourceUnits: 1, writes: 0 });
    expect(requestCost('listUsers', { $select: 'id', $top: '2' })).toEqual({ resourceUnits: 1, writes: 0 });
    expect(requestCost('listUsers', { $expand: 'manager' })).toEqual({ resourceUnits: 3, writes: 0 });
    expect(requestCost('getUser', { $select: 'id' })).toEqual({ resourceUnits: 1, writes: 0 });
    expect(requestCost('subscribedSkus', {})).toEqual({ resourceUnits: 3, writes: 0 });
    expect(requestCost('checkMemberGroups', {})).toEqual({ resourceUnits: 4, writes: 0 });
    expect(requestCost('assignLicense', {})).toEqual({ resourceUnits: 1, writes: 1 });
    expect(requestCost('patchUser', {})).toEqual({ resourceUnits: 1, writes: 1 });
    expect(requestCost('createSubscription', {})).toEqual({ resourceUnits: 0, writes: 0 });
  });

  it('sizes the RU quota by the tenant’s users: under 50, 50 to 500, over 500', () => {
    expect([49, 50, 500, 501].map(resourceUnitsPer10sFor)).toEqual([3_500, 5_000, 5_000, 8_000]);
  });
});

describe('latency', () => {
  it('holds reads and writes for their own time', () => {
    const settings = { readMs: 60, writeMs: 120 };
    expect(latencyFor(settings, 'GET', 'getUser')).toBe(60);
    expect(latencyFor(settings, 'POST', 'checkMemberGroups')).toBe(60);
    expect(latencyFor(settings, 'POST', 'assignLicense')).toBe(120);
    expect(latencyFor(settings, 'PATCH', 'patchUser')).toBe(120);
  });

  it('holds the answer at least the configured time', async () => {
    const sim = await startSimulator({ tenant: smallTenant(), latency: { readMs: 40 } });
    started.push(sim);
    const t0 = performance.now();
    const res = await call(sim.url, 'GET', `/v1.0/users/${IDS.alice}`);
    // A lower bound only: a loaded machine can make it slower, never faster.
    expect(res.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(38);
  });
});
