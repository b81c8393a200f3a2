/**
 * The pure part of `import-gbl`: rules from licensed groups (conditions, merged licenses for
 * combinations, order, what is left out and why), the YAML it writes (read back by the loader),
 * and the per-user comparison with its reasons.
 */
import { describe, expect, it } from 'vitest';
import type { GroupMember, LicensedGroup } from '../../lib/graph/group-reader.js';
import { Catalog } from '../../lib/licensing/catalog.js';
import { compileRules } from '../../lib/licensing/compile.js';
import { compareUser, changeText } from '../../lib/migrate/compare.js';
import { renderRulesYaml } from '../../lib/migrate/rules-yaml.js';
import { holdsThroughGroupOnly, takeOverFor } from '../../lib/migrate/take-over.js';
import { mergeLicenses, rulesFromGroups, type GroupFacts } from '../../lib/migrate/rules-from-groups.js';
import { parseRules } from '../../lib/rules/load.js';
import { direct, PLAN, SKU, tenantSkus, user, viaGroup } from './license-fixtures.js';

const G = {
  sales: '0a000000-0000-4000-8000-000000000001',
  pilot: '0a000000-0000-4000-8000-000000000002',
  e3: '0a000000-0000-4000-8000-000000000003',
  devices: '0a000000-0000-4000-8000-000000000004',
  nested: '0a000000-0000-4000-8000-000000000005',
} as const;
const U = {
  ann: 'a0000000-0000-4000-8000-000000000001',
  ben: 'a0000000-0000-4000-8000-000000000002',
  cat: 'a0000000-0000-4000-8000-000000000003',
} as const;

const catalog = new Catalog(tenantSkus());
const member = (id: string, kind: GroupMember['kind'] = 'user'): GroupMember => ({
  id,
  kind,
  displayName: id,
});

function group(
  id: string,
  displayName: string,
  licenses: { skuId: string; disabledPlans?: string[] }[],
  rule?: string,
  extra: Partial<LicensedGroup> = {},
): LicensedGroup {
  return {
    id,
    displayName,
    groupTypes: rule === undefined ? [] : ['DynamicMembership'],
    membershipRule: rule ?? null,
    membershipRuleProcessingState: rule === undefined ? null : 'On',
    assignedLicenses: licenses.map((l) => ({ skuId: l.skuId, disabledPlans: l.disabledPlans ?? [] })),
    licenseProcessingState: { state: 'ProcessingComplete' },
    ...extra,
  };
}

const facts = (
  g: LicensedGroup,
  members: GroupMember[] = [],
  nestedOnlyUsers: GroupMember[] = [],
): GroupFacts => ({
  group: g,
  members,
  nestedOnlyUsers,
});

const SALES = '(user.department -eq "Sales") -and (user.employeeType -ne "Contractor")';

