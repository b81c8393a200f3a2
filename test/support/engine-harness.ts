/**
 * Shared wiring for the engine and CLI acceptance tests: the real Graph gateway against the
 * simulator, rules compiled from YAML text, a recording CLI io, random table prefixes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CliIo } from '../../lib/cli/commands.js';
import { loadBaseConfig } from '../../lib/config.js';
import type { Decision } from '../../lib/engine/decide.js';
import { loadLicensingContext, type LicensingContext } from '../../lib/engine/licensing-context.js';
import type { RetryHint } from '../../lib/engine/retry-policy.js';
import { runJob, type LeaverView } from '../../lib/engine/run-job.js';
import type { GraphGateway } from '../../lib/graph/gateway.js';
import type { GraphUser } from '../../lib/graph/types.js';
import type { OutcomeRecord, LicensePlan } from '../../lib/licensing/types.js';
import type { JobSource } from '../../lib/queue/job.js';
import type { OutcomeStore } from '../../lib/store/ports.js';
import { graphGatewayFromConfig } from '../../lib/graph/graph-gateway.js';
import { GraphPacer } from '../../lib/graph/pacer.js';
import { silentLogger } from '../../lib/log.js';
import { parseRules } from '../../lib/rules/load.js';
import type { Simulator } from '@ems-licensing/graph-simulator';

/**
 * The production wiring (config → credential → client → gateway) pointed at the simulator. The
 * retry middleware's waits are recorded in `sleeps` instead of slept, and the pacer runs on a
 * virtual clock, so a test of Retry-After neither waits for it nor depends on the machine's speed.
 */
export function simulatorGateway(
  sim: Simulator,
  env: Record<string, string> = {},
  sleeps: number[] = [],
): GraphGateway {
  const config = loadBaseConfig({ GRAPH_BASE_URL: sim.url, ...env });
  // The pacer keeps the real budget on a clock of its own that jumps to each wake-up at once, so
  // a test neither waits out the write budget nor a Retry-After pause (tests of the pacer itself
  // use a fake clock they move by hand).
  let virtualMs = 0;
  const pacer = new GraphPacer(config.graph.pacing, {
    now: () => virtualMs,
    sleep: (ms) => {
      virtualMs += Math.max(0, ms);
      return Promise.resolve();
    },
  });
  return graphGatewayFromConfig(
    config,
    silentLogger(),
    {
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    },
    { pacer },
  );
}

/** Rules from YAML text, compiled against the simulator's live catalog. */
export async function contextFor(gateway: GraphGateway, yaml: string): Promise<LicensingContext> {
  return loadLicensingContext(gateway, parseRules(yaml, 'rules.yaml'));
}

/** What {@link applyFor} returns: the job's record and what led to it. */
export interface AppliedJob {
  record: OutcomeRecord;
  user: GraphUser | null;
  decision: Decision | null;
  plan: LicensePlan | null;
  retry: RetryHint | null;
  writes: number;
  /** A pending record of the job exists (its final record must clear it). */
  pending: boolean;
}

/** Runs the engine for one user, as the worker would for a job naming that user. */
export async function applyFor(
  gateway: GraphGateway,
  context: LicensingContext,
  userId: string,
  options: {
    dryRun?: boolean;
    action?: 'reconcile' | 'leave' | 'reclaim';
    source?: JobSource;
    journal?: OutcomeStore;
    leavers?: LeaverView;
    jobId?: string;
    acceptedAt?: string;
    attempt?: number;
    eventAt?: Date;
  } = {},
): Promise<AppliedJob> {
  const now = new Date();
  const result = await runJob(
    {
      facts: {
        jobId: options.jobId ?? randomUUID(),
        correlationId: randomUUID(),
        source: options.source ?? 'graph',
        eventId: null,
        acceptedAt: options.acceptedAt ?? now.toISOString(),
        attempt: options.attempt ?? 0,
        dryRun: options.dryRun ?? false,
        userRef: { id: userId },
        startedAt: now,
      },
      user: { id: userId },
      action: options.action ?? 'reconcile',
      eventAt: options.eventAt ?? now,
    },
    {
      gateway,
      context,
      logger: silentLogger(),
      now: () => new Date(),
      journal: options.journal ?? null,
      lookUpJob: options.journal !== undefined,
      leavers: options.leavers ?? null,
      readBack: (id) => gateway.getUser(id, context.select),
    },
  );
  if (result.kind === 'duplicate') {
    return {
      record: result.record,
      user: null,
      decision: null,
      plan: null,
      retry: null,
      writes: 0,
      pending: false,
    };
  }
  return {
    record: result.record,
    user: result.user,
    decision: result.decision,
    plan: result.decision?.plan ?? null,
    retry: result.retry,
    writes: result.record.writes,
    pending: result.pending,
  };
}

/** A table prefix no other test (file) uses: letters and digits, starting with a letter. */
export function randomTablePrefix(): string {
  return `t${randomBytes(6).toString('hex')}`;
}

const tempDirs: string[] = [];

/** Writes `text` to a fresh temporary directory and returns the file's path. */
export async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ems-licensing-test-'));
  tempDirs.push(dir);
  const file = path.join(dir, name);
  await writeFile(file, text, 'utf8');
  return file;
}

/** Removes every folder {@link tempFile} made (call from afterAll). */
export async function removeTempFiles(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

export interface RecordingIo extends CliIo {
  stdoutText(): string;
  stderrText(): string;
  /** Non-empty stdout lines. */
  stdoutLines(): string[];
}

/** A CliIo that keeps everything written, with the progress bar off. */
export function recordingIo(): RecordingIo {
  const out: string[] = [];
  const err: string[] = [];
  const logs: string[] = [];
  return {
    stdout: { write: (t: string) => void out.push(t) },
    stderr: { write: (t: string) => void err.push(t) },
    progress: false,
    logDestination: { write: (line: string) => void logs.push(line) },
    stdoutText: () => out.join(''),
    stderrText: () => err.join(''),
    stdoutLines: () =>
      out
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== ''),
  };
}

/**
 * The environment a CLI run against the simulator and Azurite gets. The simulator does not
 * throttle here, so the app's write budget is raised to its ceiling (70,000 per 150 s): these tests are about what
 * the CLI decides and records, and Graph's real 20 writes/s would only make them wait (the pacer's
 * own tests hold it to the real budget).
 */
export function cliEnv(
  sim: Simulator,
  connectionString: string,
  tablePrefix: string,
): Record<string, string> {
  return {
    GRAPH_BASE_URL: sim.url,
    GRAPH_WRITE_BUDGET_PER_150S: '70000',
    STORAGE_CONNECTION_STRING: connectionString,
    STORAGE_TABLE_PREFIX: tablePrefix,
    LOG_LEVEL: 'warn',
  };
}
