/**
 * Plans as reviewable artifacts through `main`, against the simulator and Azurite: `plan --out`
 * then `apply --plan` makes exactly the planned writes; a user changed in between is skipped and
 * reported; a changed rules file or an edited plan is refused with nothing written; the plan
 * renders for a change board; a held run still adds what the rules add; `history` and `explain`
 * show the user's recorded jobs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { startSimulator, type Simulator } from '@ems-licensing/graph-simulator';
import { IDS, smallTenant } from '@ems-licensing/graph-simulator/test-support';
import { main } from '../../lib/cli/main.js';
import type { PlanArtifact } from '../../lib/engine/plan-artifact.js';
import { createStorage } from '../../lib/store/table-clients.js';
import {
  cliEnv,
  randomTablePrefix,
  recordingIo,
  removeTempFiles,
  tempFile,
} from '../support/engine-harness.js';

const connectionString = inject('storageConnectionString');
const EXAMPLE_RULES = new URL('../../examples/rules.yaml', import.meta.url).pathname;

let sim: Simulator;
let env: Record<string, string>;
let prefix: string;

beforeEach(async () => {
  sim = await startSimulator({ tenant: smallTenant() });
  prefix = randomTablePrefix();
  env = cliEnv(sim, connectionString, prefix);
});
afterEach(async () => {
  await sim.close();
});
afterAll(removeTempFiles);

async function run(...argv: string[]) {
  const io = recordingIo();
  const code = await main(argv, env, io);
  return { code, out: io.stdoutText(), err: io.stderrText(), lines: io.stdoutLines() };
}

/** A copy of the example rules (so a test can change it) and the plan made from it. */
async function planned(): Promise<{ rules: string; file: string; plan: PlanArtifact }> {
  const rules = await tempFile('rules.yaml', await readFile(EXAMPLE_RULES, 'utf8'));
  const file = rules.replace(/rules\.yaml$/, 'plan.json');
  const made = await run('plan', '--rules', rules, '--out', file);
  expect(made.code).toBe(0);
  expect(made.err).toContain(
    `to ${file}. Carry out exactly this plan with \`ems-licensing apply --plan ${file}\``,
  );
  return { rules, file, plan: JSON.parse(await readFile(file, 'utf8')) as PlanArtifact };
}

