/** GET /users/delta against the simulator: rounds, paging, @removed, latest, token expiry. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/index.js';
import { call, errorOf, IDS, smallTenant } from './test-support.js';

let sim: Simulator;
let now: Date;

beforeEach(async () => {
  now = new Date('2025-03-01T10:00:00Z');
  sim = await startSimulator({ tenant: smallTenant(), now: () => now });
});

afterEach(async () => {
  await sim.close();
});

interface Round {
  items: Record<string, unknown>[];
  deltaLink: string;
  pages: number;
}

/** Follows nextLinks to the deltaLink, as a client must. */
async function round(start: string, headers: Record<string, string> = {}): Promise<Round> {
  const items: Record<string, unknown>[] = [];
  let link = start;
  let pages = 0;
  for (;;) {
    const res = await call(sim.url, 'GET', link, undefined, headers);
    expect(res.status).toBe(200);
    pages++;
    items.push(...(res.body['value'] as Record<string, unknown>[]));
    const next = res.body['@odata.nextLink'];
    const delta = res.body['@odata.deltaLink'];
    expect(next === undefined || delta === undefined).toBe(true);
    if (typeof delta === 'string') return { items, deltaLink: delta, pages };
    if (typeof next !== 'string') throw new Error('page without nextLink or deltaLink');
    link = next;
  }
}

describe('users/delta', () => {
  it('returns every user in the first round, paged by odata.maxpagesize, then only changes', async () => {
    const first = await round('/v1.0/users/delta?$select=id,usageLocation,assignedLicenses', {
      Prefer: 'odata.maxpagesize=2',
    });
    expect(first.pages).toBe(3);
    expect(first.items.map((u) => u['id']).sort()).toEqual(
      [IDS.alice, IDS.bob, IDS.carol, IDS.dave, IDS.erin].sort(),
    );
    expect(Object.keys(first.items[0] ?? {}).sort()).toEqual(['assignedLicenses', 'id', 'usageLocation']);
    expect(new URL(first.deltaLink).searchParams.has('$select')).toBe(false);

    const quiet = await round(first.deltaLink);
    expect(quiet.items).toEqual([]);

    await call(sim.url, 'PATCH', `/v1.0/users/${IDS.bob}`, { usageLocation: 'NL' });
    const changed = await round(quiet.deltaLink);
    // $select travels inside the token.
    expect(changed.items).toEqual([{ id: IDS.bob, usageLocation: 'NL', assignedLicenses: [] }]);
  });

  it('reports soft-deleted users as @removed changed and permanently deleted as deleted', async () => {
    const first = await round('/v1.0/users/delta?$select=id');
    sim.tenant.deleteUser(IDS.dave);
    sim.tenant.deleteUser(IDS.erin, { permanent: true });
    const created = sim.tenant.upsertUser({
      userPrincipalName: 'frank@fabrikam.com',
      displayName: 'Frank',
      onPremisesSyncEnabled: true,
    });
    const next = await round(first.deltaLink);
    expect(next.items).toEqual([
      { id: IDS.dave, '@removed': { reason: 'changed' } },
      { id: IDS.erin, '@removed': { reason: 'deleted' } },
      { id: created.id },
    ]);
    // A soft-deleted user frees its seat and is no longer listed.
    const list = await call(sim.url, 'GET', '/v1.0/users?$select=id');
    expect((list.body['value'] as { id: string }[]).map((u) => u.id)).not.toContain(IDS.dave);
  });

  it('starts from now with $deltatoken=latest: no data, then later changes only', async () => {
    const latest = await call(sim.url, 'GET', '/v1.0/users/delta?$select=id,displayName&$deltatoken=latest');
    expect(latest.status).toBe(200);
    expect(latest.body['value']).toEqual([]);
    const link = latest.body['@odata.deltaLink'];
    expect(typeof link).toBe('string');
    sim.tenant.upsertUser({
      id: IDS.alice,
      userPrincipalName: 'alice@fabrikam.com',
      displayName: 'Alice A. Adams',
    });
    const next = await round(String(link));
    expect(next.items).toEqual([{ id: IDS.alice, displayName: 'Alice A. Adams' }]);
  });

  it('answers a token older than 7 days with 400 syncStateNotFound', async () => {
    const first = await round('/v1.0/users/delta?$select=id');
    now = new Date(now.getTime() + 7 * 24 * 3600 * 1000 + 60_000);
    const res = await call(sim.url, 'GET', first.deltaLink);
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({
      code: 'syncStateNotFound',
      message:
        'The sync state generation is not found. The delta token is expired and data must be synchronized again.',
    });
  });

  it('expires every token on expireDeltaTokens(), also as 410 Gone with a Location to restart', async () => {
    const first = await round('/v1.0/users/delta?$select=id');
    const second = await round(first.deltaLink);
    sim.tenant.expireDeltaTokens();
    const expired = await call(sim.url, 'GET', second.deltaLink);
    expect(errorOf(expired).code).toBe('syncStateNotFound');

    const fresh = await round('/v1.0/users/delta?$select=id');
    sim.tenant.expireDeltaTokens({ gone: true });
    const gone = await call(sim.url, 'GET', fresh.deltaLink);
    expect(gone.status).toBe(410);
    const location = gone.headers.get('location');
    expect(location).toBe(`${sim.url}/v1.0/users/delta?$select=id`);
    const restart = await round(location ?? '');
    expect(restart.items).toHaveLength(5);
  });

  it('counts delta requests and includes assignLicense changes in the next round', async () => {
    const first = await round('/v1.0/users/delta?$select=id,assignedLicenses');
    await call(sim.url, 'POST', `/v1.0/users/${IDS.carol}/assignLicense`, {
      addLicenses: [{ skuId: IDS.EMSPREMIUM, disabledPlans: [] }],
      removeLicenses: [],
    });
    const next = await round(first.deltaLink);
    expect(next.items.map((u) => u['id'])).toEqual([IDS.carol]);
    expect(sim.counters.get('delta')).toBe(2);
  });
});
