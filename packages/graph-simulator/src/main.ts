/**
 * Runs the simulator from the command line (the package's `graph-simulator` bin runs this file):
 *   graph-simulator [--tenant FILE] [--port N] [--no-auth]
 * Prints the base URL (without /v1.0) and serves until interrupted.
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
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be an integer between 0 and 65535, got ${values.port}`);
  }
  const tenant = await loadTenantFile(values.tenant);
  const sim = await startSimulator({ tenant, port, requireAuth: !values['no-auth'] });
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
