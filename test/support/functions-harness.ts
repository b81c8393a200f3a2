/**
 * End-to-end harness for the Functions handlers: real app parts (`createAppParts`) wired to the
 * Graph simulator, Azurite and the AMQP test broker, a node:http server on loopback that turns
 * every request into a real `HttpRequest` for the graph-notifications handler (so the simulator's
 * validation handshake and notifications go through it), and helpers that call the other handlers
 * the way the Functions host does: HR webhooks with a real `HttpRequest`, the worker with the body
 * the broker received and a real `InvocationContext`, the timers with a `Timer`.
 *
 * One clock drives the app, the simulator and the tests: real time plus an offset the test can
 * move forward (`harness.clock.advance`), so scheduled times and grace periods are asserted
 * against the clock, not the wall.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type * as AzureFunctions from '@azure/functions';
import type {
  HttpRequest as HttpRequestType,
  HttpResponseInit,
  InvocationContext as InvocationContextType,
  Timer,
} from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import { expect } from 'vitest';
import { createAppParts, type AppParts } from '../../lib/app.js';
import type { CleanupReport } from '../../lib/engine/cleanup.js';
import type { DeltaCatchUpResult } from '../../lib/engine/delta-catchup.js';
import type { KeeperResult } from '../../lib/engine/subscription-keeper.js';
import type { WorkerResult } from '../../lib/engine/worker.js';
import { cleanupHandler } from '../../lib/functions/cleanup.js';
import { deltaCatchupHandler } from '../../lib/functions/delta-catchup.js';
import { graphNotificationsHandler } from '../../lib/functions/graph-notifications.js';
import { hrWebhookHandler } from '../../lib/functions/hr-webhook.js';
import { licenseWorkerHandler } from '../../lib/functions/license-worker.js';
import { subscriptionKeeperHandler } from '../../lib/functions/subscription-keeper.js';
import { signStandardWebhook } from '../../lib/intake/standard-webhooks.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';
import type { Logger } from '../../lib/log.js';
import { licenseJobSchema, type JobPublisher, type LicenseJob } from '../../lib/queue/job.js';
import { startSimulator, type Simulator, type TenantFile } from '@ems-licensing/graph-simulator';
import { smallTenant } from '@ems-licensing/graph-simulator/test-support';
import { startAmqpBroker, type AmqpBroker, type BrokerMessage } from './amqp-broker.js';
import { manualTimer } from './manual-timer.js';
export { manualTimer };

// @azure/functions is CommonJS whose named exports Node's ESM loader cannot detect: loaded with
// require, its classes work the same under vitest and under plain Node (the fault benchmark).
const { HttpRequest, InvocationContext } = createRequire(import.meta.url)(
  '@azure/functions',
) as typeof AzureFunctions;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RULES_PATH = path.join(ROOT, 'examples/rules.yaml');

/** Real time plus an offset tests move forward; shared by the app and the simulator. */
export interface TestClock {
  now: () => Date;
  advance: (ms: number) => void;
}

export function testClock(): TestClock {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    advance: (ms) => {
      offsetMs += ms;
    },
  };
}

export interface HarnessOptions {
  /** Azurite's connection string (`inject('storageConnectionString')`). */
  storageConnectionString: string;
  tenant?: TenantFile;
  /** Extra or overriding settings. */
  env?: Record<string, string>;
  /** The app's logger (default: one built from LOG_LEVEL, silent here). */
  logger?: Logger;
  /** The Graph URL the app uses, given the simulator (e.g. a fault proxy in front of it). */
  graphUrl?: (sim: Simulator) => Promise<string>;
}

export interface ServedRequest {
  validation: boolean;
  status: number;
  /** The raw body (notification POSTs). */
  body: string;
}

export interface HrPost {
  /** The JSON payload, or raw text sent as is. */
  body: unknown;
  id?: string;
  /** Unix seconds; the clock's now by default. */
  timestamp?: number;
  /** Signs with this secret instead of the configured one. */
  secret?: string;
  contentType?: string;
}

