import { describe, expect, it } from 'vitest';
import type { AssignLicenseBody, GraphUser } from '../../lib/graph/types.js';
import { Catalog } from '../../lib/licensing/catalog.js';
import { compileRules } from '../../lib/licensing/compile.js';
import { desiredStateFor } from '../../lib/licensing/desired.js';
import {
  assignLicenseBody,
  describeAction,
  formatLicenses,
  planLicenses,
  type PlanInput,
} from '../../lib/licensing/planner.js';
import type { DesiredState, LicensePlan, ResolvedLicense } from '../../lib/licensing/types.js';
import { evaluateRules } from '../../lib/rules/evaluate.js';
import { loadRulesFile } from '../../lib/rules/load.js';
import { PLAN, SKU, direct, tenantSkus, user, viaGroup } from './license-fixtures.js';

const GROUP = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const catalog = new Catalog(tenantSkus());
const MANAGED = new Set<string>([SKU.EMS, SKU.EMSPREMIUM]);

const emsWith = (...disabledPlans: string[]): ResolvedLicense => ({
  skuId: SKU.EMS,
  skuPartNumber: 'EMS',
  disabledPlans,
});
const want = (...licenses: ResolvedLicense[]): DesiredState => ({ kind: 'licenses', rule: 'r', licenses });
const removeAll: DesiredState = { kind: 'removeManaged', rule: null, reason: 'leaver' };

function plan(u: GraphUser, desired: DesiredState, overrides: Partial<PlanInput> = {}): LicensePlan {
  return planLicenses({
    user: u,
    desired,
    managedSkuIds: MANAGED,
    freeSeats: (skuId) => (skuId === SKU.EMS ? 10 : 0),
    defaultUsageLocation: 'GB',
    skuPartNumber: catalog.skuPartNumber,
    ...overrides,
  });
}

const describeAll = (p: LicensePlan): string[] => p.actions.map((a) => describeAction(a, catalog));

describe('planLicenses: the classic recipe (EMS, Intune off for contractors)', () => {
  it('gives a contractor EMS with INTUNE_A disabled', () => {
    const p = plan(user(), want(emsWith(PLAN.INTUNE_A)));
    expect(p.outcome).toBe('ASSIGNED');
    expect(p.actions).toEqual([
      { kind: 'addLicense', skuId: SKU.EMS, skuPartNumber: 'EMS', disabledPlans: [PLAN.INTUNE_A] },
    ]);
    expect(describeAll(p)).toEqual(['add EMS (disabled: INTUNE_A)']);
    expect(assignLicenseBody(p)).toEqual({
      addLicenses: [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }],
      removeLicenses: [],
    });
  });

  it('sets the usage location FIRST when the synced user has none', () => {
    const p = plan(user({ usageLocation: null }), want(emsWith(PLAN.INTUNE_A)));
    expect(p.actions.map((a) => a.kind)).toEqual(['setUsageLocation', 'addLicense']);
    expect(p.actions[0]).toEqual({ kind: 'setUsageLocation', from: null, to: 'GB' });
    expect(describeAll(p)[0]).toBe('set usageLocation none → GB');
    expect(p.outcome).toBe('ASSIGNED');
  });

  it('is blocked (FAILED, NoUsageLocation, with a fix) when there is no usage location and no default', () => {
    const p = plan(user({ usageLocation: '' }), want(emsWith()), { defaultUsageLocation: null });
    expect(p.outcome).toBe('FAILED');
    expect(p.actions).toEqual([]);
    expect(p.blocked?.code).toBe('NoUsageLocation');
    expect(p.blocked?.fix).toMatch(/defaults\.usageLocation/);
    expect(assignLicenseBody(p)).toBeNull();
  });

  it('does not need a usage location when nothing is added', () => {
    const p = plan(user({ usageLocation: null, ...direct(SKU.EMS, []) }), want(emsWith(PLAN.INTUNE_A)), {
      defaultUsageLocation: null,
    });
    expect(p.outcome).toBe('UPDATED');
    expect(p.blocked).toBeNull();
  });

  it('does nothing for a compliant user, whatever the order or case of the plan ids', () => {
    const u = user(direct(SKU.EMS.toUpperCase(), [PLAN.MFA_PREMIUM.toUpperCase(), PLAN.INTUNE_A]));
    const p = plan(u, want(emsWith(PLAN.INTUNE_A, PLAN.MFA_PREMIUM)));
    expect(p).toMatchObject({
      actions: [],
      conflicts: [],
      deferred: null,
      blocked: null,
      outcome: 'UNCHANGED',
    });
    expect(assignLicenseBody(p)).toBeNull();
  });

  it('changes disabled plans with ONE update (the SKU posted again), never remove-then-add', () => {
    const p = plan(user(direct(SKU.EMS, [])), want(emsWith(PLAN.INTUNE_A)));
    expect(p.outcome).toBe('UPDATED');
    expect(p.actions).toEqual([
      {
        kind: 'updateDisabledPlans',
        skuId: SKU.EMS,
        skuPartNumber: 'EMS',
        before: [],
        after: [PLAN.INTUNE_A],
      },
    ]);
    expect(describeAll(p)).toEqual(['update EMS (disabled: none → INTUNE_A)']);
    expect(assignLicenseBody(p)).toEqual({
      addLicenses: [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }],
      removeLicenses: [],
    });
  });

  it('leaves unmanaged SKUs and their disabled plans out of every action', () => {
    const u = user({
      assignedLicenses: [
        { skuId: SKU.SPE_E3, disabledPlans: [PLAN.TEAMS1, PLAN.INTUNE_A] },
        { skuId: SKU.EMS, disabledPlans: [] },
      ],
      licenseAssignmentStates: [],
    });
    const p = plan(u, want(emsWith(PLAN.INTUNE_A)));
    expect(p.actions).toHaveLength(1);
    expect(JSON.stringify(p.actions)).not.toContain(SKU.SPE_E3);
    expect(JSON.stringify(p.actions)).not.toContain(PLAN.TEAMS1);
    expect(assignLicenseBody(p)?.addLicenses.map((l) => l.skuId)).toEqual([SKU.EMS]);
    // A leaver loses managed SKUs only.
    const leaver = plan(u, removeAll);
    expect(assignLicenseBody(leaver)).toEqual({ addLicenses: [], removeLicenses: [SKU.EMS] });
  });
});

