/**
 * Reconcile throughput: `reconcile()` (lib/engine/reconcile.ts) with the real Graph gateway
 * (`graphGatewayFromConfig`, so the real @microsoft/microsoft-graph-client and its middleware) over
 * HTTP against the Graph simulator, rules from examples/rules.yaml, for the bundled 300-user sample
 * tenant and larger generated ones, dry run (`plan`) and `apply`, at several concurrencies.
 *
 *   npx tsx bench/reconcile.bench.ts [--sizes 300,5000,20000] [--concurrency 1,4,8,16]
 *                                    [--repeats 3] [--latency-ms 0] [--store-users 1000]
 *                                    [--apply-repeats 1] [--largest-apply-concurrency 8]
 *                                    [--apply-max-users 5000]
 *                                    [--keep-alive] [--seed 20240611]
 *
 * How a run works: the simulator runs in this process, started fresh from the tenant for every run
 * (apply changes it). The engine runs in a fresh child process (bench/reconcile-child.ts) that
 * loads its modules, the rules and the Graph client before the clock starts, so its wall time, CPU
 * and memory are the engine's alone; the simulator has the other core, as Graph is another
 * machine in production. Timed: GET /subscribedSkus and compiling the rules, then reconcile() over
 * every user. Requests are counted by the simulator (`sim.counters.snapshot()`).
 *
 * Every plan, and every apply of the 300-user sample, runs `--repeats` times (median printed).
 * Applies of generated tenants are CPU-bound and long (about 20 s per 5,000 users here), so to keep
 * the default run near 5 minutes they run `--apply-repeats` times (default once), and when several
 * sizes are given the largest is applied only at `--largest-apply-concurrency`. Rows from a single
 * run say so.
 *
 * The simulator answers from memory on loopback: no network, no directory back end. `--latency-ms N`
 * puts a proxy in front of it (in this process) that holds every request N ms before forwarding it,
 * to show what concurrency buys when each Graph call costs a real round trip. Graph's throttling is
 * not simulated here: the figures show what the engine can do, the budget section what Graph allows.
 *
 * Connections: the simulator sets its keep-alive timeout to 1 s, and Node's fetch (undici) does not
 * reuse a connection whose server hint is that short, so by default every Graph request opens a new
 * TCP connection. Real Graph keeps connections alive. `--keep-alive` (implied by --latency-ms) goes
 * through the same proxy with no delay, keeping connections alive on both sides.
 *
 * `--store-users N` (0 to skip): applies of an N-user tenant at concurrency 8 recording every
 * outcome to Table storage (an Azurite started here), alternating with the same without a store.
 *
 * `--apply-max-users N` (default 5,000): applies of larger tenants are skipped. The simulator's
 * assignLicense counts consumed seats by scanning every user (packages/graph-simulator/src/directory.ts
 * `consumedUnits`), so an apply costs it O(tenant size) per added license: a 20,000-user apply takes
 * minutes and measures the simulator more than the engine. Run it explicitly when needed:
 * `--sizes 20000 --concurrency 8 --repeats 1 --apply-max-users 20000 --store-users 0`.
 */
import { fork } from 'node:child_process';
import { createServer, request as httpRequest, Agent, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startAzurite } from '../lib/cli/local/azurite-process.js';
import {
  loadSampleTenant,
  startSimulator,
  type RequestKind,
  type TenantFile,
} from '@ems-licensing/graph-simulator';
import type { RunRequest, RunResult } from './reconcile-child.js';
import { generateTenant } from './tenant-generator.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '300,5000,20000' },
    concurrency: { type: 'string', default: '1,4,8,16' },
    repeats: { type: 'string', default: '3' },
    'latency-ms': { type: 'string', default: '0' },
    'store-users': { type: 'string', default: '1000' },
    'apply-repeats': { type: 'string', default: '1' },
    'largest-apply-concurrency': { type: 'string', default: '8' },
    'apply-max-users': { type: 'string', default: '5000' },
    seed: { type: 'string', default: '20240611' },
    'keep-alive': { type: 'boolean', default: false },
  },
});
const intList = (name: string, raw: string, min: number): number[] => {
  const list = raw.split(',').map(Number);
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < min)) {
    throw new Error(`--${name} must be a comma-separated list of integers of at least ${min}, got ${raw}`);
  }
  return list;
};
const intArg = (name: string, raw: string, min: number): number => intList(name, raw, min)[0]!;
const sizes = intList('sizes', args.sizes, 1);
const concurrencies = intList('concurrency', args.concurrency, 1);
const repeats = intArg('repeats', args.repeats, 1);
const latencyMs = intArg('latency-ms', args['latency-ms'], 0);
const storeUsers = intArg('store-users', args['store-users'], 0);
const applyRepeats = intArg('apply-repeats', args['apply-repeats'], 1);
const applyMaxUsers = intArg('apply-max-users', args['apply-max-users'], 0);
const largestApplyConcurrency = intArg('largest-apply-concurrency', args['largest-apply-concurrency'], 1);
const seed = intArg('seed', args.seed, 0);
/** Through the proxy (connections kept alive); implied by --latency-ms. */
const keepAlive = args['keep-alive'] || latencyMs > 0;
const rulesPath = fileURLToPath(new URL('../examples/rules.yaml', import.meta.url));
const childPath = fileURLToPath(new URL('./reconcile-child.ts', import.meta.url));

