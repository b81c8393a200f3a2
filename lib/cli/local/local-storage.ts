/**
 * Storage for the CLI when none is configured: an Azurite on loopback whose data lives in a
 * folder (e.g. `.local/azurite`), so outcome records survive between CLI runs. Azurite is a
 * development tool: `npm install` in a clone installs it; a production install does not, and then
 * `apply` without configured storage stops before changing anything and says what to do.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../../config.js';
import { AZURITE_LOCK_FILE, releaseStaleAzurite, type StaleAzurite } from './azurite-lock.js';
import { findAzurite, startAzurite } from './azurite-process.js';

/** A running local storage emulator. */
export interface LocalStorage {
  /** Connection string for this run (the ports change between runs; the data does not). */
  connectionString: string;
  /** The absolute data folder. */
  dataDir: string;
  /** Azurite's process id. */
  pid: number;
  /** Stops Azurite; it writes its data to `dataDir` as it shuts down. */
  stop(): Promise<void>;
}

export interface LocalStorageOptions {
  /** Told what was done about an Azurite an earlier run left on the folder. */
  notice?: (line: string) => void;
  /** Azurite's entry script, or null when it is not installed; default {@link findAzurite}. */
  azuriteEntry?: string | null;
}

/** What the CLI says when it needs the embedded storage and Azurite is not installed. */
export const AZURITE_MISSING_MESSAGE =
  'No storage configured (STORAGE_CONNECTION_STRING or STORAGE_TABLE_ENDPOINT), and the local ' +
  'storage emulator the CLI falls back to, Azurite, is not installed: it is a development ' +
  'dependency, left out by `npm install --omit=dev` and `npm ci --omit=dev`. Nothing was changed. ' +
  'Either run `npm install` in this folder (it installs Azurite) and try again, or set ' +
  'STORAGE_CONNECTION_STRING (or STORAGE_TABLE_ENDPOINT, signed in with `az login`) to record ' +
  'outcomes in Azure Table storage. plan, explain and validate need no storage.';

function describeStale(stale: StaleAzurite, where: string): string | null {
  switch (stale.kind) {
    case 'none':
      return null;
    case 'stopped':
      return `Stopped Azurite pid ${String(stale.pid)}, left running on ${where} by an earlier run.`;
    case 'killed':
      return `Killed Azurite pid ${String(stale.pid)}, left running on ${where} by an earlier run (it did not shut down when asked).`;
    case 'notAzurite':
      return `The lock in ${where} named pid ${String(stale.pid)}, which is no longer Azurite: lock removed.`;
  }
}

/**
 * Starts Azurite (blob and table) with persistent data in `dataDir`, creating the folder if
 * needed, after stopping an Azurite an earlier run left on it (see azurite-lock.ts). Azurite ends
 * with this process, however it ends; `stop()` ends it sooner.
 * @throws ConfigError when Azurite is not installed, or another live run is using the folder.
 */
export async function startLocalStorage(
  dataDir: string,
  options: LocalStorageOptions = {},
): Promise<LocalStorage> {
  const entry = options.azuriteEntry === undefined ? findAzurite() : options.azuriteEntry;
  if (entry === null) throw new ConfigError(AZURITE_MISSING_MESSAGE);
  const dir = path.resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const lockFile = path.join(dir, AZURITE_LOCK_FILE);
  const line = describeStale(await releaseStaleAzurite(lockFile), dir);
  if (line !== null) options.notice?.(line);
  const azurite = await startAzurite({ location: dir, lockFile, entry });
  return {
    connectionString: azurite.connectionString,
    dataDir: dir,
    pid: azurite.pid,
    stop: () => azurite.stop(),
  };
}
