import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../lib/log.js';
import {
  GRAPH_REACCEPT_AFTER_MS,
  graphEventId,
  handleGraphNotification,
  MAX_NOTIFICATION_ITEMS,
  MAX_VALIDATION_TOKEN_LENGTH,
  type GraphNotificationDeps,
  type IntakeRequest,
  type LifecycleEvent,
} from '../../lib/intake/index.js';
import { jobMessageId, licenseJobSchema, type LicenseJob } from '../../lib/queue/job.js';
import type { InboxStatus, InboxStore } from '../../lib/store/ports.js';

const CLIENT_STATE = 'the-client-state-of-our-subscriptions';
const SUB = '7f105c7d-2dc5-4530-97cd-4e7ae6534c07';
const OTHER_SUB = 'a1b2c3d4-0000-4000-8000-000000000001';
const TENANT = '84bd8158-6d4d-4958-8b9f-9d6445542f95';
const USER_A = '5a9a1f2c-0000-4000-8000-00000000000a';
const USER_B = '5a9a1f2c-0000-4000-8000-00000000000b';
const T0 = new Date('2025-03-01T10:00:00.000Z');

function fakeInbox(options: { failCheck?: boolean } = {}) {
  const entries = new Map<string, number>();
  const recorded: string[] = [];
  const inbox: InboxStore = {
    check(source, eventIds, opts) {
      if (options.failCheck) return Promise.reject(new Error('table unavailable'));
      const now = (opts?.now ?? new Date()).getTime();
      const window = opts?.reacceptAfterMs;
      const status = (id: string): InboxStatus => {
        const at = entries.get(`${source}/${id}`);
        if (at === undefined) return 'new';
        return window === undefined || now - at < window ? 'seen' : 'expired';
      };
      return Promise.resolve(new Map(eventIds.map((id) => [id, status(id)])));
    },
    record(source, list, opts) {
      for (const e of list) {
        recorded.push(`${source}/${e.eventId}`);
        entries.set(`${source}/${e.eventId}`, (opts?.now ?? new Date()).getTime());
      }
      return Promise.resolve();
    },
    prune: () => Promise.resolve(0),
  };
  return { inbox, entries, recorded };
}

function setup(
  overrides: {
    failPublish?: number;
    failCheck?: boolean;
    /** Runs before the fake publisher keeps the jobs (after the failPublish count). */
    publish?: (jobs: LicenseJob[]) => Promise<void>;
    lifecycle?: GraphNotificationDeps['lifecycle'];
    /** The subscriptions the app owns (default: SUB and OTHER_SUB). */
    owned?: readonly string[];
    /** Replaces the ownership lookup. */
    ownedSubscriptions?: GraphNotificationDeps['ownedSubscriptions'];
    tenantId?: string;
  } = {},
) {
  const store = fakeInbox({ failCheck: overrides.failCheck ?? false });
  const published: LicenseJob[][] = [];
  const attempted: LicenseJob[][] = [];
  /** MessageIds the fake broker kept: a second publish of one is dropped, as duplicate detection does. */
  const messageIds = new Set<string>();
  let failures = overrides.failPublish ?? 0;
  const lifecycleCalls: LifecycleEvent[] = [];
  const ownershipLookups: string[][] = [];
  const owned = new Set((overrides.owned ?? [SUB, OTHER_SUB]).map((id) => id.toLowerCase()));
  const lines: string[] = [];
  let clock = T0;
  let ids = 0;
  const deps: GraphNotificationDeps = {
    inbox: store.inbox,
    publisher: {
      async publish(jobs) {
        attempted.push(jobs);
        if (failures > 0) {
          failures -= 1;
          throw new Error('service bus down');
        }
        if (overrides.publish) await overrides.publish(jobs);
        const kept = jobs.filter((j) => !messageIds.has(jobMessageId(j)));
        for (const j of kept) messageIds.add(jobMessageId(j));
        if (kept.length > 0) published.push(kept);
      },
      schedule: () => Promise.reject(new Error('not used by intake')),
      close: () => Promise.resolve(),
    },
    logger: createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } }),
    now: () => clock,
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    clientState: CLIENT_STATE,
    ...(overrides.tenantId === undefined ? {} : { tenantId: overrides.tenantId }),
    ownedSubscriptions:
      overrides.ownedSubscriptions ??
      ((asked) => {
        ownershipLookups.push([...asked]);
        return Promise.resolve(new Set([...asked].filter((id) => owned.has(id.toLowerCase()))));
      }),
    lifecycle:
      overrides.lifecycle ??
      ((e) => {
        lifecycleCalls.push(e);
        return Promise.resolve();
      }),
  };
  return {
    deps,
    store,
    published,
    attempted,
    lifecycleCalls,
    ownershipLookups,
    lines,
    setNow: (d: Date) => (clock = d),
  };
}

