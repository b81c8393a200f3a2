/**
 * startLocalStorage: an Azurite of its own with data in a folder, which survives stop and start,
 * ends with the process that started it (even on SIGKILL), and is not started twice on one folder.
 * (This file starts its own Azurite processes, separate from the shared test one.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';
import { AZURITE_LOCK_FILE, processAlive, type AzuriteLock } from '../../lib/cli/local/azurite-lock.js';
import { findAzurite } from '../../lib/cli/local/azurite-process.js';
import {
  AZURITE_MISSING_MESSAGE,
  startLocalStorage,
  type LocalStorage,
} from '../../lib/cli/local/local-storage.js';
import { DEFAULT_SUMMARY_CONTAINER, createStorage } from '../../lib/store/table-clients.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const record: OutcomeRecord = {
  userId: 'local-user',
  userPrincipalName: 'local.user@contoso.example',
  jobId: 'cli-run-1',
  correlationId: 'cli-1',
  source: 'cli',
  eventId: null,
  rule: 'everyone',
  outcome: 'ASSIGNED',
  skus: ['EMS'],
  licensesBefore: [],
  licensesAfter: ['EMS:INTUNE_A'],
  actions: [],
  conflicts: [],
  error: null,
  retryAt: null,
  dryRun: false,
  durationMs: 42,
  recordedAt: '2024-06-01T12:00:00.000Z',
  phase: 'final',
  attempt: 0,
  acceptedAt: '2024-06-01T12:00:00.000Z',
  writes: 1,
  recovered: false,
};

const bases: string[] = [];
const running: LocalStorage[] = [];
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const local of running) await local.stop();
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const base of bases) await rm(base, { recursive: true, force: true });
});

async function dataFolder(): Promise<string> {
  const base = await mkdtemp(path.join(tmpdir(), 'ems-local-'));
  bases.push(base);
  return path.join(base, '.local', 'azurite');
}

/**
 * Polls `done` until it holds or `capMs` has passed. Nothing is asserted about how soon: the cap
 * is generous and only turns "never" into a failure instead of a hang.
 */
async function eventually(done: () => boolean, capMs = 60_000): Promise<boolean> {
  for (let waited = 0; waited < capMs; waited += 100) {
    if (done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return done();
}

function table(connectionString: string, name: string): TableClient {
  return TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection: true });
}

