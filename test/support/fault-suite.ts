/**
 * The fault suite: the engine run the way things go wrong in production, then checked against
 * what must hold whatever happened. Used by test/integration/fault-suite.test.ts (a small tenant,
 * in `npm test`) and bench/fault-suite.bench.ts (3,000 users, figures for docs/reliability.md).
 *
 * The CLI part runs `ems-licensing apply` as real child processes against the Graph simulator
 * behind a fault proxy (a share of requests answered 429/5xx or dropped; a share of writes
 * applied and their answer lost), kills some of them with SIGKILL in the middle of their writes,
 * and lets a last run finish. Then, with the faults off, it checks:
 * - every user is as the rules want (a dry run finds nothing to change);
 * - every change Graph applied has a final record saying so, and no job has more than one;
 * - no pending record is left; leavers (HR marks) were never licensed again;
 * - license writes applied per changed user (a double write shows above 1);
 * - every run's exit code and summary agree with what happened.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  loadSampleTenant,
  startFaultProxy,
  startSimulator,
  type FaultProxy,
  type Simulator,
  type TenantFile,
} from '@ems-licensing/graph-simulator';
import { generateTenant } from '../../bench/tenant-generator.js';
import { main } from '../../lib/cli/main.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';
import { createStorage, type Storage } from '../../lib/store/table-clients.js';
import { recordingIo } from './engine-harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RULES = path.join(ROOT, 'examples/rules.yaml');
const ENTRY = path.join(ROOT, 'lib/cli/entry.ts');

export interface CliFaultSuiteOptions {
  users: number;
  /** Azurite (or any Table endpoint) connection string. */
  storageConnectionString: string;
  faultRate: number;
  lostWriteRate: number;
  /** Runs killed part way, each after this many more license writes applied. */
  killsAfterWrites: number[];
  /** People HR said left before the runs (their managed licenses must end removed). */
  leavers: number;
  concurrency: number;
  seed: number;
}

export interface RunReport {
  killed: boolean;
  exitCode: number | null;
  /** What the run printed on stderr (its summary and notices). */
  stderr: string;
}

export interface CliFaultSuiteReport {
  users: number;
  runs: RunReport[];
  proxy: ReturnType<FaultProxy['counts']>;
  /** Users the dry run after the faults still finds something to change for (must be 0). */
  usersDifferingFromRules: number;
  /** Users with at least one applied license write. */
  changedUsers: number;
  /** Applied license writes (assignLicense answered 200 by the simulator). */
  appliedLicenseWrites: number;
  /** Changed users with no final record of a change (must be 0). */
  changesWithoutRecord: number;
  /** Jobs with more than one final record (must be 0). */
  jobsWithSeveralFinals: number;
  pendingLeft: number;
  /** Leavers holding a managed license at the end (must be 0). */
  leaversLicensed: number;
  recoveredRecords: number;
  /** Runs whose exit code disagrees with their own summary (must be 0). */
  dishonestRuns: number;
  wallMs: number;
}

const CHANGES = new Set(['ASSIGNED', 'UPDATED', 'REMOVED']);
const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';

function cliEnv(graphUrl: string, connectionString: string, tablePrefix: string): Record<string, string> {
  return {
    // The child is run directly, not by npm: npm's own variables (when the suite itself runs
    // under `npm run`) would make the CLI look for options npm kept.
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        (e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('npm_'),
      ),
    ),
    GRAPH_BASE_URL: graphUrl,
    STORAGE_CONNECTION_STRING: connectionString,
    STORAGE_TABLE_PREFIX: tablePrefix,
    LOG_LEVEL: 'error',
    NO_COLOR: '1',
  };
}

/** One `ems-licensing apply` in a child process; killed once `killAfter` more writes were applied. */
function runCli(
  sim: Simulator,
  env: Record<string, string>,
  concurrency: number,
  killAfter: number | null,
): Promise<RunReport> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ENTRY, 'apply', '--rules', RULES, '--concurrency', String(concurrency)],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const start = appliedWrites(sim);
  let killed = false;
  const watch =
    killAfter === null
      ? null
      : setInterval(() => {
          if (appliedWrites(sim) - start >= killAfter && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        }, 5);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (watch) clearInterval(watch);
      resolve({ killed, exitCode: code, stderr });
    });
  });
}

function appliedWrites(sim: Simulator): number {
  let n = 0;
  for (const r of sim.requests) if (r.kind === 'assignLicense' && r.status === 200) n++;
  return n;
}

async function allRecords(storage: Storage): Promise<OutcomeRecord[]> {
  const out: OutcomeRecord[] = [];
  for await (const r of storage.outcomes.listBetween(new Date(0))) out.push(r);
  return out;
}

