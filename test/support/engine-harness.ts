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
import { loadLicensingContext, type LicensingContext } from '../../lib/engine/licensing-context.js';
import { processUser, type ProcessUserResult } from '../../lib/engine/process-user.js';
import type { GraphGateway } from '../../lib/graph/gateway.js';
import { graphGatewayFromConfig } from '../../lib/graph/graph-gateway.js';
import { silentLogger } from '../../lib/log.js';
import { parseRules } from '../../lib/rules/load.js';
import type { Simulator } from '@ems-licensing/graph-simulator';

/** The production wiring (config → credential → client → gateway) pointed at the simulator. */
export function simulatorGateway(sim: Simulator, env: Record<string, string> = {}): GraphGateway {
  return graphGatewayFromConfig(loadBaseConfig({ GRAPH_BASE_URL: sim.url, ...env }), silentLogger());
}

/** Rules from YAML text, compiled against the simulator's live catalog. */
export async function contextFor(gateway: GraphGateway, yaml: string): Promise<LicensingContext> {
  return loadLicensingContext(gateway, parseRules(yaml, 'rules.yaml'));
}

/** Runs the engine for one user, as the worker would for a job naming that user. */
export function applyFor(
  gateway: GraphGateway,
  context: LicensingContext,
  userId: string,
  options: { dryRun?: boolean; action?: 'reconcile' | 'leave' | 'reclaim' } = {},
): Promise<ProcessUserResult> {
  return processUser(
    {
      user: { id: userId },
      action: options.action ?? 'reconcile',
      source: 'test',
      eventId: null,
      jobId: randomUUID(),
      correlationId: randomUUID(),
      dryRun: options.dryRun ?? false,
    },
    { gateway, context, logger: silentLogger() },
  );
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

/** The environment a CLI run against the simulator and Azurite gets. */
export function cliEnv(
  sim: Simulator,
  connectionString: string,
  tablePrefix: string,
): Record<string, string> {
  return {
    GRAPH_BASE_URL: sim.url,
    STORAGE_CONNECTION_STRING: connectionString,
    STORAGE_TABLE_PREFIX: tablePrefix,
    LOG_LEVEL: 'warn',
  };
}