/** A promise and the functions that settle it. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function change(userId: string, extra: Record<string, unknown> = {}) {
  return {
    subscriptionId: SUB,
    subscriptionExpirationDateTime: '2025-03-20T10:00:00.0000000Z',
    changeType: 'updated',
    resource: `Users/${userId}`,
    resourceData: { '@odata.type': '#Microsoft.Graph.User', '@odata.id': `Users/${userId}`, id: userId },
    clientState: CLIENT_STATE,
    tenantId: TENANT,
    ...extra,
  };
}

function post(body: unknown, query = ''): IntakeRequest {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    method: 'POST',
    url: `https://app.example.net/api/graph-notifications${query}`,
    query: new URLSearchParams(query),
    headers: { 'content-type': 'application/json' },
    body: new TextEncoder().encode(raw),
  };
}

describe('Graph validation handshake', () => {
  it('echoes the URL-decoded token as text/plain with nosniff, without touching the inbox', async () => {
    const t = setup();
    const res = await handleGraphNotification(
      post(
        '',
        '?validationToken=Validation%3a+Testing+client+application+reachability+for+subscription+Request-Id%3a+25460109-0e8b-4521-8090-dd691b407ed8',
      ),
      t.deps,
    );
    expect(res.status).toBe(200);
    expect(res.body).toBe(
      'Validation: Testing client application reachability for subscription Request-Id: 25460109-0e8b-4521-8090-dd691b407ed8',
    );
    expect(res.headers['Content-Type']).toBe('text/plain; charset=utf-8');
    expect(res.headers['X-Content-Type-Options']).toBe('nosniff');
    expect(t.store.entries.size).toBe(0);
    expect(t.published).toHaveLength(0);
  });

  it.each([
    ['markup', '%3Cscript%3Ealert(1)%3C%2Fscript%3E'],
    ['quotes', '%22onload%3D%22x'],
    ['an empty token', ''],
    ['a token over the cap', 'a'.repeat(MAX_VALIDATION_TOKEN_LENGTH + 1)],
  ])('refuses %s with 400 and never echoes it', async (_name, encoded) => {
    const t = setup();
    const res = await handleGraphNotification(post('', `?validationToken=${encoded}`), t.deps);
    expect(res.status).toBe(400);
    expect(res.headers['Content-Type']).toMatch(/^application\/json/);
    expect(res.headers['X-Content-Type-Options']).toBe('nosniff');
    expect(res.body).not.toContain('<script>');
    expect(res.body).not.toContain('a'.repeat(100));
  });

  it('accepts a token exactly at the cap', async () => {
    const t = setup();
    const token = 'b'.repeat(MAX_VALIDATION_TOKEN_LENGTH);
    const res = await handleGraphNotification(post('', `?validationToken=${token}`), t.deps);
    expect(res.status).toBe(200);
    expect(res.body).toBe(token);
  });

  it('answers 405 to a GET, so a plain link cannot reflect anything', async () => {
    const t = setup();
    const res = await handleGraphNotification({ ...post('', '?validationToken=abc'), method: 'GET' }, t.deps);
    expect(res.status).toBe(405);
    expect(res.headers['Allow']).toBe('POST');
    expect(res.body).not.toContain('abc');
  });
});

describe('Graph change notifications', () => {
  it('publishes one valid reconcile job per user and answers 202', async () => {
    const t = setup();
    const res = await handleGraphNotification(
      { ...post({ value: [change(USER_A), change(USER_B)] }), correlationId: 'inv-1' },
      t.deps,
    );
    expect(res.status).toBe(202);
    expect(t.published).toHaveLength(1);
    const jobs = t.published[0]!;
    expect(jobs.map((j) => j.user.id).sort()).toEqual([USER_A, USER_B]);
    for (const job of jobs) {
      expect(licenseJobSchema.parse(job)).toEqual(job);
      expect(job).toMatchObject({
        source: 'graph',
        action: 'reconcile',
        attempt: 0,
        correlationId: 'inv-1',
        acceptedAt: T0.toISOString(),
      });
      expect(job.eventId.startsWith(graphEventId(SUB, job.user.id!, 'updated'))).toBe(true);
    }
    expect(t.store.entries.has(`graph/${graphEventId(SUB, USER_A, 'updated')}`)).toBe(true);
  });

  it('makes one job for notifications about the same user in one batch, even from two subscriptions', async () => {
    const t = setup();
    const otherSub = change(USER_A.toUpperCase(), { subscriptionId: OTHER_SUB });
    const res = await handleGraphNotification(
      post({ value: [change(USER_A), change(USER_A), otherSub] }),
      t.deps,
    );
    expect(res.status).toBe(202);
    expect(t.published.flat()).toHaveLength(1);
    expect(t.published.flat()[0]?.user.id).toBe(USER_A);
  });

  it('drops items with a wrong or missing clientState, makes no job for them, and never logs the value', async () => {
    const t = setup();
    const res = await handleGraphNotification(
      post({
        value: [
          change(USER_A, { clientState: 'guessed-secret-value' }),
          change(USER_B, { clientState: undefined }),
        ],
      }),
      t.deps,
    );
    expect(res.status).toBe(202);
    expect(t.published).toHaveLength(0);
    expect(t.store.entries.size).toBe(0);
    const log = t.lines.join('\n');
    expect(log).toContain('"wrongClientState":2');
    expect(log).not.toContain('guessed-secret-value');
    expect(log).not.toContain(CLIENT_STATE);
  });

  it('keeps the good items of a batch that also holds a forged one', async () => {
    const t = setup();
    await handleGraphNotification(
      post({ value: [change(USER_A, { clientState: 'forged' }), change(USER_B)] }),
      t.deps,
    );
    expect(t.published.flat().map((j) => j.user.id)).toEqual([USER_B]);
  });

  it('treats the same notification within the window as a duplicate, and later as a new change', async () => {
    const t = setup();
    await handleGraphNotification(post({ value: [change(USER_A)] }), t.deps);
    t.setNow(new Date(T0.getTime() + GRAPH_REACCEPT_AFTER_MS - 1_000));
    const dup = await handleGraphNotification(post({ value: [change(USER_A)] }), t.deps);
    expect(dup.status).toBe(202);
    expect(t.published.flat()).toHaveLength(1);

    t.setNow(new Date(T0.getTime() + GRAPH_REACCEPT_AFTER_MS + 1_000));
    await handleGraphNotification(post({ value: [change(USER_A)] }), t.deps);
    const jobs = t.published.flat();
    expect(jobs).toHaveLength(2);
    // A re-accepted change must survive Service Bus duplicate detection: a new MessageId.
    expect(jobMessageId(jobs[0]!)).not.toBe(jobMessageId(jobs[1]!));
  });

  it('makes no job for deleted users but still answers 202', async () => {
    const t = setup();
    const res = await handleGraphNotification(
      post({ value: [change(USER_A, { changeType: 'deleted' })] }),
      t.deps,
    );
    expect(res.status).toBe(202);
    expect(t.published).toHaveLength(0);
    expect(t.lines.join('\n')).toMatch(/"deleted":1/);
  });

  it('ignores items about other resources', async () => {
    const t = setup();
    await handleGraphNotification(
      post({ value: [change(USER_A, { resource: `Groups/${USER_A}`, resourceData: { id: USER_A } })] }),
      t.deps,
    );
    expect(t.published).toHaveLength(0);
  });

  it('answers 503 and records nothing when publishing fails, so the retry gets through', async () => {
    const t = setup({ failPublish: 1 });
    const failed = await handleGraphNotification(post({ value: [change(USER_A), change(USER_B)] }), t.deps);
    expect(failed.status).toBe(503);
    expect(t.store.recorded).toEqual([]);
    expect(t.store.entries.size).toBe(0);

    const retried = await handleGraphNotification(post({ value: [change(USER_A), change(USER_B)] }), t.deps);
    expect(retried.status).toBe(202);
    expect(t.published.flat()).toHaveLength(2);
    expect(t.store.recorded.sort()).toEqual(
      [
        `graph/${graphEventId(SUB, USER_A, 'updated')}`,
        `graph/${graphEventId(SUB, USER_B, 'updated')}`,
      ].sort(),
    );
    // Same MessageIds as the failed attempt: the broker drops whatever that attempt had sent.
    const ids = (jobs: LicenseJob[]) => jobs.map((j) => jobMessageId(j)).sort();
    expect(ids(t.published[0]!)).toEqual(ids(t.attempted[0]!));
  });

  it('answers 503 and records nothing when the inbox check fails', async () => {
    const t = setup({ failCheck: true });
    const res = await handleGraphNotification(post({ value: [change(USER_A), change(USER_B)] }), t.deps);
    expect(res.status).toBe(503);
    expect(t.attempted).toHaveLength(0);
    expect(t.store.entries.size).toBe(0);
  });

  it('does not answer a retry that overlaps a slow, failing first attempt as a duplicate', async () => {
    const first = deferred();
    let calls = 0;
    const t = setup({
      publish: () => {
        calls += 1;
        return calls === 1 ? first.promise : Promise.resolve();
      },
    });
    const slow = handleGraphNotification(post({ value: [change(USER_A)] }), t.deps);
    await vi.waitFor(() => expect(calls).toBe(1));

    const retry = await handleGraphNotification(post({ value: [change(USER_A)] }), t.deps);
    expect(retry.status).toBe(202);
    // The retry published the job itself rather than counting it a duplicate.
    expect(JSON.parse(retry.body!)).toEqual({ status: 'accepted', jobs: 1 });

    first.reject(new Error('service bus timed out'));
    expect((await slow).status).toBe(503);
    expect(t.published.flat().map((j) => j.user.id)).toEqual([USER_A]);
    expect(t.store.entries.has(`graph/${graphEventId(SUB, USER_A, 'updated')}`)).toBe(true);
  });

  it.each([
    ['invalid JSON', '{"value": ['],
    ['no value array', { notValue: [] }],
    ['a value that is not an array', { value: { 0: change(USER_A) } }],
  ])('refuses %s with 400 and a fixed reason, enqueuing nothing', async (_name, body) => {
    const t = setup();
    const res = await handleGraphNotification(post(body), t.deps);
    expect(res.status).toBe(400);
    expect((JSON.parse(res.body!) as { error: string }).error).toMatch(
      /^the body is not (valid JSON|a change notification collection)/,
    );
    expect(t.published).toHaveLength(0);
    expect(t.store.entries.size).toBe(0);
  });

  it('answers 413 when the trigger could not read the whole body', async () => {
    const t = setup();
    const res = await handleGraphNotification({ ...post({ value: [] }), bodyTooLarge: true }, t.deps);
    expect(res.status).toBe(413);
  });
});

/** Every log line, parsed. */
const logged = (lines: readonly string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('answers to unauthenticated senders are short and fixed (issue 11, point 1)', () => {
  /** The longest answer or log line allowed: a reason and a few counts. */
  const SHORT = 300;

  it('answers a 1 MiB body of empty items 413 with a reason and a count, and logs no more', async () => {
    const t = setup();
    const count = Math.floor((1_048_576 - 12) / 3);
    const raw = `{"value":[${Array.from({ length: count }, () => '{}').join(',')}]}`;
    const res = await handleGraphNotification(post(raw), t.deps);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body!)).toEqual({
      error: 'too many notifications in one request',
      items: count,
      limit: MAX_NOTIFICATION_ITEMS,
    });
    expect(res.body!.length).toBeLessThan(SHORT);
    expect(t.lines.length).toBeGreaterThan(0);
    for (const line of t.lines) expect(line.length).toBeLessThan(SHORT);
    expect(t.attempted).toHaveLength(0);
  });

  it('answers a full batch of malformed items without our clientState 202 with a fixed body', async () => {
    const t = setup();
    const junk = Array.from({ length: 2_500 }, (_, i) => ({
      subscriptionId: i,
      changeType: ['x'.repeat(50)],
      resource: { nested: 'y'.repeat(50) },
      clientState: `guess-${String(i)}`,
    }));
    const res = await handleGraphNotification(post({ value: junk }), t.deps);
    expect(res.status).toBe(202);
    expect(JSON.parse(res.body!)).toEqual({ status: 'accepted', jobs: 0 });
    for (const line of t.lines) expect(line.length).toBeLessThan(SHORT);
    expect(logged(t.lines)[0]).toMatchObject({ wrongClientState: 2_500, items: 2_500 });
    expect(t.lines.join('\n')).not.toContain('guess-');
    // Nothing was asked of the app's storage for an anonymous batch.
    expect(t.ownershipLookups).toEqual([]);
  });

  it('refuses a body declared as something other than JSON with a fixed 415', async () => {
    const t = setup();
    const res = await handleGraphNotification(
      { ...post({ value: [change(USER_A)] }), headers: { 'content-type': 'text/html; charset=utf-8' } },
      t.deps,
    );
    expect(res.status).toBe(415);
    expect(JSON.parse(res.body!)).toEqual({ error: 'Content-Type must be application/json' });
    expect(t.attempted).toHaveLength(0);
  });

  it('accepts the JSON types Graph sends, and a body with no Content-Type', async () => {
    const t = setup();
    for (const headers of [{ 'content-type': 'application/json; charset=utf-8' }, {}]) {
      const res = await handleGraphNotification({ ...post({ value: [change(USER_A)] }), headers }, t.deps);
      expect(res.status).toBe(202);
    }
  });

  it('names an authentic malformed item by field, never by value, and keeps the rest of the batch', async () => {
    const t = setup();
    const bad = change(USER_A, {
      changeType: undefined,
      subscriptionExpirationDateTime: { secret: 'x'.repeat(500) },
    });
    const res = await handleGraphNotification(post({ value: [bad, change(USER_B)] }), t.deps);
    expect(res.status).toBe(202);
    expect(t.published.flat().map((j) => j.user.id)).toEqual([USER_B]);
    const warning = logged(t.lines).find((l) => l['msg'] === 'notification items dropped');
    expect(warning).toMatchObject({ malformed: 1, items: 2 });
    expect(warning?.['firstProblem']).toBe(
      'value[0]: subscriptionExpirationDateTime: Invalid input: expected string, received object',
    );
    expect(t.lines.join('\n')).not.toContain('xxxxx');
  });
});