describe('rulesFromGroups', () => {
  it('a dynamic group becomes its rule word for word, a static group memberOf; disabled plans by name', () => {
    const plan = rulesFromGroups(
      [
        facts(group(G.sales, 'Sales', [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }], SALES)),
        facts(group(G.pilot, 'E5 pilot', [{ skuId: SKU.EMSPREMIUM }])),
      ],
      new Map(),
      catalog,
    );
    expect(plan.rules.map((r) => [r.name, r.when, r.license])).toEqual([
      ['E5 pilot', { memberOf: G.pilot }, { sku: 'EMSPREMIUM' }],
      ['Sales', { entra: SALES }, { sku: 'EMS', disabledPlans: ['INTUNE_A'] }],
    ]);
    expect(plan.notCarried).toEqual([]);
    expect(plan.defaults).toEqual({ unmatched: 'leave' });
  });

  it('gives users in several groups a rule of their own, first, with a plan on if any group enables it', () => {
    const usersIn = new Map([
      [U.ann, new Set([G.sales, G.e3])],
      [U.ben, new Set([G.sales, G.e3])],
      [U.cat, new Set([G.sales])],
    ]);
    const plan = rulesFromGroups(
      [
        facts(group(G.sales, 'Sales', [{ skuId: SKU.EMS, disabledPlans: [PLAN.MFA_PREMIUM] }], SALES)),
        facts(group(G.e3, 'E3', [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }, { skuId: SKU.SPE_E3 }])),
      ],
      usersIn,
      catalog,
    );
    expect(plan.combinations).toEqual([
      { groups: ['E3', 'Sales'], users: 2, rule: 'E3 + Sales', coveredBy: 'E3 + Sales' },
    ]);
    expect(plan.rules[0]).toEqual({
      name: 'E3 + Sales',
      description:
        'Users in all of: E3, Sales (2 today). Group-based licensing gives them the licenses of every group.',
      when: { all: [{ memberOf: G.e3 }, { entra: SALES }] },
      licenses: [{ sku: 'EMS' }, { sku: 'SPE_E3' }], // MFA_PREMIUM is on through E3, INTUNE_A through Sales
    });
    expect(plan.rules.map((r) => r.name)).toEqual(['E3 + Sales', 'E3', 'Sales']);
  });

  it('needs no combination rule when the first group reached already gives the combined licenses', () => {
    const plan = rulesFromGroups(
      [
        facts(group(G.sales, 'Sales', [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }], SALES)),
        facts(group(G.pilot, 'Pilot', [{ skuId: SKU.EMS }])),
      ],
      new Map([[U.ann, new Set([G.sales, G.pilot])]]),
      catalog,
    );
    expect(plan.combinations).toEqual([
      { groups: ['Pilot', 'Sales'], users: 1, rule: null, coveredBy: 'Pilot' },
    ]);
    expect(plan.rules.map((r) => r.name)).toEqual(['Pilot', 'Sales']);
  });

  it('leaves out a rule it cannot evaluate, an unassignable SKU and a retired plan, saying why', () => {
    const plan = rulesFromGroups(
      [
        facts(group(G.devices, 'iPads', [{ skuId: SKU.EMS }], 'device.deviceOSType -eq "iPad"')),
        facts(
          group(G.pilot, 'Pilot', [
            { skuId: SKU.POWER_BI_PRO },
            { skuId: SKU.EMS, disabledPlans: ['99999999-0000-4000-8000-000000000000'] },
          ]),
        ),
      ],
      new Map(),
      catalog,
    );
    expect(plan.notCarried).toEqual([
      {
        id: G.devices,
        name: 'iPads',
        reason:
          'its membership rule cannot be evaluated here: entra rule, column 1 ("device.deviceOSType"): device properties select devices; licenses are assigned to users',
      },
    ]);
    expect(plan.rules.map((r) => [r.name, r.license])).toEqual([['Pilot', { sku: 'EMS' }]]);
    expect(
      plan.notes.filter((n) => n.group !== null).map((n) => [n.level, n.group?.name, n.message]),
    ).toEqual([
      ['not-carried', 'iPads', plan.notCarried[0]?.reason],
      [
        'not-carried',
        'Pilot',
        'POWER_BI_PRO is left out: POWER_BI_PRO has capabilityStatus Suspended: the subscription is suspended (cancelled or unpaid); renew or reactivate it in the Microsoft 365 admin center',
      ],
      [
        'info',
        'Pilot',
        'EMS: disabled plan(s) 99999999-0000-4000-8000-000000000000 no longer exist in the SKU and are left out',
      ],
    ]);
  });

  it('flags paused processing and nested groups, and makes duplicate names unique', () => {
    const plan = rulesFromGroups(
      [
        facts(
          group(G.sales, 'Staff', [{ skuId: SKU.EMS }], SALES, { membershipRuleProcessingState: 'Paused' }),
        ),
        facts(
          group(G.e3, 'Staff', [{ skuId: SKU.SPE_E3 }]),
          [member(U.ann), member(G.nested, 'group')],
          [member(U.ben)],
        ),
      ],
      new Map(),
      catalog,
    );
    expect(plan.rules.map((r) => r.name)).toEqual(['Staff', 'Staff (2)']);
    expect(plan.notes.filter((n) => n.level === 'attention').map((n) => n.message)).toEqual([
      'membership processing is paused in Entra: its members are frozen, while the imported rule applies live',
      `it contains nested group(s) ${G.nested}: group-based licensing does not license their members, but memberOf is transitive (1 user(s) would gain its licenses)`,
    ]);
  });

  it('writes YAML the loader reads back, and that compiles against the tenant', () => {
    const plan = rulesFromGroups(
      [
        facts(
          group(G.sales, 'Sales: "quoted" #1', [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }], SALES),
        ),
        facts(group(G.e3, 'E3', [{ skuId: SKU.SPE_E3 }])),
      ],
      new Map([[U.ann, new Set([G.sales, G.e3])]]),
      catalog,
      { usageLocation: 'GB' },
    );
    const yaml = renderRulesYaml(plan, {
      now: new Date('2026-01-02T03:04:05Z'),
      reportName: 'r.report.md',
      schemaPath: null,
    });
    expect(yaml.split('\n')[0]).toBe(
      '# Generated by `ems-licensing import-gbl` on 2026-01-02T03:04:05.000Z from 2 licensed group(s).',
    );
    const rules = parseRules(yaml, 'rules.yaml');
    expect(rules.rules.map((r) => r.name)).toEqual(['Sales: "quoted" #1 + E3', 'Sales: "quoted" #1', 'E3']);
    expect(rules.defaults).toEqual({ unmatched: 'leave', usageLocation: 'GB' });
    const compiled = compileRules(rules, catalog);
    expect(compiled.rules[0]?.licenses).toEqual([
      { skuId: SKU.EMS, skuPartNumber: 'EMS', disabledPlans: [PLAN.INTUNE_A] },
      { skuId: SKU.SPE_E3, skuPartNumber: 'SPE_E3', disabledPlans: [] },
    ]);
  });

  it('merges licenses: a SKU in one group only keeps its plans, in several only what all disable', () => {
    expect(
      mergeLicenses([
        [{ skuId: 'a', disabledPlans: ['p1', 'p2'] }],
        [
          { skuId: 'a', disabledPlans: ['p2', 'p3'] },
          { skuId: 'b', disabledPlans: ['p9'] },
        ],
      ]),
    ).toEqual([
      { skuId: 'a', disabledPlans: ['p2'] },
      { skuId: 'b', disabledPlans: ['p9'] },
    ]);
  });
});