export interface FunctionsHarness {
  readonly sim: Simulator;
  readonly broker: AmqpBroker;
  readonly queue: string;
  readonly parts: AppParts;
  readonly clock: TestClock;
  readonly env: Record<string, string>;
  readonly clientState: string;
  readonly hrSecret: string;
  /** What the notification server received, in order. */
  readonly served: ServedRequest[];
  /** When set, the notification server answers this status without calling the handler. */
  failNotificationsWith: number | null;
  /** Messages visible on the broker (every one ever sent: the broker keeps them). */
  messages(): BrokerMessage[];
  /** The jobs those messages carry, parsed. */
  jobs(): LicenseJob[];
  /** Visible messages the worker has not been given yet. */
  pending(): BrokerMessage[];
  /**
   * Calls the worker handler with one message's body; marks it handled. A job forwarded under
   * its user's object id (an HR job named by UPN) is followed to the copy's result.
   */
  work(message: BrokerMessage, deliveryCount?: number): Promise<WorkerResult>;
  /** Object ids HR jobs were forwarded to, in order. */
  readonly forwards: string[];
  /** Hands every pending message to the worker, in order. */
  drain(): Promise<WorkerResult[]>;
  /** Scheduled messages due by `until` (default: the clock's now) become visible. */
  releaseScheduled(until?: Date): number;
  /** POSTs to the graph-notifications handler directly (raw bytes, or a value sent as JSON). */
  postGraph(body: unknown, headers?: Record<string, string>): Promise<HttpResponseInit>;
  /** The request {@link postGraph} sends, for calling a handler built differently. */
  graphRequest(body: unknown, headers?: Record<string, string>): HttpRequestType;
  /** Signs (Standard Webhooks) and POSTs to the hr-webhook handler. */
  postHr(post: HrPost): Promise<HttpResponseInit>;
  /** The signed request {@link postHr} sends, for calling a handler built differently. */
  hrRequest(post: HrPost): HttpRequestType;
  keeper(): Promise<KeeperResult>;
  delta(): Promise<DeltaCatchUpResult>;
  cleanup(): Promise<CleanupReport>;
  outcomes(userId: string): Promise<OutcomeRecord[]>;
  /** Every outcome recorded for a job (whatever user it was filed under), oldest first. */
  outcomesOfJob(jobId: string): Promise<OutcomeRecord[]>;
  /** A blob of the summaries container, as text. */
  readBlob(name: string): Promise<string>;
  close(): Promise<void>;
}

export function context(
  functionName: string,
  triggerMetadata?: Record<string, unknown>,
): InvocationContextType {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    ...(triggerMetadata ? { triggerMetadata } : {}),
  });
}

export function timer(): Timer {
  const now = new Date().toISOString();
  return {
    isPastDue: false,
    schedule: { adjustForDST: false },
    scheduleStatus: { last: now, next: now, lastUpdated: now },
  };
}

/** The record a worker result carries (null for a forward or a not-yet-due reschedule). */
export function recordOf(result: WorkerResult | undefined): OutcomeRecord | null {
  if (result === undefined || result.kind === 'forwarded') return null;
  return result.record;
}

/** `expect.objectContaining`, typed `unknown` so it nests in typed literals without `any`. */
export function like(expected: Record<string, unknown>): unknown {
  return expect.objectContaining(expected);
}

/** `expect.stringMatching`, typed `unknown` for the same reason. */
export function matching(pattern: RegExp): unknown {
  return expect.stringMatching(pattern);
}

/** The response body parsed as JSON (the handlers answer JSON except the validation echo). */
export function jsonBody(res: HttpResponseInit): Record<string, unknown> {
  if (typeof res.body !== 'string') throw new Error(`expected a string body, got ${typeof res.body}`);
  return JSON.parse(res.body) as Record<string, unknown>;
}

