/**
 * The `ems-licensing` command, run in-process through `main(argv, env, io)` against the Graph
 * simulator (GRAPH_BASE_URL) and Azurite (STORAGE_CONNECTION_STRING, a random table prefix).
 */
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { main } from '../../lib/cli/main.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';
import { startSimulator, type Simulator } from '@ems-licensing/graph-simulator';
import { IDS, smallTenant } from '@ems-licensing/graph-simulator/test-support';
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
const USER_IDS = [IDS.alice, IDS.bob, IDS.carol, IDS.dave, IDS.erin];

let sim: Simulator;
let prefix: string;
let env: Record<string, string>;

beforeEach(async () => {
  sim = await startSimulator({ tenant: smallTenant() });
  prefix = randomTablePrefix();
  env = cliEnv(sim, connectionString, prefix);
});

afterAll(removeTempFiles);

afterEach(async () => {
  await sim.close();
});

async function run(...argv: string[]) {
  const io = recordingIo();
  const code = await main(argv, env, io);
  return { code, io };
}

interface JsonLine {
  id: string;
  upn: string | null;
  rule: string | null;
  actions: string[];
  outcome: string;
  error: { code: string; message: string; fix: string } | null;
}

function jsonLines(stdout: string[]): JsonLine[] {
  return stdout.map((line) => JSON.parse(line) as JsonLine);
}

function outcomeStore() {
  return createStorage({ connectionString, tablePrefix: prefix }).outcomes;
}

async function collect(records: AsyncIterable<OutcomeRecord>): Promise<OutcomeRecord[]> {
  const out: OutcomeRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}

describe('validate', () => {
  it('exits 0 for rules that fit the tenant', async () => {
    const { code, io } = await run('validate', '--rules', EXAMPLE_RULES);
    expect(code).toBe(0);
    expect(io.stdoutText()).toMatch(/valid\. 2 rule\(s\); managed SKUs: EMS/);
  });

  it('exits 1 for an unknown SKU (the rules do not fit the tenant), naming the rule and listing the valid SKU names', async () => {
    const rules = await tempFile(
      'rules.yaml',
      [
        'version: 1',
        'rules:',
        '  - name: staff',
        '    when: { attribute: onPremisesSyncEnabled, equals: true }',
        '    license: { sku: EMSS }',
        '',
      ].join('\n'),
    );

    const { code, io } = await run('validate', '--rules', rules);

    expect(code).toBe(1);
    const text = io.stdoutText();
    expect(text).toContain(`${rules}:5:`);
    expect(text).toContain('rule "staff"');
    expect(text).toContain('unknown SKU "EMSS"');
    // Every assignable SKU of the tenant is listed; the Company-level one is not.
    for (const name of ['EMS', 'EMSPREMIUM', 'ENTERPRISEPACK', 'EXCHANGESTANDARD']) {
      expect(text).toMatch(new RegExp(`assignable SKUs in this tenant: .*\\b${name}\\b`));
    }
    expect(text).not.toMatch(/assignable SKUs in this tenant: .*MCOPSTNC/);
    // validate reads the catalog only.
    expect(sim.counters.get('listUsers')).toBe(0);
  });
});

describe('a malformed rules file', () => {
  it('exits 2 with file:line:column and changes nothing', async () => {
    const rules = await tempFile(
      'rules.yaml',
      [
        'version: 1',
        'rules:',
        '  - name: contractors',
        '    when:',
        '      atribute: employeeType',
        '      equals: Contractor',
        '    license: { sku: EMS, intune: off }',
        '',
      ].join('\n'),
    );

    for (const command of ['validate', 'plan', 'apply']) {
      const { code, io } = await run(command, '--rules', rules);
      expect(code, command).toBe(2);
      expect(io.stderrText(), command).toMatch(new RegExp(`${rules.replace(/[.\\/]/g, '\\$&')}:5:\\d+: `));
      expect(io.stderrText(), command).toContain('atribute');
    }
    expect(sim.counters.get('listUsers')).toBe(0);
    expect(sim.counters.writes()).toBe(0);
  });

  it('exits 2 for a YAML syntax error, with its line', async () => {
    const rules = await tempFile('rules.yaml', 'version: 1\nrules:\n  - name: [unclosed\n');
    const { code, io } = await run('plan', '--rules', rules);
    expect(code).toBe(2);
    expect(io.stderrText()).toMatch(/rules\.yaml:\d+:\d+: not valid YAML/);
  });
});

