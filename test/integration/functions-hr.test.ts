/**
 * End to end through the hr-webhook handler (Standard Webhooks signatures over real HttpRequests)
 * and the worker: a hire before AD sync is retried with a scheduled copy and licensed once the
 * user appears; a leave removes only managed SKUs (now, or at its effective date); every refusal
 * answers the right status and enqueues nothing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { parseTenantFile } from '@ems-licensing/graph-simulator';
import { IDS, smallTenant } from '@ems-licensing/graph-simulator/test-support';
import { hrWebhookHandler } from '../../lib/functions/hr-webhook.js';
import {
  context,
  type FunctionsHarness,
  jsonBody,
  like,
  manualTimer,
  matching,
  startFunctionsHarness,
  withIntakePublish,
} from '../support/functions-harness.js';

const MONA = 'a0000000-0000-4000-8000-0000000000a1';
const NILS = 'a0000000-0000-4000-8000-0000000000a2';
const OTTO = 'a0000000-0000-4000-8000-0000000000a3';

/** Plus two synced contractors holding EMS (Intune off) and Office 365 E3 with Office for the web off. */
function tenant() {
  const base = smallTenant();
  const leaver = (id: string, upn: string) => ({
    id,
    userPrincipalName: upn,
    usageLocation: 'GB',
    onPremisesSyncEnabled: true,
    employeeType: 'Contractor',
    directLicenses: [
      { skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] },
      { skuId: IDS.ENTERPRISEPACK, disabledPlans: [IDS.SHAREPOINTWAC] },
    ],
  });
  return parseTenantFile({
    ...base,
    users: [
      ...base.users,
      leaver(MONA, 'mona@fabrikam.com'),
      leaver(NILS, 'nils@fabrikam.com'),
      leaver(OTTO, 'otto@fabrikam.com'),
    ],
  });
}

const KEPT = { skuId: IDS.ENTERPRISEPACK, disabledPlans: [IDS.SHAREPOINTWAC] };

let h: FunctionsHarness;

beforeAll(async () => {
  h = await startFunctionsHarness({
    storageConnectionString: inject('storageConnectionString'),
    tenant: tenant(),
  });
  // EMS seats for everyone here (the small tenant has 5, four of them taken by now).
  h.sim.tenant.setPrepaidUnits('EMS', 20);
});

afterAll(async () => {
  await h.close();
});

describe('an HR hire before the user is synced', () => {
  it('is deferred with a scheduled retry (attempt 1), then licensed once the user appears', async () => {
    const res = await h.postHr({ body: { type: 'hire', user: { userPrincipalName: 'lena@fabrikam.com' } } });
    expect(res.status).toBe(202);
    const jobId = jsonBody(res)['jobId'];
    expect(h.jobs()).toEqual([
      expect.objectContaining({
        jobId,
        source: 'hr',
        action: 'reconcile',
        user: { userPrincipalName: 'lena@fabrikam.com' },
        attempt: 0,
      }),
    ]);

    const now = h.clock.now().getTime();
    const first = await h.work(h.pending()[0]!);

    expect(first.kind).toBe('rescheduled');
    if (first.kind !== 'rescheduled') return;
    expect(first.attempt).toBe(1);
    // RETRY_BASE_SECONDS=1: the first retry comes after 0.5 to 1 s (jittered), by the app's clock.
    expect(first.at.getTime()).toBeGreaterThanOrEqual(now + 500);
    expect(first.at.getTime()).toBeLessThanOrEqual(h.clock.now().getTime() + 1_000);
    const [scheduled, ...more] = h.broker.scheduled(h.queue);
    expect(more).toHaveLength(0);
    expect(scheduled?.scheduledEnqueueTime?.getTime()).toBe(first.at.getTime());
    expect(scheduled?.applicationProperties['attempt']).toBe(1);
    expect(JSON.parse(String(scheduled?.body))).toMatchObject({
      jobId,
      attempt: 1,
      lastDeferral: matching(/^userNotFound/),
    });
    expect(scheduled?.messageId).not.toBe(h.messages()[0]?.messageId);

    const deferred = await h.outcomesOfJob(String(jobId));
    expect(deferred).toEqual([
      expect.objectContaining({
        outcome: 'DEFERRED',
        userPrincipalName: 'lena@fabrikam.com',
        retryAt: first.at.toISOString(),
        error: like({ code: 'UserNotFound' }),
      }),
    ]);

    // Not visible before its time.
    expect(h.releaseScheduled(new Date(first.at.getTime() - 1))).toBe(0);
    expect(h.pending()).toHaveLength(0);

    // AD sync creates the account; the scheduled copy comes due.
    const lena = h.sim.tenant.upsertUser({
      userPrincipalName: 'lena@fabrikam.com',
      onPremisesSyncEnabled: true,
      employeeType: 'Contractor',
    });
    h.clock.advance(first.at.getTime() - h.clock.now().getTime() + 1);
    expect(h.releaseScheduled()).toBe(1);
    const second = await h.work(h.pending()[0]!);

    expect(second.kind === 'recorded' && second.record.outcome).toBe('ASSIGNED');
    expect(h.sim.tenant.user(lena.id)?.assignedLicenses).toEqual([
      { skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] },
    ]);
    expect((await h.outcomesOfJob(String(jobId))).map((o) => o.outcome)).toEqual(['DEFERRED', 'ASSIGNED']);
  });

  it('a SCIM User naming only the employee number finds the synced account by employeeId', async () => {
    const res = await h.postHr({
      contentType: 'application/scim+json',
      body: {
        schemas: [
          'urn:ietf:params:scim:schemas:core:2.0:User',
          'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
        ],
        userName: 'bbrown',
        active: true,
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: 'C2001' },
      },
    });
    expect(res.status).toBe(202);
    const [message] = h.pending();
    expect(h.jobs().at(-1)).toMatchObject({ action: 'reconcile', user: { employeeId: 'C2001' } });

    const result = await h.work(message!);

    expect(result.kind === 'recorded' && result.record).toMatchObject({
      userId: IDS.bob,
      outcome: 'ASSIGNED',
    });
    expect(h.sim.tenant.user(IDS.bob)?.assignedLicenses).toEqual([
      { skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] },
    ]);
  });
});

