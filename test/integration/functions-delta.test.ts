/**
 * End to end through the delta-catchup timer: a user whose change notification was lost (the
 * notification endpoint answered 500) is found by the delta query and queued, alone; compliant
 * users are not; a round with nothing changed queues nothing; an expired delta token (400
 * syncStateNotFound, or 410 Gone) falls back to a full resync. Tests run in order on one tenant.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DELTA_SCOPE } from '../../lib/engine/delta-catchup.js';
import { IDS } from '@ems-licensing/graph-simulator/test-support';
import { startFunctionsHarness, type FunctionsHarness } from '../support/functions-harness.js';

let h: FunctionsHarness;

beforeAll(async () => {
  h = await startFunctionsHarness({ storageConnectionString: inject('storageConnectionString') });
  expect((await h.keeper()).action).toBe('created');
});

afterAll(async () => {
  await h.close();
});

/** Users the jobs published since `from` (a message count) are for. */
function queuedSince(from: number): (string | undefined)[] {
  return h
    .jobs()
    .slice(from)
    .map((j) => j.user.id);
}

/** A contractor whose notification never reaches the app (the endpoint answers 500). */
async function lostContractor(upn: string): Promise<string> {
  const user = h.sim.tenant.upsertUser({
    userPrincipalName: upn,
    onPremisesSyncEnabled: true,
    employeeType: 'Contractor',
  });
  h.failNotificationsWith = 500;
  try {
    const deliveries = await h.sim.tenant.flushNotifications();
    expect(deliveries).toEqual([expect.objectContaining({ status: 500 })]);
  } finally {
    h.failNotificationsWith = null;
  }
  return user.id;
}

describe('delta catch-up timer', () => {
  it('first round is a full sync that queues only the users the rules want changed', async () => {
    const result = await h.delta();

    expect(result).toMatchObject({ fullSync: true, queued: 1 });
    expect(result.changed).toBe(5);
    // bob (synced contractor, no license) only; alice already has EMS, the others match no rule.
    expect(queuedSince(0)).toEqual([IDS.bob]);
    expect(h.jobs()[0]).toMatchObject({ source: 'delta', action: 'reconcile', attempt: 0 });
    const checkpoint = await (await h.parts.storage()).checkpoints.get(DELTA_SCOPE);
    expect(checkpoint?.deltaLink).toMatch(/deltatoken=/i);

    const [result0] = await h.drain();
    expect(result0?.kind === 'recorded' && result0.record.outcome).toBe('ASSIGNED');
    // The worker's own writes come back as a notification (Graph does the same): one more job,
    // which finds bob compliant and writes nothing.
    await h.sim.tenant.flushNotifications();
    const writes = h.sim.counters.writes();
    const echoes = await h.drain();
    expect(echoes.map((r) => r.kind === 'recorded' && r.record.outcome)).toEqual(['UNCHANGED']);
    expect(h.sim.counters.writes()).toBe(writes);
  });

  it('catches a user whose notification was lost, and only that user', async () => {
    const from = h.messages().length;
    const lost = await lostContractor('ines@fabrikam.com');
    expect(h.messages()).toHaveLength(from);
    // A compliant user changes too: alice (already licensed as the rules want) moves department.
    h.sim.tenant.upsertUser({ id: IDS.alice, userPrincipalName: 'alice@fabrikam.com', department: 'Sales' });

    const result = await h.delta();

    expect(result.fullSync).toBe(false);
    // ines, alice, and bob (changed by the worker's writes since the last round).
    expect(result.changed).toBeGreaterThanOrEqual(3);
    expect(result.queued).toBe(1);
    expect(queuedSince(from)).toEqual([lost]);

    const [done] = await h.drain();
    expect(done?.kind === 'recorded' && done.record.outcome).toBe('ASSIGNED');
    expect(h.sim.tenant.user(lost)?.assignedLicenses).toEqual([
      { skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] },
    ]);
    const outcomes = await h.outcomes(lost);
    expect(outcomes.map((o) => [o.outcome, o.source])).toEqual([['ASSIGNED', 'delta']]);
  });

  it('a round with nothing changed that matters queues nothing', async () => {
    // ines changed once more (the worker's writes); she is compliant now.
    const from = h.messages().length;
    const first = await h.delta();
    expect(first).toMatchObject({ fullSync: false, queued: 0 });

    const second = await h.delta();
    expect(second).toMatchObject({ fullSync: false, changed: 0, queued: 0 });
    expect(h.messages()).toHaveLength(from);
  });

  it('a stored link made for another $select (the rules changed what they read) is a full resync', async () => {
    const checkpoints = (await h.parts.storage()).checkpoints;
    const stored = await checkpoints.get(DELTA_SCOPE);
    expect(stored?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    await checkpoints.put(DELTA_SCOPE, stored!.deltaLink, new Date(stored!.takenAt), 'made-for-old-rules');

    const result = await h.delta();

    expect(result.fullSync).toBe(true);
    expect((await checkpoints.get(DELTA_SCOPE))?.fingerprint).toBe(stored?.fingerprint);
    const next = await h.delta();
    expect(next.fullSync).toBe(false);
  });

  it('an expired delta token (400 syncStateNotFound) falls back to a full resync', async () => {
    const from = h.messages().length;
    const lost = await lostContractor('jonas@fabrikam.com');
    h.sim.tenant.expireDeltaTokens();
    const linkBefore = (await (await h.parts.storage()).checkpoints.get(DELTA_SCOPE))?.deltaLink;

    const result = await h.delta();

    expect(result.fullSync).toBe(true);
    expect(result.changed).toBe(h.sim.tenant.users().length);
    expect(queuedSince(from)).toEqual([lost]);
    const linkAfter = (await (await h.parts.storage()).checkpoints.get(DELTA_SCOPE))?.deltaLink;
    expect(linkAfter?.startsWith(`${h.sim.url}/v1.0/users/delta?$deltatoken=`)).toBe(true);
    expect(linkAfter).not.toBe(linkBefore);

    // The new token works: the next round is incremental again.
    await h.drain();
    const next = await h.delta();
    expect(next.fullSync).toBe(false);
    expect(next.queued).toBe(0);
  });

  it('410 Gone is a full resync too', async () => {
    const from = h.messages().length;
    const lost = await lostContractor('kira@fabrikam.com');
    h.sim.tenant.expireDeltaTokens({ gone: true });

    const result = await h.delta();

    expect(result.fullSync).toBe(true);
    expect(queuedSince(from)).toEqual([lost]);
  });
});

