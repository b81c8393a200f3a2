/**
 * The lock file the CLI keeps in its local Azurite data folder: which process started the Azurite
 * that uses the folder, and that Azurite's pid and ports. Azurite has no lock of its own, and two
 * instances on one folder overwrite each other's data (each keeps the database in memory and
 * writes it out whole), so every start looks here first.
 *
 * An Azurite started by this code ends with its parent (see azurite-process.ts), so a stale one
 * is rare: left by a run of an older version, or one that hung while shutting down. It is found
 * through this file and stopped, not reused: a reused instance would have no parent watching it
 * and would outlive this run as well.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../../config.js';

/** The lock file's name inside the data folder. */
export const AZURITE_LOCK_FILE = 'ems-licensing-azurite.lock.json';

/** What the lock file holds. */
export interface AzuriteLock {
  /** The process that started Azurite (the CLI, or a test). */
  ownerPid: number;
  /** Azurite's own process. */
  pid: number;
  blobPort: number;
  queuePort: number;
  tablePort: number;
  startedAt: string;
}

/** What a start found and did about an earlier Azurite on the same folder. */
export type StaleAzurite =
  /** No lock file, or one whose Azurite had already exited. */
  | { kind: 'none' }
  /** An Azurite left running by a run that is gone; it was shut down (its data written). */
  | { kind: 'stopped'; pid: number }
  /** The same, but it did not exit when asked and was killed. */
  | { kind: 'killed'; pid: number }
  /** The lock named a pid that is alive but not an Azurite (the pid was reused): left alone. */
  | { kind: 'notAzurite'; pid: number };

export interface ReleaseOptions {
  /** How long to give the earlier Azurite to exit after asking it to; default 20 s. */
  graceMs?: number;
  /** Pause between checks whether it has exited; default 100 ms. */
  pollMs?: number;
  /** Injectable pause (tests). */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** True while a process with this pid exists (EPERM: it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isLock(value: unknown): value is AzuriteLock {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['ownerPid', 'pid', 'blobPort', 'queuePort', 'tablePort'].every(
    (k) => Number.isInteger(v[k]) && (v[k] as number) > 0,
  );
}

/** The lock at `file`, or null when there is none (an unreadable one counts as none). */
export async function readAzuriteLock(file: string): Promise<AzuriteLock | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isLock(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** Whether an Azurite blob service answers on `port` (it names itself in the Server header). */
async function answersAsAzurite(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${String(port)}/`, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return /^Azurite-Blob\//.test(res.headers.get('server') ?? '');
  } catch {
    return false;
  }
}

/** Linux only: whether the process's command line runs Azurite (null where that cannot be read). */
async function runsAzurite(pid: number): Promise<boolean | null> {
  if (process.platform !== 'linux') return null;
  try {
    return (await readFile(`/proc/${String(pid)}/cmdline`, 'utf8')).includes('azurite');
  } catch {
    return null;
  }
}

/**
 * Makes the data folder whose lock is `lockFile` free for a new Azurite.
 *
 * - No lock, or its Azurite has exited: nothing to do (a leftover file is removed).
 * - Its Azurite and the run that started it are both alive: another run is using the folder, and
 *   starting a second Azurite on it would lose data, so this fails and says so.
 * - Its Azurite is alive but that run is gone: the Azurite is shut down through its SIGTERM handler
 *   (which writes its data), and killed only if it has not exited within `graceMs`. One that no
 *   longer answers may already be shutting down (a second SIGTERM would cut that short), so it is
 *   given `graceMs` to finish first; past that it is killed if it is recognisably Azurite, and
 *   otherwise left alone (its pid now belongs to something else).
 */
export async function releaseStaleAzurite(
  lockFile: string,
  options: ReleaseOptions = {},
): Promise<StaleAzurite> {
  const lock = await readAzuriteLock(lockFile);
  if (lock === null || !processAlive(lock.pid)) {
    await rm(lockFile, { force: true });
    return { kind: 'none' };
  }
  if (processAlive(lock.ownerPid)) {
    throw new ConfigError(
      `Another run (pid ${String(lock.ownerPid)}) is using the local storage in ${path.dirname(lockFile)} ` +
        `(its Azurite is pid ${String(lock.pid)}, started ${lock.startedAt}). Wait for that run to finish and try again. ` +
        `If no such run exists (the pid now belongs to another program), stop Azurite pid ${String(lock.pid)} and delete ${lockFile}.`,
    );
  }
  const sleep = options.sleep ?? defaultSleep;
  const pollMs = options.pollMs ?? 100;
  const polls = Math.ceil((options.graceMs ?? 20_000) / pollMs);
  const exits = async (): Promise<boolean> => {
    for (let i = 0; i < polls; i++) {
      if (!processAlive(lock.pid)) return true;
      await sleep(pollMs);
    }
    return !processAlive(lock.pid);
  };

  let result: StaleAzurite;
  if (await answersAsAzurite(lock.blobPort)) {
    process.kill(lock.pid, 'SIGTERM');
    result = (await exits()) ? { kind: 'stopped', pid: lock.pid } : await kill(lock.pid, exits);
  } else if (await exits()) {
    result = { kind: 'stopped', pid: lock.pid };
  } else if ((await runsAzurite(lock.pid)) === true) {
    result = await kill(lock.pid, exits);
  } else {
    result = { kind: 'notAzurite', pid: lock.pid };
  }
  await rm(lockFile, { force: true });
  return result;
}

async function kill(pid: number, exits: () => Promise<boolean>): Promise<StaleAzurite> {
  process.kill(pid, 'SIGKILL');
  if (!(await exits())) {
    throw new Error(`Azurite pid ${String(pid)}, left by an earlier run, did not exit even when killed.`);
  }
  return { kind: 'killed', pid };
}
