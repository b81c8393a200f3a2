/**
 * A Microsoft Graph v1.0 tenant simulator on loopback: the subset of Graph this app uses, with
 * Graph's documented shapes, errors, paging, delta semantics and throttling. See ./README.md.
 *
 * ```ts
 * const sim = await startSimulator({ tenant: await loadSampleTenant() });
 * await fetch(`${sim.url}/v1.0/users?$select=id`, { headers: { authorization: 'Bearer x' } });
 * await sim.close();
 * ```
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counters } from './counters.js';
import { DeltaHandlers } from './delta.js';
import { Directory } from './directory.js';
import { Faults } from './faults.js';
import { latencySettingsSchema } from './latency.js';
import { GroupHandlers } from './groups.js';
import { createRequestListener } from './router.js';
import { Subscriptions } from './subscriptions.js';
import { LiveTenant } from './tenant-state.js';
import { Throttle, throttlingSettingsSchema, type ThrottlingInput } from './throttle.js';
import type { RecordedRequest, Simulator, SimulatorOptions } from './types.js';
import { UserHandlers } from './users.js';

export type * from './graph-resources.js';
export type * from './types.js';
export { REQUEST_KINDS } from './types.js';
export {
  requestCost,
  resourceUnitsPer10sFor,
  SIMULATED_APP_ID,
  type ThrottleStats,
  type ThrottlingInput,
  type ThrottlingSettings,
} from './throttle.js';
export type { LatencyInput, LatencySettings } from './latency.js';
export {
  DYNAMIC_MEMBERSHIP,
  loadSampleTenant,
  loadTenantFile,
  parseTenantFile,
  SAMPLE_TENANT_PATH,
  tenantFileSchema,
  type TenantFile,
  type TenantFileInput,
} from './tenant-file.js';
export { loadSampleState, saveSampleState } from './sample-state.js';
export { prng } from './prng.js';
export { startFaultProxy, type FaultProxy, type FaultProxyOptions, type ProxyFate } from './fault-proxy.js';

/** Graph gives a subscriber 10 seconds to answer the validation request (change-notifications-delivery-webhooks). */
const DEFAULT_NOTIFICATION_TIMEOUT_MS = 10_000;

/** The throttle the options (over the tenant file) ask for, or null when throttling is off. */
function throttleFor(options: SimulatorOptions, now: () => Date): Throttle | null {
  const chosen: boolean | ThrottlingInput | undefined = options.throttling ?? options.tenant.throttling;
  if (chosen === undefined || chosen === false) return null;
  const settings = throttlingSettingsSchema.parse(chosen === true ? {} : chosen);
  return new Throttle(
    settings,
    { tenantId: options.tenant.tenantId, users: options.tenant.users.length },
    now().getTime(),
  );
}

/** Starts the simulator on 127.0.0.1 (port 0 by default) and resolves once it listens. */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const now = options.now ?? (() => new Date());
  const dir = new Directory(options.tenant, now);
  const throttle = throttleFor(options, now);
  const latencyInput = options.latency ?? options.tenant.latency;
  const latency = latencyInput === undefined ? null : latencySettingsSchema.parse(latencyInput);
  const subscriptions = new Subscriptions(
    dir,
    options.notificationTimeoutMs ?? DEFAULT_NOTIFICATION_TIMEOUT_MS,
  );
  const delta = new DeltaHandlers();
  const counters = new Counters();
  const faults = new Faults();
  const requests: RecordedRequest[] = [];
  let baseUrl = '';

  const server = createServer(
    createRequestListener({
      dir,
      users: new UserHandlers(),
      groups: new GroupHandlers(),
      delta,
      subscriptions,
      counters,
      faults,
      requests,
      requireAuth: options.requireAuth ?? true,
      baseUrl: () => baseUrl,
      throttle,
      latency: latency !== null && (latency.readMs > 0 || latency.writeMs > 0) ? latency : null,
      recordRequests: options.recordRequests ?? true,
    }),
  );
  // Node's fetch does not reuse a connection whose keep-alive hint is short, so a short timeout
  // makes every request a new TCP connection (thousands in TIME_WAIT in a large benchmark).
  // close() closes open connections itself, so a longer timeout does not slow shutdown.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    counters,
    requests,
    faults,
    tenant: new LiveTenant(dir, subscriptions, delta),
    throttleStats: () => throttle?.stats() ?? null,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      }),
  };
}
