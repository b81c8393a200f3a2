/**
 * runJob, the engine for one user, against the Graph simulator over HTTP through the real
 * gateway (Graph JS client, retry middleware, error mapping). What it proves is read back from
 * the simulator: its request log, its counters and its users' license state.
 */
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GraphGateway } from '../../lib/graph/gateway.js';
import { startSimulator, type Simulator, type TenantFile } from '@ems-licensing/graph-simulator';
import { IDS, smallTenant } from '@ems-licensing/graph-simulator/test-support';
import { applyFor, contextFor, simulatorGateway } from '../support/engine-harness.js';

/** The shipped example: contractors get EMS without Intune, other synced users all of EMS, GB default. */
const EXAMPLE_RULES = await readFile(new URL('../../examples/rules.yaml', import.meta.url), 'utf8');

let sim: Simulator;
let gateway: GraphGateway;
/** The retry middleware's waits (recorded, never slept). */
let sleeps: number[];

async function start(tenant: TenantFile = smallTenant()): Promise<void> {
  sim = await startSimulator({ tenant });
  sleeps = [];
  gateway = simulatorGateway(sim, {}, sleeps);
}

afterEach(async () => {
  await sim.close();
});

/** Requests the simulator saw for one user, by kind, in arrival order. */
function requestsFor(userId: string, kinds: readonly string[]) {
  return sim.requests.filter((r) => kinds.includes(r.kind) && r.path.includes(`/users/${userId}`));
}

const lower = (ids: readonly string[]) => ids.map((id) => id.toLowerCase()).sort();