describe('an HR leave', () => {
  it('removes the managed SKU only; Office 365 E3 stays with its disabled plan', async () => {
    const res = await h.postHr({ body: { type: 'leave', user: { userPrincipalName: 'mona@fabrikam.com' } } });
    expect(res.status).toBe(202);
    expect(h.jobs().at(-1)).toMatchObject({ action: 'leave', source: 'hr' });

    const result = await h.work(h.pending()[0]!);

    expect(result.kind === 'recorded' && result.record).toMatchObject({
      outcome: 'REMOVED',
      userId: MONA,
      skus: ['EMS'],
      actions: [expect.objectContaining({ kind: 'removeLicense', skuPartNumber: 'EMS' })],
    });
    expect(h.sim.tenant.user(MONA)?.assignedLicenses).toEqual([KEPT]);
    const [assign] = h.sim.requests.filter((r) => r.kind === 'assignLicense' && r.path.includes(MONA));
    expect(assign?.body).toEqual({ addLicenses: [], removeLicenses: [IDS.EMS] });
  });

  it('with an effective date in the future waits for it on the queue, then removes', async () => {
    const effective = new Date(h.clock.now().getTime() + 2 * 60 * 60_000);
    const res = await h.postHr({
      body: {
        type: 'leave',
        user: { userPrincipalName: 'nils@fabrikam.com' },
        effectiveAt: effective.toISOString(),
      },
    });
    expect(res.status).toBe(202);

    const early = await h.work(h.pending()[0]!);

    expect(early).toMatchObject({ kind: 'rescheduled', record: null, attempt: 1 });
    expect(early.kind === 'rescheduled' && early.at.toISOString()).toBe(effective.toISOString());
    expect(h.sim.tenant.user(NILS)?.assignedLicenses).toHaveLength(2);
    expect(await h.outcomes(NILS)).toHaveLength(0);

    h.clock.advance(effective.getTime() - h.clock.now().getTime() + 1);
    expect(h.releaseScheduled()).toBe(1);
    const due = await h.work(h.pending()[0]!);

    expect(due.kind === 'recorded' && due.record.outcome).toBe('REMOVED');
    expect(h.sim.tenant.user(NILS)?.assignedLicenses).toEqual([KEPT]);
  });
});