/** Marks `count` EMS holders as leavers (HR said they left an hour ago). */
async function markLeavers(tenant: TenantFile, storage: Storage, count: number): Promise<string[]> {
  const holders = tenant.users
    .filter((u) => u.directLicenses.some((l) => l.skuId.toLowerCase() === EMS))
    .slice(0, count);
  const at = new Date(Date.now() - 3_600_000);
  for (const u of holders) await storage.leavers.set(u.id, { state: 'left', at, statedAt: at });
  return holders.map((u) => u.id);
}

/** A run's exit code must follow from what its summary printed. */
function honest(run: RunReport): boolean {
  if (run.killed) return true;
  const incomplete = /not done in this run|stopped before every user|could not be written/.test(run.stderr);
  const failed = /\| FAILED\s+\|\s+[1-9]/.test(run.stderr);
  if (incomplete) return run.exitCode === 3;
  if (failed) return run.exitCode === 1;
  return run.exitCode === 0;
}

export async function runCliFaultSuite(options: CliFaultSuiteOptions): Promise<CliFaultSuiteReport> {
  const started = Date.now();
  const tenant = generateTenant(await loadSampleTenant(), options.users, options.seed);
  const sim = await startSimulator({ tenant });
  const proxy = await startFaultProxy({
    target: sim.url,
    faultRate: options.faultRate,
    lostWriteRate: options.lostWriteRate,
    seed: options.seed,
  });
  const tablePrefix = `fs${randomBytes(5).toString('hex')}`;
  const storage = createStorage({ connectionString: options.storageConnectionString, tablePrefix });
  await storage.ensureTables();
  const leavers = await markLeavers(tenant, storage, options.leavers);
  const env = cliEnv(proxy.url, options.storageConnectionString, tablePrefix);
  try {
    const runs: RunReport[] = [];
    for (const k of options.killsAfterWrites) runs.push(await runCli(sim, env, options.concurrency, k));
    // Runs until one finishes with everyone done (a run may end with users still throttled: exit 3).
    for (let i = 0; i < 4; i++) {
      const run = await runCli(sim, env, options.concurrency, null);
      runs.push(run);
      if (run.exitCode !== 3) break;
    }
    const proxyCounts = proxy.counts();
    return {
      users: options.users,
      runs,
      proxy: proxyCounts,
      ...(await check(sim, storage, tablePrefix, options.storageConnectionString, leavers)),
      dishonestRuns: runs.filter((r) => !honest(r)).length,
      wallMs: Date.now() - started,
    };
  } finally {
    await proxy.close();
    await sim.close();
  }
}

async function check(
  sim: Simulator,
  storage: Storage,
  tablePrefix: string,
  connectionString: string,
  leavers: string[],
) {
  // The dry run, straight at the simulator (no faults): what still differs from the rules.
  const io = recordingIo();
  await main(['plan', '--json', '--rules', RULES], cliEnv(sim.url, connectionString, tablePrefix), io);
  const planned = io.stdoutLines().map((l) => JSON.parse(l) as { outcome: string; actions: string[] });
  const usersDifferingFromRules = planned.filter((p) => CHANGES.has(p.outcome)).length;

  const writesByUser = new Map<string, number>();
  for (const r of sim.requests) {
    if (r.kind !== 'assignLicense' || r.status !== 200) continue;
    const id = r.path.split('/')[3] ?? '';
    writesByUser.set(id, (writesByUser.get(id) ?? 0) + 1);
  }
  const records = (await allRecords(storage)).filter((r) => !r.dryRun);
  const finalsByJob = new Map<string, number>();
  const changedWithRecord = new Set<string>();
  for (const r of records) {
    if (r.phase !== 'final') continue;
    finalsByJob.set(r.jobId, (finalsByJob.get(r.jobId) ?? 0) + 1);
    if (CHANGES.has(r.outcome) || r.actions.some((a) => a.kind !== 'setUsageLocation'))
      changedWithRecord.add(r.userId);
  }
  const leaversLicensed = leavers.filter((id) =>
    sim.tenant.user(id)?.assignedLicenses.some((l) => l.skuId.toLowerCase() === EMS),
  ).length;
  return {
    usersDifferingFromRules,
    changedUsers: writesByUser.size,
    appliedLicenseWrites: [...writesByUser.values()].reduce((a, b) => a + b, 0),
    changesWithoutRecord: [...writesByUser.keys()].filter((id) => !changedWithRecord.has(id)).length,
    jobsWithSeveralFinals: [...finalsByJob.values()].filter((n) => n > 1).length,
    pendingLeft: records.filter((r) => r.phase === 'pending').length,
    leaversLicensed,
    recoveredRecords: records.filter((r) => r.recovered && r.phase === 'final').length,
  };
}

