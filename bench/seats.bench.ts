/**
 * What `ems-licensing seats` (and the seat check of `validate`, and the daily summary's forecast)
 * costs: `buildSeatReport` (lib/reports/seat-report.ts) with the real Graph gateway over HTTP
 * against the Graph simulator, and the real Table adapters against an Azurite started here.
 *
 *   npx tsx bench/seats.bench.ts [--sizes 300,5000,20000] [--hires 20] [--repeats 3]
 *
 * For each tenant size (bench/tenant-generator.ts, the benchmark's seeded generator), the outcomes
 * table gets one record per user (5 % of them a seat deferral, as after a shortage) and the hires
 * partition `--hires` scheduled hires (half for accounts that exist, half for new ones). Three
 * variants are timed, each the median of `--repeats`: the dry-run plan alone (no storage, what
 * `validate` adds without storage), plan + the outcome records (who waits), plan + records + hires.
 * The simulator runs in this process and shares its CPU; Azurite is a child process.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadLicensingContext } from '../lib/engine/licensing-context.js';
import { loadBaseConfig } from '../lib/config.js';
import { graphGatewayFromConfig } from '../lib/graph/graph-gateway.js';
import type { OutcomeRecord } from '../lib/licensing/types.js';
import { silentLogger } from '../lib/log.js';
import { buildSeatReport } from '../lib/reports/seat-report.js';
import { loadRulesFile } from '../lib/rules/load.js';
import { loadSampleTenant, startSimulator } from '@ems-licensing/graph-simulator';
import { startAzurite } from '../lib/cli/local/azurite-process.js';
import { createStorage } from '../lib/store/table-clients.js';
import { generateTenant } from './tenant-generator.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '300,5000,20000' },
    hires: { type: 'string', default: '20' },
    repeats: { type: 'string', default: '3' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const hireCount = Number(args.hires);
const repeats = Number(args.repeats);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function timed(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const azurite = await startAzurite();
const sample = await loadSampleTenant();
const rules = await loadRulesFile(new URL('../examples/rules.yaml', import.meta.url).pathname);
console.log(
  `node ${process.version}, ${String(cpus().length)} cores, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`repeats ${String(repeats)} (median), ${String(hireCount)} scheduled hires\n`);
console.log('users   | plan only | + records (n)     | + hires   | Graph requests (plan + hires)');

try {
  for (const size of sizes) {
    const tenant = generateTenant(sample, size);
    const sim = await startSimulator({ tenant });
    const gateway = graphGatewayFromConfig(loadBaseConfig({ GRAPH_BASE_URL: sim.url }), silentLogger());
    const context = await loadLicensingContext(gateway, rules);
    const storage = createStorage({
      connectionString: azurite.connectionString,
      tablePrefix: `b${randomUUID().replace(/-/g, '').slice(0, 10)}`,
    });
    await storage.ensureTables();

    const now = new Date();
    const users = tenant.users;
    for (let i = 0; i < users.length; i += 100) {
      await Promise.all(
        users.slice(i, i + 100).map((u, j) => {
          const waiting = (i + j) % 20 === 0;
          const record: OutcomeRecord = {
            userId: u.id,
            userPrincipalName: null,
            jobId: randomUUID(),
            correlationId: randomUUID(),
            source: 'delta',
            eventId: null,
            rule: 'synced-staff',
            phase: 'final',
            attempt: 0,
            outcome: waiting ? 'DEFERRED' : 'UNCHANGED',
            skus: ['EMS'],
            licensesBefore: [],
            licensesAfter: [],
            actions: [],
            conflicts: [],
            error: waiting ? { code: 'NoFreeSeats', message: 'No free EMS seat.', fix: 'Buy more.' } : null,
            retryAt: null,
            dryRun: false,
            durationMs: 5,
            writes: 0,
            recovered: false,
            recordedAt: new Date(now.getTime() - 3_600_000).toISOString(),
            acceptedAt: new Date(now.getTime() - 3_600_000).toISOString(),
          };
          return storage.outcomes.record(record);
        }),
      );
    }
    for (let i = 0; i < hireCount; i++) {
      const existing = i % 2 === 0 ? users[i] : undefined;
      await storage.scheduledHires.record({
        personKey: `upn-bench-${String(i)}`,
        userPrincipalName: existing?.userPrincipalName ?? `new${String(i)}@contoso.com`,
        employeeId: null,
        effectiveAt: new Date(now.getTime() + (i + 1) * 86_400_000),
        attributes: { department: 'Engineering' },
        eventId: `bench-${String(i)}`,
        recordedAt: now,
      });
    }

    const base = { gateway, context, logger: silentLogger(), concurrency: 8 };
    const planOnly = await timed(() => buildSeatReport({ ...base, outcomes: null, hires: null }));
    const withRecords = await timed(() =>
      buildSeatReport({ ...base, outcomes: storage.outcomes, hires: null }),
    );
    sim.counters.reset();
    let requests = 0;
    const withHires = await timed(async () => {
      sim.counters.reset();
      await buildSeatReport({ ...base, outcomes: storage.outcomes, hires: storage.scheduledHires });
      requests = Object.values(sim.counters.snapshot()).reduce((a, b) => a + b, 0);
    });
    console.log(
      `${String(size).padStart(7)} | ${planOnly.toFixed(0).padStart(6)} ms | ${withRecords.toFixed(0).padStart(6)} ms (${String(users.length).padStart(6)}) | ${withHires.toFixed(0).padStart(6)} ms | ${String(requests)}`,
    );
    await sim.close();
  }
} finally {
  await azurite.stop();
}
