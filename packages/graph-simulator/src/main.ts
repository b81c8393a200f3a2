/**
 * Runs the simulator from the command line (the package's `graph-simulator` bin runs this file):
 *   graph-simulator [--tenant FILE] [--port N] [--no-auth]
 *                   [--throttle] [--read-latency-ms N] [--write-latency-ms N]
 * `--throttle` enforces Graph's documented identity limits (./throttle.ts) with their defaults;
 * the latency flags hold every read or write answer that long (./latency.ts). Both override the
 * tenant file's `throttling` and `latency`. Prints the base URL (without /v1.0) and serves until
 * interrupted.
 */
import { parseArgs } from 'node:util';
import { loadTenantFile, SAMPLE_TENANT_PATH } from './tenant-file.js';
import { startSimulator } from './index.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string', default: SAMPLE_TENANT_PATH },
      port: { type: 'string', default: '0' },
      'no-auth': { type: 'boolean', default: false },
      throttle: { type: 'boolean' },
      'read-latency-ms': { type: 'string' },
      'write-latency-ms': { type: 'string' },
    },
  });
  const ms = (flag: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 60_000) {
      throw new Error(`--${flag} must be an integer number of milliseconds from 0 to 60000, got ${raw}`);
    }
    return n;
  };
  const readMs = ms('read-latency-ms', values['read-latency-ms']);
  const writeMs = ms('write-latency-ms', values['write-latency-ms']);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be an integer between 0 and 65535, got ${values.port}`);
  }
  const tenant = await loadTenantFile(values.tenant);
  const latency =
    readMs === undefined && writeMs === undefined
      ? tenant.latency
      : {
          ...tenant.latency,
          ...(readMs === undefined ? {} : { readMs }),
          ...(writeMs === undefined ? {} : { writeMs }),
        };
  const sim = await startSimulator({
    tenant,
    port,
    requireAuth: !values['no-auth'],
    ...(values.throttle === undefined ? {} : { throttling: values.throttle }),
    ...(latency === undefined ? {} : { latency }),
  });
  process.stdout.write(`${sim.url}\n`);
  const stop = (): void => {
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
