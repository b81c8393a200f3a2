/**
 * Intake answer time: how long the graph-notifications handler takes to answer a batch of change
 * notifications, for batches of Graph's sizes. Graph wants a 2xx within 3 s and counts answers
 * over 2,900 ms as slow (learn.microsoft.com/graph/change-notifications-delivery-webhooks).
 *
 *   npx tsx bench/intake.bench.ts [--sizes 100,300,1000] [--repeats 5] [--backlog 10000] [--hr 20]
 *
 * What runs: the real handler factory from lib/functions (the one functions/graph-notifications.ts
 * registers), called with real `HttpRequest` and `InvocationContext` objects from
 * @azure/functions, on app parts built by `createAppParts` from settings, as in Azure: the intake
 * storage (@azure/data-tables, tight retries) on an Azurite started here (its own process), and
 * the intake publisher (@azure/service-bus) on the AMQP test broker (test/support/amqp-broker.ts),
 * which runs in this process and so takes CPU from the handler (Service Bus is another machine in
 * production: the figures are on the slow side). One subscription record is stored, as the
 * subscription keeper leaves it, and every item carries its clientState.
 *
 * Each measurement posts a batch of `size` distinct users never seen before (every job is new:
 * inbox check, one publish, inbox record), then the very same body again (Graph's redelivery:
 * every item a duplicate). The clock starts when the handler is called and stops when its answer
 * is returned. A warm-up batch first builds the clients (a cold start is not measured here).
 *
 * The app's clock is frozen for the whole run, so every inbox entry lands in the same 2-minute
 * window: the worst case for the inbox check, which reads the entries of the current and the
 * previous window (lib/store/inbox-table.ts). `--backlog N` then posts N more notifications (in
 * batches of 1,000, not timed) and times one more 1,000-user batch and its redelivery, to show
 * what a busy window costs. `--hr N` also times N single HR webhook deliveries, one after another.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import functions, {
  type HttpRequest as FunctionsHttpRequest,
  type HttpResponseInit,
  type InvocationContext as FunctionsContext,
} from '@azure/functions';
import { createAppParts } from '../lib/app.js';
import { graphNotificationsHandler } from '../lib/functions/graph-notifications.js';
import { hrWebhookHandler } from '../lib/functions/hr-webhook.js';
import { signStandardWebhook } from '../lib/intake/standard-webhooks.js';
import { silentLogger } from '../lib/log.js';
import { startAzurite } from '../lib/cli/local/azurite-process.js';
import { startAmqpBroker } from '../test/support/amqp-broker.js';

// @azure/functions is CommonJS whose exports Node's ESM loader cannot list (vitest can): take the
// classes from the default export.
const { HttpRequest, InvocationContext } = functions;

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,300,1000' },
    repeats: { type: 'string', default: '5' },
    hr: { type: 'string', default: '20' },
    backlog: { type: 'string', default: '10000' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const repeats = Number(args.repeats);
const hrRuns = Number(args.hr);
const backlog = Number(args.backlog);
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(repeats) || repeats < 1) {
  throw new Error('--sizes must list positive integers and --repeats be a positive integer');
}
if (!Number.isInteger(hrRuns) || hrRuns < 0) throw new Error('--hr must be an integer of at least 0');
if (!Number.isInteger(backlog) || backlog < 0) throw new Error('--backlog must be an integer of at least 0');

const TENANT = '84bd8158-6d4d-4958-8b9f-9d6445542f95';
const SUBSCRIPTION = randomUUID();
const clientState = randomBytes(24).toString('base64url');
const hrSecret = `whsec_${randomBytes(32).toString('base64')}`;

const azurite = await startAzurite();
const broker = await startAmqpBroker();
const queue = 'license-jobs';
const notificationUrl = 'https://ems-licensing.example.net/api/graph-notifications';
const env: Record<string, string> = {
  STORAGE_CONNECTION_STRING: azurite.connectionString,
  STORAGE_TABLE_PREFIX: `bench${randomBytes(4).toString('hex')}`,
  ServiceBusConnection: broker.connectionString(queue),
  LICENSE_JOBS_QUEUE: queue,
  NOTIFICATION_URL: notificationUrl,
  GRAPH_CLIENT_STATE: clientState,
  HR_WEBHOOK_SECRETS: hrSecret,
  AZURE_TENANT_ID: TENANT,
  LOG_LEVEL: 'silent',
};
// Frozen: see the header. Real time still drives the budget timer and the SDKs.
const frozen = new Date();
const parts = createAppParts(env, silentLogger(), { now: () => frozen });
const graph = graphNotificationsHandler(() => parts);
const hr = hrWebhookHandler(() => parts);

// The record the subscription keeper stores when it creates the /users subscription.
await (
  await parts.storage()
).subscriptions.upsert({
  id: SUBSCRIPTION,
  resource: '/users',
  changeType: 'updated,deleted',
  notificationUrl,
  expirationDateTime: new Date(frozen.getTime() + 28 * 86_400_000).toISOString(),
  clientStateRef: 'GRAPH_CLIENT_STATE',
  updatedAt: new Date().toISOString(),
});

/** A batch as Graph sends it for `size` users (basic notifications, changenotification resource). */
function batch(size: number): Uint8Array {
  const value = Array.from({ length: size }, () => {
    const id = randomUUID();
    return {
      subscriptionId: SUBSCRIPTION,
      subscriptionExpirationDateTime: new Date(frozen.getTime() + 28 * 86_400_000).toISOString(),
      changeType: 'updated',
      resource: `Users/${id}`,
      resourceData: {
        '@odata.type': '#Microsoft.Graph.User',
        '@odata.id': `Users/${id}`,
        id,
        organizationId: TENANT,
      },
      clientState,
      tenantId: TENANT,
    };
  });
  return Buffer.from(JSON.stringify({ value }), 'utf8');
}