describe('plan --out, then apply --plan', () => {
  it('writes the tenant, the rules file’s hash and per user the licenses before, the actions and after', async () => {
    const { plan } = await planned();
    expect(plan).toMatchObject({ format: 'ems-licensing/plan', kind: 'rules', tenantId: IDS.tenant });
    expect(plan.rules?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(plan.users.map((u) => u.userPrincipalName)).toEqual(['bob@fabrikam.com']);
    expect(plan.users[0]).toMatchObject({
      rule: 'contractors',
      before: [],
      actionsText: ['set usageLocation none → GB', 'add EMS (disabled: INTUNE_A)'],
      afterText: ['EMS:-INTUNE_A'],
    });
  });

  it('makes exactly the planned writes, and nothing for anyone else', async () => {
    const { rules, file, plan } = await planned();
    sim.counters.reset();
    const requestsBefore = sim.requests.length;

    const applied = await run('apply', '--rules', rules, '--plan', file);

    expect(applied.code).toBe(0);
    expect(applied.err).toContain(`Carrying out plan ${plan.id}: 1 user(s)`);
    expect(sim.counters.get('assignLicense')).toBe(1);
    expect(sim.counters.get('patchUser')).toBe(1);
    expect(sim.counters.writes()).toBe(2);
    // Only the plan's users are read (by id, fifteen per request), never the whole tenant.
    const lists = sim.requests.slice(requestsBefore).filter((r) => r.kind === 'listUsers');
    expect(lists.length).toBeGreaterThan(0);
    expect(lists.every((r) => (r.query['$filter'] ?? '').startsWith('id in ('))).toBe(true);
    expect(sim.tenant.user(IDS.bob)?.assignedLicenses).toEqual([
      { skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] },
    ]);
    // Applied again, the plan no longer fits bob (his licenses changed): skipped, nothing written.
    sim.counters.reset();
    const again = await run('apply', '--rules', rules, '--plan', file);
    expect(again.code).toBe(3);
    expect(sim.counters.writes()).toBe(0);
  });

  it('skips and reports a user whose licenses changed since the plan, writing nothing for them', async () => {
    const { rules, file } = await planned();
    // An admin licenses bob by hand before the plan is applied.
    sim.tenant.upsertUser({ id: IDS.bob, userPrincipalName: 'bob@fabrikam.com', usageLocation: 'GB' });
    const res = await fetch(`${sim.url}/v1.0/users/${IDS.bob}/assignLicense`, {
      method: 'POST',
      headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
      body: JSON.stringify({ addLicenses: [{ skuId: IDS.EMS, disabledPlans: [] }], removeLicenses: [] }),
    });
    expect(res.status).toBe(200);
    sim.counters.reset();

    const applied = await run('apply', '--rules', rules, '--plan', file);

    expect(applied.code).toBe(3);
    expect(applied.out).toMatch(
      /^SKIPPED\s+bob@fabrikam\.com .*The user’s licenses changed since the plan was made/m,
    );
    expect(applied.err).toContain('1 user(s) of plan');
    expect(sim.counters.writes()).toBe(0);
    const storage = createStorage({ connectionString, tablePrefix: prefix });
    const [record] = await storage.outcomes.listByUser(IDS.bob);
    expect([record?.outcome, record?.error?.code]).toEqual(['SKIPPED', 'ChangedSincePlan']);
  });

  it('skips a user the rules now treat otherwise (an attribute changed since the plan)', async () => {
    const { rules, file } = await planned();
    // bob stops being a contractor: the rules now want all of EMS for him, not EMS without Intune.
    sim.tenant.upsertUser({ id: IDS.bob, userPrincipalName: 'bob@fabrikam.com', employeeType: 'Employee' });
    sim.counters.reset();

    const applied = await run('apply', '--rules', rules, '--plan', file);

    expect(applied.code).toBe(3);
    expect(applied.out).toMatch(
      /^SKIPPED\s+bob@fabrikam\.com .*The rules now want another change for this user/m,
    );
    expect(sim.counters.writes()).toBe(0);
  });

  it('refuses a plan when the rules file changed since, and an edited plan file, writing nothing', async () => {
    const { rules, file } = await planned();
    await writeFile(rules, `${await readFile(rules, 'utf8')}\n# a comment is a change too\n`);
    sim.counters.reset();
    const changed = await run('apply', '--rules', rules, '--plan', file);
    expect(changed.code).toBe(2);
    expect(changed.err).toMatch(/The rules file changed since plan [0-9a-f]{16} was made/);

    const plan = JSON.parse(await readFile(file, 'utf8')) as PlanArtifact;
    const edited = await tempFile(
      'edited.json',
      JSON.stringify({ ...plan, users: [{ ...plan.users[0], id: IDS.dave }] }),
    );
    const refused = await run('apply', '--rules', rules, '--plan', edited);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('was changed after it was written');
    expect((await run('apply', '--plan', `${file}.missing`)).err).toContain('no such file');
    expect(sim.counters.writes()).toBe(0);
  });

  it('renders the same plan for a change board as Markdown or CSV', async () => {
    const md = await run('plan', '--rules', EXAMPLE_RULES, '--format', 'markdown');
    expect(md.code).toBe(0);
    expect(md.out).toMatch(/^# ems-licensing plan [0-9a-f]{16} \(rules\)/);
    expect(md.out).toContain('| EMS | add | 1 |');
    expect(md.out.indexOf('## Changes per SKU and action')).toBeLessThan(md.out.indexOf('## Users'));
    const csv = await run('plan', '--rules', EXAMPLE_RULES, '--format', 'csv');
    expect(csv.out.split('\r\n').slice(0, 3)).toEqual([
      'section,sku,action,users,user,id,rule,outcome,before,changes,after',
      'count,(usage location),set usageLocation,1,,,,,,,',
      'count,EMS,add,1,,,,,,,',
    ]);
  });
});

describe('a held run', () => {
  it('still makes what the rules add: a swap keeps the old SKU until released', async () => {
    env = { ...env, GUARD_REMOVAL_COUNT: '0', GUARD_REMOVAL_PERCENT: '0' };
    const rules = await tempFile(
      'swap.yaml',
      [
        'version: 1',
        'rules:',
        '  - name: staff-e5',
        '    when: { attribute: employeeType, equals: Employee }',
        '    license: { sku: EMSPREMIUM }',
        '  - name: keep-ems',
        '    when: { attribute: userType, equals: Member }',
        '    license: { sku: EMS }',
        '',
      ].join('\n'),
    );

    const applied = await run('apply', '--rules', rules);

    expect(applied.code).toBe(3);
    expect(applied.out).toMatch(
      /^HELD\s+alice@fabrikam\.com \[staff-e5\]: remove EMS held; made: add EMSPREMIUM$/m,
    );
    const skus = sim.tenant
      .user(IDS.alice)
      ?.assignedLicenses.map((l) => l.skuId.toLowerCase())
      .sort();
    expect(skus).toEqual([IDS.EMS, IDS.EMSPREMIUM].sort());
  });
});

describe('history and explain', () => {
  it('lists a user’s jobs newest first with before → after, and explain ends with the last few', async () => {
    expect((await run('apply', '--rules', EXAMPLE_RULES)).code).toBe(0);
    const storage = createStorage({ connectionString, tablePrefix: prefix });
    const [assigned] = await storage.outcomes.listByUser(IDS.bob);
    // A later job that was put off once before it ended (as the worker records them).
    const later = {
      ...assigned!,
      jobId: 'job-later',
      acceptedAt: new Date(Date.now() + 60_000).toISOString(),
      source: 'hr' as const,
      eventId: 'msg_7',
    };
    await storage.outcomes.record({
      ...later,
      phase: 'attempt',
      attempt: 0,
      outcome: 'DEFERRED',
      error: { code: 'NoFreeSeats', message: 'none', fix: 'buy' },
      actions: [],
    });
    await storage.outcomes.record({
      ...later,
      attempt: 1,
      outcome: 'UNCHANGED',
      actions: [],
      licensesBefore: ['EMS:-INTUNE_A'],
    });

    const history = await run('history', 'bob@fabrikam.com');

    expect(history.code).toBe(0);
    const lines = history.lines;
    expect(lines[0]).toBe(`History of bob@fabrikam.com (${IDS.bob}), newest first:`);
    expect(lines[1]).toMatch(/^ {2}\S+ \S+ {2}hr {6}contractors {6}UNCHANGED EMS:-INTUNE_A → EMS:-INTUNE_A$/);
    expect(lines[3]).toMatch(/^ {6}put off 1 time\(s\) before: \S+ \S+ NoFreeSeats$/);
    expect(lines[4]).toMatch(/^ {2}\S+ \S+ {2}cli {5}contractors {6}ASSIGNED {2}\(none\) → EMS:-INTUNE_A$/);

    const explained = await run('explain', 'bob@fabrikam.com', '--rules', EXAMPLE_RULES);
    expect(explained.code).toBe(0);
    expect(explained.out).toContain('History (newest first):');
    expect(explained.out).toMatch(/ASSIGNED {2}\(none\) → EMS:-INTUNE_A/);
    expect((await run('history', 'nobody@fabrikam.com')).code).toBe(1);
  });
});
