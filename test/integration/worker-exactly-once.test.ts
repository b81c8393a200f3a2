/**
 * The worker under the failures a queue worker meets: a crash between the Graph write and the
 * record, a delivery repeated after the job finished, a write whose answer is lost, a storage
 * outage, HR events out of order. Each case checks the three promises: the licenses end as they
 * should, every change is made once (the simulator's request log), and every job has exactly one
 * final record that tells what happened. Real parts throughout: the simulator over HTTP (through a
 * fault proxy where answers get lost), Azurite, the AMQP test broker.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '@ems-licensing/graph-simulator';
import { IDS } from '@ems-licensing/graph-simulator/test-support';
import { LicensingContextCache, loadLicensingContext } from '../../lib/engine/licensing-context.js';
import { runLicenseJob, type WorkerDeps, type WorkerResult } from '../../lib/engine/worker.js';
import type { GraphGateway } from '../../lib/graph/gateway.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';
import { silentLogger } from '../../lib/log.js';
import type { LicenseJob } from '../../lib/queue/job.js';
import { parseRules } from '../../lib/rules/load.js';
import type { OutcomeStore } from '../../lib/store/ports.js';
import { simulatorGateway } from '../support/engine-harness.js';
import { type FunctionsHarness, recordOf, startFunctionsHarness } from '../support/functions-harness.js';
import { readFile } from 'node:fs/promises';

const EXAMPLE_RULES = await readFile(new URL('../../examples/rules.yaml', import.meta.url), 'utf8');

let h: FunctionsHarness;

beforeAll(async () => {
  h = await startFunctionsHarness({ storageConnectionString: inject('storageConnectionString') });
  // Seats for every newcomer of this file (the small tenant has five EMS seats).
  h.sim.tenant.setPrepaidUnits('EMS', 100);
});

afterAll(async () => {
  await h.close();
});

/** The worker's dependencies as the app builds them, with parts replaced. */
async function deps(over: Partial<WorkerDeps> = {}): Promise<WorkerDeps> {
  const storage = await h.parts.storage();
  return {
    gateway: await h.parts.gateway(),
    contexts: await h.parts.contexts(),
    outcomes: storage.outcomes,
    leavers: storage.leavers,
    publisher: await h.parts.publisher(),
    logger: silentLogger(),
    now: h.clock.now,
    random: () => 0.5,
    settings: h.parts.config.retry,
    ...over,
  };
}

/** A context cache over another gateway (one behind the fault proxy). */
function contextsVia(gateway: GraphGateway): LicensingContextCache {
  const rules = parseRules(EXAMPLE_RULES, 'rules.yaml');
  return new LicensingContextCache(() => loadLicensingContext(gateway, rules));
}

function job(userId: string, over: Partial<LicenseJob> = {}): LicenseJob {
  return {
    version: 1,
    jobId: randomUUID(),
    correlationId: randomUUID(),
    source: 'graph',
    eventId: `event-${randomUUID()}`,
    action: 'reconcile',
    user: { id: userId },
    attempt: 0,
    acceptedAt: h.clock.now().toISOString(),
    ...over,
  };
}

const delivery = (n = 1) => ({
  messageId: `m-${randomUUID()}`,
  deliveryCount: n,
  enqueuedTime: h.clock.now(),
});

/** assignLicense requests Graph applied (answered 200 by the simulator), for one user. */
function appliedWrites(userId: string): number {
  return h.sim.requests.filter(
    (r) => r.kind === 'assignLicense' && r.path.includes(userId) && r.status === 200,
  ).length;
}

async function finals(userId: string, jobId: string): Promise<OutcomeRecord[]> {
  return (await h.outcomes(userId)).filter((r) => r.jobId === jobId && r.phase === 'final');
}

function newcomer(upn: string, over: Record<string, unknown> = {}) {
  return h.sim.tenant.upsertUser({
    userPrincipalName: upn,
    usageLocation: 'GB',
    onPremisesSyncEnabled: true,
    accountEnabled: true,
    employeeType: 'Employee',
    ...over,
  });
}

