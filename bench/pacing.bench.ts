/**
 * Writes at Graph's ceiling (issue 9): the app against the Graph simulator enforcing Graph's
 * documented identity limits (packages/graph-simulator/src/throttle.ts: 3,000 writes per 150 s and
 * 8,000 resource units per 10 s per app and tenant, buckets refilling continuously, 429 with
 * Retry-After, throttle headers) with a latency per request (60 ms reads, 120 ms writes).
 *
 *   npx tsx bench/pacing.bench.ts [--scenario onboarding,workers,steady,rss] [--users 3100]
 *        [--concurrency 8,16,32] [--workers 3] [--steady-users 20000] [--drift 0.01]
 *        [--script-users N] [--rss-users 100000] [--initial-fill 0] [--read-ms 60] [--write-ms 120]
 *        [--compare-unpaced] [--bundle] [--app-write-budget N]
 *
 * Scenarios (each engine run in its own process, bench/pacing-child.ts; the simulator, fresh for
 * every run, and an in-memory Azurite for outcomes, stay in this one):
 * - onboarding: `ems-licensing apply` (the CLI's main()) on `--users` new synced users needing 2
 *   writes each (PATCH usageLocation, assignLicense), at each `--concurrency`. Printed: wall time
 *   against the write-budget floor (writes ÷ 20 per second), share of requests answered 429, users
 *   left unlicensed. `--compare-unpaced` adds the same reconcile with the Graph client built
 *   without the pacer (as before it existed).
 * - workers: the same users as jobs on one shared queue for `--workers` Functions worker
 *   processes at once (each its own gateway and pacer, `runLicenseJob`, 8 jobs at a time as
 *   host.json's maxConcurrentSessions), sharing the one throttled simulator: one app, one budget.
 *   Run once per `--workers-fill` (default 1,0): Graph's buckets full (an idle app that scales
 *   out) and empty (the budget just spent).
 * - steady: `--steady-users` users of whom `--drift` need one write, `ems-licensing apply`
 *   against the per-user script (one GET per user then the writes, one user at a time), in the
 *   same run. `--script-users N` runs the script on the first N users only and scales its time
 *   (marked as such; the script's time is linear in users).
 * - rss: `ems-licensing apply` of `--rss-users` users (steady state, same drift): peak RSS of the
 *   CLI process; `--bundle` also runs the built bundle (`node dist/cli/entry.js`, run
 *   `npm run build` first), whose peak RSS is read from /proc while it runs.
 *
 * `--app-write-budget N` sets the app's GRAPH_WRITE_BUDGET_PER_150S (the pacer's ceiling; default
 * 3,000, Graph's), e.g. 70000 to see what the pacer's own limit costs; the simulator keeps 3,000.
 *
 * `--initial-fill` (0 to 1, default 0): how full Graph's buckets start. 0 is an app that has just
 * spent its budget, the only state in which no client can beat writes ÷ 20 per second, so the
 * floor is exact; 1 is an idle app.
 */
import { fork, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startSimulator, type Simulator, type TenantFile } from '@ems-licensing/graph-simulator';
import { startAzurite, type AzuriteHandle } from '../lib/cli/local/azurite-process.js';
import type { ChildRequest, ChildResult } from './pacing-child.js';
import { onboardingTenant, steadyStateTenant, unlicensed } from './pacing-tenants.js';

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'onboarding,workers,steady' },
    users: { type: 'string', default: '3100' },
    concurrency: { type: 'string', default: '8,16,32' },
    workers: { type: 'string', default: '3' },
    'steady-users': { type: 'string', default: '20000' },
    drift: { type: 'string', default: '0.01' },
    'script-users': { type: 'string' },
    'rss-users': { type: 'string', default: '100000' },
    'initial-fill': { type: 'string', default: '0' },
    'workers-fill': { type: 'string', default: '1,0' },
    'read-ms': { type: 'string', default: '60' },
    'write-ms': { type: 'string', default: '120' },
    'compare-unpaced': { type: 'boolean', default: false },
    bundle: { type: 'boolean', default: false },
    'app-write-budget': { type: 'string' },
  },
});
const num = (name: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`--${name} must be a number from ${min} to ${max}, got ${raw}`);
  return n;
};
const scenarios = new Set(args.scenario.split(','));
const users = num('users', args.users, 1);
const concurrencies = args.concurrency.split(',').map((c) => num('concurrency', c, 1, 64));
const workerCount = num('workers', args.workers, 1, 16);
const steadyUsers = num('steady-users', args['steady-users'], 1);
const drift = num('drift', args.drift, 0, 1);
const scriptUsers =
  args['script-users'] === undefined ? undefined : num('script-users', args['script-users'], 1);