describe('only user notifications of owned subscriptions from our tenant become jobs (points 3, 4)', () => {
  it('checks @odata.type and that resource is Users/{id} agreeing with resourceData.id', async () => {
    const t = setup();
    const C = '5a9a1f2c-0000-4000-8000-00000000000c';
    const D = '5a9a1f2c-0000-4000-8000-00000000000d';
    const E = '5a9a1f2c-0000-4000-8000-00000000000e';
    const items = [
      // Not users: a group whose resource still says Users/, a group path, a path with more in it.
      change(USER_A, { resourceData: { '@odata.type': '#Microsoft.Graph.Group', id: USER_A } }),
      change(USER_A, { resource: `Groups/${USER_A}`, resourceData: { id: USER_A } }),
      change(USER_A, { resource: `Users/${USER_A}/manager` }),
      // Two ids that disagree: neither is trusted.
      change(USER_B, { resourceData: { '@odata.type': '#Microsoft.Graph.User', id: C } }),
      // No resource at all: the subscription's resource is /users, every user item names it.
      change(C, { resource: undefined }),
      // Users, in the spellings Graph uses: type in any case, resource with or without resourceData.
      change(D, { resourceData: { '@odata.type': '#microsoft.graph.user', id: D.toUpperCase() } }),
      change(E, { resourceData: undefined }),
    ];
    const res = await handleGraphNotification(post({ value: items }), t.deps);
    expect(res.status).toBe(202);
    expect(JSON.parse(res.body!)).toEqual({ status: 'accepted', jobs: 2 });
    expect(t.published.flat().map((j) => j.user.id)).toEqual([D.toUpperCase(), E]);
    expect(logged(t.lines).find((l) => l['msg'] === 'notification items dropped')).toMatchObject({
      notUser: 5,
    });
  });

  it('drops items of subscriptions the app does not own, asking once per request', async () => {
    const t = setup({ owned: [SUB] });
    const stranger = 'b0b0b0b0-0000-4000-8000-0000000000ff';
    const res = await handleGraphNotification(
      post({
        value: [
          change(USER_A, { subscriptionId: stranger }),
          change(USER_B),
          change(USER_A, { subscriptionId: stranger }),
        ],
      }),
      t.deps,
    );
    expect(res.status).toBe(202);
    expect(t.published.flat().map((j) => j.user.id)).toEqual([USER_B]);
    expect(t.ownershipLookups).toEqual([[stranger, SUB]]);
    expect(logged(t.lines).find((l) => l['msg'] === 'notification items dropped')).toMatchObject({
      unknownSubscription: 2,
    });
  });

  it('answers 503 when it cannot tell which subscriptions the app owns, publishing nothing', async () => {
    const t = setup({ ownedSubscriptions: () => Promise.reject(new Error('table unavailable')) });
    const res = await handleGraphNotification(post({ value: [change(USER_A)] }), t.deps);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body!)).toEqual({ error: 'the notifications could not be checked; retry later' });
    expect(t.attempted).toHaveLength(0);
    expect(t.store.entries.size).toBe(0);
  });

  it('drops items of another tenant, and items naming none, when the app knows its tenant', async () => {
    const t = setup({ tenantId: TENANT.toUpperCase() });
    const res = await handleGraphNotification(
      post({
        value: [
          change(USER_A, { tenantId: 'f00dcafe-0000-4000-8000-000000000000' }),
          change(USER_B, { tenantId: undefined }),
          change(USER_A),
        ],
      }),
      t.deps,
    );
    expect(res.status).toBe(202);
    expect(t.published.flat().map((j) => j.user.id)).toEqual([USER_A]);
    expect(logged(t.lines).find((l) => l['msg'] === 'notification items dropped')).toMatchObject({
      foreignTenant: 2,
    });
  });

  it('takes every tenant when AZURE_TENANT_ID is not set', async () => {
    const t = setup();
    await handleGraphNotification(
      post({ value: [change(USER_A, { tenantId: 'f00dcafe-0000-4000-8000-000000000000' })] }),
      t.deps,
    );
    expect(t.published.flat().map((j) => j.user.id)).toEqual([USER_A]);
  });
});

