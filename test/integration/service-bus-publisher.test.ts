/**
 * The Service Bus publisher on the real `@azure/service-bus` SDK, talking AMQP to the test broker
 * on loopback (test/support/amqp-broker.ts). Each test uses its own queue.
 */
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  jobMessageId,
  jobSessionId,
  licenseJobSchema,
  type LicenseJob,
  type LicenseJobInput,
} from '../../lib/queue/job.js';
import { parseJobMessage } from '../../lib/queue/parse-message.js';
import {
  ServiceBusJobPublisher,
  type ServiceBusJobPublisherOptions,
} from '../../lib/queue/service-bus-publisher.js';
import { startAmqpBroker, type AmqpBroker } from '../support/amqp-broker.js';

function job(overrides: Partial<LicenseJobInput> = {}): LicenseJob {
  return licenseJobSchema.parse({
    version: 1,
    jobId: 'job-1',
    correlationId: 'corr-1',
    source: 'graph',
    eventId: 'evt-1',
    action: 'reconcile',
    user: { id: '11111111-2222-3333-4444-555555555555' },
    acceptedAt: '2025-01-02T03:04:05.000Z',
    ...overrides,
  });
}

/** Every message in an error's cause chain, including the errors an AggregateError holds. */
function causeMessages(error: unknown): string[] {
  if (!(error instanceof Error)) return [];
  const inner = error instanceof AggregateError ? error.errors.flatMap(causeMessages) : [];
  return [error.message, ...inner, ...causeMessages(error.cause)];
}

/** Retries fast so failure tests do not wait for the SDK's default one-second delays. */
const fastRetries = (maxRetries: number, timeoutInMs = 5_000): ServiceBusJobPublisherOptions => ({
  clientOptions: { retryOptions: { maxRetries, retryDelayInMs: 1, maxRetryDelayInMs: 1, timeoutInMs } },
});

let broker: AmqpBroker;
const publishers: ServiceBusJobPublisher[] = [];

function publisherFor(queue: string, options?: ServiceBusJobPublisherOptions): ServiceBusJobPublisher {
  const publisher = new ServiceBusJobPublisher(
    { connectionString: broker.connectionString() },
    queue,
    options,
  );
  publishers.push(publisher);
  return publisher;
}

beforeAll(async () => {
  broker = await startAmqpBroker();
});