export interface WorkerFaultSuiteOptions {
  storageConnectionString: string;
  /** Reconcile jobs (Graph notifications) for users the rules want changed. */
  jobs: number;
  /** HR leaves for EMS holders. */
  leaves: number;
  /** Jobs whose first delivery dies as it writes the final record (then redelivered). */
  crashes: number;
  /** Jobs delivered twice. */
  duplicates: number;
  faultRate: number;
  lostWriteRate: number;
  seed: number;
}

export interface WorkerFaultSuiteReport {
  jobs: number;
  deliveries: number;
  /** Deliveries that threw (the host would redeliver them): must be none here. */
  errors: string[];
  crashesInjected: number;
  duplicatesDelivered: number;
  proxy: ReturnType<FaultProxy['counts']>;
  /** Jobs without exactly one final record (must be 0). */
  jobsWithoutOneFinal: number;
  /** Users some job changed that still differ from the rules (must be 0). */
  usersDifferingFromRules: number;
  changedUsers: number;
  appliedLicenseWrites: number;
  changesWithoutRecord: number;
  pendingLeft: number;
  leaversLicensed: number;
}

/**
 * The worker part: jobs through the real worker use case and the AMQP test broker, Graph behind
 * the fault proxy; some first deliveries die between the write and the record (the host would
 * redeliver the message once its lock expires), some messages are delivered twice; scheduled
 * copies are released by moving the clock on until the queue is empty.
 */