// ---- Graph resource units (GRAPH-FACTS.md, Throttling; learn.microsoft.com/graph/throttling-limits) ----

/**
 * Cost of one request of each kind the simulator counts, as the gateway sends it. GET users is
 * 2 RU, minus 1 for `$select` (the gateway always selects; nextLinks carry the `$select`): 1 RU per
 * page or per user read. subscribedSkus: 3 RU (no `$select`). A write (assignLicense, the
 * usageLocation PATCH) is 1 RU plus 1 write. checkMemberGroups is not in the cost table: 1 RU.
 */
const RU_COST: Partial<Record<RequestKind, number>> = {
  listUsers: 1,
  getUser: 1,
  subscribedSkus: 3,
  patchUser: 1,
  assignLicense: 1,
  checkMemberGroups: 1,
  delta: 1,
};
/** Per app and tenant: RU per 10 s by tenant size (under 50, 50-500, over 500 users). */
const ruPer10s = (users: number) => (users < 50 ? 3_500 : users <= 500 ? 5_000 : 8_000);
/** Writes: 3,000 per 150 s per app and tenant (20/s). */
const WRITES_PER_S = 3_000 / 150;

function resourceUnits(counts: Record<RequestKind, number>): number {
  return Object.entries(counts).reduce((sum, [kind, n]) => sum + n * (RU_COST[kind as RequestKind] ?? 1), 0);
}

/** Shortest time Graph would allow for this many RU and writes (buckets start full: ignored). */
function graphFloorS(ru: number, writes: number, users: number): { s: number; by: 'writes' | 'RU' } {
  const byWrites = writes / WRITES_PER_S;
  const byRu = (ru / ruPer10s(users)) * 10;
  return byWrites >= byRu ? { s: byWrites, by: 'writes' } : { s: byRu, by: 'RU' };
}

// ---- latency proxy ----

/**
 * Node's http.Agent drops a kept-alive socket when the server's `Keep-Alive: timeout=N` hint is
 * 1 s or less (the simulator sets keepAliveTimeout to 1 s). The proxy reuses its sockets to the
 * simulator anyway: under benchmark load they are never idle long enough for the server to close them.
 */
class ReusingAgent extends Agent {
  override keepSocketAlive(socket: Socket): boolean {
    socket.setKeepAlive(true, 1_000);
    socket.unref();
    return true;
  }
}

/**
 * A proxy in front of the simulator that keeps connections alive on both sides (as Graph does) and
 * holds every request `delayMs` before forwarding it (one round trip's worth of latency).
 */
async function startProxy(target: string, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const agent = new ReusingAgent({ keepAlive: true });
  let origin = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const forward = () => {
        const upstream = httpRequest(
          {
            host: to.hostname,
            port: to.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
            agent,
          },
          (up) => {
            // Paging links name the simulator's origin; the gateway refuses links to another
            // origin than GRAPH_BASE_URL, so they are rewritten to the proxy's.
            const parts: Buffer[] = [];
            up.on('data', (c: Buffer) => parts.push(c));
            up.on('end', () => {
              const body = Buffer.from(Buffer.concat(parts).toString('utf8').replaceAll(to.origin, origin));
              const headers = { ...up.headers };
              if (headers['content-length'] !== undefined) headers['content-length'] = String(body.length);
              res.writeHead(up.statusCode ?? 502, headers);
              res.end(body);
            });
          },
        );
        upstream.on('error', (e) => {
          res.writeHead(502);
          res.end(String(e));
        });
        upstream.end(Buffer.concat(chunks));
      };
      if (delayMs > 0) setTimeout(forward, delayMs);
      else forward();
    });
  });
  // Longer than undici's 2 s safety margin on the server's hint, so the engine's fetch reuses sockets.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