/** The pid of a process that has exited (for a lock whose owner is gone). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('startLocalStorage', () => {
  it('keeps tables and blobs in the data folder across stop and start', async () => {
    const dataDir = await dataFolder();

    const first = await startLocalStorage(dataDir);
    running.push(first);
    expect(first.dataDir).toBe(dataDir);
    const writer = createStorage({ connectionString: first.connectionString, tablePrefix: '' });
    await writer.ensureTables();
    await writer.outcomes.record(record);
    await writer.checkpoints.put(
      'users',
      'https://graph.example/delta?token=1',
      new Date('2024-06-01T00:00:00Z'),
    );
    await writer.summaries.write('cli-run-1', { ok: true }, '# ok');
    await first.stop();
    expect((await readdir(dataDir)).length).toBeGreaterThan(0);
    // Azurite removes its lock as it exits: the folder is free again.
    expect(existsSync(path.join(dataDir, AZURITE_LOCK_FILE))).toBe(false);

    const second = await startLocalStorage(dataDir);
    running.push(second);
    const reader = createStorage({ connectionString: second.connectionString, tablePrefix: '' });
    await reader.ensureTables();
    expect(await reader.outcomes.listByUser('local-user')).toStrictEqual([record]);
    expect((await reader.checkpoints.get('users'))?.deltaLink).toBe('https://graph.example/delta?token=1');
    const blob = BlobServiceClient.fromConnectionString(second.connectionString)
      .getContainerClient(DEFAULT_SUMMARY_CONTAINER)
      .getBlobClient('cli-run-1.md');
    expect((await blob.downloadToBuffer()).toString('utf8')).toBe('# ok');
  });
});

describe('the embedded Azurite and the process that started it', () => {
  it('exits when that process is SIGKILLed, writing its data, and the folder starts again', async () => {
    const dataDir = await dataFolder();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'test/support/local-storage-child.ts'), dataDir],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    const lines = createInterface({ input: child.stdout });
    const [line] = (await once(lines, 'line')) as [string];
    const { azuritePid } = JSON.parse(line) as { azuritePid: number };
    expect(processAlive(azuritePid)).toBe(true);

    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(await eventually(() => !processAlive(azuritePid))).toBe(true);
    // Its exit removed the lock; the entity read below shows it shut down properly (data written).
    expect(existsSync(path.join(dataDir, AZURITE_LOCK_FILE))).toBe(false);

    const notices: string[] = [];
    const second = await startLocalStorage(dataDir, { notice: (l) => notices.push(l) });
    running.push(second);
    expect(notices).toEqual([]);
    const entity = await table(second.connectionString, 'killed').getEntity('p', 'before-kill');
    expect(entity.written).toBe('by the killed run');
  }, 180_000);

  it('stops an Azurite a gone run left on the folder (its data kept) before starting its own', async () => {
    const dataDir = await dataFolder();
    // An Azurite as a run of an older version left it: no parent watch, its owner gone.
    const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
    const orphan = spawn(
      process.execPath,
      [
        findAzurite()!,
        ...['--blobHost', '127.0.0.1', '--blobPort', String(blobPort)],
        ...['--queueHost', '127.0.0.1', '--queuePort', String(queuePort)],
        ...['--tableHost', '127.0.0.1', '--tablePort', String(tablePort)],
        ...['--location', dataDir, '--silent', '--disableTelemetry', '--skipApiVersionCheck'],
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(orphan);
    const orphanExit = once(orphan, 'exit');
    let out = '';
    orphan.stdout.on('data', (d: Buffer) => (out += d.toString()));
    expect(await eventually(() => /Table service is successfully/.test(out))).toBe(true);
    const lock: AzuriteLock = {
      ownerPid: await deadPid(),
      pid: orphan.pid!,
      blobPort,
      queuePort,
      tablePort,
      startedAt: '2026-01-05T08:00:00.000Z',
    };
    await writeFile(path.join(dataDir, AZURITE_LOCK_FILE), JSON.stringify(lock));
    const key = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
    const orphanTables = table(
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};TableEndpoint=http://127.0.0.1:${String(tablePort)}/devstoreaccount1;`,
      'orphaned',
    );
    await orphanTables.createTable();
    await orphanTables.createEntity({ partitionKey: 'p', rowKey: 'r', written: 'by the orphan' });

    const notices: string[] = [];
    const local = await startLocalStorage(dataDir, { notice: (l) => notices.push(l) });
    running.push(local);
    expect(notices).toEqual([
      `Stopped Azurite pid ${String(orphan.pid)}, left running on ${dataDir} by an earlier run.`,
    ]);
    // Asked to shut down (SIGTERM, its own handler), not killed.
    expect(await orphanExit).toEqual([0, null]);
    const entity = await table(local.connectionString, 'orphaned').getEntity('p', 'r');
    expect(entity.written).toBe('by the orphan');
  }, 180_000);

  it('refuses to start a second Azurite on a folder a live run is using, and leaves that one running', async () => {
    const dataDir = await dataFolder();
    const first = await startLocalStorage(dataDir);
    running.push(first);
    const second = startLocalStorage(dataDir);
    await expect(second).rejects.toThrow(ConfigError);
    await expect(second).rejects.toThrow(
      `Another run (pid ${String(process.pid)}) is using the local storage in ${dataDir} (its Azurite is pid ${String(first.pid)}`,
    );
    expect(processAlive(first.pid)).toBe(true);
    await table(first.connectionString, 'stillthere').createTable();
  }, 120_000);

  it('says what to do, and starts nothing, when Azurite is not installed', async () => {
    const dataDir = await dataFolder();
    const start = startLocalStorage(dataDir, { azuriteEntry: null });
    await expect(start).rejects.toThrow(ConfigError);
    await expect(start).rejects.toThrow(AZURITE_MISSING_MESSAGE);
    expect(existsSync(dataDir)).toBe(false);
  });
});