describe('plan --json', () => {
  it('prints one parseable object per user with id, upn, rule, actions, outcome and error', async () => {
    const { code, io } = await run('plan', '--rules', EXAMPLE_RULES, '--json');

    expect(code).toBe(0);
    const lines = jsonLines(io.stdoutLines());
    expect(lines.map((l) => l.id).sort()).toEqual([...USER_IDS].sort());
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(
        expect.arrayContaining(['id', 'upn', 'rule', 'actions', 'outcome', 'error']),
      );
    }
    const bob = lines.find((l) => l.id === IDS.bob);
    expect(bob).toMatchObject({
      upn: 'bob@fabrikam.com',
      rule: 'contractors',
      outcome: 'ASSIGNED',
      error: null,
    });
    expect(bob?.actions).toHaveLength(2);
    expect(bob?.actions[0]).toMatch(/usage ?location/i);
    expect(bob?.actions[1]).toMatch(/EMS/);
    expect(lines.find((l) => l.id === IDS.alice)).toMatchObject({
      rule: 'synced-staff',
      outcome: 'UNCHANGED',
    });
    expect(lines.find((l) => l.id === IDS.dave)).toMatchObject({ rule: null, outcome: 'NO_RULE' });
    // The summary goes to stderr; a plan writes nothing to Graph.
    expect(io.stderrText()).toContain('plan (dry run)');
    expect(sim.counters.writes()).toBe(0);
    // Five users are one page of the paged list; no user is read on its own.
    expect(sim.counters.get('listUsers')).toBe(1);
    expect(sim.counters.get('getUser')).toBe(0);
  });
});