describe('a crash between the Graph write and the record', () => {
  it('is completed by the redelivery from what Graph shows: ASSIGNED (recovered), one write, one record', async () => {
    const user = newcomer('crash1@fabrikam.com');
    const storage = await h.parts.storage();
    let crashed = false;
    // The process dies as it writes the final record: the promise never settles.
    const dying: OutcomeStore = {
      ...storage.outcomes,
      findJob: (...a) => storage.outcomes.findJob(...a),
      listPending: (f) => storage.outcomes.listPending(f),
      withdrawPending: (...a) => storage.outcomes.withdrawPending(...a),
      record: (r, o) => {
        if (r.phase === 'final' && !crashed) {
          crashed = true;
          return new Promise<void>(() => undefined);
        }
        return storage.outcomes.record(r, o);
      },
    };
    const j = job(user.id);
    void runLicenseJob(j, delivery(1), await deps({ outcomes: dying }));
    await expect.poll(() => appliedWrites(user.id)).toBe(1);
    await expect.poll(() => crashed).toBe(true);
    expect((await h.outcomes(user.id)).map((r) => r.phase)).toEqual(['pending']);

    // Service Bus redelivers the message whose lock expired.
    const again = await runLicenseJob(j, delivery(2), await deps());

    expect(recordOf(again)).toMatchObject({ outcome: 'ASSIGNED', recovered: true, phase: 'final' });
    expect(appliedWrites(user.id)).toBe(1);
    expect(await finals(user.id, j.jobId)).toHaveLength(1);
    expect(await h.outcomes(user.id)).toHaveLength(1);
  });
});

describe('a delivery repeated after the job finished', () => {
  it('changes nothing and adds no record', async () => {
    const user = newcomer('dup1@fabrikam.com');
    const j = job(user.id);
    const first = await runLicenseJob(j, delivery(1), await deps());
    expect(recordOf(first)?.outcome).toBe('ASSIGNED');
    const second = await runLicenseJob(j, delivery(2), await deps());
    expect(second.kind).toBe('duplicate');
    expect(recordOf(second)?.outcome).toBe('ASSIGNED');
    expect(appliedWrites(user.id)).toBe(1);
    expect(await h.outcomes(user.id)).toHaveLength(1);
  });
});

describe('a write whose answer is lost', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: h.sim.url, faultRate: 0, lostWriteRate: 1, seed: 3 });
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('is not sent again: the user is read, the change is there, the job is ASSIGNED once', async () => {
    const user = newcomer('lost1@fabrikam.com');
    const gateway = simulatorGateway(h.sim, { GRAPH_BASE_URL: proxy.url });
    const result = await runLicenseJob(
      job(user.id),
      delivery(),
      await deps({ gateway, contexts: contextsVia(gateway) }),
    );
    expect(recordOf(result)).toMatchObject({ outcome: 'ASSIGNED', error: null, writes: 1 });
    expect(appliedWrites(user.id)).toBe(1);
    expect(h.sim.tenant.user(user.id)?.assignedLicenses.map((l) => l.skuId.toLowerCase())).toEqual([IDS.EMS]);
  });

  it('on an HR leave: the mark is written before the removal, the removal is made once and recorded REMOVED', async () => {
    const user = newcomer('leaver1@fabrikam.com');
    await runLicenseJob(job(user.id), delivery(), await deps());
    expect(appliedWrites(user.id)).toBe(1);
    const storage = await h.parts.storage();
    const proxied = simulatorGateway(h.sim, { GRAPH_BASE_URL: proxy.url });
    const marksAtRemoval: (string | null)[] = [];
    const watching: GraphGateway = {
      ...proxied,
      getUser: (...a) => proxied.getUser(...a),
      listSubscribedSkus: (...a) => proxied.listSubscribedSkus(...a),
      assignLicense: async (...a) => {
        marksAtRemoval.push((await storage.leavers.get(user.id))?.state ?? null);
        return proxied.assignLicense(...a);
      },
    };
    const leave = job(user.id, { source: 'hr', action: 'leave', eventAt: h.clock.now().toISOString() });

    const result = await runLicenseJob(
      leave,
      delivery(),
      await deps({ gateway: watching, contexts: contextsVia(proxied) }),
    );

    expect(recordOf(result)).toMatchObject({ outcome: 'REMOVED', error: null });
    expect(marksAtRemoval).toEqual(['left']);
    expect(appliedWrites(user.id)).toBe(2);
    expect(h.sim.tenant.user(user.id)?.assignedLicenses).toEqual([]);
    expect(await finals(user.id, leave.jobId)).toHaveLength(1);

    // The removal comes back as a change notification: the person stays unlicensed.
    const echo = await runLicenseJob(job(user.id), delivery(), await deps());
    // The rules would license them: the record says the leaver policy withholds it.
    expect(recordOf(echo)).toMatchObject({ outcome: 'SKIPPED', policy: 'leaver' });
    expect(appliedWrites(user.id)).toBe(2);
  });
});