describe('compareUser', () => {
  function setup(usersIn: Map<string, Set<string>>) {
    const plan = rulesFromGroups(
      [
        facts(
          group(
            G.sales,
            'Sales',
            [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }],
            'user.department -eq "Sales"',
          ),
          [member(U.ann)],
        ),
        facts(group(G.pilot, 'Pilot', [{ skuId: SKU.EMSPREMIUM }]), [member(U.ben)]),
      ],
      usersIn,
      catalog,
    );
    const yaml = renderRulesYaml(plan, { now: new Date(0), reportName: 'x', schemaPath: null });
    const compiled = compileRules(parseRules(yaml, 'rules.yaml'), catalog);
    return {
      compiled,
      catalog,
      carried: plan.carried,
      transitiveGroups: new Map([[U.ben, new Set<string>([G.pilot])]]),
    };
  }

  it('finds nothing for a member whose group license the rule reproduces', () => {
    const input = setup(new Map([[U.ann, new Set([G.sales])]]));
    const ann = user({
      id: U.ann,
      department: 'Sales',
      ...{ licenseAssignmentStates: [viaGroup(SKU.EMS, G.sales, [PLAN.INTUNE_A])] },
    });
    expect(
      compareUser({ ...ann, assignedLicenses: [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }] }, input),
    ).toEqual({
      id: U.ann,
      userPrincipalName: ann.userPrincipalName,
      rule: 'Sales',
      changes: [],
      reasons: [],
    });
    // Someone no group licenses and no rule matches is not concerned at all.
    expect(compareUser(user({ id: U.cat, department: 'IT' }), input)).toBe(null);
  });

  it('explains a direct license a matching rule would remove', () => {
    const input = setup(new Map());
    const ben = user({
      id: U.ben,
      department: 'Sales',
      assignedLicenses: [{ skuId: SKU.EMSPREMIUM, disabledPlans: [] }],
      licenseAssignmentStates: [viaGroup(SKU.EMSPREMIUM, G.pilot)],
    });
    // Ben also holds EMS directly; the Pilot rule (first) does not give EMS.
    const withDirect = {
      ...ben,
      assignedLicenses: [...ben.assignedLicenses, ...direct(SKU.EMS).assignedLicenses],
      licenseAssignmentStates: [...ben.licenseAssignmentStates, ...direct(SKU.EMS).licenseAssignmentStates],
    };
    const result = compareUser(withDirect, input);
    expect(result?.changes.map(changeText)).toEqual(['loses EMS']);
    expect(result?.reasons).toEqual([
      'the rule of "Sales" holds here but Entra has not put the user in the group (a recent change not processed yet?)',
      'rules are first-match: "Pilot" matches first, so the licenses of "Sales", whose condition also holds, are not added; no rule covers this combination (add one ahead of it, like the combination rules the import writes)',
      'EMS is assigned directly today and rule "Pilot" does not give it: a matching rule removes the managed SKUs it does not name, where group-based licensing leaves direct assignments alone; to keep it, put EMS in a rule these users match first (or remove the direct assignment if it is a leftover)',
    ]);
  });

  it('names a group assignment in error today, and a disabled account the app will not license', () => {
    const input = setup(new Map());
    const failing = user({
      id: U.ann,
      department: 'Sales',
      licenseAssignmentStates: [
        { ...viaGroup(SKU.EMS, G.sales, [PLAN.INTUNE_A]), state: 'Error', error: 'CountViolation' },
      ],
    });
    expect(compareUser(failing, input)).toMatchObject({
      changes: [{ kind: 'gains', sku: 'EMS' }],
      reasons: [
        'today the EMS assignment from "Sales" is in error (CountViolation), so the user does not have it',
      ],
    });
    const disabled = user({
      id: U.ann,
      department: 'Sales',
      accountEnabled: false,
      assignedLicenses: [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }],
      licenseAssignmentStates: [viaGroup(SKU.EMS, G.sales, [PLAN.INTUNE_A])],
    });
    expect(compareUser(disabled, input)?.reasons).toEqual([
      'EMS not added: the account is disabled (the app never licenses disabled accounts)',
    ]);
  });
});