describe('apply', () => {
  it('does not license someone HR said left (the app’s leaver mark), in plan or apply', async () => {
    const storage = createStorage({ connectionString, tablePrefix: prefix });
    await storage.ensureTables();
    await storage.leavers.set(IDS.bob, { state: 'left', at: new Date(), statedAt: new Date() });

    const planned = await run('plan', '--json', '--rules', EXAMPLE_RULES);
    const bobPlan = planned.io.stdoutLines().map((l) => JSON.parse(l) as { id: string; outcome: string });
    // The rules would license bob: the record says the leaver policy withholds it.
    expect(bobPlan.find((r) => r.id === IDS.bob)?.outcome).toBe('SKIPPED');

    const applied = await run('apply', '--rules', EXAMPLE_RULES);
    expect(applied.code).toBe(0);
    expect(sim.tenant.user(IDS.bob)?.assignedLicenses).toEqual([]);
    const records = await storage.outcomes.listByUser(IDS.bob);
    expect(records.map((r) => [r.outcome, r.policy, r.error?.code])).toEqual([
      ['SKIPPED', 'leaver', 'Leaver'],
    ]);
  });

  it('records exactly one outcome per processed user, readable by user and by time', async () => {
    const from = new Date(Date.now() - 1_000);

    const { code, io } = await run('apply', '--rules', EXAMPLE_RULES, '--json');

    expect(code).toBe(0);
    const processed = jsonLines(io.stdoutLines()).map((l) => l.id);
    expect(processed.sort()).toEqual([...USER_IDS].sort());
    const store = outcomeStore();
    for (const id of USER_IDS) {
      const records = await store.listByUser(id);
      expect(records, id).toHaveLength(1);
      expect(records[0]?.dryRun).toBe(false);
      expect(records[0]?.source).toBe('cli');
    }
    expect((await store.listByUser(IDS.bob))[0]).toMatchObject({ outcome: 'ASSIGNED', rule: 'contractors' });
    const inRun = await collect(store.listBetween(from));
    expect(inRun).toHaveLength(USER_IDS.length);
    expect(new Set(inRun.map((r) => r.userId)).size).toBe(USER_IDS.length);
    // One run: every record carries the run id as its event id.
    expect(new Set(inRun.map((r) => r.eventId)).size).toBe(1);
  });

  it('makes zero Graph writes when run a second time', async () => {
    const first = await run('apply', '--rules', EXAMPLE_RULES);
    expect(first.code).toBe(0);
    expect(sim.counters.writes()).toBeGreaterThan(0);
    sim.counters.reset();

    const second = await run('apply', '--rules', EXAMPLE_RULES);

    expect(second.code).toBe(0);
    expect(sim.counters.writes()).toBe(0);
    expect(sim.counters.get('assignLicense')).toBe(0);
    expect(second.io.stdoutText()).toMatch(/\| Graph writes\s+\|\s+0 \|/);
    expect(second.io.stdoutText()).not.toMatch(/^(ASSIGNED|UPDATED|REMOVED)/m);
  });

  it('exits 1 when a user FAILED, with Graph’s reason in the JSON line', async () => {
    // dave holds EXCHANGESTANDARD; ENTERPRISEPACK's Exchange plan is mutually exclusive with it.
    const rules = await tempFile(
      'rules.yaml',
      [
        'version: 1',
        'rules:',
        '  - name: cloud-members-e3',
        '    when:',
        '      all:',
        '        - { attribute: upnDomain, equals: fabrikam.onmicrosoft.com }',
        '        - { attribute: userType, equals: Member }',
        '    license: { sku: ENTERPRISEPACK }',
        '',
      ].join('\n'),
    );

    const { code, io } = await run('apply', '--rules', rules, '--json');

    expect(code).toBe(1);
    const lines = jsonLines(io.stdoutLines());
    const dave = lines.find((l) => l.id === IDS.dave);
    expect(dave?.outcome).toBe('FAILED');
    expect(dave?.rule).toBe('cloud-members-e3');
    expect(dave?.error?.message).toMatch(/mutually exclusive/);
    expect(dave?.error?.fix).toMatch(/^Two service plans named in the message cannot both be enabled/);
    expect(lines.filter((l) => l.outcome === 'FAILED')).toHaveLength(1);
    // Graph refused: dave's licenses are as they were, and the failure is recorded.
    expect(sim.tenant.user(IDS.dave)?.assignedLicenses.map((l) => l.skuId.toLowerCase())).toEqual([
      IDS.EXCHANGESTANDARD,
    ]);
    const recorded = await outcomeStore().listByUser(IDS.dave);
    expect(recorded.map((r) => r.outcome)).toEqual(['FAILED']);
  });

  it('exits 0 when nobody FAILED, even with CONFLICT and DEFERRED users', async () => {
    sim.tenant.setPrepaidUnits('EMS', 2);
    sim.tenant.upsertUser({
      id: IDS.carol,
      userPrincipalName: 'carol@fabrikam.com',
      onPremisesSyncEnabled: true,
      employeeType: 'Contractor',
    });

    const { code, io } = await run('apply', '--rules', EXAMPLE_RULES, '--json');

    expect(code).toBe(0);
    const byId = new Map(jsonLines(io.stdoutLines()).map((l) => [l.id, l.outcome]));
    expect(byId.get(IDS.bob)).toBe('DEFERRED');
    expect(byId.get(IDS.carol)).toBe('CONFLICT');
    expect(sim.counters.writes()).toBe(0);
  });
});

describe('a run that cannot finish', () => {
  it('exits 3 and lists the users not done, each with its reason (also as JSON lines)', async () => {
    env = { ...env, GRAPH_MAX_RETRIES: '0', RECONCILE_RETRY_ROUNDS: '0' };
    // Graph throttles every write (past its own retries): the two users to license are not done.
    sim.faults.inject({ kind: 'assignLicense', status: 429, retryAfterSeconds: 30, times: 100 });

    const { code, io } = await run('apply', '--rules', EXAMPLE_RULES, '--json');

    expect(code).toBe(3);
    const notDone = jsonLines(io.stdoutLines()).filter((l) =>
      l.error?.message.startsWith('Not done in this run'),
    );
    expect(notDone.map((l) => l.id).sort()).toEqual(
      [IDS.bob, IDS.erin].filter((id) => id !== IDS.erin).sort(),
    );
    expect(notDone[0]).toMatchObject({ outcome: 'DEFERRED', error: { code: 'TooManyRequests' } });
    expect(io.stderrText()).toMatch(/1 user\(s\) not done in this run .*run apply again/);
    expect(io.stderrText()).toMatch(
      /bob@fabrikam\.com: TooManyRequests: Not done in this run after 1 attempt/,
    );
  });

  it('survives a server error on the SKU catalog and on a page of users (reads are retried)', async () => {
    sim.faults.inject({ kind: 'subscribedSkus', status: 500, times: 1 });
    sim.faults.inject({ kind: 'listUsers', status: 502, times: 1 });
    env = { ...env, GRAPH_MAX_RETRIES: '2' };
    const { code, io } = await run('plan', '--rules', EXAMPLE_RULES);
    expect(code).toBe(0);
    expect(io.stderrText()).not.toMatch(/stopped/);
    expect(sim.requests.filter((r) => r.kind === 'subscribedSkus').map((r) => r.status)).toEqual([500, 200]);
    expect(sim.requests.filter((r) => r.kind === 'listUsers').map((r) => r.status)).toEqual([502, 200]);
  });
});