describe('a storage outage', () => {
  it('keeps the job (scheduled again, never thrown to the dead-letter queue) and records it once storage is back', async () => {
    const user = newcomer('outage1@fabrikam.com');
    const storage = await h.parts.storage();
    const down = new Error('storage unavailable (ECONNREFUSED)');
    let finalsRefused = 0;
    const failing: OutcomeStore = {
      ...storage.outcomes,
      findJob: (...a) => storage.outcomes.findJob(...a),
      listPending: (f) => storage.outcomes.listPending(f),
      withdrawPending: (...a) => storage.outcomes.withdrawPending(...a),
      record: (r, o) => {
        if (r.phase === 'final') {
          finalsRefused++;
          return Promise.reject(down);
        }
        return storage.outcomes.record(r, o);
      },
    };
    const j = job(user.id);
    const scheduledBefore = h.broker.scheduled(h.queue).length;

    const result: WorkerResult = await runLicenseJob(j, delivery(), await deps({ outcomes: failing }));

    expect(result.kind).toBe('rescheduled');
    expect(finalsRefused).toBe(1);
    const copies = h.broker.scheduled(h.queue).slice(scheduledBefore);
    expect(copies).toHaveLength(1);
    const copy = JSON.parse(String(copies[0]?.body)) as LicenseJob;
    expect(copy).toMatchObject({
      jobId: j.jobId,
      attempt: 1,
      lastDeferral: expect.stringMatching(/^storage/) as unknown,
    });
    expect(appliedWrites(user.id)).toBe(1);

    // Storage is back when the copy runs: the pending record is completed, nothing is sent again.
    const later = await runLicenseJob(copy, delivery(), await deps());
    expect(recordOf(later)).toMatchObject({ outcome: 'ASSIGNED', recovered: true });
    expect(appliedWrites(user.id)).toBe(1);
    expect(await finals(user.id, j.jobId)).toHaveLength(1);
  });
});

describe('HR events out of order', () => {
  it('a hire deferred for seats, then a leave, then the hire retried: the person stays unlicensed', async () => {
    const user = newcomer('ooo1@fabrikam.com');
    const storage = await h.parts.storage();
    const ems = h.sim.tenant.sku('EMS');
    h.sim.tenant.setPrepaidUnits('EMS', ems?.consumedUnits ?? 0);
    (await h.parts.contexts()).invalidate();
    const hireAt = h.clock.now();
    const hire = job(user.id, {
      source: 'hr',
      eventAt: hireAt.toISOString(),
      acceptedAt: hireAt.toISOString(),
    });
    const parked = await runLicenseJob(hire, delivery(), await deps());
    expect(parked.kind).toBe('rescheduled');

    h.clock.advance(60_000);
    const leave = job(user.id, { source: 'hr', action: 'leave', eventAt: h.clock.now().toISOString() });
    expect(recordOf(await runLicenseJob(leave, delivery(), await deps()))?.outcome).toBe('UNCHANGED');
    expect((await storage.leavers.get(user.id))?.state).toBe('left');

    h.sim.tenant.setPrepaidUnits('EMS', (ems?.prepaidUnits.enabled ?? 0) + 10);
    (await h.parts.contexts()).invalidate();
    h.clock.advance(60 * 60_000);
    const retried = await runLicenseJob({ ...hire, attempt: 1 }, delivery(), await deps());

    expect(recordOf(retried)).toMatchObject({ outcome: 'SKIPPED', policy: 'leaver', phase: 'final' });
    expect(h.sim.tenant.user(user.id)?.assignedLicenses).toEqual([]);
    expect((await storage.leavers.get(user.id))?.state).toBe('left');
    expect(appliedWrites(user.id)).toBe(0);
  });

  it('a job naming the user by UPN only finds them and is sent on under the object id (no change, no record)', async () => {
    const user = newcomer('upn1@fabrikam.com');
    const publishedBefore = h.messages().length;
    const j = job('', { source: 'hr', user: { userPrincipalName: 'upn1@fabrikam.com' } });

    const result = await runLicenseJob(j, delivery(), await deps());

    expect(result).toEqual({ kind: 'forwarded', userId: user.id });
    expect(appliedWrites(user.id)).toBe(0);
    expect(await h.outcomes(user.id)).toEqual([]);
    expect(await (await h.parts.storage()).leavers.get(user.id)).toBeNull();
    const [forwarded] = h.messages().slice(publishedBefore);
    expect(forwarded?.sessionId).toBe(user.id);
    expect(JSON.parse(String(forwarded?.body))).toMatchObject({
      jobId: j.jobId,
      attempt: 0,
      user: { id: user.id },
    });
  });
});