// ---- one run ----

interface Run {
  result: RunResult;
  counts: Record<RequestKind, number>;
  /** CPU used by this process (simulator, proxy) during the run, ms. */
  simCpuMs: number;
}

function runChild(request: RunRequest, onReady: () => void): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = fork(childPath, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: RunResult | null = null;
    child.on('message', (m: { type: string; result?: RunResult }) => {
      if (m.type === 'ready') {
        onReady();
        child.send({ type: 'go' });
      } else if (m.type === 'result' && m.result) {
        result = m.result;
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`bench/reconcile-child.ts exited with ${String(code)} without a result`));
    });
    child.send({ type: 'run', request });
  });
}

async function runOnce(
  tenant: TenantFile,
  dryRun: boolean,
  concurrency: number,
  storage?: RunRequest['storage'],
): Promise<Run> {
  const sim = await startSimulator({ tenant });
  const proxy = keepAlive ? await startProxy(sim.url, latencyMs) : null;
  try {
    let cpu0 = process.cpuUsage();
    const result = await runChild(
      {
        graphUrl: proxy?.url ?? sim.url,
        rulesPath,
        dryRun,
        concurrency,
        ...(storage ? { storage } : {}),
      },
      () => {
        sim.counters.reset();
        cpu0 = process.cpuUsage();
      },
    );
    const cpu = process.cpuUsage(cpu0);
    return { result, counts: sim.counters.snapshot(), simCpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    await proxy?.close();
    await sim.close();
  }
}

// ---- report ----

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const MiB = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const duration = (s: number) =>
  s < 90 ? `${fmt(s, 1)} s` : s < 5_400 ? `${fmt(s / 60, 1)} min` : `${fmt(s / 3_600, 1)} h`;

/** A Markdown table (first column left-aligned, the others right-aligned), pasteable into BENCHMARKS.md. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const KIND_LABEL: [RequestKind, string][] = [
  ['listUsers', 'list'],
  ['getUser', 'get'],
  ['patchUser', 'patch'],
  ['assignLicense', 'assign'],
  ['subscribedSkus', 'skus'],
];

const startedAt = performance.now();
const sample = await loadSampleTenant();
console.log(
  `Reconcile benchmark: node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model.trim() ?? '?'}), ` +
    `${new Date().toISOString().slice(0, 10)}; rules examples/rules.yaml; median of ${repeats} run(s) per row; ` +
    `simulator latency ${latencyMs > 0 ? `${latencyMs} ms per request (proxy)` : 'none (loopback, in-memory)'}; ` +
    `connections ${keepAlive ? 'kept alive (proxy)' : 'one per request (simulator keep-alive 1 s)'}; ` +
    `load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}.`,
);

const rows: string[][] = [];
const budgetRows: string[][] = [];
for (const size of sizes) {
  const tenant = size === sample.users.length ? sample : generateTenant(sample, size, seed);
  for (const dryRun of [true, false]) {
    for (const concurrency of concurrencies) {
      const generated = tenant !== sample;
      const largest = generated && sizes.length > 1 && size === Math.max(...sizes);
      if (!dryRun && (size > applyMaxUsers || (largest && concurrency !== largestApplyConcurrency))) continue;
      const times = !dryRun && generated ? applyRepeats : repeats;
      const runs: Run[] = [];
      for (let r = 0; r < times; r++) runs.push(await runOnce(tenant, dryRun, concurrency));
      const wall = median(runs.map((x) => x.result.wallMs));
      const first = runs[0]!;
      const counts = first.counts;
      const users = first.result.summary.users;
      const writes = counts.assignLicense + counts.patchUser;
      const ru = resourceUnits(counts);
      rows.push([
        `${fmt(size)} ${dryRun ? 'plan' : 'apply'} c=${concurrency}${times > 1 ? '' : ' (1 run)'}`,
        fmt(users),
        `${fmt(wall / 1000, 2)} s`,
        fmt(users / (wall / 1000)),
        ...KIND_LABEL.map(([k]) => fmt(counts[k])),
        fmt(writes),
        fmt(ru),
        fmt(median(runs.map((x) => x.result.cpuMs)) / users, 2),
        fmt(median(runs.map((x) => x.simCpuMs)) / users, 2),
        MiB(median(runs.map((x) => x.result.rssPeak))),
        MiB(median(runs.map((x) => x.result.heapPeak))),
        MiB(median(runs.map((x) => x.result.heapAfter - x.result.heapBefore))),
      ]);
      if (concurrency === concurrencies.at(-1) || (!dryRun && largest && size <= applyMaxUsers)) {
        const floor = graphFloorS(ru, writes, users);
        budgetRows.push([
          `${fmt(size)} ${dryRun ? 'plan' : 'apply'}`,
          fmt(ru),
          fmt(writes),
          `${duration(floor.s)} (${floor.by})`,
          fmt(Math.min(users / floor.s, Number.MAX_SAFE_INTEGER)),
          `${fmt(wall / 1000, 2)} s at c=${concurrency}`,
        ]);
      }
      const outcomes = Object.entries(first.result.summary.byOutcome)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      console.error(
        `  done: ${fmt(size)} ${dryRun ? 'plan ' : 'apply'} c=${String(concurrency).padEnd(2)} ${fmt(wall / 1000, 2)} s (${outcomes})`,
      );
    }
  }
}

console.log(
  '\nThroughput (wall time: GET /subscribedSkus + compile rules + reconcile(); requests from the simulator)',
);
console.log(
  table(
    [
      'tenant, mode, concurrency',
      'users',
      'wall',
      'users/s',
      ...KIND_LABEL.map(([, l]) => l),
      'writes',
      'RU',
      'engine CPU ms/user',
      'sim CPU ms/user',
      'RSS peak MiB',
      'heap peak MiB',
      'heap kept MiB',
    ],
    rows,
  ),
);
console.log(
  `\nAgainst Graph's budget (per app and tenant: ${fmt(WRITES_PER_S)} writes/s; ${fmt(ruPer10s(1_000))} RU per 10 s over 500 users, ` +
    `${fmt(ruPer10s(300))} for 50-500). "Graph floor": the least time Graph's token buckets allow for this run's RU and writes.`,
);
console.log(
  table(
    ['tenant, mode', 'RU', 'writes', 'Graph floor (limit)', 'users/s at floor', 'measured here'],
    budgetRows,
  ),
);

if (storeUsers > 0) {
  const tenant = storeUsers === sample.users.length ? sample : generateTenant(sample, storeUsers, seed);
  const azurite = await startAzurite();
  try {
    const storage = { connectionString: azurite.connectionString, tablePrefix: 'bench' };
    // Alternating, so load from other processes on the machine falls on both alike.
    const without: Run[] = [];
    const withStore: Run[] = [];
    for (let r = 0; r < repeats; r++) {
      without.push(await runOnce(tenant, false, 8));
      withStore.push(await runOnce(tenant, false, 8, storage));
    }
    const users = without[0]!.result.summary.users;
    const wallOf = (runs: Run[]) => median(runs.map((x) => x.result.wallMs));
    const perUser = (wallOf(withStore) - wallOf(without)) / users;
    console.log(
      `\nOutcome recording: apply, ${fmt(storeUsers)} users, concurrency 8, median of ${repeats} alternating runs each`,
    );
    console.log(
      table(
        ['store', 'wall', 'users/s', 'engine CPU ms/user', 'RSS peak MiB'],
        [without, withStore].map((runs, i) => [
          i === 0 ? 'none' : 'Azurite (Table storage, loopback)',
          `${fmt(wallOf(runs) / 1000, 2)} s`,
          fmt(users / (wallOf(runs) / 1000)),
          fmt(median(runs.map((x) => x.result.cpuMs)) / users, 2),
          MiB(median(runs.map((x) => x.result.rssPeak))),
        ]),
      ),
    );
    console.log(
      `recording adds ${fmt(perUser, 2)} ms of wall time and ${fmt(
        (median(withStore.map((x) => x.result.cpuMs)) - median(without.map((x) => x.result.cpuMs))) / users,
        2,
      )} ms of engine CPU per user here (one Table upsert per user, awaited inside the concurrency slot).`,
    );
  } finally {
    await azurite.stop();
  }
}
console.log(
  `\nTotal benchmark time ${fmt((performance.now() - startedAt) / 1000, 0)} s; load average now ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}.`,
);
