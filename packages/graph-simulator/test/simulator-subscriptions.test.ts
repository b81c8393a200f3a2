/** Subscriptions and change notifications against the simulator, with a real node:http receiver. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/index.js';
import { call, errorOf, IDS, smallTenant, startReceiver, type Receiver } from './test-support.js';

let sim: Simulator;
let receiver: Receiver;
let now: Date;

beforeAll(async () => {
  receiver = await startReceiver();
});

afterAll(async () => {
  await receiver.close();
});

beforeEach(async () => {
  now = new Date('2025-03-01T10:00:00Z');
  receiver.received.length = 0;
  receiver.validation = 'echo';
  receiver.notificationStatus = 202;
  sim = await startSimulator({ tenant: smallTenant(), now: () => now, notificationTimeoutMs: 2_000 });
});

afterEach(async () => {
  await sim.close();
});

const inDays = (days: number): string => new Date(now.getTime() + days * 86_400_000).toISOString();

function newSubscription(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    changeType: 'updated,deleted',
    notificationUrl: receiver.url,
    lifecycleNotificationUrl: `${receiver.url}?lifecycle=1`,
    resource: '/users',
    expirationDateTime: inDays(2),
    clientState: 'secret-client-state',
    ...overrides,
  };
}

describe('POST /subscriptions', () => {
  it('validates both URLs with a URL-encoded token and answers 201 with the subscription', async () => {
    const res = await call(sim.url, 'POST', '/v1.0/subscriptions', newSubscription());
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      resource: '/users',
      changeType: 'updated,deleted',
      clientState: 'secret-client-state',
    });
    expect(typeof res.body['id']).toBe('string');
    expect(receiver.received).toHaveLength(2);
    const token = receiver.received[0]?.query.get('validationToken');
    expect(token).toMatch(
      /^Validation: Testing client application reachability for subscription Request-Id: [0-9a-f-]{36}$/,
    );
    expect(receiver.received[1]?.query.get('lifecycle')).toBe('1');
    expect(receiver.received[0]?.contentType).toMatch(/^text\/plain/);
    expect(sim.tenant.subscriptions().map((s) => s.id)).toEqual([res.body['id']]);
    expect(sim.counters.get('createSubscription')).toBe(1);
  });

  it('fails when the endpoint does not echo the token or does not answer 200', async () => {
    receiver.validation = 'wrong';
    const wrong = await call(sim.url, 'POST', '/v1.0/subscriptions', newSubscription());
    expect(wrong.status).toBe(400);
    expect(errorOf(wrong).message).toContain('Subscription validation request failed');
    receiver.validation = 'status500';
    const failing = await call(sim.url, 'POST', '/v1.0/subscriptions', newSubscription());
    expect(failing.status).toBe(400);
    expect(errorOf(failing).message).toContain('must respond with 200 OK');
    expect(sim.tenant.subscriptions()).toEqual([]);
  });

  it('fails when nothing listens on the notification URL', async () => {
    const res = await call(
      sim.url,
      'POST',
      '/v1.0/subscriptions',
      newSubscription({ notificationUrl: 'http://127.0.0.1:1/nothing' }),
    );
    expect(res.status).toBe(400);
    expect(errorOf(res).message).toContain('Subscription validation request failed');
  });

  it('refuses changeType created, an expiry beyond 41,760 minutes and a long clientState', async () => {
    const created = await call(
      sim.url,
      'POST',
      '/v1.0/subscriptions',
      newSubscription({ changeType: 'created,updated' }),
    );
    expect(created.status).toBe(400);
    expect(errorOf(created).message).toBe("Invalid 'changeType' attribute: 'created'.");
    const tooLong = await call(
      sim.url,
      'POST',
      '/v1.0/subscriptions',
      newSubscription({ expirationDateTime: inDays(29.1) }),
    );
    expect(tooLong.status).toBe(400);
    expect(errorOf(tooLong).message).toBe('Subscription expiration can only be 41760 minutes in the future.');
    const state = await call(
      sim.url,
      'POST',
      '/v1.0/subscriptions',
      newSubscription({ clientState: 'x'.repeat(129) }),
    );
    expect(state.status).toBe(400);
    const group = await call(
      sim.url,
      'POST',
      '/v1.0/subscriptions',
      newSubscription({ resource: '/groups' }),
    );
    expect(group.status).toBe(400);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('subscription lifecycle', () => {
  it('gets, renews, reauthorizes and deletes', async () => {
    const created = await call(sim.url, 'POST', '/v1.0/subscriptions', newSubscription());
    const id = String(created.body['id']);
    const got = await call(sim.url, 'GET', `/v1.0/subscriptions/${id}`);
    expect(got.status).toBe(200);
    const renewed = await call(sim.url, 'PATCH', `/v1.0/subscriptions/${id}`, {
      expirationDateTime: inDays(20),
    });
    expect(renewed.status).toBe(200);
    expect(renewed.body['expirationDateTime']).toBe(inDays(20));
    const tooFar = await call(sim.url, 'PATCH', `/v1.0/subscriptions/${id}`, {
      expirationDateTime: inDays(40),
    });
    expect(tooFar.status).toBe(400);
    const reauth = await call(sim.url, 'POST', `/v1.0/subscriptions/${id}/reauthorize`);
    expect(reauth.status).toBe(204);
    const deleted = await call(sim.url, 'DELETE', `/v1.0/subscriptions/${id}`);
    expect(deleted.status).toBe(204);
    const gone = await call(sim.url, 'GET', `/v1.0/subscriptions/${id}`);
    expect(gone.status).toBe(404);
    expect(sim.counters.snapshot()).toMatchObject({
      createSubscription: 1,
      getSubscription: 2,
      renewSubscription: 2,
      reauthorizeSubscription: 1,
      deleteSubscription: 1,
    });
  });

  it('answers 404 after loseSubscription and after expiry', async () => {
    const a = String((await call(sim.url, 'POST', '/v1.0/subscriptions', newSubscription())).body['id']);
    const b = String((await call(sim.url, 'POST', '/v1.0/subscriptions', newSubscription())).body['id']);
    sim.tenant.loseSubscription(a);
    expect((await call(sim.url, 'GET', `/v1.0/subscriptions/${a}`)).status).toBe(404);
    expect((await call(sim.url, 'GET', `/v1.0/subscriptions/${b}`)).status).toBe(200);
    now = new Date(now.getTime() + 3 * 86_400_000);
    expect((await call(sim.url, 'GET', `/v1.0/subscriptions/${b}`)).status).toBe(404);
    expect(sim.tenant.subscriptions()).toEqual([]);
  });
});

describe('change notifications', () => {
  it('delivers an updated notification for upsertUser when flushed', async () => {
    const sub = await call(sim.url, 'POST', '/v1.0/subscriptions', newSubscription());
    receiver.received.length = 0;
    const user = sim.tenant.upsertUser({
      userPrincipalName: 'frank@fabrikam.com',
      onPremisesSyncEnabled: true,
    });
    expect(receiver.received).toHaveLength(0);
    expect(sim.tenant.pendingNotifications()).toBe(1);
    const deliveries = await sim.tenant.flushNotifications();
    expect(deliveries).toEqual([
      { subscriptionId: sub.body['id'], url: receiver.url, status: 202, count: 1 },
    ]);
    expect(receiver.received[0]?.body).toEqual({
      value: [
        {
          subscriptionId: sub.body['id'],
          subscriptionExpirationDateTime: sub.body['expirationDateTime'],
          changeType: 'updated',
          resource: `Users/${user.id}`,
          resourceData: {
            '@odata.type': '#Microsoft.Graph.User',
            '@odata.id': `Users/${user.id}`,
            id: user.id,
            organizationId: IDS.tenant,
          },
          clientState: 'secret-client-state',
          tenantId: IDS.tenant,
        },
      ],
    });
    expect(sim.tenant.pendingNotifications()).toBe(0);
  });

  it('sends a soft delete as updated and a permanent delete as deleted, only to subscriptions asking for it', async () => {
    const updatesOnly = await call(
      sim.url,
      'POST',
      '/v1.0/subscriptions',
      newSubscription({ changeType: 'updated' }),
    );
    expect(updatesOnly.status).toBe(201);
    // A soft delete is an update of the user (it moves to deleted items).
    sim.tenant.deleteUser(IDS.bob);
    expect(sim.tenant.pendingNotifications()).toBe(1);
    const soft = await sim.tenant.flushNotifications();
    expect(soft).toHaveLength(1);
    // A permanent delete is `deleted`, which this subscription did not ask for.
    sim.tenant.deleteUser(IDS.bob, { permanent: true });
    expect(sim.tenant.pendingNotifications()).toBe(0);

    await call(sim.url, 'POST', '/v1.0/subscriptions', newSubscription());
    receiver.notificationStatus = 500;
    sim.tenant.deleteUser(IDS.dave, { permanent: true });
    const failed = await sim.tenant.flushNotifications();
    expect(failed.map((d) => d.status)).toEqual([500]);
    expect(sim.tenant.pendingNotifications()).toBe(1);
    receiver.notificationStatus = 202;
    const retried = await sim.tenant.flushNotifications();
    expect(retried.map((d) => d.status)).toEqual([202]);
    const last = receiver.received[receiver.received.length - 1]?.body as { value: { changeType: string }[] };
    expect(last.value.map((v) => v.changeType)).toEqual(['deleted']);
  });

  it('posts reauthorizationRequired to the lifecycle URL', async () => {
    const sub = await call(sim.url, 'POST', '/v1.0/subscriptions', newSubscription());
    receiver.received.length = 0;
    const delivery = await sim.tenant.sendLifecycleEvent(String(sub.body['id']), 'reauthorizationRequired');
    expect(delivery.status).toBe(202);
    expect(delivery.url).toBe(`${receiver.url}?lifecycle=1`);
    expect(receiver.received[0]?.body).toEqual({
      value: [
        {
          subscriptionId: sub.body['id'],
          subscriptionExpirationDateTime: sub.body['expirationDateTime'],
          tenantId: IDS.tenant,
          clientState: 'secret-client-state',
          lifecycleEvent: 'reauthorizationRequired',
        },
      ],
    });
  });
});
