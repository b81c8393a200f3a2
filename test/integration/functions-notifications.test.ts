/**
 * End to end through the graph-notifications handler: the subscription keeper subscribes (the
 * simulator's validation handshake reaches the handler over HTTP), a user created as AD sync would
 * create one is notified, queued once and licensed by one worker pass; duplicates, refusals, a
 * broker outage and lifecycle events; then the keeper renews and recreates the subscription.
 * Tests in this file run in order and share one tenant.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createAppParts } from '../../lib/app.js';
import { createLogger } from '../../lib/log.js';
import { IDS } from '@ems-licensing/graph-simulator/test-support';
import { graphNotificationsHandler } from '../../lib/functions/graph-notifications.js';
import { GRAPH_REACCEPT_AFTER_MS, MAX_NOTIFICATION_ITEMS, graphEventId } from '../../lib/intake/index.js';
import {
  context,
  jsonBody,
  manualTimer,
  startFunctionsHarness,
  withIntakePublish,
  type FunctionsHarness,
} from '../support/functions-harness.js';

const DAY_MS = 24 * 60 * 60_000;

/**
 * A plain HTTP relay in front of Azurite's Table endpoint that notes every request (method and
 * path), so tests can count what the app asks of Table storage.
 */
async function tableRelay(connectionString: string) {
  const endpoint = /TableEndpoint=(http:\/\/[^;]+)/.exec(connectionString)?.[1];
  if (endpoint === undefined) throw new Error('no TableEndpoint in the Azurite connection string');
  const target = new URL(endpoint);
  const requests: { method: string; path: string }[] = [];
  const agent = new Agent({ keepAlive: true });
  const server: Server = createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      path: decodeURIComponent((req.url ?? '').split('?')[0] ?? ''),
    });
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    connectionString: connectionString.replace(
      endpoint,
      `http://127.0.0.1:${String(port)}${target.pathname}`,
    ),
    requests,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let h: FunctionsHarness;
let relay: Awaited<ReturnType<typeof tableRelay>>;
let subscriptionId: string;

beforeAll(async () => {
  relay = await tableRelay(inject('storageConnectionString'));
  h = await startFunctionsHarness({
    storageConnectionString: relay.connectionString,
    // The simulator's tenant: notifications of any other are dropped (issue 11, point 4).
    env: { AZURE_TENANT_ID: IDS.tenant },
  });
});

afterAll(async () => {
  await h.close();
  await relay.close();
});

/** What the inbox says of a Graph event now (by the harness clock). */
async function inboxStatus(eventId: string) {
  const inbox = (await h.parts.storage()).inbox;
  const statuses = await inbox.check('graph', [eventId], {
    reacceptAfterMs: GRAPH_REACCEPT_AFTER_MS,
    now: h.clock.now(),
  });
  return statuses.get(eventId);
}

/** A change notification item as Graph sends it for a user. */
function item(userId: string, clientState: string | null = h.clientState) {
  return {
    subscriptionId,
    changeType: 'updated',
    resource: `Users/${userId}`,
    resourceData: { '@odata.type': '#Microsoft.Graph.User', '@odata.id': `Users/${userId}`, id: userId },
    clientState,
    tenantId: IDS.tenant,
  };
}

describe('subscription keeper (timer) and the validation handshake', () => {
  it('creates the /users subscription; the simulator validates both URLs against the handler', async () => {
    const result = await h.keeper();

    expect(result.action).toBe('created');
    subscriptionId = result.subscriptionId;
    const [live, ...others] = h.sim.tenant.subscriptions();
    expect(others).toHaveLength(0);
    expect(live).toMatchObject({
      id: subscriptionId,
      resource: '/users',
      changeType: 'updated,deleted',
      notificationUrl: h.env.NOTIFICATION_URL,
      lifecycleNotificationUrl: h.env.NOTIFICATION_URL,
      clientState: h.clientState,
    });
    // notificationUrl and lifecycleNotificationUrl are both validated, each answered 200 by the handler.
    expect(h.served.filter((s) => s.validation)).toEqual([
      expect.objectContaining({ status: 200 }),
      expect.objectContaining({ status: 200 }),
    ]);
    const stored = await (await h.parts.storage()).subscriptions.list();
    expect(stored.map((s) => s.id)).toEqual([subscriptionId]);
    expect(stored[0]?.clientStateRef).toBe('GRAPH_CLIENT_STATE');
  });

  it('keeps a subscription far from expiry without calling Graph to renew it', async () => {
    const result = await h.keeper();
    expect(result).toMatchObject({ action: 'kept', subscriptionId });
    expect(h.sim.counters.get('renewSubscription')).toBe(0);
    expect(h.sim.counters.get('createSubscription')).toBe(1);
  });
});

