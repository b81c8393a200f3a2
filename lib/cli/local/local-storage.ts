/**
 * Storage for the CLI when none is configured: an Azurite on loopback whose data lives in a
 * folder (e.g. `.local/azurite`), so outcome records survive between CLI runs.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startAzurite } from './azurite-process.js';

/** A running local storage emulator. */
export interface LocalStorage {
  /** Connection string for this run (the ports change between runs; the data does not). */
  connectionString: string;
  /** The absolute data folder. */
  dataDir: string;
  /** Stops Azurite; it writes its data to `dataDir` as it shuts down. */
  stop(): Promise<void>;
}

/**
 * Starts Azurite (blob and table) with persistent data in `dataDir`, creating the folder if
 * needed. Stop it with `stop()` before the process exits so nothing is lost.
 */
export async function startLocalStorage(dataDir: string): Promise<LocalStorage> {
  const dir = path.resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const azurite = await startAzurite({ location: dir });
  return {
    connectionString: azurite.connectionString,
    dataDir: dir,
    stop: () => azurite.stop(),
  };
}
