import { createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../lib/log.js';
import {
  handleHrWebhook,
  signStandardWebhook,
  verifyStandardWebhook,
  SCIM_ENTERPRISE_SCHEMA,
  SCIM_USER_SCHEMA,
  type HrWebhookDeps,
  type IntakeRequest,
} from '../../lib/intake/index.js';
import { jobMessageId, licenseJobSchema, type LicenseJob } from '../../lib/queue/job.js';
import type { InboxStore } from '../../lib/store/ports.js';

const SECRET_A = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const SECRET_B = `whsec_${Buffer.alloc(32, 2).toString('base64')}`;
const NOW = new Date('2025-03-01T10:00:00.000Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const HOUR = 3_600_000;

interface SetupOptions {
  failPublish?: number;
  maxBodyBytes?: number;
  failRecord?: boolean;
  grace?: number;
  /** Hours before a future hire's start at which its job runs (default 24). */
  lead?: number;
  secrets?: string[];
  /** Replaces the fake publisher's publish (after the failPublish count). */
  publish?: (jobs: LicenseJob[]) => Promise<void>;
}

function setup(options: SetupOptions = {}) {
  const entries = new Map<string, Record<string, string> | undefined>();
  const recorded: string[] = [];
  const inbox: InboxStore = {
    check: (source, eventIds) =>
      Promise.resolve(new Map(eventIds.map((id) => [id, entries.has(`${source}/${id}`) ? 'seen' : 'new']))),
    record(source, list) {
      if (options.failRecord) return Promise.reject(new Error('table unavailable'));
      for (const e of list) {
        recorded.push(`${source}/${e.eventId}`);
        entries.set(`${source}/${e.eventId}`, e.detail);
      }
      return Promise.resolve();
    },
    prune: () => Promise.resolve(0),
  };
  const published: LicenseJob[] = [];
  /** MessageIds the fake broker kept: a second publish of one is dropped, as duplicate detection does. */
  const messageIds = new Set<string>();
  let failures = options.failPublish ?? 0;
  const lines: string[] = [];
  let ids = 0;
  const deps: HrWebhookDeps = {
    inbox,
    publisher: {
      async publish(jobs) {
        if (failures > 0) {
          failures -= 1;
          throw new Error('service bus down');
        }
        if (options.publish) await options.publish(jobs);
        for (const job of jobs) {
          const messageId = jobMessageId(job);
          if (messageIds.has(messageId)) continue;
          messageIds.add(messageId);
          published.push(job);
        }
      },
      schedule: () => Promise.reject(new Error('not used by intake')),
      close: () => Promise.resolve(),
    },
    logger: createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } }),
    now: () => NOW,
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    secrets: options.secrets ?? [SECRET_A],
    maxBodyBytes: options.maxBodyBytes ?? 4_096,
    leaveGraceHours: options.grace ?? 0,
    hireLeadHours: options.lead ?? 24,
  };
  return { deps, entries, recorded, published, lines };
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

interface DeliveryOptions {
  id?: string;
  timestamp?: number;
  secret?: string;
  signature?: string;
  contentType?: string;
  omit?: string[];
}

function delivery(payload: unknown, o: DeliveryOptions = {}): IntakeRequest {
  const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const body = new TextEncoder().encode(raw);
  const id = o.id ?? 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
  const timestamp = o.timestamp ?? NOW_S;
  const headers: Record<string, string> = {
    'Content-Type': o.contentType ?? 'application/json',
    'Webhook-Id': id,
    'Webhook-Timestamp': String(timestamp),
    'Webhook-Signature':
      o.signature ?? signStandardWebhook({ id, timestamp, body, secret: o.secret ?? SECRET_A }),
  };
  const omit = new Set(o.omit ?? []);
  return {
    method: 'POST',
    url: 'https://app.example.net/api/hr-webhook',
    query: new URLSearchParams(),
    headers: Object.fromEntries(Object.entries(headers).filter(([name]) => !omit.has(name))),
    body,
  };
}

const hire = {
  type: 'hire',
  user: { userPrincipalName: 'ada@contoso.com' },
  attributes: { department: 'R&D' },
};

function scimUser(extra: Record<string, unknown> = {}) {
  return {
    schemas: [SCIM_USER_SCHEMA, SCIM_ENTERPRISE_SCHEMA],
    userName: 'grace@contoso.com',
    externalId: 'hr-4711',
    name: { givenName: 'Grace', familyName: 'Hopper' },
    emails: [{ value: 'grace@contoso.com', type: 'work', primary: true }],
    title: 'Rear Admiral',
    userType: 'Employee',
    active: true,
    [SCIM_ENTERPRISE_SCHEMA]: { employeeNumber: '0815', department: 'Navy', costCenter: 'CC-1' },
    ...extra,
  };
}

