import { describe, expect, it } from 'vitest';
import {
  entraConditionCount,
  GRAPH_PERMISSIONS,
  planPermissionGrants,
  requiredGraphPermissions,
  rulesPermissionNeeds,
  type AppRole,
} from '../../lib/deploy/graph-permissions.js';
import { REQUIRED_PERMISSION } from '../../lib/graph/operations.js';

const values = (list: readonly { value: string }[]) => list.map((p) => p.value);

const GRAPH_SP = 'graph-sp-id';
const roles: AppRole[] = [
  { id: 'r-lic', value: 'LicenseAssignment.ReadWrite.All', allowedMemberTypes: ['Application'] },
  { id: 'r-skus', value: 'LicenseAssignment.Read.All', allowedMemberTypes: ['Application'] },
  { id: 'r-read', value: 'User.Read.All', allowedMemberTypes: ['Application'] },
  { id: 'r-write', value: 'User.ReadWrite.All', allowedMemberTypes: ['Application'] },
  { id: 'r-group', value: 'GroupMember.Read.All', allowedMemberTypes: ['Application'] },
  { id: 'r-dir', value: 'Directory.Read.All', allowedMemberTypes: ['Application'] },
  // A delegated-only role of the same name must not be picked.
  { id: 'r-deleg', value: 'User.Read.All', allowedMemberTypes: ['User'] },
];

describe('rulesPermissionNeeds', () => {
  it('sees defaults.usageLocation and memberOf anywhere under rules', () => {
    const yaml = `
version: 1
defaults:
  usageLocation: GB
rules:
  - name: staff
    when:
      all:
        - attribute: department
          equals: Sales
        - not:
            memberOf: 0b3b6c1e-0000-4000-8000-000000000001
    license: { sku: EMS, intune: off }
`;
    expect(rulesPermissionNeeds(yaml)).toEqual({ setsUsageLocation: true, usesMemberOf: true });
  });

  it('needs neither for plain attribute rules and no default usage location', () => {
    const yaml = `
version: 1
defaults:
  unmatched: leave
rules:
  - name: everyone
    when: { attribute: userType, equals: Member }
    license: { sku: EMS }
`;
    expect(rulesPermissionNeeds(yaml)).toEqual({ setsUsageLocation: false, usesMemberOf: false });
  });

  it('refuses a rules file the app would refuse, with the line', () => {
    expect(() => rulesPermissionNeeds('rules: [', 'my-rules.yaml')).toThrow(/my-rules\.yaml:1:/);
    expect(() =>
      rulesPermissionNeeds('version: 1\ndefaults: { usageLocation: gb }\nrules: []\n', 'my-rules.yaml'),
    ).toThrow(/my-rules\.yaml:2:.*two capital letters/s);
  });
});

describe('entra rules and import-gbl', () => {
  const yaml = `
version: 1
rules:
  - name: sales
    when: { entra: '(user.department -eq "Sales") -and (user.extensionAttribute3 -ne null)' }
    license: { sku: EMS }
  - name: pilot
    when: { any: [ { entra: 'user.country -eq "GB"' }, { attribute: department, equals: IT } ] }
    license: { sku: EMS }
`;

  it('needs no group permission for entra rules: they read user properties only', () => {
    expect(rulesPermissionNeeds(yaml)).toEqual({ setsUsageLocation: false, usesMemberOf: false });
    expect(entraConditionCount(yaml)).toBe(2);
    expect(values(requiredGraphPermissions(rulesPermissionNeeds(yaml)))).not.toContain(
      'GroupMember.Read.All',
    );
  });

  it('adds GroupMember.Read.All once for an identity that runs import-gbl, with or without memberOf', () => {
    const both = requiredGraphPermissions({
      setsUsageLocation: false,
      usesMemberOf: true,
      importsGroups: true,
    });
    expect(values(both).filter((v) => v === 'GroupMember.Read.All')).toHaveLength(1);
    expect(
      values(
        requiredGraphPermissions({ setsUsageLocation: false, usesMemberOf: false, importsGroups: true }),
      ),
    ).toEqual([
      'LicenseAssignment.ReadWrite.All',
      'LicenseAssignment.Read.All',
      'User.Read.All',
      'GroupMember.Read.All',
    ]);
  });
});