const rssUsers = num('rss-users', args['rss-users'], 1);
let initialFill = num('initial-fill', args['initial-fill'], 0, 1);
const workersFills = args['workers-fill'].split(',').map((f) => num('workers-fill', f, 0, 1));
/** GRAPH_WRITE_BUDGET_PER_150S for the app (the pacer's ceiling); the simulator's limit stays 3,000. */
const appWriteBudget =
  args['app-write-budget'] === undefined
    ? undefined
    : num('app-write-budget', args['app-write-budget'], 1, 70_000);
const latency = { readMs: num('read-ms', args['read-ms'], 0), writeMs: num('write-ms', args['write-ms'], 0) };

const WRITES_PER_S = 3_000 / 150;
const RU_PER_10S = 8_000;
const rulesPath = fileURLToPath(new URL('../examples/rules.yaml', import.meta.url));
const childPath = fileURLToPath(new URL('./pacing-child.ts', import.meta.url));
const bundlePath = fileURLToPath(new URL('../dist/cli/entry.js', import.meta.url));

// ---- helpers ----

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const MiB = (bytes: number) => fmt(bytes / 1024 / 1024);
const seconds = (ms: number) => `${fmt(ms / 1000, 1)} s`;

/** A Markdown table (first column left-aligned, the others right-aligned). */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

let azurite: AzuriteHandle | null = null;
let runNumber = 0;

/** Settings every engine process gets: storage on the bench's Azurite, fresh tables per run. */
function appEnv(): Record<string, string> {
  if (azurite === null) throw new Error('Azurite is not started');
  runNumber++;
  return {
    STORAGE_CONNECTION_STRING: azurite.connectionString,
    STORAGE_TABLE_PREFIX: `pace${String(process.pid)}r${String(runNumber)}`,
    // A tenant over 500 users: Graph allows 8,000 RU per 10 s (learn.microsoft.com/graph/throttling-limits).
    GRAPH_RU_BUDGET_PER_10S: String(RU_PER_10S),
    ...(appWriteBudget === undefined ? {} : { GRAPH_WRITE_BUDGET_PER_150S: String(appWriteBudget) }),
  };
}

async function simulatorFor(tenant: TenantFile): Promise<Simulator> {
  return startSimulator({
    tenant,
    throttling: { writesPer150s: 3_000, resourceUnitsPer10s: RU_PER_10S, initialFill },
    latency,
    recordRequests: false,
  });
}

interface Child {
  ready: Promise<void>;
  go(graphUrl: string): void;
  result: Promise<ChildResult>;
}

/** The shared job queue of the workers scenario (Service Bus's stand-in): user ids, first come first served. */
let jobQueue: string[] = [];

