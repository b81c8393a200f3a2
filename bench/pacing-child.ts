/**
 * One engine process for bench/pacing.bench.ts (not run by hand): the Graph simulator stays in the
 * benchmark's process; each run here has its own Graph client, pacer, CPU and memory, as an
 * instance of the app or an admin's workstation does.
 *
 * Modes (the parent sends a `ChildRequest` over IPC; the child loads what it can without Graph and
 * answers `ready`; once every child is ready the parent starts the simulator, so Graph's buckets
 * start as configured when the work starts, and sends `go` with its URL):
 * - `cli`: the `ems-licensing` command line itself (`main()` of lib/cli/main.ts) with `--json`,
 *   recording outcomes to Table storage (Azurite): what an admin runs.
 * - `unpaced`: the same reconcile with the Graph client built without the pacer, as it was before
 *   (for comparison only).
 * - `worker`: the Functions worker's entry point, `runLicenseJob`, for one job per user of its
 *   share, `concurrency` at a time (host.json maxConcurrentSessions), outcomes and leaver marks in
 *   Table storage, the Service Bus publisher replaced by a list of the copies it would schedule.
 * - `script`: the per-user script an admin would write (Get-MgUser, then Set-MgUserLicense per
 *   user): list the users, then one user at a time: GET the user, decide, write. Plain `fetch`,
 *   honouring Retry-After as the Graph PowerShell SDK does; the decision is the engine's own
 *   (pure) planner, so it makes the same writes.
 */
import { randomUUID } from 'node:crypto';
import { loadBaseConfig } from '../lib/config.js';
import { loadLicensingContext, LicensingContextCache } from '../lib/engine/licensing-context.js';
import { reconcile } from '../lib/engine/reconcile.js';
import { runLicenseJob } from '../lib/engine/worker.js';
import { createGraphClient } from '../lib/graph/client.js';
import { SimulatorCredential } from '../lib/graph/credential.js';
import { createGraphGateway, graphGatewayFromConfig } from '../lib/graph/graph-gateway.js';
import { GraphPacer, type PacerStats } from '../lib/graph/pacer.js';
import { graphUserSchema, type GraphUser } from '../lib/graph/types.js';
import { desiredStateFor } from '../lib/licensing/desired.js';
import { assignLicenseBody, planLicenses } from '../lib/licensing/planner.js';
import { main } from '../lib/cli/main.js';
import { createLogger, silentLogger, type Logger } from '../lib/log.js';
import type { JobPublisher, LicenseJob } from '../lib/queue/job.js';
import { evaluateRules } from '../lib/rules/evaluate.js';
import { loadRulesFile } from '../lib/rules/load.js';
import { createStorage } from '../lib/store/table-clients.js';

export interface ChildRequest {
  mode: 'cli' | 'unpaced' | 'worker' | 'script';
  rulesPath: string;
  concurrency: number;
  /** Environment for the app's settings (budgets, storage); merged over nothing else. */
  env: Record<string, string>;
}

export interface ChildResult {
  wallMs: number;
  cpuMs: number;
  /** Peak RSS of this process (getrusage), start-up (tsx) included. */
  rssPeak: number;
  exitCode: number;
  byOutcome: Record<string, number>;
  /** `worker`: copies the worker would have scheduled on the queue (throttled, no seats…). */
  rescheduled: number;
  pacer: PacerStats | null;
  /** `worker`: jobs it took from the shared queue. */
  jobs?: number;
  /** `script`: requests it sent and 429s it got. */
  requests?: number;
  throttled?: number;
}

type Message =
  | { type: 'run'; request: ChildRequest }
  | { type: 'go'; graphUrl: string }
  | { type: 'job'; id: string | null };

function send(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(new Error('bench/pacing-child.ts runs under bench/pacing.bench.ts (no IPC channel)'));
      return;
    }
    process.send(message, (error: Error | null) => (error ? reject(error) : resolve()));
  });
}

const waiting: ((m: Message) => void)[] = [];
const jobWaiters: ((id: string | null) => void)[] = [];
process.on('message', (m: Message) => {
  if (m.type === 'job') jobWaiters.shift()?.(m.id);
  else waiting.shift()?.(m);
});

function nextMessage(): Promise<Message> {
  return new Promise((resolve) => waiting.push(resolve));
}