describe('requiredGraphPermissions', () => {
  it('always needs license assignment, SKU read and user read', () => {
    expect(values(requiredGraphPermissions({ setsUsageLocation: false, usesMemberOf: false }))).toEqual([
      'LicenseAssignment.ReadWrite.All',
      'LicenseAssignment.Read.All',
      'User.Read.All',
    ]);
  });

  it('adds User.ReadWrite.All for a default usage location and GroupMember.Read.All for memberOf', () => {
    expect(values(requiredGraphPermissions({ setsUsageLocation: true, usesMemberOf: true }))).toEqual([
      'LicenseAssignment.ReadWrite.All',
      'LicenseAssignment.Read.All',
      'User.Read.All',
      'User.ReadWrite.All',
      'GroupMember.Read.All',
    ]);
  });

  it('is the single list of permission names, each explained', () => {
    expect(new Set(values(GRAPH_PERMISSIONS)).size).toBe(GRAPH_PERMISSIONS.length);
    for (const p of GRAPH_PERMISSIONS) expect(p.why.length).toBeGreaterThan(10);
  });

  it('covers every permission the Graph error mapping names (lib/graph/operations.ts)', () => {
    const named = Object.values(REQUIRED_PERMISSION).map((text) => text.split(' ')[0]);
    expect(named.filter((p) => !values(GRAPH_PERMISSIONS).includes(p ?? ''))).toEqual([]);
  });
});

describe('planPermissionGrants', () => {
  const needed = requiredGraphPermissions({ setsUsageLocation: true, usesMemberOf: false });

  it('grants everything to a fresh identity, resolving application roles by value', () => {
    const plan = planPermissionGrants(needed, roles, GRAPH_SP, []);
    expect(plan.granted).toEqual([]);
    expect(plan.toGrant.map((g) => [g.permission.value, g.appRoleId])).toEqual([
      ['LicenseAssignment.ReadWrite.All', 'r-lic'],
      ['LicenseAssignment.Read.All', 'r-skus'],
      ['User.Read.All', 'r-read'],
      ['User.ReadWrite.All', 'r-write'],
    ]);
    expect(plan.extra).toEqual([]);
  });

  it('is idempotent: what is granted on Graph is kept, extras are reported, other resources ignored', () => {
    const plan = planPermissionGrants(needed, roles, GRAPH_SP, [
      { appRoleId: 'r-lic', resourceId: GRAPH_SP },
      { appRoleId: 'r-dir', resourceId: GRAPH_SP },
      // Same role id on another API's service principal does not count.
      { appRoleId: 'r-read', resourceId: 'some-other-api' },
    ]);
    expect(plan.granted.map((g) => g.permission.value)).toEqual(['LicenseAssignment.ReadWrite.All']);
    expect(plan.toGrant.map((g) => g.permission.value)).toEqual([
      'LicenseAssignment.Read.All',
      'User.Read.All',
      'User.ReadWrite.All',
    ]);
    expect(plan.extra).toEqual([{ value: 'Directory.Read.All', appRoleId: 'r-dir' }]);
  });

  it('has nothing to grant once everything is granted', () => {
    const all = ['r-lic', 'r-skus', 'r-read', 'r-write'].map((appRoleId) => ({
      appRoleId,
      resourceId: GRAPH_SP,
    }));
    expect(planPermissionGrants(needed, roles, GRAPH_SP, all).toGrant).toEqual([]);
  });

  it('names a permission Graph does not offer as an application role', () => {
    const withoutWrite = roles.filter((r) => r.value !== 'User.ReadWrite.All');
    expect(() => planPermissionGrants(needed, withoutWrite, GRAPH_SP, [])).toThrow(/User\.ReadWrite\.All/);
    const disabled = roles.map((r) => (r.value === 'User.Read.All' ? { ...r, isEnabled: false } : r));
    expect(() => planPermissionGrants(needed, disabled, GRAPH_SP, [])).toThrow(/User\.Read\.All/);
  });
});