describe('takeOverFor', () => {
  const compiled = compileRules(
    parseRules(
      [
        'version: 1',
        'rules:',
        '  - name: sales',
        `    when: { entra: 'user.department -eq "Sales"' }`,
        '    license: { sku: EMS, intune: off }',
      ].join('\n'),
      'rules.yaml',
    ),
    catalog,
  );
  const held = (overrides: Parameters<typeof user>[0] = {}) =>
    user({
      department: 'Sales',
      assignedLicenses: [{ skuId: SKU.EMS, disabledPlans: [PLAN.INTUNE_A] }],
      licenseAssignmentStates: [viaGroup(SKU.EMS, G.sales, [PLAN.INTUNE_A])],
      ...overrides,
    });

  it('adds directly what a group gives with exactly the plans the rule wants', () => {
    expect(takeOverFor(held(), compiled, new Set())).toEqual([
      {
        kind: 'add',
        rule: 'sales',
        usageLocation: null,
        licenses: [
          { skuId: SKU.EMS, skuPartNumber: 'EMS', disabledPlans: [PLAN.INTUNE_A], groups: [G.sales] },
        ],
      },
    ]);
    expect(holdsThroughGroupOnly(held(), compiled.managedSkuIds)).toBe(true);
  });

  it('leaves alone what is already direct, and says why it skips the rest', () => {
    const both = held({
      licenseAssignmentStates: [
        viaGroup(SKU.EMS, G.sales, [PLAN.INTUNE_A]),
        ...direct(SKU.EMS, [PLAN.INTUNE_A]).licenseAssignmentStates,
      ],
    });
    expect(takeOverFor(both, compiled, new Set())).toEqual([]);
    expect(holdsThroughGroupOnly(both, compiled.managedSkuIds)).toBe(false);
    const otherPlans = held({ licenseAssignmentStates: [viaGroup(SKU.EMS, G.sales)] });
    expect(takeOverFor(otherPlans, compiled, new Set())).toMatchObject([
      {
        kind: 'skip',
        sku: 'EMS',
        reason: expect.stringMatching(/other plans than the rule wants/) as unknown,
      },
    ]);
    expect(takeOverFor(held({ accountEnabled: false }), compiled, new Set())).toMatchObject([
      { kind: 'skip', reason: expect.stringMatching(/^the account is disabled/) as unknown },
    ]);
    expect(takeOverFor(held({ usageLocation: null }), compiled, new Set())).toMatchObject([
      { kind: 'skip', reason: expect.stringMatching(/^no usageLocation/) as unknown },
    ]);
    expect(takeOverFor(held({ department: 'IT' }), compiled, new Set())).toEqual([]);
  });
});