function startChild(request: ChildRequest): Child {
  const child = fork(childPath, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  const result = new Promise<ChildResult>((resolve, reject) => {
    let got: ChildResult | null = null;
    child.on('message', (m: { type: string; result?: ChildResult }) => {
      if (m.type === 'ready') onReady();
      else if (m.type === 'next') child.send({ type: 'job', id: jobQueue.shift() ?? null });
      else if (m.type === 'result' && m.result) got = m.result;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (got) resolve(got);
      else
        reject(
          new Error(`bench/pacing-child.ts (${request.mode}) exited with ${String(code)} without a result`),
        );
    });
  });
  child.send({ type: 'run', request });
  return { ready, go: (graphUrl) => child.send({ type: 'go', graphUrl }), result };
}

interface RunFigures {
  wallMs: number;
  results: ChildResult[];
  requests: number;
  throttled: number;
  writes: number;
  byKind: Record<string, number>;
  left: number;
}

/**
 * Starts the children; once all are ready, starts the simulator (its buckets start as configured
 * now, not while the children load) and releases them together; reads the simulator after.
 */
async function run(tenant: TenantFile, requests: ChildRequest[]): Promise<RunFigures> {
  const children = requests.map((r) => startChild(r));
  await Promise.all(children.map((c) => c.ready));
  const sim = await simulatorFor(tenant);
  try {
    const t0 = performance.now();
    for (const c of children) c.go(sim.url);
    const results = await Promise.all(children.map((c) => c.result));
    const wallMs = performance.now() - t0;
    const byKind = sim.counters.snapshot();
    return {
      wallMs,
      results,
      requests: Object.values(byKind).reduce((a, b) => a + b, 0),
      throttled: sim.counters.throttled(),
      writes: sim.counters.writes(),
      byKind,
      left: unlicensed(sim.tenant.users()),
    };
  } finally {
    await sim.close();
  }
}

const outcomes = (r: Record<string, number>) =>
  Object.entries(r)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${fmt(n)}`)
    .join(', ');

function paceRow(label: string, needed: number, f: RunFigures): string[] {
  const floorMs = (needed / WRITES_PER_S) * 1000;
  const merged: Record<string, number> = {};
  for (const r of f.results)
    for (const [k, n] of Object.entries(r.byOutcome)) merged[k] = (merged[k] ?? 0) + n;
  const rescheduled = f.results.reduce((a, r) => a + r.rescheduled, 0);
  return [
    label,
    seconds(f.wallMs),
    seconds(floorMs),
    `${fmt(f.wallMs / floorMs, 3)}×`,
    fmt(f.requests),
    fmt(f.throttled),
    `${fmt((100 * f.throttled) / f.requests, 2)} %`,
    fmt(f.left),
    `${outcomes(merged)}${rescheduled > 0 ? `; rescheduled ${fmt(rescheduled)}` : ''}`,
    MiB(Math.max(...f.results.map((r) => r.rssPeak))),
  ];
}

const PACE_HEADER = [
  'run',
  'wall',
  'floor',
  'wall/floor',
  'requests',
  '429s',
  '429 share',
  'unlicensed after',
  'outcomes',
  'peak RSS MiB',
];

// ---- scenarios ----

async function onboarding(): Promise<void> {
  const tenant = await onboardingTenant(users);
  const rows: string[][] = [];
  for (const concurrency of concurrencies) {
    const modes: ChildRequest['mode'][] = args['compare-unpaced'] ? ['cli', 'unpaced'] : ['cli'];
    for (const mode of modes) {
      const f = await run(tenant, [{ mode, rulesPath, concurrency, env: appEnv() }]);
      const label = `${mode === 'cli' ? 'apply (paced)' : 'apply, no pacer (before)'} c=${String(concurrency)}`;
      rows.push(paceRow(label, 2 * users, f));
      console.error(`  done: onboarding ${label} ${seconds(f.wallMs)}, ${fmt(f.throttled)} 429s`);
    }
  }
  console.log(
    `\nOnboarding: ${fmt(users)} new synced users, 2 writes each (${fmt(2 * users)} writes); floor = writes ÷ ${fmt(WRITES_PER_S)}/s`,
  );
  console.log(table(PACE_HEADER, rows));
}

async function workers(): Promise<void> {
  const fill = initialFill;
  for (const f of workersFills) {
    initialFill = f;
    await workersAt(f);
  }
  initialFill = fill;
}

async function workersAt(fill: number): Promise<void> {
  const tenant = await onboardingTenant(users);
  jobQueue = tenant.users.map((u) => u.id);
  const env = appEnv();
  const requests = Array.from({ length: workerCount }, () => ({
    mode: 'worker' as const,
    rulesPath,
    concurrency: 8,
    env,
  }));
  const f = await run(tenant, requests);
  const label = `${String(workerCount)} worker processes × 8 jobs`;
  console.error(`  done: ${label} ${seconds(f.wallMs)}, ${fmt(f.throttled)} 429s`);
  console.log(
    `\n${String(workerCount)} Functions worker processes, one shared job queue, one app's budget: ${fmt(users)} jobs, ${fmt(2 * users)} writes; ` +
      `Graph's buckets start ${fill === 1 ? 'full (an idle app)' : `${fmt(fill * 100)} % full${fill === 0 ? ' (the budget just spent)' : ''}`}`,
  );
  console.log(table(PACE_HEADER, [paceRow(label, 2 * users, f)]));
  console.log(
    table(
      [
        'worker',
        'jobs taken',
        'wall',
        'writes admitted',
        'pauses (429)',
        'requests held',
        'write rate at the end /s',
      ],
      f.results.map((r, i) => [
        `#${String(i + 1)}`,
        fmt(r.jobs ?? 0),
        seconds(r.wallMs),
        fmt(r.pacer?.admittedWrites ?? 0),
        fmt(r.pacer?.pauses ?? 0),
        fmt(r.pacer?.held ?? 0),
        fmt(r.pacer?.writeRate ?? 0, 2),
      ]),
    ),
  );
}

