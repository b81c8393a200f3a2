/**
 * startLocalStorage: an Azurite of its own with data in a folder, which survives stop and start.
 * (This file starts its own Azurite processes, separate from the shared test one.)
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, describe, expect, it } from 'vitest';
import type { OutcomeRecord } from '../../lib/licensing/types.js';
import { startLocalStorage, type LocalStorage } from '../../lib/cli/local/local-storage.js';
import { DEFAULT_SUMMARY_CONTAINER, createStorage } from '../../lib/store/table-clients.js';

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
};

describe('startLocalStorage', () => {
  let base: string | undefined;
  const running: LocalStorage[] = [];
  afterAll(async () => {
    for (const local of running) await local.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('keeps tables and blobs in the data folder across stop and start', async () => {
    base = await mkdtemp(path.join(tmpdir(), 'ems-local-'));
    const dataDir = path.join(base, '.local', 'azurite');

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