describe('planLicenses: swaps, removals and seats', () => {
  it('swaps SKUs in one body: add the new, remove the old (UPDATED)', () => {
    const p = plan(user(direct(SKU.EMSPREMIUM, [])), want(emsWith()));
    expect(p.outcome).toBe('UPDATED');
    expect(assignLicenseBody(p)).toEqual({
      addLicenses: [{ skuId: SKU.EMS, disabledPlans: [] }],
      removeLicenses: [SKU.EMSPREMIUM],
    });
    expect(describeAll(p)).toEqual(['add EMS', 'remove EMSPREMIUM']);
  });

  it('removes every managed SKU held directly for removeManaged (REMOVED)', () => {
    const u = user({
      assignedLicenses: [
        { skuId: SKU.EMS, disabledPlans: [] },
        { skuId: SKU.EMSPREMIUM, disabledPlans: [] },
        { skuId: SKU.SPE_E3, disabledPlans: [] },
      ],
    });
    const p = plan(u, removeAll);
    expect(p.outcome).toBe('REMOVED');
    expect(assignLicenseBody(p)).toEqual({ addLicenses: [], removeLicenses: [SKU.EMS, SKU.EMSPREMIUM] });
  });

  it('is UNCHANGED for removeManaged when nothing managed is held', () => {
    expect(plan(user(direct(SKU.SPE_E3)), removeAll).outcome).toBe('UNCHANGED');
  });

  it('defers the WHOLE plan, with no actions, when a SKU to add has no free seat', () => {
    const u = user({ usageLocation: null, ...direct(SKU.EMS, []) });
    const p = plan(
      u,
      want(emsWith(PLAN.INTUNE_A), { skuId: SKU.EMSPREMIUM, skuPartNumber: 'EMSPREMIUM', disabledPlans: [] }),
    );
    expect(p.outcome).toBe('DEFERRED');
    expect(p.actions).toEqual([]);
    expect(p.deferred).toMatchObject({ skuId: SKU.EMSPREMIUM, skuPartNumber: 'EMSPREMIUM' });
    expect(p.deferred?.reason).toMatch(/no free seat of EMSPREMIUM/);
    expect(assignLicenseBody(p)).toBeNull();
  });

  it('needs no seat for a plan change of a SKU already held', () => {
    const p = plan(user(direct(SKU.EMS)), want(emsWith(PLAN.INTUNE_A)), { freeSeats: () => 0 });
    expect(p.outcome).toBe('UPDATED');
  });

  it('is NO_RULE, touching nothing, for desired leave', () => {
    const p = plan(user(direct(SKU.EMS)), { kind: 'leave' });
    expect(p).toMatchObject({ actions: [], conflicts: [], outcome: 'NO_RULE' });
  });
});

