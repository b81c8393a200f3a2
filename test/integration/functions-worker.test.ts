/**
 * The license-worker handler as the Functions host calls it (the body the broker received, a real
 * InvocationContext with messageId and deliveryCount): Graph throttling beyond the client's own
 * retries becomes a scheduled copy and a DEFERRED outcome, not a lost job; a malformed message is
 * recorded once, with its payload and reason, and thrown so Service Bus dead-letters it.
 */
import { ServiceBusClient } from '@azure/service-bus';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PoisonMessageError } from '../../lib/engine/worker.js';
import { IDS } from '@ems-licensing/graph-simulator/test-support';
import {
  type FunctionsHarness,
  like,
  matching,
  recordOf,
  startFunctionsHarness,
} from '../support/functions-harness.js';

let h: FunctionsHarness;

beforeAll(async () => {
  h = await startFunctionsHarness({
    storageConnectionString: inject('storageConnectionString'),
    // One in-process retry, so two 429s exhaust the Graph client.
    env: { GRAPH_MAX_RETRIES: '1' },
  });
});

afterAll(async () => {
  await h.close();
});

describe('Graph throttling on assignLicense', () => {
  it('becomes a scheduled copy (honouring Retry-After) and a DEFERRED outcome; the copy then succeeds', async () => {
    const user = h.sim.tenant.upsertUser({
      userPrincipalName: 'quinn@fabrikam.com',
      usageLocation: 'GB',
      onPremisesSyncEnabled: true,
      employeeType: 'Contractor',
    });
    expect(
      (await h.postHr({ body: { type: 'hire', user: { userPrincipalName: 'quinn@fabrikam.com' } } })).status,
    ).toBe(202);
    const [message] = h.pending();
    // More 429s than the client retries (1 retry = 2 attempts).
    h.sim.faults.inject({ kind: 'assignLicense', status: 429, retryAfterSeconds: 1, times: 2 });
    const before = h.clock.now().getTime();

    const result = await h.work(message!);

    expect(h.sim.counters.get('assignLicense')).toBe(2);
    expect(h.sim.faults.pending()).toEqual([]);
    expect(result.kind).toBe('rescheduled');
    if (result.kind !== 'rescheduled') return;
    expect(result.attempt).toBe(1);
    // Not before Graph's Retry-After (1 s, as counted by the app's clock).
    expect(result.at.getTime()).toBeGreaterThanOrEqual(before + 1_000);
    expect(result.at.getTime()).toBeLessThanOrEqual(h.clock.now().getTime() + 1_000);
    expect(result.record).toMatchObject({
      outcome: 'DEFERRED',
      userId: user.id,
      retryAt: result.at.toISOString(),
      error: like({ code: 'TooManyRequests' }),
    });
    const [scheduled, ...others] = h.broker.scheduled(h.queue);
    expect(others).toHaveLength(0);
    expect(scheduled).toMatchObject({
      sessionId: user.id,
      applicationProperties: like({ attempt: 1 }),
    });
    expect(scheduled?.scheduledEnqueueTime?.toISOString()).toBe(result.at.toISOString());
    // The copy names the user by object id now it is known: same session as every other job for them.
    expect(JSON.parse(String(scheduled?.body))).toMatchObject({
      attempt: 1,
      lastDeferral: matching(/^transient/),
      user: { id: user.id, userPrincipalName: 'quinn@fabrikam.com' },
    });
    expect(await h.outcomes(user.id)).toEqual([
      expect.objectContaining({ outcome: 'DEFERRED', retryAt: result.at.toISOString() }),
    ]);
    expect(h.sim.tenant.user(user.id)?.assignedLicenses).toEqual([]);

    h.clock.advance(result.at.getTime() - h.clock.now().getTime() + 1);
    expect(h.releaseScheduled()).toBe(1);
    const retried = await h.work(h.pending()[0]!);

    expect(retried.kind === 'recorded' && retried.record.outcome).toBe('ASSIGNED');
    expect(h.sim.tenant.user(user.id)?.assignedLicenses).toEqual([
      { skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] },
    ]);
    expect((await h.outcomes(user.id)).map((o) => o.outcome)).toEqual(['ASSIGNED', 'DEFERRED']);
  });
});

describe('a malformed queue message', () => {
  it('is recorded once as FAILED with its payload and reason, and thrown on every delivery', async () => {
    // A producer with a bug puts a truncated job on the queue.
    const client = new ServiceBusClient(h.broker.connectionString());
    const sender = client.createSender(h.queue);
    const raw = '{"version":1,"jobId":"j-1","source":"graph","user":{"id":"x"}';
    try {
      await sender.sendMessages({
        messageId: 'broken-1',
        sessionId: 'x',
        contentType: 'application/json',
        body: Buffer.from(raw, 'utf8'),
      });
    } finally {
      await sender.close();
      await client.close();
    }
    const [message] = h.pending();
    expect(message?.messageId).toBe('broken-1');

    // Service Bus redelivers after each throw, up to the queue's max delivery count (10 in infra).
    for (let delivery = 1; delivery <= 10; delivery++) {
      await expect(h.work(message!, delivery)).rejects.toBeInstanceOf(PoisonMessageError);
    }

    const records = await h.outcomes('malformed-messages');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      outcome: 'FAILED',
      jobId: 'broken-1',
      eventId: 'broken-1',
      source: 'queue',
      payload: raw,
      error: like({
        code: 'MalformedMessage',
        message: matching(/not valid JSON/),
      }),
    });
  });

  it('a well-formed JSON body that is not a job names the offending fields', async () => {
    const body = { version: 2, jobId: 'j-2', source: 'somewhere', user: {} };
    await expect(
      h.work({
        ...h.messages()[0]!,
        sequenceNumber: -1,
        messageId: 'broken-2',
        body: Buffer.from(JSON.stringify(body)),
      }),
    ).rejects.toThrow(/version/);
    const record = (await h.outcomes('malformed-messages')).find((r) => r.jobId === 'broken-2');
    expect(record?.error?.message).toMatch(/version/);
    expect(record?.error?.message).toMatch(/source/);
    expect(record?.payload).toBe(JSON.stringify(body));
  });
});

describe('a job for a user deleted since the event', () => {
  it('is retried briefly (replication lag), then ends UNCHANGED with nothing to fix', async () => {
    const goneId = 'a0000000-0000-4000-8000-0000000000ff';
    const publisher = await h.parts.publisher();
    await publisher.publish([
      {
        version: 1,
        jobId: 'gone-1',
        correlationId: 'c0000000-0000-4000-8000-0000000000ff',
        source: 'graph',
        eventId: 'gone-event',
        action: 'reconcile',
        user: { id: goneId },
        attempt: 0,
        acceptedAt: h.clock.now().toISOString(),
      },
    ]);
    const outcomes: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (const result of await h.drain()) {
        const record = recordOf(result);
        if (record) outcomes.push(`${record.outcome}:${record.error?.code ?? ''}`);
      }
      h.clock.advance(60 * 60_000);
      h.releaseScheduled();
    }
    // Two deferred tries (GONE_USER_RETRY_LIMIT), then a final outcome that needs no operator.
    expect(outcomes).toEqual(['DEFERRED:UserNotFound', 'DEFERRED:UserNotFound', 'UNCHANGED:UserNotFound']);
    const records = await h.outcomes(goneId);
    expect(records.map((r) => r.outcome).sort()).toEqual(['DEFERRED', 'DEFERRED', 'UNCHANGED']);
  });
});