describe('Graph lifecycle notifications', () => {
  const lifecycleItem = {
    subscriptionId: SUB,
    subscriptionExpirationDateTime: '2025-03-01T11:00:00.0000000Z',
    tenantId: '84bd8158-6d4d-4958-8b9f-9d6445542f95',
    clientState: CLIENT_STATE,
    lifecycleEvent: 'reauthorizationRequired',
  };

  it('routes reauthorizationRequired to the lifecycle port once, with no license job', async () => {
    const t = setup();
    const res = await handleGraphNotification(post({ value: [lifecycleItem, lifecycleItem] }), t.deps);
    expect(res.status).toBe(202);
    expect(t.lifecycleCalls).toEqual([
      {
        subscriptionId: SUB,
        lifecycleEvent: 'reauthorizationRequired',
        subscriptionExpirationDateTime: '2025-03-01T11:00:00.0000000Z',
      },
    ]);
    expect(t.published).toHaveLength(0);
  });

  it('does not wait for the lifecycle work before answering', async () => {
    const t = setup({ lifecycle: () => new Promise<void>(() => undefined) });
    const res = await handleGraphNotification(post({ value: [lifecycleItem, change(USER_A)] }), t.deps);
    expect(res.status).toBe(202);
    expect(t.published.flat()).toHaveLength(1);
  });

  it('logs a failing lifecycle call instead of failing the delivery', async () => {
    const t = setup({ lifecycle: () => Promise.reject(new Error('reauthorize failed: 403')) });
    const res = await handleGraphNotification(post({ value: [lifecycleItem] }), t.deps);
    expect(res.status).toBe(202);
    await new Promise((r) => setImmediate(r));
    expect(t.lines.join('\n')).toContain('lifecycle handling failed');
  });

  it('acts once per owned subscription, whatever the batch holds (bounded fan-out, point 7)', async () => {
    const t = setup();
    const strangers = Array.from({ length: 300 }, (_, i) => ({
      ...lifecycleItem,
      subscriptionId: `b0b0b0b0-0000-4000-8000-${String(i).padStart(12, '0')}`,
    }));
    const ours = [
      lifecycleItem,
      lifecycleItem,
      { ...lifecycleItem, subscriptionId: OTHER_SUB },
      lifecycleItem,
    ];
    const res = await handleGraphNotification(post({ value: [...strangers, ...ours] }), t.deps);
    expect(res.status).toBe(202);
    expect(t.lifecycleCalls.map((e) => e.subscriptionId)).toEqual([SUB, OTHER_SUB]);
    expect(logged(t.lines).find((l) => l['msg'] === 'notification items dropped')).toMatchObject({
      unknownSubscription: 300,
    });
  });

  it('ignores lifecycle items of another tenant', async () => {
    const t = setup({ tenantId: TENANT });
    await handleGraphNotification(
      post({ value: [{ ...lifecycleItem, tenantId: 'f00dcafe-0000-4000-8000-000000000000' }] }),
      t.deps,
    );
    expect(t.lifecycleCalls).toEqual([]);
  });

  it('ignores lifecycle items with a wrong clientState', async () => {
    const t = setup();
    await handleGraphNotification(post({ value: [{ ...lifecycleItem, clientState: 'nope' }] }), t.deps);
    expect(t.lifecycleCalls).toHaveLength(0);
  });
});

describe('graphEventId', () => {
  it('is stable, case-insensitive on the user id, and differs per change type and subscription', () => {
    expect(graphEventId(SUB, USER_A, 'updated')).toBe(graphEventId(SUB, USER_A.toUpperCase(), 'updated'));
    expect(graphEventId(SUB, USER_A, 'updated')).not.toBe(graphEventId(SUB, USER_A, 'deleted'));
    expect(graphEventId(SUB, USER_A, 'updated')).not.toBe(graphEventId(USER_B, USER_A, 'updated'));
    expect(graphEventId(SUB, USER_A, 'updated')).toMatch(/^[0-9a-f]{64}$/);
  });
});
