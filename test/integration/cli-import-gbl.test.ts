/**
 * `ems-licensing import-gbl` end to end, in-process through `main`, against the Graph simulator
 * over HTTP: the sample-tenant variant with two licensed dynamic groups and one static group is
 * imported, the imported rules give every member exactly what group-based licensing gives them,
 * and `plan` with the imported file leaves every member UNCHANGED. Then the cases the report
 * must call out: a member Entra has not caught up with, a nested member, a rule the app cannot
 * evaluate (refused with its column), an existing output file.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { parseRules } from '../../lib/rules/load.js';
import { createStorage } from '../../lib/store/table-clients.js';
import {
  parseTenantFile,
  startSimulator,
  type Simulator,
  type TenantFile,
} from '@ems-licensing/graph-simulator';
import { IDS, smallTenant } from '@ems-licensing/graph-simulator/test-support';
import { cliEnv, randomTablePrefix, recordingIo } from '../support/engine-harness.js';
import {
  CONTRACTORS_RULE,
  GBL,
  gblSampleTenant,
  isContractor,
  isSalesEmployee,
  SALES_RULE,
} from '../support/gbl-tenant.js';

const connectionString = inject('storageConnectionString');

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ems-import-gbl-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(sim: Simulator, ...argv: string[]) {
  return runWith(sim, randomTablePrefix(), ...argv);
}

async function runWith(sim: Simulator, tablePrefix: string, ...argv: string[]) {
  const io = recordingIo();
  const code = await main(argv, cliEnv(sim, connectionString, tablePrefix), io);
  return { code, io };
}

interface ImportJson {
  groups: {
    id: string;
    kind: string;
    rule: string | null;
    notCarried: string | null;
    directUserMembers: number;
  }[];
  rules: string[];
  combinations: { groups: string[]; users: number; rule: string | null }[];
  notes: { level: string; group: { name: string } | null; message: string }[];
  comparison: {
    users: number;
    concerned: number;
    same: number;
    differ: { userPrincipalName: string; summary: string; reasons: string[]; rule: string | null }[];
  };
}

async function withSimulator<T>(tenant: TenantFile, body: (sim: Simulator) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ tenant });
  try {
    return await body(sim);
  } finally {
    await sim.close();
  }
}

describe('import-gbl on the sample-tenant variant (two licensed dynamic groups, one static group)', () => {
  it('carries every group over, and the rules give every member what group-based licensing gives them', async () => {
    const tenant = await gblSampleTenant();
    const out = path.join(dir, 'variant.yaml');
    await withSimulator(tenant, async (sim) => {
      const { code, io } = await run(sim, 'import-gbl', '--out', out, '--usage-location', 'us', '--json');
      expect(io.stderrText()).toContain('Wrote');
      const result = JSON.parse(io.stdoutText()) as ImportJson;

      expect(result.groups.map((g) => [g.id, g.kind, g.rule, g.notCarried])).toEqual([
        [GBL.sales, 'dynamic', 'DYN-Sales-EMS', null],
        [GBL.contractors, 'dynamic', 'DYN-Contractors-EMS', null],
        [GBL.e3, 'static', 'SG-License-M365-E3', null],
      ]);
      // Users in the static group and a dynamic one get a combined rule, ahead of the single ones.
      const e3Members = new Set(tenant.groups.find((g) => g.id === GBL.e3)?.members);
      const sales = tenant.users.filter(isSalesEmployee);
      const contractors = tenant.users.filter(isContractor);
      const salesAndE3 = sales.filter((u) => e3Members.has(u.id)).length;
      const contractorsAndE3 = contractors.filter((u) => e3Members.has(u.id)).length;
      expect(salesAndE3).toBeGreaterThan(0);
      expect(contractorsAndE3).toBeGreaterThan(0);
      expect(result.rules).toEqual([
        ...(salesAndE3 >= contractorsAndE3
          ? ['SG-License-M365-E3 + DYN-Sales-EMS', 'SG-License-M365-E3 + DYN-Contractors-EMS']
          : ['SG-License-M365-E3 + DYN-Contractors-EMS', 'SG-License-M365-E3 + DYN-Sales-EMS']),
        'SG-License-M365-E3',
        'DYN-Sales-EMS',
        'DYN-Contractors-EMS',
      ]);

      const members = new Set([...e3Members, ...sales.map((u) => u.id), ...contractors.map((u) => u.id)]);
      expect(result.comparison.differ).toEqual([]);
      expect(result.comparison.same).toBe(members.size);
      expect(result.comparison.users).toBe(tenant.users.length);
      expect(code).toBe(0);
    });

    // The file is what the loader reads: the dynamic rules word for word.
    const rules = parseRules(await readFile(out, 'utf8'), out);
    expect(rules.defaults).toEqual({ unmatched: 'leave', usageLocation: 'US' });
    expect(rules.rules.find((r) => r.name === 'DYN-Sales-EMS')?.when).toEqual({ entra: SALES_RULE });
    expect(rules.rules.find((r) => r.name === 'DYN-Contractors-EMS')).toMatchObject({
      when: { entra: CONTRACTORS_RULE },
      license: { sku: 'EMS', disabledPlans: ['INTUNE_A'] },
    });
    expect(rules.rules.find((r) => r.name === 'SG-License-M365-E3 + DYN-Contractors-EMS')).toMatchObject({
      when: { all: [{ memberOf: GBL.e3 }, { entra: CONTRACTORS_RULE }] },
      licenses: [
        { sku: 'ENTERPRISEPACK', disabledPlans: ['YAMMER_ENTERPRISE'] },
        { sku: 'EMS', disabledPlans: ['INTUNE_A'] },
      ],
    });
    const report = await readFile(path.join(dir, 'variant.report.md'), 'utf8');
    expect(report).toMatch(/3 licensed groups read; 3 groups carried over/);
  });

  it('plan with the imported rules leaves every member UNCHANGED while the groups still license them', async () => {
    const tenant = await gblSampleTenant();
    const out = path.join(dir, 'variant-plan.yaml');
    await withSimulator(tenant, async (sim) => {
      expect((await run(sim, 'import-gbl', '--out', out, '--usage-location', 'US')).code).toBe(0);
      const { code, io } = await run(sim, 'plan', '--rules', out, '--json');
      expect(code).toBe(0);
      const results = io
        .stdoutLines()
        .map((l) => JSON.parse(l) as { id: string; outcome: string; actions: string[] });
      const e3Members = new Set(tenant.groups.find((g) => g.id === GBL.e3)?.members);
      const members = new Set([
        ...e3Members,
        ...tenant.users.filter(isSalesEmployee).map((u) => u.id),
        ...tenant.users.filter(isContractor).map((u) => u.id),
      ]);
      const forMembers = results.filter((r) => members.has(r.id));
      expect(forMembers).toHaveLength(members.size);
      expect(forMembers.filter((r) => r.outcome !== 'UNCHANGED' || r.actions.length > 0)).toEqual([]);
      expect(sim.counters.writes()).toBe(0);
    });
  });

  it('without a usage location, lists the members who have none, with the reason and the fix', async () => {
    const tenant = await gblSampleTenant();
    await withSimulator(tenant, async (sim) => {
      const { code, io } = await run(sim, 'import-gbl', '--out', path.join(dir, 'no-ul.yaml'), '--json');
      const result = JSON.parse(io.stdoutText()) as ImportJson;
      const withoutLocation = new Set(
        tenant.users.filter((u) => u.usageLocation == null).map((u) => u.userPrincipalName),
      );
      expect(result.comparison.differ.length).toBeGreaterThan(0);
      for (const d of result.comparison.differ) {
        expect(withoutLocation.has(d.userPrincipalName)).toBe(true);
        expect(d.summary).toMatch(/^loses (EMS|ENTERPRISEPACK)/);
        expect(d.reasons[0]).toMatch(/has no usageLocation.*--usage-location <country>/);
      }
      expect(code).toBe(1);
    });
  });
});

describe('take-over: from group licenses to direct ones without a gap', () => {
  it('assigns directly what members hold through groups, so removing the group licenses changes nothing', async () => {
    const tenant = await gblSampleTenant();
    const out = path.join(dir, 'take-over.yaml');
    await withSimulator(tenant, async (sim) => {
      expect((await run(sim, 'import-gbl', '--out', out, '--usage-location', 'US')).code).toBe(0);
      const before = new Map(sim.tenant.users().map((u) => [u.id, u.assignedLicenses]));
      const members = new Set(
        tenant.groups
          .filter((g) => [GBL.sales, GBL.contractors, GBL.e3].includes(g.id as never))
          .flatMap((g) => g.members),
      );

      // Dry run: every member, nothing written.
      const dry = await run(sim, 'take-over', '--rules', out, '--json');
      expect(dry.code).toBe(0);
      const planned = dry.io.stdoutLines().map((l) => JSON.parse(l) as { id: string; outcome: string });
      expect(new Set(planned.filter((l) => l.outcome === 'WOULD_ASSIGN').map((l) => l.id))).toEqual(members);
      expect(planned.filter((l) => l.outcome !== 'WOULD_ASSIGN')).toEqual([]);
      expect(sim.counters.writes()).toBe(0);

      // Apply: one assignLicense per member (plus a usageLocation for those without), no seat used.
      const seats = sim.tenant.skus().map((s) => [s.skuPartNumber, s.consumedUnits]);
      const prefix = randomTablePrefix();
      const applied = await runWith(sim, prefix, 'take-over', '--rules', out, '--apply');
      expect(applied.code).toBe(0);
      // Each user is one job on record: its final record, the writes it sent, nothing left pending.
      const store = createStorage({ connectionString, tablePrefix: prefix }).outcomes;
      const someone = tenant.users.find((u) => members.has(u.id) && u.usageLocation != null);
      const records = await store.listByUser(someone?.id ?? '');
      expect(records.map((r) => [r.phase, r.outcome, r.source, r.writes, r.error])).toEqual([
        ['final', 'ASSIGNED', 'cli', 1, null],
      ]);
      const pending: unknown[] = [];
      for await (const r of store.listPending()) pending.push(r);
      expect(pending).toEqual([]);
      expect(sim.counters.get('assignLicense')).toBe(members.size);
      const withoutLocation = tenant.users.filter((u) => members.has(u.id) && u.usageLocation == null).length;
      expect(sim.counters.get('patchUser')).toBe(withoutLocation);
      expect(sim.tenant.skus().map((s) => [s.skuPartNumber, s.consumedUnits])).toEqual(seats);
      expect(applied.io.stdoutText()).toContain(`take-over: ${members.size} user(s) now hold`);

      // Entra: the group licenses go. Nobody's licenses change, and plan has nothing to do.
      sim.tenant.removeGroupLicense(GBL.sales, 'EMS');
      sim.tenant.removeGroupLicense(GBL.contractors, 'EMS');
      sim.tenant.removeGroupLicense(GBL.e3, 'ENTERPRISEPACK');
      const changed = sim.tenant
        .users()
        .filter(
          (u) =>
            JSON.stringify(sortLicenses(u.assignedLicenses)) !==
            JSON.stringify(sortLicenses(before.get(u.id) ?? [])),
        );
      expect(changed.map((u) => u.userPrincipalName)).toEqual([]);
      sim.counters.reset();
      const plan = await run(sim, 'plan', '--rules', out, '--json');
      const outcomes = plan.io.stdoutLines().map((l) => JSON.parse(l) as { id: string; outcome: string });
      expect(outcomes.filter((o) => members.has(o.id) && o.outcome !== 'UNCHANGED')).toEqual([]);

      // A second take-over finds nothing left to do.
      const again = await run(sim, 'take-over', '--rules', out, '--json');
      expect(again.io.stdoutLines()).toEqual([]);
    });
  });
});

const sortLicenses = (ls: readonly { skuId: string; disabledPlans: string[] }[]) =>
  [...ls]
    .map((l) => ({ skuId: l.skuId, disabledPlans: [...l.disabledPlans].sort() }))
    .sort((a, b) => a.skuId.localeCompare(b.skuId));

describe('what the report calls out', () => {
  const DYN = 'c0000000-0000-4000-8000-000000000001';
  const IPADS = 'c0000000-0000-4000-8000-000000000002';
  const NESTED = 'c0000000-0000-4000-8000-000000000003';

  /** smallTenant with: a dynamic Engineering group Entra has out of date, an uncarried device-style rule, a static group with a nested group. */
  function tenant(): TenantFile {
    const base = smallTenant();
    return parseTenantFile({
      ...base,
      groups: [
        ...base.groups.filter((g) => g.id !== IDS.groupEms),
        {
          id: DYN,
          displayName: 'DYN-Engineering',
          groupTypes: ['DynamicMembership'],
          membershipRule: 'user.department -eq "Engineering"',
          // Entra still has bob (moved out of Engineering) and has not added alice yet.
          members: [IDS.bob],
          licenses: [{ skuId: IDS.EMSPREMIUM }],
        },
        {
          id: IPADS,
          displayName: 'DYN-iPads',
          groupTypes: ['DynamicMembership'],
          membershipRule: '(user.accountEnabled -eq true) -and (device.deviceOSType -eq "iPad")',
          members: [],
          licenses: [{ skuId: IDS.EMS }],
        },
        {
          id: NESTED,
          displayName: 'SG-E3',
          members: [IDS.dave, IDS.groupOuter],
          licenses: [{ skuId: IDS.ENTERPRISEPACK }],
        },
      ],
      users: base.users.map((u) => (u.id === IDS.bob ? { ...u, department: 'Sales' } : u)),
    });
  }

  it('names each difference with its reason, and the group it could not carry over with the column', async () => {
    await withSimulator(tenant(), async (sim) => {
      const out = path.join(dir, 'callouts.yaml');
      const { code, io } = await run(sim, 'import-gbl', '--out', out, '--json');
      const result = JSON.parse(io.stdoutText()) as ImportJson;
      expect(code).toBe(1);

      expect(result.groups.find((g) => g.id === IPADS)?.notCarried).toBe(
        'its membership rule cannot be evaluated here: entra rule, column 38 ("device.deviceOSType"): device properties select devices; licenses are assigned to users',
      );
      expect(result.groups.find((g) => g.id === NESTED)?.kind).toBe('static');
      expect(result.notes.map((n) => [n.level, n.group?.name ?? null]).filter(([l]) => l !== 'info')).toEqual(
        [
          ['not-carried', 'DYN-iPads'],
          ['attention', 'SG-E3'],
        ],
      );

      const byUpn = new Map(result.comparison.differ.map((d) => [d.userPrincipalName, d]));
      expect([...byUpn.keys()]).toEqual(['alice@fabrikam.com', 'bob@fabrikam.com']);
      // Entra has not added alice yet: the rule would.
      expect(byUpn.get('alice@fabrikam.com')?.summary).toBe('gains ENTERPRISEPACK');
      expect(byUpn.get('alice@fabrikam.com')?.reasons).toEqual([
        'the rule of "DYN-Engineering" holds here but Entra has not put the user in the group (a recent change not processed yet?)',
        'member of "SG-E3" only through nested group(s) SG-Outer: group-based licensing does not license nested members, memberOf counts them',
        'rules are first-match: "SG-E3" matches first, so the licenses of "DYN-Engineering", whose condition also holds, are not added; no rule covers this combination (add one ahead of it, like the combination rules the import writes)',
      ]);
      // Entra still has bob: the rule, as the value it saw shows, would not.
      expect(byUpn.get('bob@fabrikam.com')).toMatchObject({
        summary: 'loses EMSPREMIUM',
        rule: null,
        reasons: [
          'in "DYN-Engineering" per Entra, but its rule does not hold here: user.department -eq "Engineering" (value: "Sales"); if that value changed recently, Entra has not processed the group yet',
        ],
      });

      const report = await readFile(path.join(dir, 'callouts.report.md'), 'utf8');
      expect(report).toContain('- ✗ **DYN-iPads** (dynamic, 0 direct members): EMS: not carried over');
      expect(report).toContain('6. Leave the licenses on "DYN-iPads"');
    });
  });

  it('refuses to overwrite an existing file without --force, and leaves it as it was', async () => {
    const out = path.join(dir, 'existing.yaml');
    await writeFile(out, 'version: 1\nrules: []\n', 'utf8');
    await withSimulator(tenant(), async (sim) => {
      const { code, io } = await run(sim, 'import-gbl', '--out', out);
      expect(code).toBe(2);
      expect(io.stderrText()).toMatch(/existing\.yaml already exists: choose another --out, or pass --force/);
      expect(await readFile(out, 'utf8')).toBe('version: 1\nrules: []\n');
      expect(existsSync(path.join(dir, 'existing.report.md'))).toBe(false);
      expect(sim.counters.get('listGroups')).toBe(0);

      expect((await run(sim, 'import-gbl', '--out', out, '--force')).code).toBe(1);
      expect(await readFile(out, 'utf8')).toMatch(/^# yaml-language-server/);
    });
  });

  it('reads with one group list per SKU, one members list per group, and transitive members only for nesting', async () => {
    await withSimulator(tenant(), async (sim) => {
      sim.counters.reset();
      await run(sim, 'import-gbl', '--out', path.join(dir, 'counted.yaml'), '--force');
      const skus = sim.tenant.skus().length;
      expect(sim.counters.get('listGroups')).toBe(skus);
      expect(sim.counters.get('listGroupMembers')).toBe(3);
      expect(sim.counters.get('listGroupTransitiveMembers')).toBe(1);
      expect(sim.counters.writes()).toBe(0);
    });
  });
});