describe('a delayed leave and what HR says while it waits', () => {
  it('is cancelled by a hire effective when the leave would be (HR rescinds the termination)', async () => {
    const effective = new Date(h.clock.now().getTime() + 2 * 60 * 60_000);
    const leave = await h.postHr({
      body: {
        type: 'leave',
        user: { userPrincipalName: 'otto@fabrikam.com' },
        effectiveAt: effective.toISOString(),
      },
    });
    expect(leave.status).toBe(202);
    expect(await h.work(h.pending()[0]!)).toMatchObject({ kind: 'rescheduled' });
    const before = h.sim.tenant.user(OTTO)?.assignedLicenses;

    // HR changes its mind within the hour: the person stays, from the same date.
    h.clock.advance(60 * 60_000);
    const hire = await h.postHr({
      body: {
        type: 'hire',
        user: { userPrincipalName: 'otto@fabrikam.com' },
        effectiveAt: effective.toISOString(),
      },
    });
    expect(hire.status).toBe(202);
    await h.drain();

    h.clock.advance(effective.getTime() - h.clock.now().getTime() + 1);
    expect(h.releaseScheduled()).toBe(1);
    const due = await h.work(h.pending()[0]!);

    expect(due.kind === 'recorded' && due.record).toMatchObject({
      outcome: 'UNCHANGED',
      error: expect.objectContaining({ code: 'Superseded' }) as unknown,
    });
    expect(h.sim.tenant.user(OTTO)?.assignedLicenses).toEqual(before);
    expect((await (await h.parts.storage()).leavers.get(OTTO))?.state).toBe('rehired');
  });

  it('still happens after an update sent during the notice period (a department change is not a rehire)', async () => {
    const effective = new Date(h.clock.now().getTime() + 2 * 60 * 60_000);
    await h.postHr({
      body: {
        type: 'leave',
        user: { userPrincipalName: 'otto@fabrikam.com' },
        effectiveAt: effective.toISOString(),
      },
    });
    await h.work(h.pending()[0]!);
    h.clock.advance(60 * 60_000);
    const update = await h.postHr({
      body: {
        type: 'update',
        user: { userPrincipalName: 'otto@fabrikam.com' },
        attributes: { department: 'Sales' },
      },
    });
    expect(update.status).toBe(202);
    await h.drain();

    h.clock.advance(effective.getTime() - h.clock.now().getTime() + 1);
    expect(h.releaseScheduled()).toBe(1);
    const due = await h.work(h.pending()[0]!);

    expect(due.kind === 'recorded' && due.record.outcome).toBe('REMOVED');
    expect(h.sim.tenant.user(OTTO)?.assignedLicenses.map((l) => l.skuId.toLowerCase())).not.toContain(
      IDS.EMS,
    );
    expect((await (await h.parts.storage()).leavers.get(OTTO))?.state).toBe('left');
  });
});

describe('refusals: the right status and nothing enqueued', () => {
  const hire = { type: 'hire', user: { userPrincipalName: 'olga@fabrikam.com' } };

  async function refused(post: Parameters<FunctionsHarness['postHr']>[0], status: number) {
    const before = { messages: h.messages().length, transfers: h.broker.stats(h.queue).transfers };
    const res = await h.postHr(post);
    expect(res.status).toBe(status);
    expect(h.messages()).toHaveLength(before.messages);
    expect(h.broker.stats(h.queue).transfers).toBe(before.transfers);
    return res;
  }

  it('a signature by another secret: 401 without detail', async () => {
    const res = await refused({ body: hire, secret: `whsec_${randomBytes(32).toString('base64')}` }, 401);
    expect(jsonBody(res)).toEqual({ error: 'unauthorized' });
  });

  it('a timestamp more than 5 minutes old, or ahead: 401', async () => {
    const now = Math.floor(h.clock.now().getTime() / 1000);
    await refused({ body: hire, timestamp: now - 301 }, 401);
    await refused({ body: hire, timestamp: now + 301 }, 401);
  });

  it('a replayed webhook-id: 200 and no second job', async () => {
    const id = 'msg_replayed_once';
    const first = await h.postHr({ body: hire, id });
    expect(first.status).toBe(202);
    const res = await refused({ body: hire, id }, 200);
    expect(jsonBody(res)).toEqual({ status: 'duplicate' });
  });

  it('a signed body that is not JSON, or not an HR event: 400', async () => {
    await refused({ body: '{"type": "hire", ' }, 400);
    await refused({ body: { type: 'promote', user: { userPrincipalName: 'olga@fabrikam.com' } } }, 400);
    await refused({ body: { type: 'hire', user: {} } }, 400);
  });

  it('a user key with control characters: 400 naming the field, not the value (issue 11, point 5)', async () => {
    for (const user of [{ userPrincipalName: 'olga@fabrikam.com\r\n' }, { employeeId: 'E\u00001' }]) {
      const res = await refused({ body: { type: 'hire', user } }, 400);
      expect(jsonBody(res)).toEqual({
        error: matching(/^invalid HR event: user\.(userPrincipalName|employeeId): holds a control character/),
      });
      expect(res.body).not.toContain('olga');
    }
  });

  it('a bad attribute: 400 that does not echo its name (point 6)', async () => {
    const res = await refused({ body: { ...hire, attributes: { 'pii.person.name': ['Olga'] } } }, 400);
    expect(jsonBody(res)).toEqual({ error: 'invalid HR event: attributes[…]: Invalid input' });
  });

  it('a body over HR_MAX_BODY_BYTES: 413; a body that is not JSON: 415', async () => {
    const big = { ...hire, attributes: { notes: 'x'.repeat(h.parts.config.hrMaxBodyBytes) } };
    await refused({ body: big }, 413);
    await refused({ body: hire, contentType: 'text/plain' }, 415);
  });
});