describe('a synced contractor without a usage location (bob)', () => {
  beforeEach(() => start());

  it('sets usageLocation before the assignLicense call', async () => {
    const ctx = await contextFor(gateway, EXAMPLE_RULES);

    const result = await applyFor(gateway, ctx, IDS.bob);

    expect(result.record.outcome).toBe('ASSIGNED');
    const writes = requestsFor(IDS.bob, ['patchUser', 'assignLicense']);
    expect(writes.map((r) => [r.kind, r.status])).toEqual([
      ['patchUser', 204],
      ['assignLicense', 200],
    ]);
    expect(writes[0]?.body).toEqual({ usageLocation: 'GB' });
    expect(result.writes).toBe(2);
    expect(sim.tenant.user(IDS.bob)?.usageLocation).toBe('GB');
  });

  it('gets EMS with INTUNE_A disabled and every other EMS plan on', async () => {
    const ctx = await contextFor(gateway, EXAMPLE_RULES);

    const result = await applyFor(gateway, ctx, IDS.bob);

    expect(result.record.rule).toBe('contractors');
    const held = sim.tenant.user(IDS.bob)?.assignedLicenses ?? [];
    expect(held).toHaveLength(1);
    expect(held[0]?.skuId.toLowerCase()).toBe(IDS.EMS);
    expect(lower(held[0]?.disabledPlans ?? [])).toEqual([IDS.INTUNE_A]);
    // The verify step re-read the user and found nothing left to do.
    expect(result.record.error).toBeNull();
    expect(result.record.licensesAfter).toEqual(['EMS:-INTUNE_A']);
  });

  it('costs zero writes once compliant', async () => {
    const ctx = await contextFor(gateway, EXAMPLE_RULES);
    expect((await applyFor(gateway, ctx, IDS.bob)).record.outcome).toBe('ASSIGNED');
    sim.counters.reset();

    const again = await applyFor(gateway, ctx, IDS.bob);

    expect(again.record.outcome).toBe('UNCHANGED');
    expect(again.writes).toBe(0);
    expect(sim.counters.writes()).toBe(0);
  });

  it('is DEFERRED with no Graph write at all when EMS has no free seat', async () => {
    // alice (direct) and carol (through SG-EMS) hold the only two seats.
    sim.tenant.setPrepaidUnits('EMS', 2);
    const ctx = await contextFor(gateway, EXAMPLE_RULES);
    sim.counters.reset();

    const result = await applyFor(gateway, ctx, IDS.bob);

    expect(result.record.outcome).toBe('DEFERRED');
    expect(result.record.error?.code).toBe('NoFreeSeats');
    expect(result.retry).toEqual({ reason: 'noSeats', skuPartNumber: 'EMS' });
    // Not even the usageLocation PATCH: a deferred plan runs none of its actions.
    expect(sim.counters.writes()).toBe(0);
    expect(sim.tenant.user(IDS.bob)?.usageLocation ?? null).toBeNull();
    expect(sim.tenant.user(IDS.bob)?.assignedLicenses).toEqual([]);
  });

  it('defers when Graph itself says the seats ran out, and asks Graph no more for that SKU in the run', async () => {
    const fred = sim.tenant.upsertUser({
      userPrincipalName: 'fred@fabrikam.com',
      onPremisesSyncEnabled: true,
      employeeType: 'Employee',
      usageLocation: 'GB',
    });
    // The catalog is read while seats are free; then someone else takes the rest.
    const ctx = await contextFor(gateway, EXAMPLE_RULES);
    const ems = sim.tenant.sku('EMS');
    sim.tenant.setPrepaidUnits('EMS', ems?.consumedUnits ?? 0);
    sim.counters.reset();

    const first = await applyFor(gateway, ctx, IDS.bob);
    expect(first.record.outcome).toBe('DEFERRED');
    // Graph's refusal is recorded under the same code as a shortage seen beforehand, so the
    // cleanup's re-drive finds it.
    expect(first.record.error?.code).toBe('NoFreeSeats');
    expect(first.record.error?.message).toMatch(/does not have any available licenses/);
    expect(first.retry).toEqual({ reason: 'noSeats', skuPartNumber: 'EMS' });
    expect(sim.counters.get('assignLicense')).toBe(1);

    const second = await applyFor(gateway, ctx, fred.id);
    expect(second.record.outcome).toBe('DEFERRED');
    expect(second.record.error?.code).toBe('NoFreeSeats');
    expect(sim.counters.get('assignLicense')).toBe(1);
  });

  it('waits out a 429 with Retry-After and ends up licensed', async () => {
    const ctx = await contextFor(gateway, EXAMPLE_RULES);
    sim.faults.inject({ kind: 'assignLicense', status: 429, retryAfterSeconds: 1, times: 1 });

    const result = await applyFor(gateway, ctx, IDS.bob);

    expect(result.record.outcome).toBe('ASSIGNED');
    expect(sim.counters.get('assignLicense')).toBe(2);
    expect(requestsFor(IDS.bob, ['assignLicense']).map((r) => r.status)).toEqual([429, 200]);
    // Graph's Retry-After (1 s), waited out by the middleware (recorded, not slept here).
    expect(sleeps).toEqual([1_000]);
    expect(sim.faults.pending()).toEqual([]);
    const held = sim.tenant.user(IDS.bob)?.assignedLicenses ?? [];
    expect(held.map((l) => l.skuId.toLowerCase())).toEqual([IDS.EMS]);
  });

  it('is DEFERRED, to be tried later, when throttling outlasts the retries', async () => {
    const noRetries = simulatorGateway(sim, { GRAPH_MAX_RETRIES: '0' });
    const ctx = await contextFor(noRetries, EXAMPLE_RULES);
    sim.faults.inject({ kind: 'assignLicense', status: 429, retryAfterSeconds: 30, times: 1 });

    const result = await applyFor(noRetries, ctx, IDS.bob);

    expect(result.record.outcome).toBe('DEFERRED');
    expect(result.retry).toEqual({ reason: 'transient', afterMs: 30_000 });
    expect(sim.counters.get('assignLicense')).toBe(1);
    expect(sim.tenant.user(IDS.bob)?.assignedLicenses).toEqual([]);
    // The seat taken for the add is given back for the users after this one.
    expect(ctx.seats.reserved(IDS.EMS)).toBe(0);
  });
});

describe('an employee who already holds EMS (alice)', () => {
  beforeEach(() => start());

  it('costs zero writes when already compliant', async () => {
    const ctx = await contextFor(gateway, EXAMPLE_RULES);
    sim.counters.reset();

    const result = await applyFor(gateway, ctx, IDS.alice);

    expect(result.record.outcome).toBe('UNCHANGED');
    expect(result.record.rule).toBe('synced-staff');
    expect(result.writes).toBe(0);
    expect(sim.counters.writes()).toBe(0);
    expect(sim.counters.get('assignLicense')).toBe(0);
  });
});

