/**
 * One reconcile in its own process, for bench/reconcile.bench.ts (not run by hand). The benchmark
 * keeps the Graph simulator in its own process and runs the engine here, so the engine's memory
 * and CPU are measured alone and the simulator (Microsoft's side in production) has the other core.
 *
 * Protocol over the IPC channel: the parent sends a `RunRequest`; the child loads everything it
 * needs before the clock starts (modules, rules file, Graph client, tables), answers `ready`, waits
 * for `go`, then times loading the licensing context (GET /subscribedSkus) plus `reconcile()`, and
 * answers with a `RunResult`.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadBaseConfig } from '../lib/config.js';
import { loadLicensingContext } from '../lib/engine/licensing-context.js';
import { reconcile, type ReconcileSummary } from '../lib/engine/reconcile.js';
import { graphGatewayFromConfig } from '../lib/graph/graph-gateway.js';
import { silentLogger } from '../lib/log.js';
import { loadRulesFile } from '../lib/rules/load.js';
import type { OutcomeStore } from '../lib/store/ports.js';
import { createStorage } from '../lib/store/table-clients.js';

export interface RunRequest {
  graphUrl: string;
  rulesPath: string;
  dryRun: boolean;
  concurrency: number;
  /** Record outcomes to Table storage (Azurite) when given. */
  storage?: { connectionString: string; tablePrefix: string };
}

export interface RunResult {
  /** Licensing context (GET /subscribedSkus, compile rules) plus reconcile(), in ms. */
  wallMs: number;
  summary: Pick<ReconcileSummary, 'users' | 'writes' | 'byOutcome' | 'actions'>;
  /** Peak RSS of the process (start-up included) and highest V8 heap used, sampled every 20 ms. */
  rssPeak: number;
  heapPeak: number;
  /** RSS and heap used right before the run (modules loaded, after a full GC). */
  rssBefore: number;
  heapBefore: number;
  /** Heap used after the run and a full GC: what the run left behind. */
  heapAfter: number;
  /** CPU time of this process during the run, in ms. */
  cpuMs: number;
}

type Message = { type: 'run'; request: RunRequest } | { type: 'go' };

function send(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(new Error('bench/reconcile-child.ts runs under bench/reconcile.bench.ts (no IPC channel)'));
      return;
    }
    process.send(message, (error: Error | null) => (error ? reject(error) : resolve()));
  });
}

function nextMessage(): Promise<Message> {
  return new Promise((resolve) => process.once('message', (m: Message) => resolve(m)));
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const first = await nextMessage();
if (first.type !== 'run') throw new Error(`expected a run request, got ${first.type}`);
const { request } = first;
const logger = silentLogger();
const config = loadBaseConfig({ GRAPH_BASE_URL: request.graphUrl, LOG_LEVEL: 'silent' });
const gateway = graphGatewayFromConfig(config, logger);
const rulesFile = await loadRulesFile(request.rulesPath);
let outcomes: OutcomeStore | null = null;
if (request.storage) {
  const storage = createStorage({
    connectionString: request.storage.connectionString,
    tablePrefix: request.storage.tablePrefix,
  });
  await storage.ensureTables();
  outcomes = storage.outcomes;
}

gc();
const before = process.memoryUsage();
let heapPeak = before.heapUsed;
// v8.getHeapStatistics() is cheap; process.memoryUsage() reads /proc and costs ~0.5 ms a call.
const sample = () => {
  heapPeak = Math.max(heapPeak, getHeapStatistics().used_heap_size);
};
await send({ type: 'ready' });
const go = await nextMessage();
if (go.type !== 'go') throw new Error(`expected go, got ${go.type}`);

const sampler = setInterval(sample, 20);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const context = await loadLicensingContext(gateway, rulesFile);
const summary = await reconcile({
  gateway,
  context,
  logger,
  dryRun: request.dryRun,
  concurrency: request.concurrency,
  outcomes,
});
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
clearInterval(sampler);
sample();
gc();
const heapAfter = process.memoryUsage().heapUsed;

const result: RunResult = {
  wallMs,
  summary: {
    users: summary.users,
    writes: summary.writes,
    byOutcome: summary.byOutcome,
    actions: summary.actions,
  },
  // The process's peak RSS (getrusage ru_maxrss, KiB), start-up included.
  rssPeak: process.resourceUsage().maxRSS * 1024,
  heapPeak,
  rssBefore: before.rss,
  heapBefore: before.heapUsed,
  heapAfter,
  cpuMs: (cpu.user + cpu.system) / 1000,
};
await send({ type: 'result', result });
process.exit(0);