/** The next user id from the parent's shared queue (a Service Bus queue's stand-in); null when empty. */
function nextJob(): Promise<string | null> {
  return new Promise((resolve) => {
    jobWaiters.push(resolve);
    void send({ type: 'next' });
  });
}

/** Pacer events (pino lines) on stderr when BENCH_TRACE_PACER=1. */
function traceLogger(): Logger {
  return process.env['BENCH_TRACE_PACER'] === '1'
    ? createLogger({ level: 'info', destination: { write: (l: string) => void process.stderr.write(l) } })
    : silentLogger();
}

const count = (into: Record<string, number>, key: string) => {
  into[key] = (into[key] ?? 0) + 1;
};

type Work = (graphUrl: string) => Promise<Omit<ChildResult, 'wallMs' | 'cpuMs' | 'rssPeak'>>;

async function prepare(request: ChildRequest): Promise<Work> {
  const logger = silentLogger();
  const byOutcome: Record<string, number> = {};
  switch (request.mode) {
    case 'cli': {
      const argv = [
        'apply',
        '--json',
        '--rules',
        request.rulesPath,
        '--concurrency',
        String(request.concurrency),
      ];
      const io = {
        stdout: {
          write: (text: string) => {
            for (const line of text.split('\n')) {
              if (line.startsWith('{')) count(byOutcome, (JSON.parse(line) as { outcome: string }).outcome);
            }
          },
        },
        stderr: { write: () => undefined },
        progress: false,
        logDestination: { write: () => undefined },
      };
      return async (graphUrl) => {
        const exitCode = await main(
          [...argv, '--graph-url', graphUrl],
          { ...request.env, LOG_LEVEL: 'silent' },
          io,
        );
        return { exitCode, byOutcome, rescheduled: 0, pacer: null };
      };
    }
    case 'unpaced': {
      const config = loadBaseConfig(request.env);
      const rules = await loadRulesFile(request.rulesPath);
      const storage = createStorage(config.storage ?? { tablePrefix: '' });
      await storage.ensureTables();
      return async (graphUrl) => {
        const client = createGraphClient({
          baseUrl: graphUrl,
          credential: new SimulatorCredential(),
          maxRetries: config.graph.maxRetries,
        });
        const gateway = createGraphGateway({ client, baseUrl: graphUrl });
        const context = await loadLicensingContext(gateway, rules);
        const summary = await reconcile({
          gateway,
          context,
          logger,
          dryRun: false,
          concurrency: request.concurrency,
          outcomes: storage.outcomes,
          leavers: storage.leavers,
        });
        return {
          exitCode: summary.byOutcome.FAILED > 0 ? 1 : 0,
          byOutcome: { ...summary.byOutcome },
          rescheduled: 0,
          pacer: null,
        };
      };
    }
    case 'worker': {
      const config = loadBaseConfig(request.env);
      const rules = await loadRulesFile(request.rulesPath);
      const storage = createStorage(config.storage ?? { tablePrefix: '' });
      await storage.ensureTables();
      let rescheduled = 0;
      let jobsDone = 0;
      const publisher: JobPublisher = {
        publish: () => Promise.resolve(),
        schedule: () => {
          rescheduled++;
          return Promise.resolve();
        },
        close: () => Promise.resolve(),
      };
      const jobFor = (id: string): LicenseJob => ({
        version: 1,
        jobId: randomUUID(),
        correlationId: randomUUID(),
        source: 'delta',
        eventId: `bench-${id}`,
        action: 'reconcile',
        user: { id },
        attempt: 0,
        acceptedAt: new Date().toISOString(),
      });
      return async (graphUrl) => {
        const pacer = new GraphPacer(config.graph.pacing, { logger: traceLogger() });
        const gateway = graphGatewayFromConfig(
          loadBaseConfig({ ...request.env, GRAPH_BASE_URL: graphUrl }),
          logger,
          {},
          { pacer },
        );
        const contexts = new LicensingContextCache(() => loadLicensingContext(gateway, rules));
        // One session slot: take the next job from the shared queue, run it, repeat, as the
        // Functions host does with maxConcurrentSessions slots competing for one queue.
        const slot = async (): Promise<void> => {
          for (let id = await nextJob(); id !== null; id = await nextJob()) {
            const job = jobFor(id);
            const result = await runLicenseJob(
              job,
              { messageId: job.jobId, deliveryCount: 1 },
              {
                gateway,
                contexts,
                outcomes: storage.outcomes,
                leavers: storage.leavers,
                publisher,
                logger,
                settings: {
                  hireRetryLimit: 12,
                  transientRetryLimit: 8,
                  seatRetryLimit: 24,
                  storageRetryLimit: 100,
                  retryBaseSeconds: 60,
                  deferredRetryMinutes: 60,
                },
              },
            );
            count(byOutcome, 'record' in result ? (result.record?.outcome ?? 'none') : result.kind);
            jobsDone++;
          }
        };
        await Promise.all(Array.from({ length: request.concurrency }, slot));
        return { exitCode: 0, byOutcome, rescheduled, pacer: pacer.stats(), jobs: jobsDone };
      };
    }
    case 'script':
      return perUserScript(request, byOutcome);
  }
}