describe('a plan change on a user with other SKUs', () => {
  /** alice also holds ENTERPRISEPACK with two of its plans disabled (not a managed SKU). */
  const E3_DISABLED = [IDS.SHAREPOINTWAC, IDS.EXCHANGE_S_ENTERPRISE];
  beforeEach(() => {
    const tenant = smallTenant();
    const alice = tenant.users.find((u) => u.id === IDS.alice);
    if (!alice) throw new Error('smallTenant has no alice');
    alice.directLicenses = [
      { skuId: IDS.EMS, disabledPlans: [] },
      { skuId: IDS.ENTERPRISEPACK, disabledPlans: E3_DISABLED },
    ];
    return start(tenant);
  });

  const ENGINEERING_NO_INTUNE = `
version: 1
rules:
  - name: engineering-no-intune
    when: { attribute: department, equals: Engineering }
    license: { sku: EMS, intune: off }
`;

  it('changes only EMS: the assignLicense body names only EMS, ENTERPRISEPACK stays as it was', async () => {
    const before = sim.tenant.user(IDS.alice);
    const e3Before = before?.assignedLicenses.find((l) => l.skuId.toLowerCase() === IDS.ENTERPRISEPACK);
    const e3StateBefore = before?.licenseAssignmentStates.filter(
      (s) => s.skuId.toLowerCase() === IDS.ENTERPRISEPACK,
    );
    expect(lower(e3Before?.disabledPlans ?? [])).toEqual(lower(E3_DISABLED));

    // Under the example rules alice is compliant: nothing is sent.
    const first = await applyFor(gateway, await contextFor(gateway, EXAMPLE_RULES), IDS.alice);
    expect(first.record.outcome).toBe('UNCHANGED');
    expect(sim.counters.get('assignLicense')).toBe(0);

    // The rule changes: EMS without Intune.
    const result = await applyFor(gateway, await contextFor(gateway, ENGINEERING_NO_INTUNE), IDS.alice);

    expect(result.record.outcome).toBe('UPDATED');
    const posts = requestsFor(IDS.alice, ['assignLicense']);
    expect(posts).toHaveLength(1);
    const body = posts[0]?.body as {
      addLicenses: { skuId: string; disabledPlans: string[] }[];
      removeLicenses: string[];
    };
    expect(body.removeLicenses).toEqual([]);
    expect(body.addLicenses).toHaveLength(1);
    expect(body.addLicenses[0]?.skuId.toLowerCase()).toBe(IDS.EMS);
    expect(lower(body.addLicenses[0]?.disabledPlans ?? [])).toEqual([IDS.INTUNE_A]);

    const after = sim.tenant.user(IDS.alice);
    const e3After = after?.assignedLicenses.find((l) => l.skuId.toLowerCase() === IDS.ENTERPRISEPACK);
    expect(e3After).toEqual(e3Before);
    expect(
      after?.licenseAssignmentStates.filter((s) => s.skuId.toLowerCase() === IDS.ENTERPRISEPACK),
    ).toEqual(e3StateBefore);
    const emsAfter = after?.assignedLicenses.find((l) => l.skuId.toLowerCase() === IDS.EMS);
    expect(lower(emsAfter?.disabledPlans ?? [])).toEqual([IDS.INTUNE_A]);
    expect(after?.assignedLicenses).toHaveLength(2);
  });
});

