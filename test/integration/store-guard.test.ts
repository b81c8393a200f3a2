/**
 * The blast-radius guard's state on Azurite (TableGuardStore) and the worker's guard over it: a
 * day's counts taken once per job and never past the limit by two workers at once, held rounds
 * opened and closed, users held in a round staying held, releases and discards.
 */
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { reductionsOf } from '../../lib/engine/blast-guard.js';
import type { Decision } from '../../lib/engine/decide.js';
import { discardRound, releaseRound } from '../../lib/engine/held-rounds.js';
import type { GuardCheck } from '../../lib/engine/reduction-guard.js';
import { WorkerGuard } from '../../lib/engine/worker-guard.js';
import type { PlanAction } from '../../lib/licensing/types.js';
import { silentLogger } from '../../lib/log.js';
import type { JobGuardMarker, LicenseJob } from '../../lib/queue/job.js';
import type { GuardStore, HeldJob } from '../../lib/store/ports.js';
import { createStorage } from '../../lib/store/table-clients.js';

const connectionString = inject('storageConnectionString');
const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';
const removeEms: PlanAction = { kind: 'removeLicense', skuId: EMS, skuPartNumber: 'EMS' };
const DAY = new Date('2026-05-01T12:00:00.000Z');

let store: GuardStore;
beforeEach(async () => {
  const storage = createStorage({ connectionString, tablePrefix: `g${randomBytes(6).toString('hex')}` });
  await storage.ensureTables();
  store = storage.guard;
});

const fitsTwo = (counts: ReadonlyMap<string, number>) => [...counts.values()].every((n) => n <= 2);

function held(userId: string, roundId: string, action: HeldJob['job']['action'] = 'leave'): HeldJob {
  return {
    roundId,
    userId,
    userPrincipalName: `${userId}@contoso.com`,
    heldAt: DAY.toISOString(),
    job: {
      source: 'hr',
      action,
      eventId: `msg-${userId}`,
      eventAt: DAY.toISOString(),
      acceptedAt: DAY.toISOString(),
    },
    actions: [removeEms],
  };
}

describe('TableGuardStore day scopes', () => {
  it('allows up to the limit, then holds the rest in the day’s round; a job is counted once', async () => {
    const verdicts = [];
    for (const job of ['j1', 'j2', 'j3', 'j4'])
      verdicts.push(await store.tally('hr-2026-05-01', job, [EMS], fitsTwo, DAY));
    expect(verdicts.map((v) => [v.allowed, v.roundId, v.opened])).toEqual([
      [true, null, false],
      [true, null, false],
      [false, 'hr-2026-05-01', true],
      [false, 'hr-2026-05-01', false],
    ]);
    // A retried job gets its first verdict back, and counts no further.
    expect(await store.tally('hr-2026-05-01', 'j1', [EMS], fitsTwo, DAY)).toMatchObject({ allowed: true });
    expect(await store.tally('hr-2026-05-01', 'j3', [EMS], fitsTwo, DAY)).toMatchObject({
      allowed: false,
      roundId: 'hr-2026-05-01',
      opened: false,
    });
  });

  it('lets no more than the limit through when workers count at the same time', async () => {
    const verdicts = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.tally('graph-2026-05-01', `c${String(i)}`, [EMS], fitsTwo, DAY),
      ),
    );
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(2);
    expect(new Set(verdicts.filter((v) => !v.allowed).map((v) => v.roundId))).toEqual(
      new Set(['graph-2026-05-01']),
    );
  });

  it('opens a new round once the open one is closed, counting only what was allowed', async () => {
    for (const job of ['a', 'b', 'c']) await store.tally('hr-2026-05-02', job, [EMS], fitsTwo, DAY);
    await store.closeScope('hr-2026-05-02', 'hr-2026-05-02');
    // Two were allowed today: the next one is over again, in a round of its own.
    expect(await store.tally('hr-2026-05-02', 'd', [EMS], fitsTwo, DAY)).toMatchObject({
      allowed: false,
      roundId: 'hr-2026-05-02-2',
      opened: true,
    });
  });
});