describe('intake under a slow or failing queue', () => {
  const hire = { type: 'hire', user: { userPrincipalName: 'pia@fabrikam.com' } };
  const jobsOf = (eventId: string) => h.jobs().filter((j) => j.source === 'hr' && j.eventId === eventId);

  it('a retry overlapping a slow first attempt that then fails is processed, not answered duplicate', async () => {
    const id = `msg_race_${randomBytes(4).toString('hex')}`;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstCalls = 0;
    // The first attempt's publish takes its time, then fails (as a Service Bus timeout would).
    const slowThenFail = hrWebhookHandler(() =>
      withIntakePublish(h.parts, async () => {
        firstCalls += 1;
        await held;
        throw new Error('service bus timed out');
      }),
    );
    const first = slowThenFail(h.hrRequest({ body: hire, id }), context('hr-webhook'));
    await vi.waitFor(() => expect(firstCalls).toBe(1));

    const retry = await h.postHr({ body: hire, id });
    expect(retry.status).toBe(202);
    expect(jsonBody(retry)).toMatchObject({ status: 'accepted' });

    release();
    expect((await first).status).toBe(503);
    expect(jobsOf(id)).toHaveLength(1);
    const storage = await h.parts.storage();
    expect((await storage.inbox.check('hr', [id])).get(id)).toBe('seen');
    // A later redelivery is the duplicate.
    expect((await h.postHr({ body: hire, id })).status).toBe(200);
    expect(jobsOf(id)).toHaveLength(1);
  });

  it('two overlapping first deliveries both answer 202 and leave one message (MessageId dedupe)', async () => {
    const id = `msg_twice_${randomBytes(4).toString('hex')}`;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const slow = hrWebhookHandler(() =>
      withIntakePublish(h.parts, async (jobs, real) => {
        calls += 1;
        await held;
        await real.publish(jobs);
      }),
    );
    const first = slow(h.hrRequest({ body: hire, id }), context('hr-webhook'));
    await vi.waitFor(() => expect(calls).toBe(1));
    expect((await h.postHr({ body: hire, id })).status).toBe(202);
    release();
    expect((await first).status).toBe(202);
    expect(jobsOf(id)).toHaveLength(1);
  });

  it('answers 503 once the time budget is spent, records nothing, and the retry is processed', async () => {
    const id = `msg_budget_${randomBytes(4).toString('hex')}`;
    const timer = manualTimer();
    let calls = 0;
    const stuck = hrWebhookHandler(
      () =>
        withIntakePublish(h.parts, () => {
          calls += 1;
          return new Promise<void>(() => undefined);
        }),
      { timer },
    );
    const answer = stuck(h.hrRequest({ body: hire, id }), context('hr-webhook'));
    await vi.waitFor(() => expect(calls).toBe(1));
    timer.fire();
    const res = await answer;
    expect(res.status).toBe(503);
    expect(jsonBody(res)).toEqual({ error: matching(/retry later/) });
    expect((await (await h.parts.storage()).inbox.check('hr', [id])).get(id)).toBe('new');

    expect((await h.postHr({ body: hire, id })).status).toBe(202);
    expect(jobsOf(id)).toHaveLength(1);
  });

  it('arms its timer with the budget it was given', async () => {
    const timer = manualTimer();
    const asked: number[] = [];
    const stuck = hrWebhookHandler(
      () => withIntakePublish(h.parts, () => new Promise<void>(() => undefined)),
      {
        budgetMs: 50,
        timer: {
          set: (callback, ms) => {
            asked.push(ms);
            return timer.set(callback, ms);
          },
          clear: (handle) => timer.clear(handle),
        },
      },
    );
    const answer = stuck(h.hrRequest({ body: hire }), context('hr-webhook'));
    // Armed as the exchange starts, before any I/O.
    expect(asked).toEqual([50]);
    timer.fire();
    expect((await answer).status).toBe(503);
  });
});