describe('a license inherited from a group (carol, EMS through SG-EMS)', () => {
  beforeEach(async () => {
    await start();
    // AD sync makes carol a synced contractor: the rules want EMS without Intune, the group gives all of it.
    sim.tenant.upsertUser({
      id: IDS.carol,
      userPrincipalName: 'carol@fabrikam.com',
      onPremisesSyncEnabled: true,
      employeeType: 'Contractor',
    });
  });

  it('is reported as CONFLICT and never written', async () => {
    const ctx = await contextFor(gateway, EXAMPLE_RULES);
    const licensesBefore = sim.tenant.user(IDS.carol)?.assignedLicenses;
    sim.counters.reset();

    const result = await applyFor(gateway, ctx, IDS.carol);

    expect(result.record.outcome).toBe('CONFLICT');
    expect(result.record.rule).toBe('contractors');
    expect(result.record.error?.code).toBe('GroupInheritedLicense');
    expect(result.record.conflicts.map((c) => c.skuPartNumber)).toEqual(['EMS']);
    expect(result.record.conflicts[0]?.groupIds.map((g) => g.toLowerCase())).toEqual([IDS.groupEms]);
    expect(requestsFor(IDS.carol, ['assignLicense', 'patchUser'])).toEqual([]);
    expect(sim.counters.writes()).toBe(0);
    expect(sim.tenant.user(IDS.carol)?.assignedLicenses).toEqual(licensesBefore);
  });
});

describe('accounts that are disabled, or re-enabled before a reclaim', () => {
  beforeEach(() => start());

  it('adds no license to a disabled account (no seat spent, a reclaim is not undone)', async () => {
    sim.tenant.upsertUser({ id: IDS.bob, userPrincipalName: 'bob@fabrikam.com', accountEnabled: false });
    const rules = EXAMPLE_RULES.replace(/\s+- \{ attribute: accountEnabled, equals: true \}/g, '');
    expect(rules).not.toContain('accountEnabled');
    const ctx = await contextFor(gateway, rules);
    sim.counters.reset();

    const result = await applyFor(gateway, ctx, IDS.bob);

    // The rules would license bob; the policy withholds it, and the record says so.
    expect(result.record.outcome).toBe('SKIPPED');
    expect(result.record.policy).toBe('disabledAccount');
    expect(result.record.error?.code).toBe('DisabledAccount');
    expect(result.plan?.notes).toContain('EMS not added: the account is disabled');
    expect(sim.counters.writes()).toBe(0);
  });

  it('treats a reclaim of an account enabled again since as a reconcile: nothing is removed', async () => {
    const ctx = await contextFor(gateway, EXAMPLE_RULES);
    const held = sim.tenant.user(IDS.alice)?.assignedLicenses;
    expect(held?.length).toBeGreaterThan(0);
    sim.counters.reset();

    const result = await applyFor(gateway, ctx, IDS.alice, { action: 'reclaim' });

    expect(result.record.outcome).toBe('UNCHANGED');
    expect(sim.counters.writes()).toBe(0);
    expect(sim.tenant.user(IDS.alice)?.assignedLicenses).toEqual(held);
  });

  it('still reclaims from an account that is disabled', async () => {
    sim.tenant.upsertUser({ id: IDS.alice, userPrincipalName: 'alice@fabrikam.com', accountEnabled: false });
    const ctx = await contextFor(gateway, EXAMPLE_RULES);

    const result = await applyFor(gateway, ctx, IDS.alice, { action: 'reclaim' });

    expect(result.record.outcome).toBe('REMOVED');
    expect(result.record.policy).toBe('disabledAccount');
    expect(sim.tenant.user(IDS.alice)?.assignedLicenses.map((l) => l.skuId.toLowerCase())).not.toContain(
      IDS.EMS,
    );
  });
});

describe('a deferral for lack of seats names only the SKU that is short', () => {
  beforeEach(() => start());

  it('lists EMSPREMIUM alone when the user already holds EMS (so the re-drive waits for that SKU only)', async () => {
    sim.tenant.setPrepaidUnits('EMSPREMIUM', 0);
    const rules = [
      'version: 1',
      'defaults: { usageLocation: GB }',
      'rules:',
      '  - name: both',
      '    when: { attribute: onPremisesSyncEnabled, equals: true }',
      '    licenses:',
      '      - { sku: EMS }',
      '      - { sku: EMSPREMIUM }',
      '',
    ].join('\n');
    const ctx = await contextFor(gateway, rules);

    const result = await applyFor(gateway, ctx, IDS.alice);

    expect(result.record.outcome).toBe('DEFERRED');
    expect(result.record.error?.code).toBe('NoFreeSeats');
    expect(result.record.skus).toEqual(['EMSPREMIUM']);
  });
});