describe('planLicenses: group-inherited licenses', () => {
  it('reports a CONFLICT, with no action, when the group gives other plans than the rule wants', () => {
    const u = user({
      assignedLicenses: [{ skuId: SKU.EMS, disabledPlans: [] }],
      licenseAssignmentStates: [viaGroup(SKU.EMS, GROUP, [])],
    });
    const p = plan(u, want(emsWith(PLAN.INTUNE_A)));
    expect(p.outcome).toBe('CONFLICT');
    expect(p.actions).toEqual([]);
    expect(p.conflicts).toHaveLength(1);
    expect(p.conflicts[0]).toMatchObject({ skuId: SKU.EMS, skuPartNumber: 'EMS', groupIds: [GROUP] });
    expect(p.conflicts[0]?.reason).toMatch(/inherited from group/);
    expect(assignLicenseBody(p)).toBeNull();
  });

  it('reports a CONFLICT when the rules want an inherited SKU removed', () => {
    const u = user({
      assignedLicenses: [{ skuId: SKU.EMS, disabledPlans: [] }],
      licenseAssignmentStates: [viaGroup(SKU.EMS, GROUP)],
    });
    const p = plan(u, removeAll);
    expect(p.outcome).toBe('CONFLICT');
    expect(p.actions).toEqual([]);
    expect(p.conflicts[0]?.reason).toMatch(/cannot be removed per user/);
  });

  it('does nothing when the group already gives what the rule wants', () => {
    const u = user({
      assignedLicenses: [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }],
      licenseAssignmentStates: [viaGroup(SKU.EMS, GROUP, [PLAN.INTUNE_A])],
    });
    const p = plan(u, want(emsWith(PLAN.INTUNE_A)));
    expect(p).toMatchObject({ actions: [], conflicts: [], outcome: 'UNCHANGED' });
    expect(p.notes?.[0]).toMatch(/comes from group/);
  });

  it('plans on the direct assignment when the SKU is held both ways, noting the group', () => {
    const u = user({
      assignedLicenses: [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }],
      licenseAssignmentStates: [
        {
          skuId: SKU.EMS,
          disabledPlans: [PLAN.MFA_PREMIUM, PLAN.INTUNE_A],
          assignedByGroup: null,
          state: 'Active',
        },
        viaGroup(SKU.EMS, GROUP, [PLAN.INTUNE_A]),
      ],
    });
    const p = plan(u, want(emsWith(PLAN.INTUNE_A)));
    expect(p.outcome).toBe('UPDATED');
    expect(p.actions).toEqual([
      {
        kind: 'updateDisabledPlans',
        skuId: SKU.EMS,
        skuPartNumber: 'EMS',
        before: [PLAN.MFA_PREMIUM, PLAN.INTUNE_A],
        after: [PLAN.INTUNE_A],
      },
    ]);
    expect(p.conflicts).toEqual([]);
    expect(p.notes).toEqual([`EMS is also assigned through group(s) ${GROUP}`]);
  });

  it('flags a conflict beside the direct change when the group keeps on a plan the rule disables', () => {
    const u = user({
      assignedLicenses: [{ skuId: SKU.EMS, disabledPlans: [] }],
      licenseAssignmentStates: [
        { skuId: SKU.EMS, disabledPlans: [], assignedByGroup: null },
        viaGroup(SKU.EMS, GROUP, []),
      ],
    });
    const p = plan(u, want(emsWith(PLAN.INTUNE_A)));
    expect(p.actions.map((a) => a.kind)).toEqual(['updateDisabledPlans']);
    expect(p.outcome).toBe('UPDATED');
    expect(p.conflicts[0]?.reason).toMatch(/leave on 1 plan\(s\) the rule disables/);
  });
});

describe('planLicenses: plans own their lists', () => {
  it('never hands out the user’s or the rule’s arrays, so changing a plan changes neither', () => {
    const wanted = emsWith(PLAN.INTUNE_A);
    const u = user(direct(SKU.EMS, [PLAN.AAD_PREMIUM]));
    const p = plan(u, want(wanted));
    const update = p.actions[0];
    if (update?.kind !== 'updateDisabledPlans')
      throw new Error(`expected an update, got ${String(update?.kind)}`);
    update.before.push('x');
    update.after.push('y');
    expect(u.assignedLicenses[0]?.disabledPlans).toEqual([PLAN.AAD_PREMIUM]);
    expect(u.licenseAssignmentStates[0]?.disabledPlans).toEqual([PLAN.AAD_PREMIUM]);
    expect(wanted.disabledPlans).toEqual([PLAN.INTUNE_A]);
  });

  it('matches ids whatever their case, as Graph treats them', () => {
    const p = plan(
      user(direct(SKU.EMS.toUpperCase(), [PLAN.INTUNE_A.toUpperCase()])),
      want(emsWith(PLAN.INTUNE_A)),
    );
    expect(p.outcome).toBe('UNCHANGED');
    expect(p.actions).toEqual([]);
  });
});