describe('delta rounds and duplicate detection', () => {
  /** A synced contractor with no license: every full sync queues them until a job licenses them. */
  function unlicensedContractor(upn: string): string {
    return h.sim.tenant.upsertUser({
      userPrincipalName: upn,
      onPremisesSyncEnabled: true,
      employeeType: 'Contractor',
    }).id;
  }

  it('gives a second full sync within the 10-minute window its own event id: its jobs are not dropped', async () => {
    const user = unlicensedContractor('ulla@fabrikam.com');
    const checkpoints = (await h.parts.storage()).checkpoints;
    await checkpoints.delete(DELTA_SCOPE);
    const from = h.messages().length;
    const first = await h.delta();
    expect(first.fullSync).toBe(true);
    // Straight after (a rules change, a token rejected): another full sync, same user still unlicensed.
    await checkpoints.delete(DELTA_SCOPE);
    const second = await h.delta();
    expect(second.fullSync).toBe(true);

    const jobs = h
      .jobs()
      .slice(from)
      .filter((j) => j.user.id === user);
    expect(jobs).toHaveLength(2);
    expect(jobs[0]?.eventId).not.toBe(jobs[1]?.eventId);
    // Both reached the broker as messages (duplicate detection kept both: different MessageIds).
    expect(
      new Set(
        h
          .messages()
          .slice(from)
          .map((m) => m.messageId),
      ).size,
    ).toBe(h.messages().length - from);
    await h.drain();
  });

  it('replays a round that crashed before its checkpoint with the same event id (the broker drops the repeats)', async () => {
    const user = unlicensedContractor('vera@fabrikam.com');
    const storage = await h.parts.storage();
    await storage.checkpoints.delete(DELTA_SCOPE);
    // The round dies after publishing, before it stores its checkpoint.
    const put = storage.checkpoints.put.bind(storage.checkpoints);
    storage.checkpoints.put = () => Promise.reject(new Error('process died'));
    const from = h.messages().length;
    try {
      await expect(h.delta()).rejects.toThrow('process died');
    } finally {
      storage.checkpoints.put = put;
    }
    const replay = await h.delta();
    expect(replay.fullSync).toBe(true);
    const jobs = h
      .jobs()
      .slice(from)
      .filter((j) => j.user.id === user);
    // The replay published the job again under the same event id: the same MessageId, dropped.
    expect(jobs).toHaveLength(1);
    expect(await storage.checkpoints.getRound(DELTA_SCOPE)).toBeNull();
    await h.drain();
  });
});
