/**
 * `apply` on a terminal shows the counts of a dry run and asks before changing more than a
 * handful of users; `--yes` skips the question, and nothing is ever asked when stdin or stderr is
 * not a terminal. Against the small tenant (1 user to license) and the same with 8 new starters.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ASK_ABOVE_USERS } from '../../lib/cli/apply-prompt.js';
import { main } from '../../lib/cli/main.js';
import {
  parseTenantFile,
  startSimulator,
  type Simulator,
  type TenantFile,
} from '@ems-licensing/graph-simulator';
import { smallTenant } from '@ems-licensing/graph-simulator/test-support';
import { cliEnv, randomTablePrefix, recordingIo } from '../support/engine-harness.js';

const connectionString = inject('storageConnectionString');
const RULES = new URL('../../examples/rules.yaml', import.meta.url).pathname;
let sim: Simulator | null = null;

/** The small tenant plus 8 synced staff without a license: 9 users to license, of 13. */
function withNewStarters(): TenantFile {
  const base = smallTenant();
  const starters = Array.from({ length: 8 }, (_, i) => ({
    id: `c0000000-0000-4000-8000-00000000000${String(i)}`,
    userPrincipalName: `starter${String(i)}@fabrikam.com`,
    usageLocation: 'GB',
    onPremisesSyncEnabled: true,
    employeeType: 'Employee',
  }));
  const tenant = parseTenantFile({ ...base, users: [...base.users, ...starters] });
  return {
    ...tenant,
    skus: tenant.skus.map((s) =>
      s.skuPartNumber === 'EMS' ? { ...s, prepaidUnits: { ...s.prepaidUnits, enabled: 20 } } : s,
    ),
  };
}

afterEach(async () => {
  await sim?.close();
  sim = null;
});

async function apply(tenant: TenantFile, options: { interactive: boolean; answer?: string; yes?: boolean }) {
  sim = await startSimulator({ tenant });
  const asked: string[] = [];
  const io = {
    ...recordingIo(),
    interactive: options.interactive,
    ask: (question: string) => {
      asked.push(question);
      return Promise.resolve(options.answer ?? '');
    },
  };
  const argv = ['apply', '--rules', RULES, ...(options.yes ? ['--yes'] : [])];
  const code = await main(argv, cliEnv(sim, connectionString, randomTablePrefix()), io);
  return { code, asked, out: io.stdoutText(), err: io.stderrText(), writes: sim.counters.writes() };
}

describe('apply on a terminal', () => {
  it('shows the counts and asks; "no" (or just Enter) changes nothing', async () => {
    for (const answer of ['n', '']) {
      const r = await apply(withNewStarters(), { interactive: true, answer });
      expect(r.code).toBe(0);
      expect(r.asked).toEqual(['Apply these changes to 9 users (of 13)? Graph will be written to. [y/N] ']);
      expect(r.err).toMatch(/\| plan \(dry run\)\s+\|\s+\|\n[^]*\| ASSIGNED\s+\|\s+9 \|/);
      expect(r.err).toContain('Nothing changed.');
      expect(r.writes).toBe(0);
      expect(r.out).toBe('');
      await sim?.close();
      sim = null;
    }
  });

  it('"y" applies', async () => {
    const r = await apply(withNewStarters(), { interactive: true, answer: 'y' });
    expect(r.code).toBe(0);
    expect(r.asked).toHaveLength(1);
    expect(r.writes).toBe(10); // a usage location and 9 licenses
    expect(r.out).toMatch(/\| ASSIGNED\s+\|\s+9 \|/);
  });

  it('--yes applies without asking', async () => {
    const r = await apply(withNewStarters(), { interactive: true, yes: true });
    expect(r.asked).toEqual([]);
    expect(r.writes).toBe(10);
  });

  it(`does not ask for ${String(ASK_ABOVE_USERS)} users or fewer`, async () => {
    const r = await apply(smallTenant(), { interactive: true, answer: 'n' });
    expect(r.asked).toEqual([]);
    expect(r.writes).toBeGreaterThan(0);
  });
});

describe('apply in a script (not a terminal)', () => {
  it('never asks, whatever the size of the change', async () => {
    const r = await apply(withNewStarters(), { interactive: false, answer: 'n' });
    expect(r.asked).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.writes).toBe(10);
  });
});
