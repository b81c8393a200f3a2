/** assignLicense against the simulator: Graph's documented rules and error wording (user-assignlicense and the issue threads in README.md, Sources). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/index.js';
import { call, errorOf, IDS, smallTenant } from './test-support.js';

let sim: Simulator;

beforeEach(async () => {
  sim = await startSimulator({ tenant: smallTenant() });
});

afterEach(async () => {
  await sim.close();
});

const assign = (user: string, body: unknown): ReturnType<typeof call> =>
  call(sim.url, 'POST', `/v1.0/users/${user}/assignLicense`, body);

describe('assignLicense', () => {
  it('adds a license: 200 with the user, seat consumed, direct state with assignedByGroup null', async () => {
    await call(sim.url, 'PATCH', `/v1.0/users/${IDS.bob}`, { usageLocation: 'NL' });
    const res = await assign(IDS.bob, {
      addLicenses: [{ skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] }],
      removeLicenses: [],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: IDS.bob, userPrincipalName: 'bob@fabrikam.com' });
    expect(sim.tenant.sku('EMS')?.consumedUnits).toBe(3);
    const bob = sim.tenant.user(IDS.bob);
    expect(bob?.assignedLicenses).toEqual([{ skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] }]);
    expect(bob?.licenseAssignmentStates).toEqual([
      expect.objectContaining({
        skuId: IDS.EMS,
        assignedByGroup: null,
        state: 'Active',
        disabledPlans: [IDS.INTUNE_A],
      }),
    ]);
  });

  it('names the missing parameter when an array is left out', async () => {
    const res = await assign(IDS.alice, { addLicenses: [] });
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({
      code: 'Request_BadRequest',
      message:
        "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: removeLicenses.",
    });
  });

  it('refuses an empty change', async () => {
    const res = await assign(IDS.alice, { addLicenses: [], removeLicenses: [] });
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toBe(
      'No license changes provided. At least one license to add or remove must be specified.',
    );
  });

  it('refuses an unknown SKU and a Company SKU', async () => {
    const unknown = '00000000-1111-4222-8333-444444444444';
    const res = await assign(IDS.alice, {
      addLicenses: [{ skuId: unknown, disabledPlans: [] }],
      removeLicenses: [],
    });
    expect(errorOf(res).message).toBe(`License ${unknown} does not correspond to a valid company License.`);
    const company = await assign(IDS.alice, {
      addLicenses: [{ skuId: IDS.MCOPSTNC, disabledPlans: [] }],
      removeLicenses: [],
    });
    expect(company.status).toBe(400);
    expect(errorOf(company).message).toBe(`License ${IDS.MCOPSTNC} cannot be assigned to a user.`);
  });

  it('refuses a license for a user without usageLocation', async () => {
    const res = await assign(IDS.bob, {
      addLicenses: [{ skuId: IDS.EMS, disabledPlans: [] }],
      removeLicenses: [],
    });
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toBe(
      'License assignment cannot be done for user with invalid usage location.',
    );
    expect(sim.tenant.sku('EMS')?.consumedUnits).toBe(2);
  });

  it('refuses a new SKU without a free seat, but re-posting a held SKU needs none', async () => {
    const full = await assign(IDS.carol, {
      addLicenses: [{ skuId: IDS.EMSPREMIUM, disabledPlans: [] }],
      removeLicenses: [],
    });
    expect(full.status).toBe(200);
    const none = await assign(IDS.alice, {
      addLicenses: [{ skuId: IDS.EMSPREMIUM, disabledPlans: [] }],
      removeLicenses: [],
    });
    expect(none.status).toBe(400);
    expect(errorOf(none).message).toBe(
      `Subscription with SKU ${IDS.EMSPREMIUM} does not have any available licenses.`,
    );
    sim.tenant.setPrepaidUnits('EMS', 2);
    const again = await assign(IDS.alice, {
      addLicenses: [{ skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] }],
      removeLicenses: [],
    });
    expect(again.status).toBe(200);
  });

  it('replaces disabledPlans when a held SKU is posted again', async () => {
    await assign(IDS.alice, {
      addLicenses: [{ skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A, IDS.AAD_PREMIUM] }],
      removeLicenses: [],
    });
    expect(sim.tenant.user(IDS.alice)?.assignedLicenses).toEqual([
      { skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A, IDS.AAD_PREMIUM] },
    ]);
    await assign(IDS.alice, {
      addLicenses: [{ skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] }],
      removeLicenses: [],
    });
    expect(sim.tenant.user(IDS.alice)?.assignedLicenses).toEqual([
      { skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] },
    ]);
    expect(sim.tenant.sku('EMS')?.consumedUnits).toBe(2);
  });

  it('refuses a disabled plan that is not in the SKU and a value that is not a GUID', async () => {
    const foreign = await assign(IDS.alice, {
      addLicenses: [{ skuId: IDS.EMS, disabledPlans: [IDS.EXCHANGE_S_ENTERPRISE] }],
      removeLicenses: [],
    });
    expect(foreign.status).toBe(400);
    expect(errorOf(foreign).message).toContain(IDS.EXCHANGE_S_ENTERPRISE);
    const notGuid = await assign(IDS.alice, {
      addLicenses: [{ skuId: 'EMS', disabledPlans: [] }],
      removeLicenses: [],
    });
    expect(errorOf(notGuid).message).toBe(
      "Cannot convert the literal 'EMS' to the expected type 'Edm.Guid'.",
    );
  });

  it('refuses to remove a license held only through a group, and frees a seat when removing a direct one', async () => {
    const inherited = await assign(IDS.carol, { addLicenses: [], removeLicenses: [IDS.EMS] });
    expect(inherited.status).toBe(400);
    expect(errorOf(inherited).message).toBe(
      'User license is inherited from a group membership and it cannot be removed directly from the user.',
    );
    const removed = await assign(IDS.alice, { addLicenses: [], removeLicenses: [IDS.EMS] });
    expect(removed.status).toBe(200);
    expect(sim.tenant.user(IDS.alice)?.assignedLicenses).toEqual([]);
    expect(sim.tenant.sku('EMS')?.consumedUnits).toBe(1);
  });

  it('keeps one seat and unions enabled plans when a SKU is held directly and through a group', async () => {
    const res = await assign(IDS.carol, {
      addLicenses: [{ skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] }],
      removeLicenses: [],
    });
    expect(res.status).toBe(200);
    const carol = sim.tenant.user(IDS.carol);
    // The group path enables everything, so the effective license has nothing disabled.
    expect(carol?.assignedLicenses).toEqual([{ skuId: IDS.EMS, disabledPlans: [] }]);
    expect(carol?.licenseAssignmentStates.map((s) => s.assignedByGroup ?? 'direct').sort()).toEqual(
      ['direct', IDS.groupEms].sort(),
    );
    expect(sim.tenant.sku('EMS')?.consumedUnits).toBe(2);
  });

  it('enforces mutually exclusive plans and plan dependencies from the tenant file', async () => {
    const exclusive = await assign(IDS.dave, {
      addLicenses: [{ skuId: IDS.ENTERPRISEPACK, disabledPlans: [] }],
      removeLicenses: [],
    });
    expect(exclusive.status).toBe(400);
    expect(errorOf(exclusive).message).toBe(
      `License assignment failed because service plans ${IDS.EXCHANGE_S_STANDARD}, ${IDS.EXCHANGE_S_ENTERPRISE} are mutually exclusive.`,
    );
    const withoutExchange = await assign(IDS.dave, {
      addLicenses: [
        { skuId: IDS.ENTERPRISEPACK, disabledPlans: [IDS.EXCHANGE_S_ENTERPRISE, IDS.SHAREPOINTENTERPRISE] },
      ],
      removeLicenses: [],
    });
    expect(withoutExchange.status).toBe(400);
    expect(errorOf(withoutExchange).message).toBe(
      `License assignment failed because service plan ${IDS.SHAREPOINTWAC} depends on the service plan(s) ${IDS.SHAREPOINTENTERPRISE}.`,
    );
    const ok = await assign(IDS.dave, {
      addLicenses: [{ skuId: IDS.ENTERPRISEPACK, disabledPlans: [IDS.EXCHANGE_S_ENTERPRISE] }],
      removeLicenses: [],
    });
    expect(ok.status).toBe(200);
  });

  it('answers 404 for an unknown user', async () => {
    const res = await assign('nobody@fabrikam.com', { addLicenses: [], removeLicenses: [IDS.EMS] });
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBe('Request_ResourceNotFound');
  });
});

describe('group licenses in TenantState', () => {
  it('gives inherited licenses to direct members and reports CountViolation when seats run out', () => {
    sim.tenant.setPrepaidUnits('EMSPREMIUM', 1);
    sim.tenant.addGroupLicense('d0000000-0000-4000-8000-000000000001', 'EMSPREMIUM');
    sim.tenant.addToGroup(IDS.alice, 'd0000000-0000-4000-8000-000000000001');
    sim.tenant.addToGroup(IDS.dave, 'd0000000-0000-4000-8000-000000000001');
    const states = [IDS.alice, IDS.dave].map((id) =>
      sim.tenant.user(id)?.licenseAssignmentStates.find((s) => s.skuId === IDS.EMSPREMIUM),
    );
    expect(states.map((s) => s?.state)).toEqual(['Active', 'Error']);
    expect(states[1]?.error).toBe('CountViolation');
    expect(sim.tenant.sku('EMSPREMIUM')?.consumedUnits).toBe(1);
    sim.tenant.setPrepaidUnits('EMSPREMIUM', 2);
    expect(
      sim.tenant.user(IDS.dave)?.licenseAssignmentStates.find((s) => s.skuId === IDS.EMSPREMIUM)?.state,
    ).toBe('Active');
  });
});
