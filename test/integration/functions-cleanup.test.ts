/**
 * End to end through the cleanup timer, with the app's clock moved forward between runs: a job
 * parked for lack of seats is re-driven once seats are freed; the daily summary is written as
 * JSON and Markdown blobs; managed licenses are reclaimed from an account disabled longer than
 * DISABLED_RECLAIM_DAYS (first run notes it, a run that many days later queues a `reclaim` job, the
 * worker removes only managed SKUs); old outcomes and inbox entries are pruned.
 * Tests run in order on one tenant.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseTenantFile } from '@ems-licensing/graph-simulator';
import { IDS, smallTenant } from '@ems-licensing/graph-simulator/test-support';
import { like, startFunctionsHarness, type FunctionsHarness } from '../support/functions-harness.js';

const DAY_MS = 24 * 60 * 60_000;
const PAUL = 'a0000000-0000-4000-8000-0000000000b1';
const RITA = 'a0000000-0000-4000-8000-0000000000b2';
const E3_KEPT = { skuId: IDS.ENTERPRISEPACK, disabledPlans: [IDS.SHAREPOINTWAC] };

/** Plus paul (synced, disabled, EMS and E3 held directly) and rita (synced contractor, no license). */
function tenant() {
  const base = smallTenant();
  return parseTenantFile({
    ...base,
    users: [
      ...base.users,
      {
        id: PAUL,
        userPrincipalName: 'paul@fabrikam.com',
        usageLocation: 'GB',
        onPremisesSyncEnabled: true,
        employeeType: 'Employee',
        accountEnabled: false,
        directLicenses: [{ skuId: IDS.EMS }, E3_KEPT],
      },
      {
        id: RITA,
        userPrincipalName: 'rita@fabrikam.com',
        usageLocation: 'GB',
        onPremisesSyncEnabled: true,
        employeeType: 'Contractor',
      },
    ],
  });
}

let h: FunctionsHarness;

beforeAll(async () => {
  h = await startFunctionsHarness({
    storageConnectionString: inject('storageConnectionString'),
    tenant: tenant(),
    env: { DISABLED_RECLAIM_DAYS: '30', OUTCOME_RETENTION_DAYS: '20' },
  });
});

afterAll(async () => {
  await h.close();
});

const today = () => h.clock.now().toISOString().slice(0, 10);

