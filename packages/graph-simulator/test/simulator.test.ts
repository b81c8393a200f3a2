/**
 * The Graph simulator over real HTTP: users, paging, $select/$filter, errors and headers, auth,
 * faults, counters, subscribedSkus, checkMemberGroups, and the bundled sample tenant.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSampleTenant, parseTenantFile, startSimulator, type Simulator } from '../src/index.js';
import { loadSampleState, saveSampleState } from '../src/sample-state.js';
import { call, errorOf, IDS, smallTenant } from './test-support.js';

let sim: Simulator;
let sample: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ tenant: smallTenant(), now: () => new Date('2025-03-01T10:00:00Z') });
  sample = await startSimulator({ tenant: await loadSampleTenant() });
});

afterAll(async () => {
  await sim.close();
  await sample.close();
});

describe('GET /users', () => {
  it('returns the default property set without $select (no license state, no usageLocation)', async () => {
    const res = await call(sim.url, 'GET', '/v1.0/users');
    expect(res.status).toBe(200);
    const users = res.body['value'] as Record<string, unknown>[];
    expect(users).toHaveLength(5);
    const alice = users.find((u) => u['id'] === IDS.alice);
    expect(alice).toMatchObject({
      userPrincipalName: 'alice@fabrikam.com',
      displayName: 'Alice Adams',
      businessPhones: [],
    });
    expect(alice).not.toHaveProperty('assignedLicenses');
    expect(alice).not.toHaveProperty('usageLocation');
    expect(alice).not.toHaveProperty('accountEnabled');
  });

  it('projects $select and always includes id', async () => {
    const res = await call(sim.url, 'GET', '/v1.0/users?$select=usageLocation,assignedLicenses');
    const alice = (res.body['value'] as Record<string, unknown>[]).find((u) => u['id'] === IDS.alice);
    expect(Object.keys(alice ?? {}).sort()).toEqual(['assignedLicenses', 'id', 'usageLocation']);
    expect(alice?.['assignedLicenses']).toEqual([{ skuId: IDS.EMS, disabledPlans: [] }]);
    expect(res.body['@odata.context']).toBe(
      `${sim.url}/v1.0/$metadata#users(id,usageLocation,assignedLicenses)`,
    );
  });

  it('rejects an unknown $select property with the directory message', async () => {
    const res = await call(sim.url, 'GET', '/v1.0/users?$select=id,favouriteColour');
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({
      code: 'Request_BadRequest',
      message: "Could not find a property named 'favouriteColour' on type 'microsoft.graph.user'.",
    });
  });

  it('pages with an opaque $skiptoken until no nextLink is left', async () => {
    const seen: string[] = [];
    let link: string | undefined = `${sim.url}/v1.0/users?$select=id&$top=2`;
    let pages = 0;
    while (link !== undefined) {
      const res = await call(sim.url, 'GET', link);
      expect(res.status).toBe(200);
      const value = res.body['value'] as { id: string }[];
      expect(value.length).toBeLessThanOrEqual(2);
      seen.push(...value.map((u) => u.id));
      link = res.body['@odata.nextLink'] as string | undefined;
      if (link !== undefined) {
        expect(link.startsWith(`${sim.url}/v1.0/users?`)).toBe(true);
        expect(new URL(link).searchParams.get('$skiptoken')).toMatch(/^[A-Za-z0-9_-]{16,}$/);
      }
      pages++;
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(5);
  });

  it('answers $top above 999 with 400', async () => {
    const res = await call(sim.url, 'GET', '/v1.0/users?$top=1000');
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toContain("Invalid page size specified: '1000'");
  });

  it('filters by employeeId, userPrincipalName and accountEnabled', async () => {
    const byEmployee = await call(
      sim.url,
      'GET',
      `/v1.0/users?$select=id&$filter=${encodeURIComponent("employeeId eq 'C2001'")}`,
    );
    expect((byEmployee.body['value'] as { id: string }[]).map((u) => u.id)).toEqual([IDS.bob]);
    const byUpn = await call(
      sim.url,
      'GET',
      `/v1.0/users?$select=id&$filter=${encodeURIComponent("userPrincipalName eq 'CAROL@fabrikam.com'")}`,
    );
    expect((byUpn.body['value'] as { id: string }[]).map((u) => u.id)).toEqual([IDS.carol]);
    const disabled = await call(
      sim.url,
      'GET',
      `/v1.0/users?$select=id&$filter=${encodeURIComponent('accountEnabled eq false')}`,
    );
    expect((disabled.body['value'] as { id: string }[]).map((u) => u.id)).toEqual([IDS.erin]);
  });

  it('finds users by id in (…) and id eq, any case, ids it does not know left out', async () => {
    const ids = `'${IDS.alice.toUpperCase()}', '${IDS.dave}', 'c0ffee00-0000-4000-8000-000000000000'`;
    const byIds = await call(
      sim.url,
      'GET',
      `/v1.0/users?$select=id&$filter=${encodeURIComponent(`id in (${ids})`)}`,
    );
    expect((byIds.body['value'] as { id: string }[]).map((u) => u.id).sort()).toEqual(
      [IDS.alice, IDS.dave].sort(),
    );
    const byId = await call(
      sim.url,
      'GET',
      `/v1.0/users?$select=id&$filter=${encodeURIComponent(`id eq '${IDS.bob}'`)}`,
    );
    expect((byId.body['value'] as { id: string }[]).map((u) => u.id)).toEqual([IDS.bob]);
  });

  it('filters on assignedLicenses/any and refuses advanced operators without ConsistencyLevel', async () => {
    const anyEms = await call(
      sim.url,
      'GET',
      `/v1.0/users?$select=id&$filter=${encodeURIComponent(`assignedLicenses/any(x:x/skuId eq ${IDS.EMS})`)}`,
    );
    expect((anyEms.body['value'] as { id: string }[]).map((u) => u.id).sort()).toEqual(
      [IDS.alice, IDS.carol].sort(),
    );
    const ne = `/v1.0/users?$select=id&$filter=${encodeURIComponent("employeeType ne 'Contractor'")}`;
    const refused = await call(sim.url, 'GET', ne);
    expect(refused.status).toBe(400);
    expect(errorOf(refused).code).toBe('Request_UnsupportedQuery');
    const advanced = await call(sim.url, 'GET', `${ne}&$count=true`, undefined, {
      ConsistencyLevel: 'eventual',
    });
    expect(advanced.status).toBe(200);
    expect(advanced.body['@odata.count']).toBe(4);
  });
});

describe('GET /users/{id}', () => {
  it('finds a user by id or by UPN (guest UPN with #EXT# encoded)', async () => {
    const byId = await call(sim.url, 'GET', `/v1.0/users/${IDS.bob}?$select=employeeType,usageLocation`);
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({ id: IDS.bob, employeeType: 'Contractor', usageLocation: null });
    const guest = await call(
      sim.url,
      'GET',
      `/v1.0/users/${encodeURIComponent('erin_contoso.com#EXT#@fabrikam.onmicrosoft.com')}`,
    );
    expect(guest.status).toBe(200);
    expect(guest.body['id']).toBe(IDS.erin);
  });

  it('answers 404 Request_ResourceNotFound with Graph headers and innerError', async () => {
    const missing = '99999999-9999-4999-8999-999999999999';
    const res = await call(sim.url, 'GET', `/v1.0/users/${missing}`, undefined, {
      'client-request-id': 'corr-123',
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('client-request-id')).toBe('corr-123');
    const requestId = res.headers.get('request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(errorOf(res)).toEqual({
      code: 'Request_ResourceNotFound',
      message: `Resource '${missing}' does not exist or one of its queried reference-property objects are not present.`,
      innerError: { date: '2025-03-01T10:00:00', 'request-id': requestId, 'client-request-id': 'corr-123' },
    });
  });
});

describe('PATCH /users/{id}', () => {
  it('sets usageLocation (204) and refuses a malformed one (400)', async () => {
    const ok = await call(sim.url, 'PATCH', `/v1.0/users/${IDS.bob}`, { usageLocation: 'NL' });
    expect(ok.status).toBe(204);
    expect(sim.tenant.user(IDS.bob)?.usageLocation).toBe('NL');
    const bad = await call(sim.url, 'PATCH', `/v1.0/users/${IDS.bob}`, { usageLocation: 'nl' });
    expect(bad.status).toBe(400);
    expect(errorOf(bad).code).toBe('Request_BadRequest');
    expect(sim.tenant.user(IDS.bob)?.usageLocation).toBe('NL');
  });

  it('refuses to change an AD-mastered attribute of a synced user', async () => {
    const res = await call(sim.url, 'PATCH', `/v1.0/users/${IDS.alice}`, { department: 'Sales' });
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toContain('on-premises mastered Directory Sync objects');
  });
});

describe('auth, unknown paths, faults and counters', () => {
  it('answers 401 InvalidAuthenticationToken without a bearer token', async () => {
    const res = await fetch(`${sim.url}/v1.0/users`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe('InvalidAuthenticationToken');
  });

  it('answers an unknown segment with 400 and counts it as unknown', async () => {
    const before = sim.counters.get('unknown');
    const res = await call(sim.url, 'GET', '/v1.0/groupsz');
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toBe("Resource not found for the segment 'groupsz'.");
    expect(sim.counters.get('unknown')).toBe(before + 1);
  });

  it('injects 429 with Retry-After for the next matching request only, and still counts and records it', async () => {
    sim.counters.reset();
    sim.faults.inject({ kind: 'getUser', status: 429, retryAfterSeconds: 7, times: 1 });
    const other = await call(sim.url, 'GET', '/v1.0/subscribedSkus');
    expect(other.status).toBe(200);
    const throttled = await call(sim.url, 'GET', `/v1.0/users/${IDS.alice}`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('7');
    expect(errorOf(throttled).code).toBe('TooManyRequests');
    const next = await call(sim.url, 'GET', `/v1.0/users/${IDS.alice}`);
    expect(next.status).toBe(200);
    expect(sim.counters.get('getUser')).toBe(2);
    const recorded = sim.requests.filter((r) => r.kind === 'getUser').slice(-2);
    expect(recorded.map((r) => r.status)).toEqual([429, 200]);
    expect(recorded[0]?.headers).not.toHaveProperty('authorization');
    expect(sim.faults.pending()).toEqual([]);
  });

  it('injects 503 serviceNotAvailable on every kind when kind is omitted', async () => {
    sim.faults.inject({ status: 503, times: 2 });
    const a = await call(sim.url, 'GET', '/v1.0/subscribedSkus');
    const b = await call(sim.url, 'GET', `/v1.0/users/${IDS.alice}`);
    const c = await call(sim.url, 'GET', `/v1.0/users/${IDS.alice}`);
    expect([a.status, b.status, c.status]).toEqual([503, 503, 200]);
    expect(errorOf(a).code).toBe('serviceNotAvailable');
    expect(a.headers.get('retry-after')).toBeNull();
  });

  it('counts writes as assignLicense + patchUser and snapshots every kind', async () => {
    sim.counters.reset();
    await call(sim.url, 'PATCH', `/v1.0/users/${IDS.carol}`, { usageLocation: 'FR' });
    await call(sim.url, 'POST', `/v1.0/users/${IDS.carol}/assignLicense`, {
      addLicenses: [],
      removeLicenses: [],
    });
    await call(sim.url, 'GET', '/v1.0/subscribedSkus');
    expect(sim.counters.writes()).toBe(2);
    const snap = sim.counters.snapshot();
    expect(snap).toMatchObject({ patchUser: 1, assignLicense: 1, subscribedSkus: 1, listUsers: 0 });
    expect(Object.keys(snap)).toHaveLength(17);
  });
});

describe('GET /subscribedSkus', () => {
  it('reports live consumedUnits including group-inherited seats', async () => {
    const res = await call(sim.url, 'GET', '/v1.0/subscribedSkus');
    const ems = (res.body['value'] as Record<string, unknown>[]).find((s) => s['skuPartNumber'] === 'EMS');
    expect(ems).toMatchObject({
      id: `${IDS.tenant}_${IDS.EMS}`,
      skuId: IDS.EMS,
      appliesTo: 'User',
      capabilityStatus: 'Enabled',
      consumedUnits: 2,
      prepaidUnits: { enabled: 5, suspended: 0, warning: 0, lockedOut: 0 },
    });
    expect((ems?.['servicePlans'] as unknown[]).length).toBe(3);
  });

  it('supports $select and refuses $filter', async () => {
    const selected = await call(sim.url, 'GET', '/v1.0/subscribedSkus?$select=skuPartNumber');
    expect((selected.body['value'] as Record<string, unknown>[])[0]).toEqual({
      id: `${IDS.tenant}_${IDS.EMS}`,
      skuPartNumber: 'EMS',
    });
    const filtered = await call(
      sim.url,
      'GET',
      `/v1.0/subscribedSkus?$filter=${encodeURIComponent("skuPartNumber eq 'EMS'")}`,
    );
    expect(filtered.status).toBe(400);
  });
});

describe('POST /users/{id}/checkMemberGroups', () => {
  it('answers the subset of groups the user is in, through nested groups', async () => {
    const res = await call(sim.url, 'POST', `/v1.0/users/${IDS.alice}/checkMemberGroups`, {
      groupIds: [IDS.groupOuter, IDS.groupEms, IDS.groupInner],
    });
    expect(res.status).toBe(200);
    expect(res.body['value']).toEqual([IDS.groupOuter, IDS.groupInner]);
  });

  it('refuses more than 20 group ids', async () => {
    const groupIds = Array.from(
      { length: 21 },
      (_, i) => `c0000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    const res = await call(sim.url, 'POST', `/v1.0/users/${IDS.alice}/checkMemberGroups`, { groupIds });
    expect(res.status).toBe(400);
  });
});

describe('the bundled sample tenant', () => {
  it('has ~300 users: mostly synced, some cloud-only, guests, disabled, some without usageLocation', () => {
    const users = sample.tenant.users();
    expect(users.length).toBe(300);
    const synced = users.filter((u) => u.onPremisesSyncEnabled === true);
    expect(synced.length).toBe(250);
    expect(synced.every((u) => typeof u.onPremisesImmutableId === 'string')).toBe(true);
    const guests = users.filter((u) => u.userType === 'Guest');
    expect(guests.length).toBeGreaterThan(5);
    expect(guests.every((u) => u.userPrincipalName.includes('#EXT#'))).toBe(true);
    const noLocation = users.filter((u) => u.usageLocation === null || u.usageLocation === undefined).length;
    expect(noLocation).toBeGreaterThan(20);
    expect(users.some((u) => u.accountEnabled === false)).toBe(true);
    expect(new Set(synced.map((u) => u.employeeType))).toEqual(new Set(['Employee', 'Contractor']));
  });

  it('has group-inherited licenses and users already compliant with EMS', () => {
    const users = sample.tenant.users();
    const inherited = users.filter((u) =>
      u.licenseAssignmentStates.some((s) => typeof s.assignedByGroup === 'string'),
    );
    expect(inherited.length).toBeGreaterThan(5);
    const contractorsWithoutIntune = users.filter(
      (u) =>
        u.employeeType === 'Contractor' &&
        u.assignedLicenses.some((l) => l.skuId === IDS.EMS && l.disabledPlans.includes(IDS.INTUNE_A)),
    );
    expect(contractorsWithoutIntune.length).toBeGreaterThan(0);
  });

  it('has enough EMS seats for every synced user, EMSPREMIUM full, and a Company SKU', () => {
    const ems = sample.tenant.sku('EMS');
    const synced = sample.tenant.users().filter((u) => u.onPremisesSyncEnabled === true).length;
    expect(ems?.skuPartNumber).toBe('EMS');
    expect((ems?.prepaidUnits.enabled ?? 0) - (ems?.consumedUnits ?? 0)).toBeGreaterThanOrEqual(synced);
    const premium = sample.tenant.sku('b05e124f-c7cc-45a0-a6aa-8cf78c946968');
    expect(premium?.prepaidUnits.enabled).toBe(premium?.consumedUnits);
    expect(sample.tenant.skus().some((s) => s.appliesTo === 'Company')).toBe(true);
    expect(ems?.servicePlans.map((p) => p.servicePlanName).sort()).toEqual(
      [
        'AAD_PREMIUM',
        'ADALLOM_S_DISCOVERY',
        'EXCHANGE_S_FOUNDATION',
        'INTUNE_A',
        'MFA_PREMIUM',
        'RMS_S_ENTERPRISE',
        'RMS_S_PREMIUM',
      ].sort(),
    );
  });

  it('pages through all 300 users with $top=999 in one page and with the default page size in three', async () => {
    const big = await call(sample.url, 'GET', '/v1.0/users?$select=id&$top=999');
    expect((big.body['value'] as unknown[]).length).toBe(300);
    expect(big.body['@odata.nextLink']).toBeUndefined();
    const first = await call(sample.url, 'GET', '/v1.0/users?$select=id');
    expect((first.body['value'] as unknown[]).length).toBe(100);
    expect(typeof first.body['@odata.nextLink']).toBe('string');
  });
});

describe('exporting and persisting the tenant', () => {
  it('round-trips the live state through exportTenant and the sample-state file', async () => {
    const fresh = await startSimulator({ tenant: smallTenant() });
    const dir = await mkdtemp(path.join(tmpdir(), 'sim-state-'));
    try {
      await call(fresh.url, 'PATCH', `/v1.0/users/${IDS.bob}`, { usageLocation: 'NL' });
      await call(fresh.url, 'POST', `/v1.0/users/${IDS.bob}/assignLicense`, {
        addLicenses: [{ skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] }],
        removeLicenses: [],
      });
      const exported = parseTenantFile(fresh.tenant.exportTenant());
      expect(exported.users.find((u) => u.id === IDS.bob)?.directLicenses).toEqual([
        { skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] },
      ]);
      const statePath = path.join(dir, 'nested', 'sample-tenant.json');
      await saveSampleState(statePath, fresh);
      const loaded = await loadSampleState(statePath);
      expect(loaded.fromSaved).toBe(true);
      const again = await startSimulator({ tenant: loaded.tenant });
      try {
        expect(again.tenant.user(IDS.bob)?.assignedLicenses).toEqual([
          { skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] },
        ]);
        expect(again.tenant.user(IDS.carol)?.licenseAssignmentStates[0]?.assignedByGroup).toBe(IDS.groupEms);
        expect(again.tenant.sku('EMS')?.consumedUnits).toBe(3);
      } finally {
        await again.close();
      }
      const reset = await loadSampleState(statePath, { reset: true });
      expect(reset.fromSaved).toBe(false);
      expect(reset.tenant.users).toHaveLength(300);
    } finally {
      await fresh.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