export async function runWorkerFaultSuite(options: WorkerFaultSuiteOptions): Promise<WorkerFaultSuiteReport> {
  const { startFunctionsHarness } = await import('./functions-harness.js');
  const { runLicenseJob } = await import('../../lib/engine/worker.js');
  const { silentLogger } = await import('../../lib/log.js');
  const { prng } = await import('@ems-licensing/graph-simulator');
  const { forEachConcurrent } = await import('../../lib/engine/concurrency.js');
  let proxy: FaultProxy | null = null;
  const tenant = generateTenant(await loadSampleTenant(), 300, options.seed);
  const h = await startFunctionsHarness({
    storageConnectionString: options.storageConnectionString,
    tenant,
    graphUrl: async (sim) => {
      proxy = await startFaultProxy({ target: sim.url, faultRate: 0, lostWriteRate: 0, seed: options.seed });
      return proxy.url;
    },
  });
  const faults = proxy as FaultProxy | null;
  if (faults === null) throw new Error('the fault proxy did not start');
  const random = prng(options.seed);
  try {
    const storage = await h.parts.storage();
    const contexts = await h.parts.contexts();
    const context = await contexts.get();
    const gateway = await h.parts.gateway();
    const { decide } = await import('../../lib/engine/decide.js');
    /** Whether the rules want a change for the user as Graph shows them (read with no faults on). */
    const wantsChange = async (id: string) => {
      const user = await gateway.getUser(id, context.select);
      if (!user || user.accountEnabled === false) return false;
      const groups = new Set(
        context.groupIds.length > 0 ? await gateway.checkMemberGroups(id, context.groupIds) : [],
      );
      const decision = decide({
        user,
        groups,
        rules: context.rules,
        action: 'reconcile',
        freeSeats: () => 1,
        skuPartNumber: context.catalog.skuPartNumber,
      });
      return decision.plan.actions.length > 0 && decision.plan.blocked === null;
    };
    const targets: string[] = [];
    for (const u of tenant.users) {
      if (targets.length >= options.jobs) break;
      if (await wantsChange(u.id)) targets.push(u.id);
    }
    const leavers = tenant.users
      .filter((u) => !targets.includes(u.id) && u.directLicenses.some((l) => l.skuId.toLowerCase() === EMS))
      .slice(0, options.leaves)
      .map((u) => u.id);
    const now = h.clock.now().toISOString();
    const jobs = [
      ...targets.map((id, i) => ({
        id,
        jobId: `wj-${String(i)}`,
        source: 'graph' as const,
        action: 'reconcile' as const,
      })),
      ...leavers.map((id, i) => ({
        id,
        jobId: `wl-${String(i)}`,
        source: 'hr' as const,
        action: 'leave' as const,
      })),
    ];
    await (
      await h.parts.publisher()
    ).publish(
      jobs.map((j) => ({
        version: 1 as const,
        jobId: j.jobId,
        correlationId: `c-${j.jobId}`,
        source: j.source,
        eventId: `e-${j.jobId}`,
        action: j.action,
        user: { id: j.id },
        attempt: 0,
        acceptedAt: now,
        eventAt: now,
      })),
    );
    const pick = (n: number) =>
      new Set(
        [...jobs]
          .sort(() => random() - 0.5)
          .slice(0, n)
          .map((j) => j.jobId),
      );
    const crashSet = pick(options.crashes);
    const dupSet = pick(options.duplicates);
    faults.setRates({ faultRate: options.faultRate, lostWriteRate: options.lostWriteRate });

    const baseDeps = async () => ({
      gateway: await h.parts.gateway(),
      contexts,
      outcomes: storage.outcomes,
      leavers: storage.leavers,
      publisher: await h.parts.publisher(),
      logger: silentLogger(),
      now: h.clock.now,
      random,
      settings: { ...h.parts.config.retry, transientRetryLimit: 30 },
    });
    const handled = new Set<number>();
    let deliveries = 0;
    let crashesInjected = 0;
    let duplicatesDelivered = 0;
    const errors: unknown[] = [];
    for (let round = 0; round < 60; round++) {
      const pending = h.broker.messages(h.queue).filter((m) => !handled.has(m.sequenceNumber));
      if (pending.length === 0 && h.releaseScheduled(new Date(8.64e15)) === 0) break;
      for (const m of pending) handled.add(m.sequenceNumber);
      // Eight sessions at once, as host.json's maxConcurrentSessions lets the host run them.
      await forEachConcurrent(pending, 8, async (m) => {
        const body = JSON.parse(String(m.body)) as { jobId: string };
        const delivery = { messageId: m.messageId, deliveryCount: 1, enqueuedTime: h.clock.now() };
        if (crashSet.delete(body.jobId)) {
          const crash = { hung: false, reached: (): void => undefined };
          const died = new Promise<void>((r) => (crash.reached = r));
          const dying = {
            ...storage.outcomes,
            findJob: storage.outcomes.findJob.bind(storage.outcomes),
            listPending: storage.outcomes.listPending.bind(storage.outcomes),
            withdrawPending: storage.outcomes.withdrawPending.bind(storage.outcomes),
            record: (r: OutcomeRecord, o?: { clearPending?: boolean }) => {
              if (r.phase !== 'final') return storage.outcomes.record(r, o);
              crash.hung = true;
              crash.reached();
              return new Promise<void>(() => undefined);
            },
          };
          deliveries++;
          const first = runLicenseJob(m.body, delivery, { ...(await baseDeps()), outcomes: dying }).catch(
            (e: unknown) => void errors.push(e),
          );
          await Promise.race([first, died]);
          // This delivery ended before its final record (put off): crash a later one of the job.
          if (crash.hung) crashesInjected++;
          else {
            crashSet.add(body.jobId);
            return;
          }
        }
        deliveries++;
        await runLicenseJob(m.body, { ...delivery, deliveryCount: 2 }, await baseDeps()).catch(
          (e: unknown) => void errors.push(e),
        );
        if (dupSet.delete(body.jobId)) {
          deliveries++;
          duplicatesDelivered++;
          await runLicenseJob(m.body, { ...delivery, deliveryCount: 3 }, await baseDeps()).catch(
            (e: unknown) => void errors.push(e),
          );
        }
      });
      h.clock.advance(7 * 3_600_000);
    }
    faults.setRates({ faultRate: 0, lostWriteRate: 0 });

    const records: OutcomeRecord[] = [];
    for await (const r of storage.outcomes.listBetween(new Date(0))) records.push(r);
    const finals = new Map<string, number>();
    for (const r of records) if (r.phase === 'final') finals.set(r.jobId, (finals.get(r.jobId) ?? 0) + 1);
    const writesByUser = new Map<string, number>();
    for (const r of h.sim.requests) {
      if (r.kind !== 'assignLicense' || r.status !== 200) continue;
      const id = r.path.split('/')[3] ?? '';
      writesByUser.set(id, (writesByUser.get(id) ?? 0) + 1);
    }
    const recordedChange = new Set(
      records.filter((r) => r.phase === 'final' && CHANGES.has(r.outcome)).map((r) => r.userId),
    );
    return {
      jobs: jobs.length,
      deliveries,
      errors: errors.map((e) => (e instanceof Error ? e.message : String(e))),
      crashesInjected,
      duplicatesDelivered,
      proxy: faults.counts(),
      jobsWithoutOneFinal: jobs.filter((j) => finals.get(j.jobId) !== 1).length,
      usersDifferingFromRules: (await Promise.all(targets.map(wantsChange))).filter(Boolean).length,
      changedUsers: writesByUser.size,
      appliedLicenseWrites: [...writesByUser.values()].reduce((a, b) => a + b, 0),
      changesWithoutRecord: [...writesByUser.keys()].filter((id) => !recordedChange.has(id)).length,
      pendingLeft: records.filter((r) => r.phase === 'pending').length,
      leaversLicensed: leavers.filter((id) =>
        h.sim.tenant.user(id)?.assignedLicenses.some((l) => l.skuId.toLowerCase() === EMS),
      ).length,
    };
  } finally {
    await h.close();
    await faults.close();
  }
}