/** The app's parts with the intake publisher's `publish` replaced (the real one is passed in). */
export function withIntakePublish(
  parts: AppParts,
  publish: (jobs: LicenseJob[], real: JobPublisher) => Promise<void>,
): AppParts {
  return {
    ...parts,
    intakePublisher: async () => {
      const real = await parts.intakePublisher();
      return {
        publish: (jobs) => publish(jobs, real),
        schedule: (job, at) => real.schedule(job, at),
        close: () => Promise.resolve(),
      };
    },
  };
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    out[name] = out[name] === undefined ? req.rawHeaders[i + 1]! : `${out[name]}, ${req.rawHeaders[i + 1]!}`;
  }
  return out;
}

function writeResponse(res: ServerResponse, answer: HttpResponseInit): void {
  const headers = new Headers(answer.headers);
  headers.forEach((value, name) => res.setHeader(name, value));
  res.statusCode = answer.status ?? 200;
  res.end(typeof answer.body === 'string' ? answer.body : '');
}

function toBytes(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

export async function startFunctionsHarness(options: HarnessOptions): Promise<FunctionsHarness> {
  const clock = testClock();
  const started = clock.now();
  const sim = await startSimulator({ tenant: options.tenant ?? smallTenant(), now: clock.now });
  const broker = await startAmqpBroker();
  const queue = `jobs-${randomUUID().slice(0, 8)}`;
  const served: ServedRequest[] = [];
  const built: { parts?: AppParts } = {};
  const getParts = (): AppParts => {
    if (!built.parts) throw new Error('parts not built yet');
    return built.parts;
  };
  const graphHandler = graphNotificationsHandler(getParts);

  const state = { failNotificationsWith: null as number | null };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const bytes = await readAll(req);
      const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}${req.url ?? '/'}`;
      const validation = new URL(url).searchParams.has('validationToken');
      if (!validation && state.failNotificationsWith !== null) {
        served.push({ validation, status: state.failNotificationsWith, body: bytes.toString('utf8') });
        res.writeHead(state.failNotificationsWith).end();
        return;
      }
      const request = new HttpRequest({
        method: req.method ?? 'GET',
        url,
        headers: headersOf(req),
        body: { bytes },
      });
      const answer = await graphHandler(request, context('graph-notifications'));
      served.push({ validation, status: answer.status ?? 200, body: bytes.toString('utf8') });
      writeResponse(res, answer);
    })().catch((error: unknown) => {
      served.push({ validation: false, status: 500, body: String(error) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const clientState = randomBytes(24).toString('base64url');
  const hrSecret = `whsec_${randomBytes(32).toString('base64')}`;
  const env: Record<string, string> = {
    GRAPH_BASE_URL: options.graphUrl ? await options.graphUrl(sim) : sim.url,
    STORAGE_CONNECTION_STRING: options.storageConnectionString,
    STORAGE_TABLE_PREFIX: `fn${randomUUID().replace(/-/g, '').slice(0, 12)}`,
    SUMMARY_CONTAINER: `summaries-${randomUUID().slice(0, 8)}`,
    ServiceBusConnection: broker.connectionString(queue),
    LICENSE_JOBS_QUEUE: queue,
    NOTIFICATION_URL: `http://127.0.0.1:${String(port)}/api/graph-notifications`,
    GRAPH_CLIENT_STATE: clientState,
    HR_WEBHOOK_SECRETS: hrSecret,
    RULES_PATH,
    HR_LEAVE_GRACE_HOURS: '0',
    RETRY_BASE_SECONDS: '1',
    LOG_LEVEL: 'silent',
    ...options.env,
  };
  const parts = createAppParts(env, options.logger, { now: clock.now });
  built.parts = parts;

  const hrHandler = hrWebhookHandler(getParts);
  const worker = licenseWorkerHandler(getParts);
  const keeper = subscriptionKeeperHandler(getParts);
  const delta = deltaCatchupHandler(getParts);
  const cleanup = cleanupHandler(getParts);
  const handled = new Set<number>();

  const messages = () => broker.messages(queue);
  // The host passes the enqueue time in the trigger metadata, the same on every delivery.
  const enqueuedAt = new Map<number, string>();
  const pending = () => messages().filter((m) => !handled.has(m.sequenceNumber));
  const forwards: string[] = [];
  const work = async (message: BrokerMessage, deliveryCount = 1): Promise<WorkerResult> => {
    handled.add(message.sequenceNumber);
    if (!enqueuedAt.has(message.sequenceNumber))
      enqueuedAt.set(message.sequenceNumber, new Date().toISOString());
    const result = await worker(
      message.body,
      context('license-worker', {
        messageId: message.messageId,
        deliveryCount,
        sessionId: message.sessionId,
        enqueuedTimeUtc: enqueuedAt.get(message.sequenceNumber),
      }),
    );
    if (result.kind !== 'forwarded') return result;
    // An HR job found its user and was sent on under the object id: that copy is next in its
    // session, so the test sees where the job ended (the forward itself is kept in `forwards`).
    forwards.push(result.userId);
    const copy = pending().find((m) => m.sessionId === result.userId);
    return copy ? work(copy) : result;
  };

  const harness: FunctionsHarness = {
    sim,
    broker,
    queue,
    parts,
    clock,
    env,
    clientState,
    hrSecret,
    served,
    get failNotificationsWith() {
      return state.failNotificationsWith;
    },
    set failNotificationsWith(status: number | null) {
      state.failNotificationsWith = status;
    },
    messages,
    jobs: () => messages().map((m) => licenseJobSchema.parse(JSON.parse(String(m.body)))),
    pending,
    work,
    forwards,
    async drain() {
      const results: WorkerResult[] = [];
      for (const m of pending()) results.push(await work(m));
      return results;
    },
    releaseScheduled: (until = clock.now()) => broker.releaseScheduled(queue, until),
    graphRequest(body, headers = {}) {
      return new HttpRequest({
        method: 'POST',
        url: env.NOTIFICATION_URL!,
        headers: { 'content-type': 'application/json', ...headers },
        body: { bytes: toBytes(body) },
      });
    },
    postGraph(body, headers = {}) {
      return graphHandler(harness.graphRequest(body, headers), context('graph-notifications'));
    },
    hrRequest(post) {
      const bytes = toBytes(post.body);
      const id = post.id ?? `msg_${randomUUID()}`;
      const timestamp = post.timestamp ?? Math.floor(clock.now().getTime() / 1000);
      const signature = signStandardWebhook({ id, timestamp, body: bytes, secret: post.secret ?? hrSecret });
      return new HttpRequest({
        method: 'POST',
        url: `http://127.0.0.1:${String(port)}/api/hr-webhook`,
        headers: {
          'content-type': post.contentType ?? 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature,
        },
        body: { bytes },
      });
    },
    postHr(post) {
      return hrHandler(harness.hrRequest(post), context('hr-webhook'));
    },
    keeper: () => keeper(timer(), context('subscription-keeper')),
    delta: () => delta(timer(), context('delta-catchup')),
    cleanup: () => cleanup(timer(), context('cleanup')),
    async outcomes(userId) {
      return (await parts.storage()).outcomes.listByUser(userId);
    },
    async outcomesOfJob(jobId) {
      const found: OutcomeRecord[] = [];
      const from = new Date(started.getTime() - 60_000);
      for await (const r of (await parts.storage()).outcomes.listBetween(from)) {
        if (r.jobId === jobId) found.push(r);
      }
      return found.sort((a, b) => a.recordedAt.localeCompare(b.recordedAt));
    },
    async readBlob(name) {
      const container = BlobServiceClient.fromConnectionString(
        options.storageConnectionString,
      ).getContainerClient(env.SUMMARY_CONTAINER!);
      const buffer = await container.getBlobClient(name).downloadToBuffer();
      return buffer.toString('utf8');
    },
    async close() {
      await Promise.allSettled([
        parts.publisher().then((p) => p.close()),
        parts.intakePublisher().then((p) => p.close()),
      ]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await sim.close();
      await broker.close();
    },
  };
  return harness;
}
