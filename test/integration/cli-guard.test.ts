/**
 * The issue's own story, on the bundled sample tenant (300 users) through `main`: a rules file
 * with `unmatched: remove` and a typo (`employeeType: Employe`) is reported by `validate` and
 * `plan`, refused by `apply`, held by the blast-radius guard when the warnings are accepted (no
 * license removed, every such user recorded HELD with the run id), still held by a release too
 * small, and carried out only with `--allow-removals N` covering exactly the planned users; the
 * run is then reverted, which puts every user back as the simulator had them.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadSampleTenant, startSimulator, type Simulator } from '@ems-licensing/graph-simulator';
import { main } from '../../lib/cli/main.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';
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
const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';
const TYPO = [
  'version: 1',
  'defaults:',
  '  usageLocation: GB',
  '  unmatched: remove',
  'rules:',
  '  - name: contractors',
  '    when:',
  '      all:',
  '        - { attribute: onPremisesSyncEnabled, equals: true }',
  '        - { attribute: accountEnabled, equals: true }',
  '        - { attribute: employeeType, equals: Contractor }',
  '    license: { sku: EMS, intune: off }',
  '  - name: employees',
  '    when:',
  '      all:',
  '        - { attribute: onPremisesSyncEnabled, equals: true }',
  '        - { attribute: accountEnabled, equals: true }',
  '        - { attribute: employeeType, equals: Employe }',
  '    license: { sku: EMS }',
  '',
].join('\n');

let sim: Simulator;
let env: Record<string, string>;
let prefix: string;
let typo: string;

async function run(...argv: string[]) {
  const io = recordingIo();
  const code = await main(argv, env, io);
  return { code, out: io.stdoutText(), err: io.stderrText(), lines: io.stdoutLines() };
}

const emsHolders = () =>
  new Set(
    sim.tenant
      .users()
      .filter((u) => u.assignedLicenses.some((l) => l.skuId.toLowerCase() === EMS))
      .map((u) => u.id),
  );
/** Every user's licenses (order does not matter to Graph: a SKU added back comes last). */
const snapshot = () =>
  new Map(
    sim.tenant
      .users()
      .map((u) => [
        u.id,
        u.assignedLicenses
          .map((l) => `${l.skuId.toLowerCase()}:${[...l.disabledPlans].sort().join(',')}`)
          .sort(),
      ]),
  );

async function records(runId: string): Promise<OutcomeRecord[]> {
  const storage = createStorage({ connectionString, tablePrefix: prefix });
  const out: OutcomeRecord[] = [];
  for await (const r of storage.outcomes.listBetween(new Date(Date.now() - 3_600_000))) {
    if (r.eventId === runId) out.push(r);
  }
  return out;
}

const runIdOf = (stderr: string) => /\(run ([0-9a-f-]{36})\)/.exec(stderr)?.[1] ?? '';

beforeAll(async () => {
  sim = await startSimulator({ tenant: await loadSampleTenant() });
  prefix = randomTablePrefix();
  env = cliEnv(sim, connectionString, prefix);
  typo = await tempFile('typo.yaml', TYPO);
  // The sample tenant as the example rules leave it: the tenant an admin then changes the rules on.
  expect((await run('apply', '--rules', EXAMPLE_RULES)).code).toBe(0);
});

afterAll(async () => {
  await sim.close();
  await removeTempFiles();
});

describe('the typo-plus-unmatched: remove rules file on the sample tenant', () => {
  let planned: Set<string>;

  it('is reported by validate (exit 1) and by plan, which says the guard would hold it', async () => {
    const validate = await run('validate', '--rules', typo);
    expect(validate.code).toBe(1);
    expect(validate.out).toContain(
      'rule "employees": No user in the tenant is decided by this rule (0 of 300)',
    );
    expect(validate.out).toMatch(/defaults\.unmatched: remove would remove EMS for \d+ user\(s\)/);
    expect((await run('validate', '--rules', typo, '--accept-warnings')).code).toBe(0);

    const plan = await run('plan', '--rules', typo, '--json');
    expect(plan.code).toBe(0);
    const lines = plan.lines.map((l) => JSON.parse(l) as { id: string; outcome: string });
    planned = new Set(lines.filter((l) => l.outcome === 'REMOVED').map((l) => l.id));
    expect(planned.size).toBeGreaterThan(100);
    expect(plan.err).toContain(
      `The blast-radius guard would hold the removals of this plan: EMS for ${String(planned.size)} user(s)`,
    );
    expect(plan.err).toContain(`ems-licensing apply --allow-removals ${String(planned.size)}`);
  });

  it('is refused by apply without --accept-warnings: nothing written, nothing recorded', async () => {
    sim.counters.reset();
    const before = snapshot();
    const apply = await run('apply', '--rules', typo);
    expect(apply.code).toBe(2);
    expect(apply.err).toContain(
      'Nothing was changed. Fix the rules, or run `ems-licensing apply --accept-warnings`',
    );
    expect(sim.counters.writes()).toBe(0);
    expect(snapshot()).toEqual(before);
  });

  it('removes nothing with the warnings accepted: every planned user HELD with the run id, and how to release', async () => {
    sim.counters.reset();
    const holders = emsHolders();
    const apply = await run('apply', '--rules', typo, '--accept-warnings');
    expect(apply.code).toBe(3);
    expect(sim.counters.get('assignLicense')).toBe(0);
    expect(emsHolders()).toEqual(holders);
    const runId = runIdOf(apply.err);
    const held = (await records(runId)).filter((r) => r.outcome === 'HELD');
    expect(new Set(held.map((r) => r.userId))).toEqual(planned);
    expect(held.every((r) => r.held?.roundId === runId && r.error?.code === 'HeldByGuard')).toBe(true);
    expect(apply.err).toContain(`then run \`ems-licensing apply --allow-removals ${String(planned.size)}\``);
  });

  it('is still held by a release one user short of the plan', async () => {
    sim.counters.reset();
    const apply = await run(
      'apply',
      '--rules',
      typo,
      '--accept-warnings',
      '--allow-removals',
      String(planned.size - 1),
    );
    expect(apply.code).toBe(3);
    expect(apply.err).toContain(
      `--allow-removals ${String(planned.size - 1)} does not cover its ${String(planned.size)} user(s)`,
    );
    expect(sim.counters.get('assignLicense')).toBe(0);
  });

  it('changes exactly the planned users once released, and a revert puts every one of them back', async () => {
    const before = snapshot();
    const holders = emsHolders();
    sim.counters.reset();

    const apply = await run(
      'apply',
      '--rules',
      typo,
      '--accept-warnings',
      '--allow-removals',
      String(planned.size),
    );

    expect(apply.code).toBe(0);
    const lost = new Set([...holders].filter((id) => !emsHolders().has(id)));
    expect(lost).toEqual(planned);
    expect(sim.counters.get('assignLicense')).toBe(planned.size);
    const runId = runIdOf(apply.err);

    const dry = await run('revert', runId);
    expect(dry.code).toBe(0);
    expect(dry.lines).toHaveLength(planned.size);
    expect(dry.err).toContain('dry run: nothing was changed');
    expect(emsHolders().size).toBe(holders.size - planned.size);

    const revert = await run('revert', runId, '--apply');
    expect(revert.code).toBe(0);
    expect(snapshot()).toEqual(before);
  });
});
