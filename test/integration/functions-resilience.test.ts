/**
 * The worker when the world is unkind: no catalog can be read at a cold start, and a rehire that
 * meets a seat shortage. Through the real handlers (see test/support/functions-harness.ts).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LicenseJob } from '../../lib/queue/job.js';
import { IDS } from '@ems-licensing/graph-simulator/test-support';
import { type FunctionsHarness, recordOf, startFunctionsHarness } from '../support/functions-harness.js';

let h: FunctionsHarness;

beforeAll(async () => {
  h = await startFunctionsHarness({
    storageConnectionString: inject('storageConnectionString'),
    env: { GRAPH_MAX_RETRIES: '0' },
  });
});

afterAll(async () => {
  await h.close();
});

function job(id: string, userId: string): LicenseJob {
  return {
    version: 1,
    jobId: id,
    correlationId: 'c0000000-0000-4000-8000-000000000001',
    source: 'graph',
    eventId: `event-${id}`,
    action: 'reconcile',
    user: { id: userId },
    attempt: 0,
    acceptedAt: h.clock.now().toISOString(),
  };
}

describe('no catalog at a cold start (Graph unavailable for /subscribedSkus)', () => {
  it('keeps the job: DEFERRED with the reason, scheduled, then done once Graph answers', async () => {
    h.sim.faults.inject({ kind: 'subscribedSkus', status: 503, times: 1 });
    await (await h.parts.publisher()).publish([job('cold-1', IDS.bob)]);

    const [first] = await h.drain();

    expect(first?.kind).toBe('rescheduled');
    expect(recordOf(first)).toMatchObject({
      outcome: 'DEFERRED',
      error: expect.objectContaining({ code: 'CatalogUnavailable' }) as unknown,
    });
    expect(h.sim.counters.get('assignLicense')).toBe(0);

    h.clock.advance(60 * 60_000);
    expect(h.releaseScheduled()).toBe(1);
    const [second] = await h.drain();
    expect(recordOf(second)?.outcome).toBe('ASSIGNED');
    expect(h.sim.tenant.user(IDS.bob)?.assignedLicenses.map((l) => l.skuId.toLowerCase())).toEqual([IDS.EMS]);
  });
});

describe('a rehire that meets a seat shortage', () => {
  it('clears the leaver mark anyway, so the person is licensed once seats return', async () => {
    const storage = await h.parts.storage();
    const dave = h.sim.tenant.upsertUser({
      userPrincipalName: 'dana@fabrikam.com',
      onPremisesSyncEnabled: true,
      accountEnabled: true,
      employeeType: 'Employee',
      usageLocation: 'GB',
    });
    await storage.leavers.set(dave.id, { state: 'left', at: h.clock.now(), statedAt: h.clock.now() });
    // HR rehires the person a minute after the leave.
    h.clock.advance(60_000);
    const ems = h.sim.tenant.sku('EMS');
    h.sim.tenant.setPrepaidUnits('EMS', ems?.consumedUnits ?? 0);

    const posted = await h.postHr({
      body: { type: 'hire', user: { userPrincipalName: 'dana@fabrikam.com' } },
    });
    expect(posted.status).toBe(202);
    const results = await h.drain();

    expect(results.map((r) => recordOf(r)?.outcome)).toEqual(['DEFERRED']);
    expect((await storage.leavers.get(dave.id))?.state).toBe('rehired');
  });
});
