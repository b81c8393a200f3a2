/**
 * What the blast-radius guard costs: `apply` now plans every user before its first change, a saved
 * plan reads only its own users, and the Functions worker asks Table storage before a reduction.
 *
 *   npx tsx bench/guard.bench.ts [--apply-users 5000] [--plan-users 20000] [--repeats 3]
 *                                [--plan-changes 1000] [--checks 300]
 *
 * 1. `apply` on a compliant tenant (zero writes, every user recorded UNCHANGED), through `main()`
 *    as a user runs it, against the simulator and an Azurite started here; `plan` alone beside it
 *    (the plan-first pass is a plan). Median of `--repeats`; Graph requests from the simulator.
 * 2. `plan` on a larger generated tenant: what a plan-first pass costs at that size.
 * 3. `apply --plan`'s read of a saved plan's users (`$filter=id in`, 15 per request) against the
 *    paged listing of the whole tenant, on the larger tenant.
 * 4. The pure decision: the tally and verdict over one reduction per user of the larger tenant.
 * 5. The worker's guard on Azurite: `WorkerGuard.check` for jobs no producer counted (a day's HR
 *    leaves), one after another, allowed up to the limit and held past it.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  loadSampleTenant,
  startSimulator,
  type Simulator,
  type TenantFile,
} from '@ems-licensing/graph-simulator';
import { main } from '../lib/cli/main.js';
import { loadBaseConfig } from '../lib/config.js';
import { guardVerdict, reductionsOf, ReductionTally } from '../lib/engine/blast-guard.js';
import type { Decision } from '../lib/engine/decide.js';
import type { GuardCheck } from '../lib/engine/reduction-guard.js';
import { WorkerGuard } from '../lib/engine/worker-guard.js';
import { startAzurite } from '../lib/cli/local/azurite-process.js';
import { graphGatewayFromConfig } from '../lib/graph/graph-gateway.js';
import type { PlanAction } from '../lib/licensing/types.js';
import { silentLogger } from '../lib/log.js';
import { createStorage } from '../lib/store/table-clients.js';
import { generateTenant } from './tenant-generator.js';

const { values: args } = parseArgs({
  options: {
    'apply-users': { type: 'string', default: '5000' },
    'plan-users': { type: 'string', default: '20000' },
    repeats: { type: 'string', default: '3' },
    'plan-changes': { type: 'string', default: '1000' },
    checks: { type: 'string', default: '300' },
  },
});
const APPLY_USERS = Number(args['apply-users']);
const PLAN_USERS = Number(args['plan-users']);
const REPEATS = Number(args.repeats);
const PLAN_CHANGES = Number(args['plan-changes']);
const CHECKS = Number(args.checks);
const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';
const EXAMPLE_RULES = new URL('../examples/rules.yaml', import.meta.url).pathname;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;
const silentIo = () => ({
  stdout: { write: () => undefined },
  stderr: { write: () => undefined },
  progress: false,
  logDestination: { write: () => undefined },
});

async function cli(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; ms: number }> {
  const t = process.hrtime.bigint();
  const code = await main(argv, env, silentIo());
  return { code, ms: ms(t) };
}

function envFor(sim: Simulator, connectionString: string): Record<string, string> {
  return {
    GRAPH_BASE_URL: sim.url,
    STORAGE_CONNECTION_STRING: connectionString,
    STORAGE_TABLE_PREFIX: `b${randomBytes(5).toString('hex')}`,
    LOG_LEVEL: 'silent',
  };
}

async function applyOnCompliantTenant(sample: TenantFile, connectionString: string): Promise<void> {
  const sim = await startSimulator({ tenant: generateTenant(sample, APPLY_USERS) });
  try {
    const env = envFor(sim, connectionString);
    const first = await cli(env, 'apply', '--rules', EXAMPLE_RULES, '--yes');
    console.log(
      `  first apply (makes the tenant compliant): exit ${String(first.code)}, ${(first.ms / 1000).toFixed(1)} s, ${String(sim.counters.writes())} writes`,
    );
    const plans: number[] = [];
    const applies: number[] = [];
    let lists = 0;
    let writes = 0;
    for (let i = 0; i < REPEATS; i++) {
      plans.push((await cli(env, 'plan', '--rules', EXAMPLE_RULES)).ms);
      sim.counters.reset();
      const applied = await cli(env, 'apply', '--rules', EXAMPLE_RULES, '--yes');
      if (applied.code !== 0) throw new Error(`apply exited ${String(applied.code)}`);
      applies.push(applied.ms);
      lists = sim.counters.get('listUsers');
      writes = sim.counters.writes();
    }
    const plan = median(plans);
    const apply = median(applies);
    console.log(`  plan (one pass, dry run): ${plan.toFixed(0)} ms (median of ${String(REPEATS)})`);
    console.log(
      `  apply (plan first, then the changes; zero writes, ${String(APPLY_USERS)} outcomes recorded): ${apply.toFixed(0)} ms; ${String(lists)} list requests, ${String(writes)} writes`,
    );
    console.log(
      `  the plan-first pass is ${((plan / apply) * 100).toFixed(0)} % of the apply; apply without it would be about ${(apply - plan).toFixed(0)} ms`,
    );
  } finally {
    await sim.close();
  }
}

async function largerTenant(sample: TenantFile, connectionString: string): Promise<void> {
  const sim = await startSimulator({ tenant: generateTenant(sample, PLAN_USERS) });
  try {
    const env = envFor(sim, connectionString);
    const planned = await cli(env, 'plan', '--rules', EXAMPLE_RULES);
    console.log(
      `  plan of ${String(PLAN_USERS)} users: ${planned.ms.toFixed(0)} ms, ${String(sim.counters.get('listUsers'))} list requests`,
    );
    const gateway = graphGatewayFromConfig(loadBaseConfig({ GRAPH_BASE_URL: sim.url }), silentLogger());
    const select = [
      'id',
      'userPrincipalName',
      'assignedLicenses',
      'licenseAssignmentStates',
      'accountEnabled',
    ];
    const ids = sim.tenant
      .users()
      .slice(0, PLAN_CHANGES)
      .map((u) => u.id);
    sim.counters.reset();
    let t = process.hrtime.bigint();
    for (let i = 0; i < ids.length; i += 15) await gateway.getUsers(ids.slice(i, i + 15), select);
    const byId = ms(t);
    const byIdRequests = sim.counters.get('listUsers');
    sim.counters.reset();
    t = process.hrtime.bigint();
    let read = 0;
    for await (const page of gateway.listUsers(select)) read += page.length;
    const listing = ms(t);
    console.log(
      `  apply --plan reading a ${String(PLAN_CHANGES)}-user plan: ${byId.toFixed(0)} ms in ${String(byIdRequests)} requests (15 ids each); the whole listing of ${String(read)} users: ${listing.toFixed(0)} ms in ${String(sim.counters.get('listUsers'))} requests`,
    );
  } finally {
    await sim.close();
  }
}

function decisionCost(): void {
  const remove: PlanAction[] = [{ kind: 'removeLicense', skuId: EMS, skuPartNumber: 'EMS' }];
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    const tally = new ReductionTally();
    for (let i = 0; i < PLAN_USERS; i++) tally.add(`u${String(i)}`, remove);
    guardVerdict({
      counts: tally.counts(),
      users: tally.users,
      holders: () => PLAN_USERS,
      settings: { removalPercent: 10, removalCount: 25 },
    });
    runs.push(ms(t));
  }
  console.log(
    `  tally and verdict over ${String(PLAN_USERS)} removals: ${median(runs).toFixed(1)} ms (${((median(runs) * 1e6) / PLAN_USERS).toFixed(0)} ns a user)`,
  );
}

async function workerGuardCost(connectionString: string): Promise<void> {
  const storage = createStorage({ connectionString, tablePrefix: `w${randomBytes(5).toString('hex')}` });
  await storage.ensureTables();
  const limit = Math.floor(CHECKS / 3);
  const guard = new WorkerGuard({
    store: storage.guard,
    settings: { removalPercent: 0, removalCount: limit },
    logger: silentLogger(),
    now: () => new Date('2026-05-01T12:00:00Z'),
  });
  const remove: PlanAction[] = [{ kind: 'removeLicense', skuId: EMS, skuPartNumber: 'EMS' }];
  const allowed: number[] = [];
  const held: number[] = [];
  for (let i = 0; i < CHECKS; i++) {
    const id = `u${String(i)}`;
    const check: GuardCheck = {
      facts: {
        jobId: `job-${id}`,
        correlationId: 'c',
        source: 'hr',
        eventId: `ev-${id}`,
        acceptedAt: '2026-05-01T12:00:00.000Z',
        attempt: 0,
        dryRun: false,
        userRef: { id },
        startedAt: new Date(),
      },
      action: 'leave',
      eventAt: new Date('2026-05-01T12:00:00Z'),
      user: { id, userPrincipalName: `${id}@contoso.com`, assignedLicenses: [], licenseAssignmentStates: [] },
      decision: { plan: { actions: remove } } as unknown as Decision,
      reductions: reductionsOf(remove),
      holders: () => 1_000,
      marker: undefined,
    };
    const t = process.hrtime.bigint();
    const answer = await guard.check(check);
    (answer.kind === 'allow' ? allowed : held).push(ms(t));
  }
  console.log(
    `  WorkerGuard.check on Azurite, ${String(CHECKS)} HR leaves in a day (limit ${String(limit)}): allowed ${String(allowed.length)}, median ${median(allowed).toFixed(1)} ms; held ${String(held.length)}, median ${median(held).toFixed(1)} ms`,
  );
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
console.log(`node ${process.version}; load average before: ${load()}`);
const azurite = await startAzurite();
try {
  const sample = await loadSampleTenant();
  console.log(`1. apply on a compliant ${String(APPLY_USERS)}-user tenant (example rules):`);
  await applyOnCompliantTenant(sample, azurite.connectionString);
  console.log(`2./3. a ${String(PLAN_USERS)}-user tenant:`);
  await largerTenant(sample, azurite.connectionString);
  console.log('4. the decision:');
  decisionCost();
  console.log('5. the worker guard:');
  await workerGuardCost(azurite.connectionString);
} finally {
  await azurite.stop();
}
console.log(`load average after: ${load()}`);