describe('Standard Webhooks signatures', () => {
  it('reproduces the published Standard Webhooks test vector', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = new TextEncoder().encode('{"test": 2432232314}');
    const signature = signStandardWebhook({
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: 1614265330,
      body,
      secret,
    });
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    const result = verifyStandardWebhook({
      headers: {
        'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        'webhook-timestamp': '1614265330',
        'webhook-signature': signature,
      },
      body,
      secrets: [secret],
      now: new Date(1614265330_000),
    });
    expect(result).toEqual({ ok: true, id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: 1614265330 });
  });

  it('accepts a signature computed independently with node:crypto', async () => {
    const t = setup();
    const raw = JSON.stringify(hire);
    const key = Buffer.from(SECRET_A.slice('whsec_'.length), 'base64');
    const mac = createHmac('sha256', key).update(`msg_manual.${NOW_S}.${raw}`).digest('base64');
    const res = await handleHrWebhook(delivery(hire, { id: 'msg_manual', signature: `v1,${mac}` }), t.deps);
    expect(res.status).toBe(202);
    expect(t.published).toHaveLength(1);
  });

  it('accepts a signature from the second (rotated) secret, and any matching entry of several', async () => {
    const t = setup({ secrets: [SECRET_A, SECRET_B] });
    expect((await handleHrWebhook(delivery(hire, { id: 'msg_b', secret: SECRET_B }), t.deps)).status).toBe(
      202,
    );

    const good = signStandardWebhook({
      id: 'msg_c',
      timestamp: NOW_S,
      body: JSON.stringify(hire),
      secret: SECRET_B,
    });
    const several = `v1a,${Buffer.alloc(64).toString('base64')} v1,${Buffer.alloc(32).toString('base64')} ${good}`;
    expect((await handleHrWebhook(delivery(hire, { id: 'msg_c', signature: several }), t.deps)).status).toBe(
      202,
    );
    expect(t.published).toHaveLength(2);
  });

  it('refuses a bad signature with 401 and no detail, writing nothing', async () => {
    const t = setup();
    const res = await handleHrWebhook(delivery(hire, { secret: SECRET_B }), t.deps);
    expect(res.status).toBe(401);
    expect(res.body).toBe('{"error":"unauthorized"}');
    expect(t.entries.size).toBe(0);
    expect(t.published).toHaveLength(0);
    const log = t.lines.join('\n');
    expect(log).toContain('no-matching-signature');
    expect(log).not.toContain(SECRET_A.slice(6));
  });

  it('refuses a body changed after signing', async () => {
    const t = setup();
    const req = delivery(hire);
    const tampered = { ...req, body: new TextEncoder().encode(JSON.stringify({ ...hire, type: 'leave' })) };
    expect((await handleHrWebhook(tampered, t.deps)).status).toBe(401);
  });

  it.each([
    ['stale', NOW_S - 301],
    ['future', NOW_S + 301],
  ])('refuses a %s timestamp with 401 even when correctly signed', async (_name, timestamp) => {
    const t = setup();
    const res = await handleHrWebhook(delivery(hire, { timestamp }), t.deps);
    expect(res.status).toBe(401);
    expect(res.body).toBe('{"error":"unauthorized"}');
    expect(t.published).toHaveLength(0);
  });

  it('accepts a timestamp just inside the 5-minute tolerance', async () => {
    const t = setup();
    expect((await handleHrWebhook(delivery(hire, { timestamp: NOW_S - 299 }), t.deps)).status).toBe(202);
  });

  it.each([
    ['a missing webhook-signature', { omit: ['Webhook-Signature'] }],
    ['a missing webhook-id', { omit: ['Webhook-Id'] }],
    ['a webhook-id with a dot', { id: 'msg.1' }],
  ])('refuses %s with 400', async (_name, o: DeliveryOptions) => {
    const t = setup();
    const res = await handleHrWebhook(delivery(hire, o), t.deps);
    expect(res.status).toBe(400);
    expect(t.published).toHaveLength(0);
  });
});