async function steady(): Promise<void> {
  const tenant = await steadyStateTenant(steadyUsers, drift);
  const changed = Math.round(steadyUsers * drift);
  const engine = await run(tenant, [{ mode: 'cli', rulesPath, concurrency: 8, env: appEnv() }]);
  console.error(`  done: steady-state apply ${seconds(engine.wallMs)}`);
  const scriptTenant =
    scriptUsers === undefined || scriptUsers >= steadyUsers
      ? tenant
      : { ...tenant, users: tenant.users.slice(0, scriptUsers) };
  const scriptShare = scriptTenant.users.length / steadyUsers;
  const script = await run(scriptTenant, [{ mode: 'script', rulesPath, concurrency: 1, env: appEnv() }]);
  const scriptWallMs = script.wallMs / scriptShare;
  console.error(
    `  done: per-user script ${seconds(script.wallMs)}${scriptShare < 1 ? ` (${fmt(scriptTenant.users.length)} users)` : ''}`,
  );
  const compliant = steadyUsers - changed;
  const row = (label: string, f: RunFigures, wallMs: number, scale: number) => {
    const getUser = f.byKind['getUser'] ?? 0;
    const bulkReads = (f.byKind['listUsers'] ?? 0) + (f.byKind['subscribedSkus'] ?? 0);
    // Requests on behalf of compliant users: all but the writes and one GET per changed user (the
    // script's read of that user, or apply's verifying read).
    const changedHere = changed * scale;
    const forCompliant = f.requests - f.writes - Math.min(getUser, changedHere);
    return [
      label,
      seconds(wallMs),
      fmt(f.requests / scale),
      fmt(bulkReads / scale),
      fmt(getUser / scale),
      fmt(f.writes / scale),
      fmt(f.throttled / scale),
      fmt(forCompliant / Math.max(1, compliant * scale), 4),
      fmt(f.writes / Math.max(1, changedHere), 2),
      MiB(Math.max(...f.results.map((r) => r.rssPeak))),
    ];
  };
  console.log(
    `\nSteady state: ${fmt(steadyUsers)} users, ${fmt(changed)} drifted (1 write each), the rest compliant; the same tenant, simulator and limits for both`,
  );
  console.log(
    table(
      [
        'run',
        'wall',
        'requests',
        'list + skus',
        'GET user',
        'writes',
        '429s',
        'requests per compliant user',
        'writes per changed user',
        'peak RSS MiB',
      ],
      [
        row('ems-licensing apply (c=8)', engine, engine.wallMs, 1),
        row(
          `per-user script${scriptShare < 1 ? ` (${fmt(scriptTenant.users.length)} users, scaled)` : ''}`,
          script,
          scriptWallMs,
          scriptShare,
        ),
      ],
    ),
  );
  console.log(
    `apply is ${fmt(scriptWallMs / engine.wallMs, 1)}× faster than the per-user script; unlicensed after: apply ${fmt(engine.left)}, script ${fmt(script.left)}.`,
  );
}