describe('cleanup timer', () => {
  it('first run notes the disabled account holding a managed license, and queues nothing yet', async () => {
    const report = await h.cleanup();

    expect(report).toMatchObject({ reclaimQueued: 0, disabledTracked: 1, redriveQueued: 0 });
    const tracked = await (await h.parts.storage()).disabledAccounts.list();
    expect([...tracked.keys()]).toEqual([PAUL]);
    expect(h.messages()).toHaveLength(0);
  });

  it('re-drives a job parked for lack of seats once seats are freed', async () => {
    // alice, carol (by group) and paul hold the only three EMS seats. The catalog the worker
    // cached (read by the first cleanup) still counts two free, so Graph is the one refusing.
    h.sim.tenant.setPrepaidUnits('EMS', 3);
    expect(
      (await h.postHr({ body: { type: 'hire', user: { userPrincipalName: 'rita@fabrikam.com' } } })).status,
    ).toBe(202);
    const parked = await h.work(h.pending()[0]!);
    expect(parked.kind).toBe('rescheduled');
    expect(parked.kind === 'rescheduled' && parked.record).toMatchObject({
      outcome: 'DEFERRED',
      userId: RITA,
      error: like({ code: 'NoFreeSeats' }),
    });
    expect(h.sim.counters.get('assignLicense')).toBe(1);
    expect(h.sim.tenant.user(RITA)?.assignedLicenses).toEqual([]);

    // Still no seat: nothing to re-drive.
    expect((await h.cleanup()).redriveQueued).toBe(0);
    expect(h.pending()).toHaveLength(0);

    h.sim.tenant.setPrepaidUnits('EMS', 5);
    const report = await h.cleanup();

    expect(report.redriveQueued).toBe(1);
    const [job] = h.jobs().slice(-1);
    expect(job).toMatchObject({ source: 'cleanup', action: 'reconcile', user: { id: RITA } });
    expect(job?.eventId).toBe(`redrive-${parked.kind === 'rescheduled' ? (parked.record?.jobId ?? '') : ''}`);
    const done = await h.work(h.pending()[0]!);
    expect(done.kind === 'recorded' && done.record.outcome).toBe('ASSIGNED');
    expect(h.sim.tenant.user(RITA)?.assignedLicenses).toEqual([
      { skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] },
    ]);

    // The latest outcome is no longer DEFERRED: nothing more to re-drive.
    expect((await h.cleanup()).redriveQueued).toBe(0);
  });

  it('writes the daily summary as JSON and Markdown blobs', async () => {
    const report = await h.cleanup();
    const name = `daily/${today()}`;
    expect(report.summary.jsonBlob).toMatch(new RegExp(`/${name}\\.json$`));
    expect(report.summary.markdownBlob).toMatch(new RegExp(`/${name}\\.md$`));

    const json = JSON.parse(await h.readBlob(`${name}.json`)) as Record<string, unknown>;
    expect(json).toMatchObject({
      date: today(),
      // The parked job's DEFERRED was an attempt (scheduled again), and it ended ASSIGNED.
      outcomes: { DEFERRED: 0, ASSIGNED: 1, FAILED: 0, REMOVED: 0 },
      retriesScheduled: 1,
      disabledWithLicense: 1,
      reclaimQueued: 0,
      redriveQueued: 0,
    });
    expect(json['seats']).toEqual(
      expect.arrayContaining([
        { sku: 'EMS', managed: true, enabled: 5, consumed: 4, free: 1 },
        expect.objectContaining({ sku: 'ENTERPRISEPACK', managed: false }),
      ]),
    );
    const markdown = await h.readBlob(`${name}.md`);
    expect(markdown).toContain(`# ems-licensing daily summary, ${today()}`);
    expect(markdown).toContain('| ASSIGNED | 1 |');
    expect(markdown).toContain('| EMS | yes | 5 | 4 | 1 |');
    expect(markdown).toContain('- Disabled accounts still holding managed licenses: 1');
  });

  it('does not reclaim before DISABLED_RECLAIM_DAYS have passed; prunes old outcomes and inbox entries', async () => {
    expect(await h.outcomes(RITA)).toHaveLength(2);
    h.clock.advance(29 * DAY_MS);

    const report = await h.cleanup();

    expect(report).toMatchObject({ reclaimQueued: 0, disabledTracked: 1 });
    // OUTCOME_RETENTION_DAYS=20: rita's records of day 0 go; the inbox keeps 2 days.
    expect(report.outcomesPruned).toBe(2);
    expect(await h.outcomes(RITA)).toEqual([]);
    expect(report.inboxPruned).toBe(1);
    expect(h.pending()).toHaveLength(0);
  });

  it('reclaims once the account has been disabled that long: only the managed SKU goes', async () => {
    h.clock.advance(DAY_MS);

    const report = await h.cleanup();

    expect(report).toMatchObject({ reclaimQueued: 1, disabledTracked: 1 });
    const [job] = h.jobs().slice(-1);
    expect(job).toMatchObject({ source: 'cleanup', action: 'reclaim', user: { id: PAUL } });
    const result = await h.work(h.pending()[0]!);

    expect(result.kind === 'recorded' && result.record).toMatchObject({
      outcome: 'REMOVED',
      userId: PAUL,
      actions: [expect.objectContaining({ kind: 'removeLicense', skuPartNumber: 'EMS' })],
    });
    expect(h.sim.tenant.user(PAUL)?.assignedLicenses).toEqual([E3_KEPT]);

    // Nothing managed left on paul: he is no longer tracked, and nothing more is queued.
    const after = await h.cleanup();
    expect(after).toMatchObject({ reclaimQueued: 0, disabledTracked: 0 });
    expect((await (await h.parts.storage()).disabledAccounts.list()).size).toBe(0);
    expect(h.pending()).toHaveLength(0);
  });

  // The example rules license enabled accounts only, so neither the next delta round nor the
  // notification of the reclaim's own write gives EMS back to the disabled account.
  it('a reclaimed account is not re-licensed by the next delta round', async () => {
    const from = h.messages().length;
    await h.delta();
    expect(
      h
        .jobs()
        .slice(from)
        .map((j) => j.user.id),
    ).not.toContain(PAUL);
  });
});