describe('HR webhook intake', () => {
  it('turns a simple hire into one reconcile job keyed by webhook-id', async () => {
    const t = setup();
    const res = await handleHrWebhook(
      { ...delivery(hire, { id: 'msg_hire' }), correlationId: 'inv-9' },
      t.deps,
    );
    expect(res.status).toBe(202);
    expect(t.published).toHaveLength(1);
    const job = t.published[0]!;
    expect(licenseJobSchema.parse(job)).toEqual(job);
    expect(job).toMatchObject({
      source: 'hr',
      eventId: 'msg_hire',
      action: 'reconcile',
      correlationId: 'inv-9',
      user: { userPrincipalName: 'ada@contoso.com' },
      acceptedAt: NOW.toISOString(),
    });
    expect(job.notBefore).toBeUndefined();
    expect(t.entries.get('hr/msg_hire')).toMatchObject({ kind: 'hire', attributes: '{"department":"R&D"}' });
  });

  it('answers a replayed webhook-id 200 without a second job', async () => {
    const t = setup();
    expect((await handleHrWebhook(delivery(hire, { id: 'msg_once' }), t.deps)).status).toBe(202);
    const replay = await handleHrWebhook(delivery(hire, { id: 'msg_once' }), t.deps);
    expect(replay.status).toBe(200);
    expect(t.published).toHaveLength(1);
  });

  it('turns a SCIM user with active:false into a leave job that waits for the grace period', async () => {
    const t = setup({ grace: 48 });
    const res = await handleHrWebhook(delivery(scimUser({ active: false }), { id: 'msg_scim' }), t.deps);
    expect(res.status).toBe(202);
    const job = t.published[0]!;
    expect(job.action).toBe('leave');
    expect(job.notBefore).toBe(new Date(NOW.getTime() + 48 * HOUR).toISOString());
    expect(job.user).toEqual({ userPrincipalName: 'grace@contoso.com', employeeId: '0815' });
    expect(licenseJobSchema.parse(job)).toEqual(job);
    // Organisational facts are kept for explanation; names and emails are not.
    const detail = t.entries.get('hr/msg_scim')!;
    expect(detail['attributes']).toContain('Navy');
    expect(detail['attributes']).not.toContain('Grace');
  });

  it('reads SCIM active "False" (a string) as a leave too', async () => {
    const t = setup();
    await handleHrWebhook(delivery(scimUser({ active: 'False' })), t.deps);
    expect(t.published[0]?.action).toBe('leave');
  });

  it('turns an active SCIM user into a reconcile job, served as application/scim+json', async () => {
    const t = setup();
    const res = await handleHrWebhook(delivery(scimUser(), { contentType: 'application/scim+json' }), t.deps);
    expect(res.status).toBe(202);
    expect(t.published[0]?.action).toBe('reconcile');
  });

  it('holds a hire that starts later until its lead time before the start; a sooner one runs at once', async () => {
    const t = setup({ lead: 24 });
    const hire = (effectiveAt: string) => ({ type: 'hire', user: { employeeId: 'E2' }, effectiveAt });
    const inAWeek = new Date(NOW.getTime() + 7 * 24 * HOUR);
    const tomorrowMorning = new Date(NOW.getTime() + 12 * HOUR);
    await handleHrWebhook(delivery(hire(inAWeek.toISOString()), { id: 'msg_h1' }), t.deps);
    await handleHrWebhook(delivery(hire(tomorrowMorning.toISOString()), { id: 'msg_h2' }), t.deps);
    await handleHrWebhook(
      delivery(
        { type: 'update', user: { employeeId: 'E2' }, effectiveAt: inAWeek.toISOString() },
        { id: 'msg_u1' },
      ),
      t.deps,
    );
    expect(t.published.map((j) => [j.action, j.notBefore])).toEqual([
      ['reconcile', new Date(inAWeek.getTime() - 24 * HOUR).toISOString()],
      ['reconcile', undefined],
      // An update is about attributes Graph already has: it runs at once.
      ['reconcile', undefined],
    ]);
    // The hire's own time is its start: a leave stated before it cannot undo it, one after can.
    expect(t.published[0]?.eventAt).toBe(inAWeek.toISOString());
  });

  it('uses effectiveAt for a leave when it is later than the grace period, and the grace when not', async () => {
    const t = setup({ grace: 24 });
    const later = '2025-03-10T00:00:00Z';
    const earlier = '2025-03-01T12:00:00+00:00';
    const leave = (effectiveAt: string) => ({ type: 'leave', user: { employeeId: 'E1' }, effectiveAt });
    await handleHrWebhook(delivery(leave(later), { id: 'msg_l1' }), t.deps);
    await handleHrWebhook(delivery(leave(earlier), { id: 'msg_l2' }), t.deps);
    expect(t.published.map((j) => j.notBefore)).toEqual([
      new Date(later).toISOString(),
      new Date(NOW.getTime() + 24 * HOUR).toISOString(),
    ]);
  });

  it.each([
    ['a simple event without a user key', { type: 'hire', user: {} }],
    ['an unknown event type', { type: 'promote', user: { employeeId: 'E1' } }],
    ['a SCIM resource without the User schema', { schemas: ['urn:x'], userName: 'a@b.c' }],
    ['a SCIM user without a usable key', { schemas: [SCIM_USER_SCHEMA], userName: 'login-only' }],
    ['invalid JSON', '{"type":'],
  ])('refuses %s with 400, enqueuing nothing and keeping no inbox entry', async (_name, payload) => {
    const t = setup();
    const res = await handleHrWebhook(delivery(payload, { id: 'msg_bad' }), t.deps);
    expect(res.status).toBe(400);
    expect((JSON.parse(res.body!) as { error: string }).error).toMatch(/user|type|schemas|JSON|userName/);
    expect(t.published).toHaveLength(0);
    expect(t.entries.size).toBe(0);
  });

  it.each([
    ['a NUL in a userPrincipalName', { type: 'hire', user: { userPrincipalName: 'ada\u0000@contoso.com' } }],
    [
      'CR/LF in a userPrincipalName',
      { type: 'leave', user: { userPrincipalName: 'ada@contoso.com\r\nX: y' } },
    ],
    ['a LF in an employeeId', { type: 'update', user: { employeeId: 'E1\n' } }],
    ['a C1 control (NEL) in an employeeId', { type: 'hire', user: { employeeId: 'E\u00851' } }],
    ['a line separator in an employeeId', { type: 'hire', user: { employeeId: 'E\u20281' } }],
    ['a NUL in a SCIM userName', scimUser({ userName: 'grace\u0000@contoso.com' })],
    ['a TAB in a SCIM externalId', scimUser({ externalId: 'hr\t4711' })],
    [
      'a DEL in a SCIM employeeNumber',
      scimUser({ [SCIM_ENTERPRISE_SCHEMA]: { employeeNumber: '08\u007f15' } }),
    ],
  ])('refuses %s with 400 (no user can match it), enqueuing nothing (point 5)', async (_name, payload) => {
    const t = setup();
    const res = await handleHrWebhook(delivery(payload, { id: 'msg_ctrl' }), t.deps);
    expect(res.status).toBe(400);
    const error = (JSON.parse(res.body!) as { error: string }).error;
    expect(error).toMatch(/holds a control character/);
    expect(error).toMatch(
      /^invalid (HR event|SCIM user): (user\.userPrincipalName|user\.employeeId|userName|externalId|urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User\.employeeNumber): /,
    );
    // The offending value is neither answered nor logged.
    expect(error).not.toMatch(/ada|grace|E1|hr.4711|0815/);
    expect(t.lines.join('\n')).not.toMatch(/ada@|grace@|hr.4711/);
    expect(t.published).toHaveLength(0);
    expect(t.entries.size).toBe(0);
  });

  it('names a bad attribute without echoing its name or value (point 6)', async () => {
    const t = setup();
    const payload = {
      type: 'hire',
      user: { userPrincipalName: 'ada@contoso.com' },
      attributes: { 'pii.person.Grace Hopper': { born: '1906-12-09' }, department: 'R&D' },
    };
    const res = await handleHrWebhook(delivery(payload), t.deps);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body!)).toEqual({ error: 'invalid HR event: attributes[…]: Invalid input' });
    const log = t.lines.join('\n');
    expect(log).toContain('HR payload refused');
    for (const text of [res.body!, log]) {
      expect(text).not.toContain('pii.person');
      expect(text).not.toContain('Grace');
      expect(text).not.toContain('1906');
    }
    expect(t.published).toHaveLength(0);
  });

  it('keeps a refusal short however many problems the payload has', async () => {
    const t = setup({ maxBodyBytes: 262_144 });
    const attributes = Object.fromEntries(
      Array.from({ length: 2_000 }, (_, i) => [`attribute-${String(i)}-${'k'.repeat(40)}`, [i]]),
    );
    const res = await handleHrWebhook(
      delivery({ type: 'hire', user: { employeeId: 'E1' }, attributes }),
      t.deps,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body!)).toEqual({
      error:
        'invalid HR event: attributes[…]: Invalid input; attributes[…]: Invalid input; attributes[…]: Invalid input; and 1997 more',
    });
    for (const line of t.lines) expect(line.length).toBeLessThan(500);
  });

  it('processes a corrected resend under the same webhook-id after a malformed one', async () => {
    const t = setup();
    expect(
      (await handleHrWebhook(delivery({ type: 'hire', user: {} }, { id: 'msg_fix' }), t.deps)).status,
    ).toBe(400);
    expect((await handleHrWebhook(delivery(hire, { id: 'msg_fix' }), t.deps)).status).toBe(202);
    expect(t.published).toHaveLength(1);
  });

  it('answers 413 over maxBodyBytes or when the trigger stopped reading', async () => {
    const t = setup();
    const big = { ...hire, attributes: { note: 'x'.repeat(5_000) } };
    expect((await handleHrWebhook(delivery(big), t.deps)).status).toBe(413);
    expect((await handleHrWebhook({ ...delivery(hire), bodyTooLarge: true }, t.deps)).status).toBe(413);
    expect(t.published).toHaveLength(0);
  });

  it('answers 415 to a body that is not JSON', async () => {
    const t = setup();
    expect((await handleHrWebhook(delivery(hire, { contentType: 'text/plain' }), t.deps)).status).toBe(415);
    expect((await handleHrWebhook(delivery(hire, { omit: ['Content-Type'] }), t.deps)).status).toBe(415);
    expect(t.published).toHaveLength(0);
  });

  it('answers 503 and records nothing when publishing fails, so the retry is processed', async () => {
    const t = setup({ failPublish: 1 });
    const failed = await handleHrWebhook(delivery(hire, { id: 'msg_retry' }), t.deps);
    expect(failed.status).toBe(503);
    expect(t.recorded).toEqual([]);
    expect(t.entries.size).toBe(0);
    const retried = await handleHrWebhook(delivery(hire, { id: 'msg_retry' }), t.deps);
    expect(retried.status).toBe(202);
    expect(t.published).toHaveLength(1);
    expect(t.recorded).toEqual(['hr/msg_retry']);
  });

  it('records the event only after the job is published', async () => {
    const order: string[] = [];
    const t = setup({
      publish: () => {
        order.push(`publish (inbox: ${String(t.entries.size)})`);
        return Promise.resolve();
      },
    });
    expect((await handleHrWebhook(delivery(hire, { id: 'msg_order' }), t.deps)).status).toBe(202);
    expect(order).toEqual(['publish (inbox: 0)']);
    expect(t.recorded).toEqual(['hr/msg_order']);
  });

  it('answers 202 when recording fails after a successful publish, and warns', async () => {
    const t = setup({ failRecord: true });
    const res = await handleHrWebhook(delivery(hire, { id: 'msg_norecord' }), t.deps);
    expect(res.status).toBe(202);
    expect(t.published).toHaveLength(1);
    expect(t.lines.join('\n')).toMatch(/"level":40.*published but not recorded/);
  });

  it('does not answer a retry that overlaps a slow, failing first attempt as a duplicate', async () => {
    // The first attempt's publish hangs, then fails; the sender's retry arrives meanwhile.
    const first = deferred();
    let calls = 0;
    const t = setup({
      publish: () => {
        calls += 1;
        return calls === 1 ? first.promise : Promise.resolve();
      },
    });
    const slow = handleHrWebhook(delivery(hire, { id: 'msg_race' }), t.deps);
    await vi.waitFor(() => expect(calls).toBe(1));

    const retry = await handleHrWebhook(delivery(hire, { id: 'msg_race' }), t.deps);
    expect(retry.status).toBe(202);
    expect(JSON.parse(retry.body!)).toMatchObject({ status: 'accepted' });

    first.reject(new Error('service bus timed out'));
    expect((await slow).status).toBe(503);

    // Published exactly once, and recorded: the next redelivery is the duplicate.
    expect(t.published).toHaveLength(1);
    expect(t.published[0]).toMatchObject({ eventId: 'msg_race' });
    expect(t.entries.has('hr/msg_race')).toBe(true);
    expect((await handleHrWebhook(delivery(hire, { id: 'msg_race' }), t.deps)).status).toBe(200);
    expect(t.published).toHaveLength(1);
  });

  it('lets two overlapping first deliveries both succeed with one job (MessageId dedupe)', async () => {
    const first = deferred();
    let calls = 0;
    const t = setup({
      publish: () => {
        calls += 1;
        return calls === 1 ? first.promise : Promise.resolve();
      },
    });
    const slow = handleHrWebhook(delivery(hire, { id: 'msg_twice' }), t.deps);
    await vi.waitFor(() => expect(calls).toBe(1));
    expect((await handleHrWebhook(delivery(hire, { id: 'msg_twice' }), t.deps)).status).toBe(202);
    first.resolve();
    expect((await slow).status).toBe(202);
    expect(t.published).toHaveLength(1);
    expect(t.recorded).toEqual(['hr/msg_twice', 'hr/msg_twice']);
  });

  it('answers 405 to anything but POST', async () => {
    const t = setup();
    expect((await handleHrWebhook({ ...delivery(hire), method: 'PUT' }, t.deps)).status).toBe(405);
  });
});
