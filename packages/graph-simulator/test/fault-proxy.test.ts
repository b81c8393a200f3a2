/**
 * The fault proxy in front of the simulator: faults are never applied, lost answers always are.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProxy, startSimulator, type FaultProxy, type Simulator } from '../src/index.js';
import { IDS, smallTenant } from './test-support.js';

let sim: Simulator;
let proxy: FaultProxy;

afterEach(async () => {
  await proxy.close();
  await sim.close();
});

const auth = { authorization: 'Bearer x', 'content-type': 'application/json' };

describe('startFaultProxy', () => {
  it('passes everything through at rate 0, links pointing at itself', async () => {
    sim = await startSimulator({ tenant: smallTenant() });
    proxy = await startFaultProxy({ target: sim.url, faultRate: 0, lostWriteRate: 0 });
    const direct = await (
      await fetch(`${sim.url}/v1.0/users/${IDS.alice}?$select=id,usageLocation`, { headers: auth })
    ).json();
    const proxied = await fetch(`${proxy.url}/v1.0/users/${IDS.alice}?$select=id,usageLocation`, {
      headers: auth,
    });
    expect(proxied.status).toBe(200);
    expect(await proxied.text()).toBe(JSON.stringify(direct).replaceAll(sim.url, proxy.url));
    expect(proxy.counts()).toMatchObject({ passed: 1, dropped: 0, lostAnswer: 0 });
  });

  it('points paging links at itself, so a client keeps coming through it', async () => {
    sim = await startSimulator({ tenant: smallTenant() });
    proxy = await startFaultProxy({ target: sim.url, faultRate: 0, lostWriteRate: 0 });
    const page = (await (await fetch(`${proxy.url}/v1.0/users?$top=2`, { headers: auth })).json()) as {
      '@odata.nextLink': string;
    };
    expect(page['@odata.nextLink'].startsWith(`${proxy.url}/v1.0/users?`)).toBe(true);
    const next = await fetch(page['@odata.nextLink'], { headers: auth });
    expect(next.status).toBe(200);
  });

  it('applies every write whose answer it loses, and none it fails', async () => {
    sim = await startSimulator({ tenant: smallTenant() });
    proxy = await startFaultProxy({ target: sim.url, faultRate: 0, lostWriteRate: 1, seed: 7 });
    const answer = await fetch(`${proxy.url}/v1.0/users/${IDS.bob}`, {
      method: 'PATCH',
      headers: auth,
      body: JSON.stringify({ usageLocation: 'DE' }),
    }).then(
      (r) => r.status,
      () => 'connection lost',
    );
    expect([504, 'connection lost']).toContain(answer);
    expect(sim.tenant.user(IDS.bob)?.usageLocation).toBe('DE');
    expect(proxy.counts().lostAnswer).toBe(1);

    proxy.setRates({ faultRate: 1, lostWriteRate: 0 });
    const refused = await fetch(`${proxy.url}/v1.0/users/${IDS.bob}`, {
      method: 'PATCH',
      headers: auth,
      body: JSON.stringify({ usageLocation: 'FR' }),
    }).then(
      (r) => r.status,
      () => 'connection lost',
    );
    expect([429, 500, 502, 503, 504, 'connection lost']).toContain(refused);
    expect(sim.tenant.user(IDS.bob)?.usageLocation).toBe('DE');
    expect(sim.counters.get('patchUser')).toBe(1);
  });

  it('injects roughly the configured share of faults, with Graph error bodies and Retry-After', async () => {
    sim = await startSimulator({ tenant: smallTenant() });
    proxy = await startFaultProxy({ target: sim.url, faultRate: 0.2, lostWriteRate: 0, seed: 42 });
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await fetch(`${proxy.url}/v1.0/users/${IDS.alice}?$select=id`, { headers: auth }).catch(
        () => null,
      );
      if (r === null) {
        statuses.push('dropped');
        continue;
      }
      statuses.push(r.status);
      if (r.status === 429) expect(r.headers.get('retry-after')).toBe('1');
      if (r.status >= 400)
        expect(((await r.json()) as { error: { code: string } }).error.code).toMatch(/^[a-zA-Z]+$/);
      else await r.arrayBuffer();
    }
    const faults = statuses.filter((s) => s !== 200).length;
    const c = proxy.counts();
    expect(faults).toBe(200 - c.passed);
    // 200 draws at p = 0.2: 40 expected; 20 to 60 is over four standard deviations either way.
    expect(faults).toBeGreaterThan(20);
    expect(faults).toBeLessThan(60);
    expect(sim.counters.get('getUser')).toBe(c.passed);
  });
});