/** Peak RSS of a process we spawned, from /proc (VmHWM, the high-water mark), polled until it exits. */
async function bundleRss(
  tenantUsers: number,
): Promise<{ wallMs: number; rssPeak: number; code: number | null }> {
  const tenant = await steadyStateTenant(tenantUsers, drift);
  const sim = await simulatorFor(tenant);
  try {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [bundlePath, 'apply', '--json', '--graph-url', sim.url, '--rules', rulesPath, '--concurrency', '8'],
      {
        stdio: ['ignore', 'ignore', 'ignore'],
        env: { ...appEnv(), LOG_LEVEL: 'silent', PATH: process.env['PATH'] ?? '' },
      },
    );
    let rssPeak = 0;
    const poll = setInterval(() => {
      readFile(`/proc/${String(child.pid)}/status`, 'utf8').then(
        (s) => {
          const kb = Number(/VmHWM:\s+(\d+) kB/.exec(s)?.[1] ?? 0);
          rssPeak = Math.max(rssPeak, kb * 1024);
        },
        () => undefined,
      );
    }, 50);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearInterval(poll);
    return { wallMs: performance.now() - t0, rssPeak, code };
  } finally {
    await sim.close();
  }
}

async function rss(): Promise<void> {
  const tenant = await steadyStateTenant(rssUsers, drift);
  const f = await run(tenant, [{ mode: 'cli', rulesPath, concurrency: 8, env: appEnv() }]);
  console.error(`  done: rss apply ${seconds(f.wallMs)}`);
  const rows = [
    [
      `ems-licensing apply, TypeScript sources (tsx)`,
      fmt(rssUsers),
      seconds(f.wallMs),
      MiB(f.results[0]?.rssPeak ?? 0),
      outcomes(f.results[0]?.byOutcome ?? {}),
    ],
  ];
  if (args.bundle) {
    const b = await bundleRss(rssUsers);
    rows.push([
      `node dist/cli/entry.js apply (the bundle)`,
      fmt(rssUsers),
      seconds(b.wallMs),
      MiB(b.rssPeak),
      `exit ${String(b.code)}`,
    ]);
  }
  console.log(
    `\nPeak RSS of the CLI process, apply of ${fmt(rssUsers)} users (${fmt(Math.round(rssUsers * drift))} drifted)`,
  );
  console.log(table(['process', 'users', 'wall', 'peak RSS MiB', 'outcomes'], rows));
}

// ---- main ----

const startedAt = performance.now();
console.log(
  `Pacing benchmark: node ${process.version}, ${String(availableParallelism())} cores (${cpus()[0]?.model.trim() ?? '?'}), ` +
    `${new Date().toISOString().slice(0, 10)}; rules examples/rules.yaml; simulator limits ${fmt(3_000)} writes/150 s, ` +
    `${fmt(RU_PER_10S)} RU/10 s, buckets start ${fmt(initialFill * 100)} % full; latency ${String(latency.readMs)} ms reads, ` +
    `${String(latency.writeMs)} ms writes; load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}.`,
);
azurite = await startAzurite();
try {
  if (scenarios.has('onboarding')) await onboarding();
  if (scenarios.has('workers')) await workers();
  if (scenarios.has('steady')) await steady();
  if (scenarios.has('rss')) await rss();
} finally {
  await azurite.stop();
}
console.log(
  `\nTotal ${seconds(performance.now() - startedAt)}; load average now ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}.`,
);