describe('explain', () => {
  it('names the matched rule and the condition an earlier rule failed on', async () => {
    const { code, io } = await run('explain', IDS.alice, '--rules', EXAMPLE_RULES);

    expect(code).toBe(0);
    const text = io.stdoutText();
    expect(text).toContain('rule "synced-staff" matched (rule 2)');
    expect(text).toMatch(
      /rule 1 "contractors": no match\n\s+✗ all of \(failed 1 of 3\):\n\s+✗ employeeType equals "Contractor" \(value: "Employee"\)/,
    );
    expect(text).toMatch(/Outcome:\s+UNCHANGED/);
    expect(sim.counters.writes()).toBe(0);
  });

  it('finds a user by UPN and shows the actions it would take', async () => {
    const { code, io } = await run('explain', 'bob@fabrikam.com', '--rules', EXAMPLE_RULES);

    expect(code).toBe(0);
    const text = io.stdoutText();
    expect(text).toContain('rule "contractors" matched (rule 1)');
    // Plans by name, not GUID, in what the rule wants and in the desired state.
    expect(text).toContain('→ wants: EMS (disabled: INTUNE_A)');
    expect(text).toMatch(/Desired:\s+EMS \(disabled: INTUNE_A\)\n/);
    expect(text).not.toContain(IDS.INTUNE_A);
    expect(text).toMatch(/Actions:.*usageLocation none → GB; add EMS \(disabled: INTUNE_A\)/);
    expect(sim.counters.writes()).toBe(0);
  });

  it('shows the desired licenses and the conflict for a group-inherited license', async () => {
    sim.tenant.upsertUser({
      id: IDS.carol,
      userPrincipalName: 'carol@fabrikam.com',
      onPremisesSyncEnabled: true,
      employeeType: 'Contractor',
    });

    const { code, io } = await run('explain', IDS.carol, '--rules', EXAMPLE_RULES);

    expect(code).toBe(0);
    const text = io.stdoutText();
    // The group by name where the tenant has it, with its id.
    expect(text).toMatch(
      /Current:\s+EMS\n\s+inherited: EMS from group SG-EMS \(b0000000-0000-4000-8000-000000000001\)\n/,
    );
    // What the rule wants, not what the user would be left with.
    expect(text).toMatch(/Desired:\s+EMS \(disabled: INTUNE_A\)\n/);
    expect(text).toMatch(/Actions:\s+\(none\)/);
    expect(text).toMatch(/Outcome:\s+CONFLICT/);
    expect(text).toMatch(/Conflict:\s+EMS is inherited from group/);
  });

  it('says what happens to an unmatched user under defaults.unmatched: remove', async () => {
    const rules = await tempFile(
      'rules.yaml',
      [
        'version: 1',
        'defaults: { unmatched: remove }',
        'rules:',
        '  - name: engineering',
        '    when: { attribute: department, equals: Engineering }',
        '    license: { sku: EMS }',
        '',
      ].join('\n'),
    );

    const { code, io } = await run('explain', IDS.carol, '--rules', rules);

    expect(code).toBe(0);
    const text = io.stdoutText();
    expect(text).toContain('✗ department equals "Engineering" (value: unset)');
    expect(text).toContain('defaults.unmatched is remove');
    expect(text).not.toContain('defaults.unmatched is leave');
  });

  it.each([{ flags: [] as string[] }, { flags: ['--json'] }])(
    'exits 1 for a user that does not exist (flags: $flags)',
    async ({ flags }) => {
      const { code, io } = await run('explain', 'nobody@fabrikam.com', '--rules', EXAMPLE_RULES, ...flags);

      expect(code).toBe(1);
      expect(io.stdoutText()).toContain('No user matches');
    },
  );
});

describe('usage', () => {
  it('exits 2 for a bad --concurrency', async () => {
    const { code, io } = await run('plan', '--concurrency', '0');
    expect(code).toBe(2);
    expect(io.stderrText()).toContain('--concurrency must be a whole number');
  });
});