function context(functionName: string): FunctionsContext {
  return new InvocationContext({ invocationId: randomUUID(), functionName });
}

function graphRequest(bytes: Uint8Array): FunctionsHttpRequest {
  return new HttpRequest({
    method: 'POST',
    url: notificationUrl,
    headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': String(bytes.length) },
    body: { bytes },
  });
}

async function timed(call: () => Promise<HttpResponseInit>): Promise<{ ms: number; res: HttpResponseInit }> {
  const started = process.hrtime.bigint();
  const res = await call();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, res };
}

const jobsIn = (res: HttpResponseInit): number => {
  const body = typeof res.body === 'string' ? (JSON.parse(res.body) as { jobs?: unknown }) : {};
  return typeof body.jobs === 'number' ? body.jobs : -1;
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const fmt = (ms: number): string => `${Math.round(ms).toLocaleString('en-US')} ms`;

// Warm-up: builds the table clients, opens the AMQP link, loads the code paths.
await graph(graphRequest(batch(10)), context('graph-notifications'));

console.log(
  `intake bench: Node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}, ${repeats} repeats per size`,
);
console.log('');
console.log(
  '| batch | bytes | first delivery: median | max | statuses | jobs | redelivery: median | max | statuses | jobs |',
);
console.log('| ----: | ----: | ----: | ----: | :--- | ----: | ----: | ----: | :--- | ----: |');
/** Times `repeats` first deliveries of `size` new users and their redeliveries; prints one row. */
async function measure(label: string, size: number, times: number): Promise<void> {
  const first: number[] = [];
  const again: number[] = [];
  const firstStatus = new Map<number, number>();
  const againStatus = new Map<number, number>();
  let jobs = 0;
  let againJobs = 0;
  let bytes = 0;
  for (let i = 0; i < times; i++) {
    const body = batch(size);
    bytes = body.length;
    const a = await timed(() => graph(graphRequest(body), context('graph-notifications')));
    first.push(a.ms);
    firstStatus.set(a.res.status ?? 200, (firstStatus.get(a.res.status ?? 200) ?? 0) + 1);
    jobs += jobsIn(a.res);
    const b = await timed(() => graph(graphRequest(body), context('graph-notifications')));
    again.push(b.ms);
    againStatus.set(b.res.status ?? 200, (againStatus.get(b.res.status ?? 200) ?? 0) + 1);
    againJobs += jobsIn(b.res);
  }
  const statuses = (m: Map<number, number>) => [...m].map(([s, n]) => `${n}× ${s}`).join(', ');
  console.log(
    `| ${label} | ${bytes.toLocaleString('en-US')} | ${fmt(median(first))} | ${fmt(Math.max(...first))} | ${statuses(firstStatus)} | ${jobs.toLocaleString('en-US')} | ${fmt(median(again))} | ${fmt(Math.max(...again))} | ${statuses(againStatus)} | ${againJobs.toLocaleString('en-US')} |`,
  );
}

for (const size of sizes) await measure(size.toLocaleString('en-US'), size, repeats);
if (backlog > 0) {
  for (let posted = 0; posted < backlog; posted += 1_000) {
    await graph(graphRequest(batch(Math.min(1_000, backlog - posted))), context('graph-notifications'));
  }
  await measure(`1,000 after ${backlog.toLocaleString('en-US')} more in the window`, 1_000, 1);
}

if (hrRuns > 0) {
  const times: number[] = [];
  const statuses = new Map<number, number>();
  for (let i = 0; i < hrRuns; i++) {
    const bytes = Buffer.from(
      JSON.stringify({
        type: 'hire',
        user: { employeeId: `E${String(i)}` },
        attributes: { department: 'R&D' },
      }),
    );
    const id = `msg_${randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const req = new HttpRequest({
      method: 'POST',
      url: 'https://ems-licensing.example.net/api/hr-webhook',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signStandardWebhook({ id, timestamp, body: bytes, secret: hrSecret }),
      },
      body: { bytes },
    });
    const r = await timed(() => hr(req, context('hr-webhook')));
    times.push(r.ms);
    statuses.set(r.res.status ?? 200, (statuses.get(r.res.status ?? 200) ?? 0) + 1);
  }
  console.log('');
  console.log(
    `HR webhook, ${hrRuns} single deliveries: median ${fmt(median(times))}, max ${fmt(Math.max(...times))}; statuses ${[
      ...statuses,
    ]
      .map(([s, n]) => `${n}× ${s}`)
      .join(', ')}`,
  );
}

console.log('');
console.log(`messages on the broker: ${broker.messages(queue).length.toLocaleString('en-US')}`);
await (await parts.intakePublisher()).close();
await broker.close();
await azurite.stop();