describe('TableGuardStore rounds and held jobs', () => {
  const round = (id: string) => ({
    id,
    path: 'delta' as const,
    scope: id,
    state: 'held' as const,
    createdAt: DAY.toISOString(),
    updatedAt: DAY.toISOString(),
    reason: 'held for a test',
    skus: [{ skuId: EMS, skuPartNumber: 'EMS', reductions: 40, holders: 100, limit: 25 }],
    releasedJobs: 0,
  });

  it('keeps one held job per user (a later hold replaces it) and lists a round’s users', async () => {
    await store.putRound(round('delta-1'));
    await store.holdJob(held('u1', 'delta-1'));
    await store.holdJob(held('u2', 'delta-1'));
    await store.holdJob(held('u2', 'delta-2'));
    expect((await store.listHeldJobs('delta-1')).map((j) => j.userId)).toEqual(['u1']);
    expect(await store.heldJobOf('u2')).toMatchObject({ roundId: 'delta-2', job: { action: 'leave' } });
    // Dropping from a round the user is no longer in leaves their newer hold alone.
    await store.dropHeldJob('u2', 'delta-1');
    expect((await store.heldJobOf('u2'))?.roundId).toBe('delta-2');
    expect(await store.getRound('delta-1')).toEqual(round('delta-1'));
  });

  it('closes a held round once: a second close of the same kind resumes a release, a discard does not', async () => {
    await store.putRound(round('delta-9'));
    expect(await store.closeRound('delta-9', 'released', DAY, 3)).toBe(true);
    expect(await store.closeRound('delta-9', 'discarded', DAY, 0)).toBe(false);
    expect(await store.closeRound('delta-9', 'released', DAY, 3)).toBe(true);
    expect(await store.getRound('delta-9')).toMatchObject({ state: 'released', releasedJobs: 3 });
    expect(await store.closeRound('missing', 'released', DAY, 0)).toBe(false);
  });

  it('releases a round: its jobs sent once more, marked released, with ids fixed per round and user', async () => {
    await store.putRound(round('delta-r'));
    await store.holdJob(held('u1', 'delta-r'));
    await store.holdJob(held('u2', 'delta-r', 'reconcile'));
    const sent: LicenseJob[] = [];
    const deps = {
      store,
      logger: silentLogger(),
      now: () => DAY,
      publisher: { publish: (jobs: LicenseJob[]) => Promise.resolve(void sent.push(...jobs)) },
    };

    const result = await releaseRound(deps, 'delta-r');

    expect(result).toMatchObject({ kind: 'done', jobs: 2 });
    expect(sent.map((j) => [j.user.id, j.action, j.source, j.eventId, j.guard])).toEqual(
      expect.arrayContaining([
        ['u1', 'leave', 'hr', 'msg-u1', { round: 'delta-r', verdict: 'released' }],
        ['u2', 'reconcile', 'hr', 'msg-u2', { round: 'delta-r', verdict: 'released' }],
      ]),
    );
    expect(await store.listHeldJobs('delta-r')).toEqual([]);
    expect(await releaseRound(deps, 'delta-r')).toMatchObject({ kind: 'notHeld' });
    expect(await releaseRound(deps, 'nope')).toEqual({ kind: 'notFound' });
  });

  it('discards a round: nothing sent, its users free again', async () => {
    await store.putRound(round('delta-d'));
    await store.holdJob(held('u9', 'delta-d'));
    const result = await discardRound({ store, logger: silentLogger(), now: () => DAY }, 'delta-d');
    expect(result).toMatchObject({ kind: 'done', jobs: 1, round: { state: 'discarded' } });
    expect(await store.heldJobOf('u9')).toBeNull();
  });

  it('prunes the day counts and closed rounds older than the cutoff, and keeps held rounds', async () => {
    await store.tally('hr-2020-01-01', 'old-job', [EMS], fitsTwo, new Date('2020-01-01T00:00:00Z'));
    await store.putRound({
      ...round('old-closed'),
      updatedAt: '2020-01-01T00:00:00.000Z',
      state: 'released',
    });
    await store.putRound({ ...round('old-held'), updatedAt: '2020-01-01T00:00:00.000Z' });
    expect(await store.prune(new Date('2021-01-01T00:00:00Z'))).toBe(3);
    expect((await store.listRounds()).map((r) => r.id)).toEqual(['old-held']);
  });
});