describe('a user synced from AD', () => {
  let userId: string;
  let notificationBody: string;

  it('is notified, queued exactly once, and gets EMS without Intune in one worker pass', async () => {
    const created = h.sim.tenant.upsertUser({
      userPrincipalName: 'frank@fabrikam.com',
      displayName: 'Frank Fischer',
      onPremisesSyncEnabled: true,
      employeeType: 'Contractor',
    });
    userId = created.id;
    expect(created.assignedLicenses).toEqual([]);

    const deliveries = await h.sim.tenant.flushNotifications();
    expect(deliveries).toEqual([expect.objectContaining({ subscriptionId, status: 202, count: 1 })]);
    const served = h.served.filter((s) => !s.validation);
    expect(served).toHaveLength(1);
    notificationBody = served[0]!.body;

    const pending = h.pending();
    expect(pending).toHaveLength(1);
    expect(h.jobs()).toEqual([
      expect.objectContaining({ source: 'graph', action: 'reconcile', user: { id: userId }, attempt: 0 }),
    ]);
    expect(pending[0]?.sessionId).toBe(userId);

    const result = await h.work(pending[0]!);

    expect(result.kind).toBe('recorded');
    const user = h.sim.tenant.user(userId)!;
    expect(user.usageLocation).toBe('GB');
    expect(user.assignedLicenses).toEqual([{ skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] }]);
    const outcomes = await h.outcomes(userId);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({
      outcome: 'ASSIGNED',
      rule: 'contractors',
      source: 'graph',
      skus: ['EMS'],
      licensesAfter: ['EMS:-INTUNE_A'],
      error: null,
    });
  });

  it('the same notification delivered again makes no second job and no second outcome', async () => {
    const transfers = h.broker.stats(h.queue).transfers;

    const again = await h.postGraph(Buffer.from(notificationBody, 'utf8'));
    expect(again.status).toBe(202);
    expect(jsonBody(again)).toMatchObject({ jobs: 0 });

    // The worker's own writes notify too (Graph does the same); within the window they are repeats.
    expect(h.sim.tenant.pendingNotifications()).toBeGreaterThan(0);
    const deliveries = await h.sim.tenant.flushNotifications();
    expect(deliveries).toEqual([expect.objectContaining({ status: 202 })]);

    expect(h.broker.stats(h.queue).transfers).toBe(transfers);
    expect(h.pending()).toHaveLength(0);
    expect(await h.outcomes(userId)).toHaveLength(1);
  });
});