/** The per-user script: see the file comment. */
async function perUserScript(request: ChildRequest, byOutcome: Record<string, number>): Promise<Work> {
  const rulesFile = await loadRulesFile(request.rulesPath);
  let requests = 0;
  let throttled = 0;
  const call = async (method: string, url: string, body?: unknown): Promise<unknown> => {
    for (;;) {
      requests++;
      const res = await fetch(url, {
        method,
        headers: {
          authorization: 'Bearer admin-token',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (res.status === 429) {
        throttled++;
        await new Promise((resolve) =>
          setTimeout(resolve, Number(res.headers.get('retry-after') ?? '1') * 1000),
        );
        continue;
      }
      if (!res.ok) throw new Error(`${method} ${url}: ${String(res.status)} ${text.slice(0, 200)}`);
      return text === '' ? undefined : (JSON.parse(text) as unknown);
    }
  };
  return async (graphUrl) => {
    const base = `${graphUrl}/v1.0`;
    // Connect-MgGraph; Get-MgSubscribedSku to turn names into ids (the planner's catalog).
    const gateway = createGraphGateway({
      client: createGraphClient({ baseUrl: graphUrl, credential: new SimulatorCredential(), maxRetries: 5 }),
      baseUrl: graphUrl,
    });
    const context = await loadLicensingContext(gateway, rulesFile);
    requests++;
    // Get-MgUser -All -Property Id
    const ids: string[] = [];
    let next: string | undefined = `${base}/users?$select=id&$top=999`;
    while (next !== undefined) {
      const page = (await call('GET', next)) as { value: { id: string }[]; '@odata.nextLink'?: string };
      ids.push(...page.value.map((u) => u.id));
      next = page['@odata.nextLink'];
    }
    const select = context.select.join(',');
    for (const id of ids) {
      // Get-MgUser -UserId $id -Property usageLocation,assignedLicenses,…
      const user: GraphUser = graphUserSchema.parse(
        await call('GET', `${base}/users/${id}?$select=${select}`),
      );
      const evaluation = evaluateRules(context.rules, user, new Set());
      const desired = desiredStateFor(evaluation, context.rules, 'reconcile');
      const plan = planLicenses({
        user,
        desired,
        managedSkuIds: context.rules.managedSkuIds,
        freeSeats: () => Number.POSITIVE_INFINITY,
        defaultUsageLocation: context.rules.defaults.usageLocation ?? null,
        skuPartNumber: (skuId) => context.catalog.skuPartNumber(skuId),
      });
      for (const action of plan.actions) {
        // Update-MgUser -UsageLocation
        if (action.kind === 'setUsageLocation')
          await call('PATCH', `${base}/users/${id}`, { usageLocation: action.to });
      }
      const body = assignLicenseBody(plan);
      // Set-MgUserLicense -AddLicenses … -RemoveLicenses …
      if (body) await call('POST', `${base}/users/${id}/assignLicense`, body);
      count(byOutcome, plan.outcome);
    }
    return { exitCode: 0, byOutcome, rescheduled: 0, pacer: null, requests, throttled };
  };
}

const first = await nextMessage();
if (first.type !== 'run') throw new Error(`expected a run request, got ${first.type}`);
const run = await prepare(first.request);
await send({ type: 'ready' });
const go = await nextMessage();
if (go.type !== 'go') throw new Error(`expected go, got ${go.type}`);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const outcome = await run(go.graphUrl);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const result: ChildResult = {
  ...outcome,
  wallMs,
  cpuMs: (cpu.user + cpu.system) / 1000,
  rssPeak: process.resourceUsage().maxRSS * 1024,
};
await send({ type: 'result', result });
process.exit(0);
