/**
 * releaseStaleAzurite's decisions that need no Azurite: a lock whose Azurite is gone, a lock whose
 * pid now belongs to another program, and a lock file that is not one. (Stopping a real stale
 * Azurite, and refusing a folder in use, are in test/integration/store-local.test.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AZURITE_LOCK_FILE,
  processAlive,
  readAzuriteLock,
  releaseStaleAzurite,
  type AzuriteLock,
} from '../../lib/cli/local/azurite-lock.js';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

async function lockFile(content: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ems-lock-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, AZURITE_LOCK_FILE);
  await writeFile(file, content);
  return file;
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

function lock(pid: number, ownerPid: number): AzuriteLock {
  // Port 9 (discard) on loopback: nothing answers there as Azurite.
  return { ownerPid, pid, blobPort: 9, queuePort: 9, tablePort: 9, startedAt: '2026-01-05T08:00:00.000Z' };
}

describe('releaseStaleAzurite', () => {
  it('removes a lock whose Azurite has exited', async () => {
    const file = await lockFile(JSON.stringify(lock(await deadPid(), await deadPid())));
    expect(await releaseStaleAzurite(file)).toEqual({ kind: 'none' });
    expect(existsSync(file)).toBe(false);
  });

  it('leaves alone a live process that is not Azurite (the pid was reused), after waiting for it', async () => {
    const other: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)']);
    cleanup.push(async () => {
      other.kill('SIGKILL');
      await once(other, 'exit');
    });
    const file = await lockFile(JSON.stringify(lock(other.pid!, await deadPid())));
    const slept: number[] = [];
    const result = await releaseStaleAzurite(file, {
      graceMs: 500,
      pollMs: 100,
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
    });
    expect(result).toEqual({ kind: 'notAzurite', pid: other.pid });
    // It was given the whole grace period to exit on its own, then left running.
    expect(slept).toEqual([100, 100, 100, 100, 100]);
    expect(processAlive(other.pid!)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it('treats a file that is not a lock as no lock', async () => {
    const file = await lockFile('{"pid": "not a number"');
    expect(await readAzuriteLock(file)).toBe(null);
    expect(await releaseStaleAzurite(file)).toEqual({ kind: 'none' });
    expect(existsSync(file)).toBe(false);
  });
});
