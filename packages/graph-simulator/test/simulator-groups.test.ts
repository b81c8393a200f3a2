/**
 * Groups over real HTTP: listing licensed groups with `$filter` and `$select`, dynamic groups'
 * membershipRule and processing state, direct and transitive members, paging, errors, and the
 * cost header (learn.microsoft.com/graph/api/group-list, group-list-members,
 * group-list-transitivemembers, resources/group, throttling-limits).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTenantFile, startSimulator, type Simulator } from '../src/index.js';
import { call, errorOf, IDS, smallTenant } from './test-support.js';

const DYNAMIC = 'c0000000-0000-4000-8000-000000000001';
const PAUSED = 'c0000000-0000-4000-8000-000000000002';
const RULE = '(user.department -eq "Engineering") -and (user.employeeType -ne "Contractor")';

let sim: Simulator;

beforeAll(async () => {
  const tenant = smallTenant();
  sim = await startSimulator({
    tenant: parseTenantFile({
      ...tenant,
      groups: [
        ...tenant.groups,
        {
          id: DYNAMIC,
          displayName: 'DYN-Engineering',
          groupTypes: ['DynamicMembership'],
          membershipRule: RULE,
          members: [IDS.alice],
          licenses: [{ skuId: IDS.ENTERPRISEPACK, disabledPlans: [IDS.SHAREPOINTWAC] }],
        },
        {
          id: PAUSED,
          displayName: 'DYN-Paused',
          groupTypes: ['DynamicMembership', 'Unified'],
          membershipRule: 'user.userType -eq "Guest"',
          membershipRuleProcessingState: 'Paused',
          members: [],
        },
      ],
    }),
  });
});

afterAll(async () => {
  await sim.close();
});

const SELECT =
  'id,displayName,groupTypes,membershipRule,membershipRuleProcessingState,assignedLicenses,licenseProcessingState';

describe('GET /groups', () => {
  it('lists the groups carrying a SKU with assignedLicenses/any, and what $select asks for', async () => {
    const res = await call(
      sim.url,
      'GET',
      `/v1.0/groups?$filter=${encodeURIComponent(`assignedLicenses/any(x:x/skuId eq ${IDS.ENTERPRISEPACK})`)}&$select=${SELECT}`,
    );
    expect(res.status).toBe(200);
    expect(res.body['value']).toEqual([
      {
        id: DYNAMIC,
        displayName: 'DYN-Engineering',
        groupTypes: ['DynamicMembership'],
        membershipRule: RULE,
        membershipRuleProcessingState: 'On',
        assignedLicenses: [{ disabledPlans: [IDS.SHAREPOINTWAC], skuId: IDS.ENTERPRISEPACK }],
        licenseProcessingState: { state: 'ProcessingComplete' },
      },
    ]);
    // group-list: "$select … 1 off" from the unlisted cost of 1 stays at the minimum of 1.
    expect(res.headers.get('x-ms-resource-unit')).toBe('1');
  });

  it('returns the default set without $select: no assignedLicenses, a static group has no rule', async () => {
    const res = await call(sim.url, 'GET', '/v1.0/groups');
    const groups = res.body['value'] as Record<string, unknown>[];
    expect(groups).toHaveLength(5);
    const ems = groups.find((g) => g['id'] === IDS.groupEms);
    expect(ems).toMatchObject({ groupTypes: [], membershipRule: null, membershipRuleProcessingState: null });
    expect(ems).not.toHaveProperty('assignedLicenses');
    expect(groups.find((g) => g['id'] === PAUSED)).toMatchObject({ membershipRuleProcessingState: 'Paused' });
  });

  it('filters dynamic groups with groupTypes/any and pages with $top', async () => {
    const filter = encodeURIComponent("groupTypes/any(c:c eq 'DynamicMembership')");
    const first = await call(sim.url, 'GET', `/v1.0/groups?$filter=${filter}&$select=id&$top=1`);
    expect((first.body['value'] as unknown[]).length).toBe(1);
    const next = first.body['@odata.nextLink'] as string;
    expect(next).toMatch(/\$skiptoken=/);
    const second = await call(sim.url, 'GET', next);
    expect(
      [...(first.body['value'] as { id: string }[]), ...(second.body['value'] as { id: string }[])].map(
        (g) => g.id,
      ),
    ).toEqual([DYNAMIC, PAUSED]);
    expect(second.body).not.toHaveProperty('@odata.nextLink');
  });

  it('refuses a filter the directory does not support, in its words', async () => {
    const res = await call(
      sim.url,
      'GET',
      `/v1.0/groups?$filter=${encodeURIComponent("description eq 'x'")}`,
    );
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({
      code: 'Request_UnsupportedQuery',
      message:
        "Unsupported or invalid query filter clause specified for property 'description' of resource 'Group'.",
    });
    const bad = await call(sim.url, 'GET', '/v1.0/groups?$select=id,licences');
    expect(errorOf(bad).message).toBe(
      "Could not find a property named 'licences' on type 'microsoft.graph.group'.",
    );
  });

  it('answers 404 for an unknown group and 405 for writes', async () => {
    const missing = await call(sim.url, 'GET', '/v1.0/groups/c0000000-0000-4000-8000-0000000000ff');
    expect(missing.status).toBe(404);
    expect(errorOf(missing).code).toBe('Request_ResourceNotFound');
    expect((await call(sim.url, 'POST', '/v1.0/groups', { displayName: 'x' })).status).toBe(405);
  });

  it('selects groups with members in licensing error (hasMembersWithLicenseErrors eq true)', async () => {
    const filter = encodeURIComponent('hasMembersWithLicenseErrors eq true');
    expect((await call(sim.url, 'GET', `/v1.0/groups?$filter=${filter}`)).body['value']).toEqual([]);
    const local = await startSimulator({ tenant: smallTenant() });
    try {
      // No EMS seat left: a new member's inherited path fails with CountViolation.
      local.tenant.setPrepaidUnits('EMS', 2);
      local.tenant.addToGroup(IDS.bob, IDS.groupEms);
      const res = await call(local.url, 'GET', `/v1.0/groups?$filter=${filter}&$select=id`);
      expect(res.body['value']).toEqual([{ id: IDS.groupEms }]);
    } finally {
      await local.close();
    }
  });
});

describe('GET /groups/{id}/members and /transitiveMembers', () => {
  it('lists direct members with @odata.type, users and nested groups alike', async () => {
    const res = await call(sim.url, 'GET', `/v1.0/groups/${IDS.groupOuter}/members?$select=id,displayName`);
    expect(res.body['value']).toEqual([
      { '@odata.type': '#microsoft.graph.group', id: IDS.groupInner, displayName: 'SG-Inner' },
    ]);
    expect(res.headers.get('x-ms-resource-unit')).toBe('2');
  });

  it('lists transitive members through nesting, each once, at the documented cost', async () => {
    const res = await call(sim.url, 'GET', `/v1.0/groups/${IDS.groupOuter}/transitiveMembers`);
    const members = res.body['value'] as Record<string, unknown>[];
    expect(members.map((m) => [m['@odata.type'], m['id']])).toEqual([
      ['#microsoft.graph.group', IDS.groupInner],
      ['#microsoft.graph.user', IDS.alice],
    ]);
    // Without $select each member comes with its type's default properties.
    expect(members[1]).toMatchObject({
      displayName: 'Alice Adams',
      userPrincipalName: 'alice@fabrikam.com',
      businessPhones: [],
    });
    expect(members[0]).toMatchObject({ displayName: 'SG-Inner', groupTypes: [], securityEnabled: true });
    expect(res.headers.get('x-ms-resource-unit')).toBe('5');
  });

  it('pages members with $top and refuses an unknown property', async () => {
    const local = await startSimulator({ tenant: smallTenant() });
    try {
      for (const id of [IDS.alice, IDS.bob, IDS.dave]) local.tenant.addToGroup(id, IDS.groupEms);
      const first = await call(local.url, 'GET', `/v1.0/groups/${IDS.groupEms}/members?$select=id&$top=2`);
      const second = await call(local.url, 'GET', first.body['@odata.nextLink'] as string);
      const ids = [
        ...(first.body['value'] as { id: string }[]),
        ...(second.body['value'] as { id: string }[]),
      ].map((m) => m.id);
      expect(ids.sort()).toEqual([IDS.alice, IDS.bob, IDS.carol, IDS.dave].sort());
      const bad = await call(local.url, 'GET', `/v1.0/groups/${IDS.groupEms}/members?$select=nickname`);
      expect(bad.status).toBe(400);
    } finally {
      await local.close();
    }
  });

  it('leaves deleted users out of the members', async () => {
    const local = await startSimulator({ tenant: smallTenant() });
    try {
      local.tenant.deleteUser(IDS.carol);
      const res = await call(local.url, 'GET', `/v1.0/groups/${IDS.groupEms}/members`);
      expect(res.body['value']).toEqual([]);
    } finally {
      await local.close();
    }
  });
});

describe('removeGroupLicense', () => {
  it('takes the inherited path off every member and frees the seat', async () => {
    const local = await startSimulator({ tenant: smallTenant() });
    try {
      const seatsBefore = local.tenant.sku('EMS')?.consumedUnits;
      local.tenant.removeGroupLicense(IDS.groupEms, 'EMS');
      expect(local.tenant.user(IDS.carol)?.licenseAssignmentStates).toEqual([]);
      expect(local.tenant.user(IDS.carol)?.assignedLicenses).toEqual([]);
      expect(local.tenant.sku('EMS')?.consumedUnits).toBe((seatsBefore ?? 0) - 1);
      expect(() => local.tenant.removeGroupLicense(IDS.groupEms, 'NOPE')).toThrow(/no SKU NOPE/);
    } finally {
      await local.close();
    }
  });
});

describe('tenant file: dynamic groups', () => {
  it('needs a membershipRule exactly when groupTypes has DynamicMembership', () => {
    const base = smallTenant();
    expect(() =>
      parseTenantFile({
        ...base,
        groups: [{ id: DYNAMIC, displayName: 'x', groupTypes: ['DynamicMembership'] }],
      }),
    ).toThrow(/a dynamic group needs a membershipRule/);
    expect(() =>
      parseTenantFile({ ...base, groups: [{ id: DYNAMIC, displayName: 'x', membershipRule: RULE }] }),
    ).toThrow(/must have DynamicMembership in groupTypes/);
  });

  it('keeps dynamic groups through exportTenant', () => {
    const exported = sim.tenant.exportTenant().groups.find((g) => g.id === DYNAMIC);
    expect(exported).toMatchObject({
      groupTypes: ['DynamicMembership'],
      membershipRule: RULE,
      membershipRuleProcessingState: 'On',
      members: [IDS.alice],
    });
  });
});