describe('assignLicenseBody', () => {
  it.each<[string, LicensePlan, AssignLicenseBody]>([
    [
      'adds only',
      plan(user(), want(emsWith())),
      { addLicenses: [{ skuId: SKU.EMS, disabledPlans: [] }], removeLicenses: [] },
    ],
    ['removes only', plan(user(direct(SKU.EMS)), removeAll), { addLicenses: [], removeLicenses: [SKU.EMS] }],
    [
      'updates only',
      plan(user(direct(SKU.EMS)), want(emsWith(PLAN.INTUNE_A))),
      { addLicenses: [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }], removeLicenses: [] },
    ],
  ])('always has both arrays (%s)', (_, p, expected) => {
    // Graph answers 400 when either array is missing, even when it would be empty.
    expect(assignLicenseBody(p)).toStrictEqual(expected);
  });

  it('leaves setUsageLocation out of the body', () => {
    const body = assignLicenseBody(plan(user({ usageLocation: null }), want(emsWith())));
    expect(body).toEqual({ addLicenses: [{ skuId: SKU.EMS, disabledPlans: [] }], removeLicenses: [] });
  });
});

describe('formatLicenses', () => {
  it('writes PART:-PLAN,… sorted, with names from the catalog', () => {
    expect(
      formatLicenses(
        [
          { skuId: SKU.SPE_E3, disabledPlans: [] },
          { skuId: SKU.EMS, disabledPlans: [PLAN.MFA_PREMIUM, PLAN.INTUNE_A] },
          { skuId: '00000000-0000-0000-0000-000000000001', disabledPlans: [] },
        ],
        catalog,
      ),
    ).toEqual(['00000000-0000-0000-0000-000000000001', 'EMS:-INTUNE_A,-MFA_PREMIUM', 'SPE_E3']);
  });
});

describe('desiredStateFor, end to end from the example rules', () => {
  it('drives the classic recipe: contractor gets EMS without Intune, staff get all of EMS, leave removes', async () => {
    const rules = await loadRulesFile(new URL('../../examples/rules.yaml', import.meta.url).pathname);
    const compiled = compileRules(rules, catalog);
    const contractor = user({ employeeType: 'contractor', usageLocation: null });
    const e = evaluateRules(compiled, contractor, new Set());
    const desired = desiredStateFor(e, compiled, 'reconcile');
    expect(desired).toEqual({ kind: 'licenses', rule: 'contractors', licenses: [emsWith(PLAN.INTUNE_A)] });
    const p = planLicenses({
      user: contractor,
      desired,
      managedSkuIds: compiled.managedSkuIds,
      freeSeats: catalog.freeSeats,
      defaultUsageLocation: compiled.defaults.usageLocation,
      skuPartNumber: catalog.skuPartNumber,
    });
    expect(describeAll(p)).toEqual(['set usageLocation none → GB', 'add EMS (disabled: INTUNE_A)']);

    const staff = user({ employeeType: 'Employee' });
    expect(desiredStateFor(evaluateRules(compiled, staff, new Set()), compiled, 'reconcile')).toMatchObject({
      rule: 'synced-staff',
      licenses: [emsWith()],
    });
    expect(desiredStateFor(e, compiled, 'leave')).toMatchObject({
      kind: 'removeManaged',
      rule: 'contractors',
    });
    expect(desiredStateFor(e, compiled, 'reclaim')).toMatchObject({ kind: 'removeManaged' });
  });

  it.each([
    ['leave', { kind: 'leave' }],
    ['remove', { kind: 'removeManaged', rule: null }],
  ] as const)('follows defaults.unmatched = %s when no rule matches', (unmatched, expected) => {
    const d = desiredStateFor(
      { matched: null, trace: [] },
      { defaults: { usageLocation: null, unmatched } },
      'reconcile',
    );
    expect(d).toMatchObject(expected);
  });

  it('turns license: none into removeManaged naming the rule', () => {
    const matched = {
      name: 'guests',
      index: 0,
      description: null,
      when: { memberOf: GROUP },
      licenses: 'none' as const,
    };
    const d = desiredStateFor(
      { matched, trace: [] },
      { defaults: { usageLocation: null, unmatched: 'leave' } },
      'reconcile',
    );
    expect(d).toEqual({ kind: 'removeManaged', rule: 'guests', reason: 'rule "guests" says license: none' });
  });
});