afterEach(async () => {
  broker.failNextSends(0);
  await Promise.all(publishers.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await broker.close();
});

describe('ServiceBusJobPublisher.publish', () => {
  it('puts one message per job with the id, session, content type, subject, properties and body', async () => {
    const j = job({ source: 'hr', eventId: 'msg_2abc', action: 'leave', attempt: 0 });
    await publisherFor('publish-one').publish([j]);

    const [message, ...rest] = broker.messages('publish-one');
    expect(rest).toHaveLength(0);
    expect(message).toMatchObject({
      messageId: jobMessageId(j),
      sessionId: '11111111-2222-3333-4444-555555555555',
      contentType: 'application/json',
      subject: 'leave',
      bodyType: 'data',
      scheduledEnqueueTime: undefined,
    });
    expect(message?.messageId).toMatch(/^hr-[0-9a-f]{40}-0$/);
    expect(message?.applicationProperties).toEqual({ source: 'hr', attempt: 0, correlationId: 'corr-1' });
    expect(Buffer.isBuffer(message?.body)).toBe(true);
    expect(parseJobMessage(message?.body)).toEqual({ ok: true, job: j });
  });

  it('sessions on the user: by id, else by lower-cased UPN', async () => {
    const byUpn = job({ jobId: 'j-upn', eventId: 'e-upn', user: { userPrincipalName: 'Ada@Contoso.com' } });
    await publisherFor('publish-session').publish([byUpn]);
    // A digest of the lower-cased UPN, never the UPN itself (session ids reach the host's logs).
    const expected = `upn-${createHash('sha256').update('ada@contoso.com').digest('hex').slice(0, 40)}`;
    expect(broker.messages('publish-session').map((m) => m.sessionId)).toEqual([expected]);
    expect(jobSessionId(byUpn)).toBe(expected);
    expect(jobSessionId({ user: { userPrincipalName: 'ADA@contoso.com' } })).toBe(expected);
  });

  it('sends several jobs as one batch, in order', async () => {
    const jobs = ['a', 'b', 'c'].map((e) => job({ jobId: `job-${e}`, eventId: `evt-${e}` }));
    await publisherFor('publish-batch').publish(jobs);

    const messages = broker.messages('publish-batch');
    expect(messages.map((m) => m.messageId)).toEqual(jobs.map(jobMessageId));
    expect(messages.map((m) => parseJobMessage(m.body))).toEqual(jobs.map((j) => ({ ok: true, job: j })));
    expect(broker.stats('publish-batch').transfers).toBe(1);
  });

  it('publishing nothing sends nothing', async () => {
    await publisherFor('publish-none').publish([]);
    expect(broker.stats('publish-none').transfers).toBe(0);
  });

  it('the same job published twice is one message: duplicate detection drops the second', async () => {
    const publisher = publisherFor('publish-dup');
    const j = job({ eventId: 'evt-dup' });
    await publisher.publish([j]);
    await publisher.publish([job({ eventId: 'evt-dup', jobId: 'another-job-id-same-event' })]);
    await publisher.publish([j, j]);

    expect(broker.messages('publish-dup').map((m) => m.messageId)).toEqual([jobMessageId(j)]);
    expect(broker.stats('publish-dup')).toMatchObject({ transfers: 3, duplicatesDropped: 3 });
  });

  it('a different event for the same user is a new message in the same session', async () => {
    const publisher = publisherFor('publish-two-events');
    await publisher.publish([job({ eventId: 'evt-x' })]);
    await publisher.publish([job({ eventId: 'evt-y' })]);

    const messages = broker.messages('publish-two-events');
    expect(new Set(messages.map((m) => m.messageId)).size).toBe(2);
    expect(new Set(messages.map((m) => m.sessionId)).size).toBe(1);
  });

  it('rejects with the cause when the namespace stays unavailable (intake answers 5xx)', async () => {
    const publisher = publisherFor('publish-down', fastRetries(1));
    broker.failNextSends(2);

    const error = await publisher.publish([job({ jobId: 'job-down' })]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(
      "could not publish job job-down to Service Bus queue 'publish-down'",
    );
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(causeMessages(error).join('\n')).toMatch(/namespace is unavailable/);
    expect(broker.messages('publish-down')).toHaveLength(0);
    // The SDK tried once and retried once before giving up.
    expect(broker.stats('publish-down').injectedFailures).toBe(2);
  });

  it('survives a transient failure: the SDK retries and the job lands once', async () => {
    const publisher = publisherFor('publish-blip', fastRetries(2));
    broker.failNextSends(1);
    const j = job({ eventId: 'evt-blip' });
    await publisher.publish([j]);

    expect(broker.messages('publish-blip').map((m) => m.messageId)).toEqual([jobMessageId(j)]);
    expect(broker.stats('publish-blip').injectedFailures).toBe(1);
  });

  it('rejects when the broker detaches the link with an error', async () => {
    // The SDK does not fail an in-flight send on detach; it gives up at its operation timeout.
    const publisher = publisherFor('publish-detach', fastRetries(0, 500));
    broker.failNextSends(1, { mode: 'detach', condition: 'amqp:link:detach-forced' });

    await expect(publisher.publish([job()])).rejects.toThrow(/could not publish job job-1/);
    expect(broker.messages('publish-detach')).toHaveLength(0);
  });

  it('rejects, naming the cause, when the key is wrong', async () => {
    const wrongKey = broker
      .connectionString()
      .replace(/SharedAccessKey=[^;]+/, 'SharedAccessKey=not-the-key');
    const publisher = new ServiceBusJobPublisher(
      { connectionString: wrongKey },
      'publish-auth',
      fastRetries(0),
    );
    publishers.push(publisher);

    const error = await publisher.publish([job()]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(causeMessages(error).join('\n')).toMatch(/InvalidSignature: the signature does not match the key/);
    expect(broker.messages('publish-auth')).toHaveLength(0);
  });

  it('rejects after close', async () => {
    const publisher = publisherFor('publish-closed');
    await publisher.publish([job({ eventId: 'evt-before-close' })]);
    await publisher.close();
    await publisher.close();

    await expect(publisher.publish([job({ eventId: 'evt-after-close' })])).rejects.toThrow(
      /could not publish/,
    );
    expect(broker.messages('publish-closed')).toHaveLength(1);
  });
});

describe('ServiceBusJobPublisher.schedule', () => {
  it('schedules a retry copy for its time, with the next attempt, without touching the visible queue', async () => {
    const publisher = publisherFor('schedule-retry');
    const first = job({ eventId: 'evt-retry' });
    await publisher.publish([first]);
    const retry: LicenseJob = { ...first, attempt: 1, lastDeferral: 'throttled' };
    const at = new Date('2031-05-06T07:08:09.000Z');
    await publisher.schedule(retry, at);

    expect(broker.messages('schedule-retry').map((m) => m.messageId)).toEqual([jobMessageId(first)]);
    const [scheduled, ...rest] = broker.scheduled('schedule-retry');
    expect(rest).toHaveLength(0);
    expect(scheduled?.scheduledEnqueueTime?.toISOString()).toBe('2031-05-06T07:08:09.000Z');
    expect(scheduled).toMatchObject({
      messageId: jobMessageId(retry),
      sessionId: jobSessionId(retry),
      contentType: 'application/json',
      subject: 'reconcile',
      applicationProperties: { source: 'graph', attempt: 1, correlationId: 'corr-1' },
    });
    expect(scheduled?.messageId).not.toBe(jobMessageId(first));
    expect(parseJobMessage(scheduled?.body)).toEqual({ ok: true, job: retry });

    // When its time comes, the copy joins the session's messages.
    expect(broker.releaseScheduled('schedule-retry', at)).toBe(1);
    expect(broker.messages('schedule-retry').map((m) => m.applicationProperties.attempt)).toEqual([0, 1]);
  });

  it('rejects with the cause when scheduling fails', async () => {
    const publisher = publisherFor('schedule-down', fastRetries(0));
    broker.failNextSends(1);

    await expect(
      publisher.schedule(job({ jobId: 'job-later', attempt: 2 }), new Date('2031-01-01T00:00:00.000Z')),
    ).rejects.toThrow(
      "could not schedule job job-later (attempt 2) for 2031-01-01T00:00:00.000Z on Service Bus queue 'schedule-down'",
    );
    expect(broker.scheduled('schedule-down')).toHaveLength(0);
  });
});

describe('ServiceBusJobPublisher batching and configuration', () => {
  let small: AmqpBroker;
  beforeAll(async () => {
    small = await startAmqpBroker({ maxMessageSizeBytes: 2_048 });
  });
  afterAll(async () => {
    await small.close();
  });

  it('splits jobs over several batches when they do not fit the link’s maximum message size', async () => {
    const publisher = ServiceBusJobPublisher.fromConfig({
      connectionString: small.connectionString(),
      queue: 'split',
    });
    publishers.push(publisher);
    const jobs = Array.from({ length: 12 }, (_, i) => job({ jobId: `job-${i}`, eventId: `evt-${i}` }));
    await publisher.publish(jobs);

    expect(small.messages('split').map((m) => m.messageId)).toEqual(jobs.map(jobMessageId));
    expect(small.stats('split').transfers).toBeGreaterThan(1);
  });

  it('refuses a job larger than any message the queue accepts, naming the job', async () => {
    const publisher = ServiceBusJobPublisher.fromConfig({
      connectionString: small.connectionString(),
      queue: 'huge',
    });
    publishers.push(publisher);

    const error = await publisher.publish([job({ jobId: 'x'.repeat(4_000) })]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(causeMessages(error).join('\n')).toMatch(
      /larger than the largest message the queue accepts \(2048 bytes\)/,
    );
    expect(small.stats('huge').transfers).toBe(0);
  });

  it('fromConfig names the settings when Service Bus is not configured', () => {
    expect(() => ServiceBusJobPublisher.fromConfig({ queue: 'q' })).toThrow(
      /ServiceBusConnection__fullyQualifiedNamespace/,
    );
    expect(() =>
      ServiceBusJobPublisher.fromConfig({ fullyQualifiedNamespace: 'ns.servicebus.windows.net', queue: 'q' }),
    ).toThrow(/needs a credential/);
  });
});