describe('refusals: nothing is enqueued', () => {
  it('a wrong clientState is answered 202 and dropped', async () => {
    const before = h.broker.stats(h.queue).transfers;
    const res = await h.postGraph({ value: [item(IDS.bob, 'not-the-client-state-at-all')] });
    expect(res.status).toBe(202);
    expect(jsonBody(res)).toMatchObject({ jobs: 0 });
    const missing = await h.postGraph({ value: [item(IDS.bob, null)] });
    expect(missing.status).toBe(202);
    expect(h.broker.stats(h.queue).transfers).toBe(before);
    expect(h.pending()).toHaveLength(0);
  });

  it('a body that is not a notification collection is 400; one over 1 MiB is 413', async () => {
    const before = h.broker.stats(h.queue).transfers;
    expect((await h.postGraph('{"value": [')).status).toBe(400);
    // An item without our clientState proves nothing and says nothing: dropped, counted, 202.
    expect(jsonBody(await h.postGraph({ value: [{ changeType: 'updated' }] }))).toEqual({
      status: 'accepted',
      jobs: 0,
    });
    expect((await h.postGraph({ notValue: true })).status).toBe(400);
    const huge = { value: [item(IDS.bob)], padding: 'x'.repeat(1_048_576) };
    expect((await h.postGraph(huge)).status).toBe(413);
    expect(h.broker.stats(h.queue).transfers).toBe(before);
  });

  it('refuses anything but POST with 405', async () => {
    const res = await fetch(h.env.NOTIFICATION_URL!, { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('refuses a validation token outside the safe character set (reflected XSS) and sends nosniff', async () => {
    const bad = await fetch(
      `${h.env.NOTIFICATION_URL!}?validationToken=${encodeURIComponent('<script>x</script>')}`,
      {
        method: 'POST',
      },
    );
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain('<script>');
    const good = await fetch(
      `${h.env.NOTIFICATION_URL!}?validationToken=${encodeURIComponent('Validation: ok 1')}`,
      {
        method: 'POST',
      },
    );
    expect(good.status).toBe(200);
    expect(good.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(good.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await good.text()).toBe('Validation: ok 1');
  });
});

describe('the broker refusing a send', () => {
  it('answers 503 so Graph retries, records nothing in the inbox, and accepts the redelivery', async () => {
    const created = h.sim.tenant.upsertUser({
      userPrincipalName: 'gail@fabrikam.com',
      onPremisesSyncEnabled: true,
      employeeType: 'Employee',
      usageLocation: 'FR',
    });
    const before = h.broker.messages(h.queue).length;

    // More failures than the intake publisher's one retry.
    h.broker.failNextSends(5);
    const failed = await h.sim.tenant.flushNotifications();
    h.broker.failNextSends(0);

    expect(failed).toEqual([expect.objectContaining({ status: 503, count: 1 })]);
    expect(h.broker.stats(h.queue).injectedFailures).toBeGreaterThanOrEqual(2);
    expect(h.broker.messages(h.queue)).toHaveLength(before);
    // The simulator keeps undelivered items, as Graph retries them.
    expect(h.sim.tenant.pendingNotifications()).toBe(1);

    const retried = await h.sim.tenant.flushNotifications();
    expect(retried).toEqual([expect.objectContaining({ status: 202, count: 1 })]);
    const pending = h.pending();
    expect(pending).toHaveLength(1);
    expect(h.jobs().at(-1)).toMatchObject({ user: { id: created.id }, source: 'graph' });

    const result = await h.work(pending[0]!);
    expect(result.kind === 'recorded' && result.record.outcome).toBe('ASSIGNED');
    expect(h.sim.tenant.user(created.id)?.assignedLicenses).toEqual([{ skuId: IDS.EMS, disabledPlans: [] }]);
    await h.sim.tenant.flushNotifications();
  });
});

describe('lifecycle notifications', () => {
  it('reauthorizationRequired is answered 202 without a job and leads to a reauthorize call', async () => {
    const transfers = h.broker.stats(h.queue).transfers;
    const renewalsBefore = h.sim.counters.get('renewSubscription');

    const delivery = await h.sim.tenant.sendLifecycleEvent(subscriptionId, 'reauthorizationRequired');

    expect(delivery.status).toBe(202);
    // The handler answers first and reauthorizes in the background.
    await vi.waitFor(() => {
      expect(h.sim.counters.get('reauthorizeSubscription')).toBe(1);
      expect(h.sim.counters.get('renewSubscription')).toBe(renewalsBefore + 1);
    });
    expect(h.sim.requests.find((r) => r.kind === 'reauthorizeSubscription')?.path).toBe(
      `/v1.0/subscriptions/${subscriptionId}/reauthorize`,
    );
    expect(h.broker.stats(h.queue).transfers).toBe(transfers);
  });

  it('a lifecycle event with a wrong clientState is ignored', async () => {
    // Lifecycle work is started (and logged) before the handler answers, and runs on in the
    // background; so what the log says once the answer is back is final, with no waiting.
    const logs: { msg: string; wrongClientState?: number; lifecycleEvent?: string }[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]) },
    });
    const parts = createAppParts(h.env, logger, { now: h.clock.now });
    const handler = graphNotificationsHandler(() => parts);
    const post = (clientState: string, lifecycleEvent: string) =>
      handler(
        h.graphRequest({
          value: [{ subscriptionId, lifecycleEvent, clientState, tenantId: h.sim.tenant.tenantId }],
        }),
        context('graph-notifications'),
      );

    const forged = await post('forged-client-state', 'reauthorizationRequired');
    expect(forged.status).toBe(202);
    expect(logs.filter((l) => l.msg === 'notification items dropped')).toEqual([
      expect.objectContaining({ wrongClientState: 1 }),
    ]);
    expect(logs.filter((l) => l.msg === 'lifecycle notification received')).toEqual([]);

    // The same log shows a genuine one (an event the app does not act on for users, so no Graph call).

    expect((await post(h.clientState, 'missed')).status).toBe(202);
    expect(logs.filter((l) => l.msg === 'lifecycle notification received')).toEqual([
      expect.objectContaining({ lifecycleEvent: 'missed' }),
    ]);
    expect(h.sim.counters.get('reauthorizeSubscription')).toBe(1);
  });
});

describe('a leave is remembered', () => {
  // The HR leave removes EMS; the notification of that very write brings a `reconcile` job, and the
  // rules (synced contractor) still want EMS. The worker remembers the leaver and treats the
  // change as a leave, until HR says the person is back.
  it('stays applied after the notification of its own write, until an HR hire', async () => {
    expect(
      (await h.postHr({ body: { type: 'leave', user: { userPrincipalName: 'frank@fabrikam.com' } } })).status,
    ).toBe(202);
    const left = await h.drain();
    expect(left.map((r) => r.kind === 'recorded' && r.record.outcome)).toEqual(['REMOVED']);
    // Past the re-accept window of frank's earlier notification (leavers leave long after joining).
    h.clock.advance(3 * 60_000);
    await h.sim.tenant.flushNotifications();
    const after = await h.drain();
    expect(after.length).toBeGreaterThan(0);
    expect(h.sim.tenant.user('frank@fabrikam.com')?.assignedLicenses).toEqual([]);

    // Rehired: the mark is cleared and the rules license him again.
    expect(
      (await h.postHr({ body: { type: 'hire', user: { userPrincipalName: 'frank@fabrikam.com' } } })).status,
    ).toBe(202);
    const rehired = await h.drain();
    expect(rehired.map((r) => r.kind === 'recorded' && r.record.outcome)).toContain('ASSIGNED');
    expect(
      h.sim.tenant.user('frank@fabrikam.com')?.assignedLicenses.map((l) => l.skuId.toLowerCase()),
    ).toEqual(['efccb6f7-5641-4e0e-bd10-b4976e1bf68e']);
  });
});

describe('subscription keeper over time', () => {
  it('renews the subscription when less than three days are left', async () => {
    const expiresBefore = Date.parse(h.sim.tenant.subscriptions()[0]!.expirationDateTime);
    h.clock.advance(27 * DAY_MS);

    const result = await h.keeper();

    expect(result).toMatchObject({ action: 'renewed', subscriptionId });
    const expires = Date.parse(result.expirationDateTime);
    expect(expires).toBeGreaterThan(expiresBefore);
    expect(expires).toBeGreaterThan(h.clock.now().getTime() + 28 * DAY_MS);
    expect(h.sim.tenant.subscriptions()[0]?.expirationDateTime).toBe(result.expirationDateTime);
    const stored = await (await h.parts.storage()).subscriptions.list();
    expect(stored).toEqual([
      expect.objectContaining({ id: subscriptionId, expirationDateTime: result.expirationDateTime }),
    ]);
  });

  it('recreates a subscription Graph lost, through a new validation handshake', async () => {
    const validations = h.served.filter((s) => s.validation).length;
    h.sim.tenant.loseSubscription(subscriptionId);

    const result = await h.keeper();

    expect(result.action).toBe('recreated');
    expect(result.subscriptionId).not.toBe(subscriptionId);
    expect(h.sim.tenant.subscriptions().map((s) => s.id)).toEqual([result.subscriptionId]);
    expect(h.served.filter((s) => s.validation).length).toBe(validations + 2);
    const stored = await (await h.parts.storage()).subscriptions.list();
    expect(stored.map((s) => s.id)).toEqual([result.subscriptionId]);
    // The lost subscription is no longer the app's: its notifications would be dropped.
    subscriptionId = result.subscriptionId;

    // Notifications flow through the new subscription.
    const created = h.sim.tenant.upsertUser({
      userPrincipalName: 'hugo@fabrikam.com',
      onPremisesSyncEnabled: true,
      employeeType: 'Contractor',
    });
    const deliveries = await h.sim.tenant.flushNotifications();
    expect(deliveries).toEqual([
      expect.objectContaining({ subscriptionId: result.subscriptionId, status: 202, count: 1 }),
    ]);
    expect(h.pending().map((m) => m.sessionId)).toEqual([created.id]);
  });
});

describe("Graph's 3-second deadline", () => {
  it('answers 503 once the intake budget is spent, records nothing, and the redelivery is processed', async () => {
    const timer = manualTimer();
    let calls = 0;
    const stuck = graphNotificationsHandler(
      () =>
        withIntakePublish(h.parts, () => {
          calls += 1;
          return new Promise<void>(() => undefined);
        }),
      { timer },
    );
    const body = { value: [item(IDS.bob)] };
    const answer = stuck(h.graphRequest(body), context('graph-notifications'));
    await vi.waitFor(() => expect(calls).toBe(1));
    timer.fire();
    const res = await answer;
    expect(res.status).toBe(503);
    expect(await inboxStatus(graphEventId(subscriptionId, IDS.bob, 'updated'))).toBe('new');

    const before = h.jobs().length;
    const redelivered = await h.postGraph(body);
    expect(redelivered.status).toBe(202);
    expect(jsonBody(redelivered)).toMatchObject({ jobs: 1 });
    expect(h.jobs().slice(before)).toEqual([expect.objectContaining({ user: { id: IDS.bob } })]);
    expect(await inboxStatus(graphEventId(subscriptionId, IDS.bob, 'updated'))).toBe('seen');
  });
});

describe("intake under attack and at Graph's batch sizes (issue 11)", () => {
  it('answers an anonymous 1 MiB body of empty items with a short fixed 413 (point 1)', async () => {
    const before = h.broker.stats(h.queue).transfers;
    const count = Math.floor((1_048_576 - 12) / 3);
    const res = await h.postGraph(`{"value":[${Array.from({ length: count }, () => '{}').join(',')}]}`);
    expect(res.status).toBe(413);
    expect(jsonBody(res)).toEqual({
      error: 'too many notifications in one request',
      items: count,
      limit: MAX_NOTIFICATION_ITEMS,
    });
    expect(JSON.stringify(jsonBody(res)).length).toBeLessThan(200);
    expect(h.broker.stats(h.queue).transfers).toBe(before);
  });

  it('answers a full batch of forged items 202 with a fixed body, reading no table (point 1)', async () => {
    const tableRequests = relay.requests.length;
    const forged = Array.from({ length: 2_500 }, (_, i) => ({
      ...item(randomUUID(), `forged-${String(i)}`),
      subscriptionId: i % 2 === 0 ? subscriptionId : { not: 'a string' },
    }));
    const res = await h.postGraph({ value: forged });
    expect(res.status).toBe(202);
    expect(jsonBody(res)).toEqual({ status: 'accepted', jobs: 0 });
    expect(relay.requests.length).toBe(tableRequests);
    // A full batch: the limit the README states.
    expect(MAX_NOTIFICATION_ITEMS).toBe(2_500);
  });

  it('makes jobs only of user changes of our own subscription, from our tenant (points 3, 4)', async () => {
    const before = h.jobs().length;
    const stranger = randomUUID();
    const group = randomUUID();
    const res = await h.postGraph({
      value: [
        item(IDS.alice),
        { ...item(group), resourceData: { '@odata.type': '#Microsoft.Graph.Group', id: group } },
        { ...item(IDS.bob), resourceData: { '@odata.type': '#Microsoft.Graph.User', id: IDS.carol } },
        { ...item(IDS.carol), subscriptionId: stranger },
        { ...item(IDS.dave), tenantId: randomUUID() },
      ],
    });
    expect(res.status).toBe(202);
    expect(jsonBody(res)).toEqual({ status: 'accepted', jobs: 1 });
    expect(
      h
        .jobs()
        .slice(before)
        .map((j) => j.user.id),
    ).toEqual([IDS.alice]);
  });

  it('starts no Graph call for lifecycle events of subscriptions the app does not own, and one for ours (point 7)', async () => {
    const reauthorizations = h.sim.counters.get('reauthorizeSubscription');
    const strangers = Array.from({ length: 300 }, () => ({
      subscriptionId: randomUUID(),
      lifecycleEvent: 'reauthorizationRequired',
      clientState: h.clientState,
      tenantId: IDS.tenant,
    }));
    const ours = { ...strangers[0]!, subscriptionId: h.sim.tenant.subscriptions()[0]!.id };
    const res = await h.postGraph({ value: [...strangers, ours, ours, ours] });
    expect(res.status).toBe(202);
    await vi.waitFor(() => expect(h.sim.counters.get('reauthorizeSubscription')).toBe(reauthorizations + 1));
    const reauthorized = h.sim.requests
      .filter((r) => r.kind === 'reauthorizeSubscription')
      .map((r) => r.path);
    expect(reauthorized.filter((p) => strangers.some((s) => p.includes(s.subscriptionId)))).toEqual([]);
  });

  it('accepts 1,000 users in one request: every job published once, inbox checked and recorded in a few Table requests (point 2)', async () => {
    // The budget's timer is never fired: this is about the work done, not the wall clock.
    const handler = graphNotificationsHandler(() => h.parts, { timer: manualTimer() });
    const sub = h.sim.tenant.subscriptions()[0]!.id;
    const users = Array.from({ length: 1_000 }, () => randomUUID());
    const body = { value: users.map((u) => ({ ...item(u), subscriptionId: sub })) };
    const messages = h.messages().length;
    const inboxRequests = () => relay.requests.filter((r) => /inbox/.test(r.path));

    const before = inboxRequests().length;
    const res = await handler(h.graphRequest(body), context('graph-notifications'));
    expect(res.status).toBe(202);
    expect(jsonBody(res)).toEqual({ status: 'accepted', jobs: 1_000 });
    const published = h.messages().slice(messages);
    expect(published.map((m) => m.sessionId).sort()).toEqual([...users].sort());
    const first = inboxRequests().slice(before);
    const writes = first.filter((r) => r.method !== 'GET');
    // Table transactions (POST …/$batch), one per partition and 100 entities; never one per user.
    expect(writes.every((r) => r.method === 'POST' && r.path.endsWith('/$batch'))).toBe(true);
    expect(writes.length).toBeLessThanOrEqual(16);
    expect(first.filter((r) => r.method === 'GET').length).toBeLessThanOrEqual(8);

    // Graph's redelivery of the same batch: all duplicates, nothing published, nothing written.
    const again = inboxRequests().length;
    const redelivered = await handler(h.graphRequest(body), context('graph-notifications'));
    expect(jsonBody(redelivered)).toEqual({ status: 'accepted', jobs: 0 });
    expect(h.messages().length).toBe(messages + 1_000);
    const second = inboxRequests().slice(again);
    expect(second.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(second.length).toBeLessThanOrEqual(8);
  });
});
