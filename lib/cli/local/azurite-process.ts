/**
 * Starts Azurite (the official Azure Storage emulator) on loopback as a child process that ends
 * with the process that started it. Used by the test setup and by the CLI when no storage is
 * configured. Azurite is a development dependency: a production install (`--omit=dev`) has none,
 * and {@link findAzurite} says so instead of failing inside `require`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import type { AzuriteLock } from './azurite-lock.js';

/** Azurite's well-known development account (public, documented; not a secret). */
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteHandle {
  connectionString: string;
  tablePort: number;
  blobPort: number;
  pid: number;
  /** Shuts Azurite down the way Ctrl-C does (it writes its data), then waits for it to exit. */
  stop(): Promise<void>;
}

/** Asks the OS for a free loopback port (Azurite cannot report a port it picked itself). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The path of Azurite's entry script in this installation, or null when the `azurite` package is
 * not installed (a production install leaves development dependencies out).
 */
export function findAzurite(): string | null {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('azurite/package.json');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw error;
  }
  return path.join(path.dirname(pkg), 'dist', 'src', 'azurite.js');
}

/**
 * Loaded into the Azurite process before Azurite itself (`node --import`), so that Azurite ends
 * with its parent. The parent holds the other end of an IPC channel; the OS closes it when the
 * parent exits for any reason, SIGKILL included, and Node then emits `disconnect` here. Azurite is
 * then shut down through its own SIGTERM handler (servers closed, data written), emitted rather
 * than sent so it works the same on Windows, where signals cannot be caught. Before Azurite has
 * installed that handler (still starting) there is nothing to save and the process just exits. A
 * last-resort timer ends a shutdown that hangs. Azurite logs as it shuts down, and once the parent
 * is gone its stdout is a broken pipe: without a listener, that EPIPE would crash Azurite before it
 * has written its data. On exit the lock file (see azurite-lock.ts) is removed if it is still this
 * process's.
 */
const parentWatch = (lockFile: string | undefined): string => `
import { readFileSync, unlinkSync } from 'node:fs';
const lockFile = ${JSON.stringify(lockFile ?? '')};
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
process.on('disconnect', () => {
  setTimeout(() => process.exit(1), 30000).unref();
  if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');
  else process.exit(0);
});
if (lockFile) {
  process.on('exit', () => {
    try {
      if (JSON.parse(readFileSync(lockFile, 'utf8')).pid === process.pid) unlinkSync(lockFile);
    } catch {}
  });
}
`;
const parentWatchUrl = (lockFile: string | undefined): string =>
  `data:text/javascript,${encodeURIComponent(parentWatch(lockFile))}`;

export interface StartAzuriteOptions {
  /** Folder for persistent data; in-memory when omitted. */
  location?: string;
  /**
   * Written as soon as Azurite is spawned (who started it, its pid and ports) and removed by
   * Azurite when it exits, so a later start can tell a live instance from a stale file.
   */
  lockFile?: string;
  /** Azurite's entry script; {@link findAzurite} by default. */
  entry?: string;
  /** How long to wait for both services to say they started. */
  timeoutMs?: number;
}

/**
 * Starts Azurite's blob and table services (the queue service too: Azurite has no switch to leave
 * it out). `--disableTelemetry` matters: with telemetry on, Azurite may not shut down on SIGTERM.
 * `--skipApiVersionCheck` lets newer SDKs talk to it.
 */
export async function startAzurite(options: StartAzuriteOptions = {}): Promise<AzuriteHandle> {
  const entry = options.entry ?? findAzurite();
  if (entry === null) {
    throw new Error('Azurite is not installed (npm package `azurite`, a development dependency).');
  }
  const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
  const args = [
    '--import',
    parentWatchUrl(options.lockFile),
    entry,
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    String(blobPort),
    '--queueHost',
    '127.0.0.1',
    '--queuePort',
    String(queuePort),
    '--tableHost',
    '127.0.0.1',
    '--tablePort',
    String(tablePort),
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--silent',
    ...(options.location ? ['--location', options.location] : ['--inMemoryPersistence']),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  // The channel exists to close when this process dies; it must not keep this process alive.
  child.channel?.unref();
  const pid = child.pid ?? -1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timeoutMs = options.timeoutMs ?? 30_000;
  let output = '';
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`Azurite did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (/Table service is successfully/i.test(output) && /Blob service is successfully/i.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${String(code)} before it started:\n${output}`));
    });
  });

  // Awaited below; until then a failure must not count as unhandled.
  started.catch(() => undefined);

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Closing the channel takes the same path as this process dying (see parentWatch).
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };

  try {
    if (options.lockFile) {
      const lock: AzuriteLock = {
        ownerPid: process.pid,
        pid,
        blobPort,
        queuePort,
        tablePort,
        startedAt: new Date().toISOString(),
      };
      await writeFile(options.lockFile, `${JSON.stringify(lock)}\n`);
    }
    await started;
  } catch (error) {
    await stop();
    throw error;
  }
  const connectionString =
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
    `BlobEndpoint=http://127.0.0.1:${blobPort}/${AZURITE_ACCOUNT};` +
    `TableEndpoint=http://127.0.0.1:${tablePort}/${AZURITE_ACCOUNT};`;
  return { connectionString, tablePort, blobPort, pid, stop };
}