describe('WorkerGuard', () => {
  const settings = { removalPercent: 0, removalCount: 2 };
  let now = DAY;
  const guard = () => new WorkerGuard({ store, settings, logger: silentLogger(), now: () => now });
  const check = (userId: string, source: 'hr' | 'graph' | 'delta', marker?: JobGuardMarker): GuardCheck => ({
    facts: {
      jobId: `job-${userId}-${source}`,
      correlationId: 'c',
      source,
      eventId: `ev-${userId}`,
      acceptedAt: now.toISOString(),
      attempt: 0,
      dryRun: false,
      userRef: { id: userId },
      startedAt: now,
    },
    action: source === 'hr' ? 'leave' : 'reconcile',
    eventAt: now,
    user: {
      id: userId,
      userPrincipalName: `${userId}@contoso.com`,
      assignedLicenses: [],
      licenseAssignmentStates: [],
    },
    decision: { plan: { actions: [removeEms] } } as unknown as Decision,
    reductions: reductionsOf([removeEms]),
    holders: () => 300,
    marker,
  });

  it('counts HR leaves per UTC day: the day’s round holds the ones past the limit, and says how to release', async () => {
    const g = guard();
    const answers = [];
    for (const u of ['l1', 'l2', 'l3', 'l4']) answers.push(await g.check(check(u, 'hr')));
    expect(answers.map((a) => a.kind)).toEqual(['allow', 'allow', 'hold', 'hold']);
    expect(answers[2]).toMatchObject({
      roundId: 'hr-2026-05-01',
      release: expect.stringContaining('ems-licensing release hr-2026-05-01') as unknown,
    });
    expect(await store.getRound('hr-2026-05-01')).toMatchObject({
      path: 'hr',
      state: 'held',
      skus: [{ skuId: EMS, reductions: 3, holders: 300, limit: 2 }],
    });
    expect((await store.listHeldJobs('hr-2026-05-01')).map((j) => j.userId).sort()).toEqual(['l3', 'l4']);
    // Notifications are counted apart, in their own day.
    expect((await g.check(check('n1', 'graph'))).kind).toBe('allow');
    // The next day starts again.
    now = new Date('2026-05-02T00:00:01.000Z');
    expect((await g.check(check('l5', 'hr'))).kind).toBe('allow');
    now = DAY;
  });

  it('keeps a user held in a round held whatever job comes for them, until the round is released', async () => {
    const g = guard();
    await g.check(check('x1', 'hr'));
    await g.check(check('x2', 'hr'));
    await g.check(check('x3', 'hr'));
    // A producer's allowed verdict does not free a user who waits in a round.
    expect(await g.check(check('x3', 'delta', { round: 'delta-7', verdict: 'allowed' }))).toMatchObject({
      kind: 'hold',
      roundId: 'hr-2026-05-01',
    });
    // The leave stays what a release sends, not the later reconcile.
    expect((await store.heldJobOf('x3'))?.job.action).toBe('leave');
    expect((await g.check(check('x3', 'hr', { round: 'hr-2026-05-01', verdict: 'released' }))).kind).toBe(
      'allow',
    );
  });

  it('follows a producer’s verdict: allowed goes ahead uncounted, held is held in the producer’s round', async () => {
    const g = guard();
    for (const u of ['p1', 'p2', 'p3']) {
      expect((await g.check(check(u, 'delta', { round: 'delta-5', verdict: 'allowed' }))).kind).toBe('allow');
    }
    expect(await g.check(check('p4', 'delta', { round: 'delta-6', verdict: 'held' }))).toMatchObject({
      kind: 'hold',
      roundId: 'delta-6',
    });
  });
});
