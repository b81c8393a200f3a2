/**
 * The blast-radius guard on every Functions path, end to end through the handlers (simulator,
 * Azurite, the AMQP test broker): a delta resync after a bad rules change, a burst of HR leaves,
 * and a day of cleanup reclaims are each held (nothing removed, users recorded HELD, the round
 * logged and listed), and released deliberately with `ems-licensing release ROUND_ID`, after which
 * exactly the held users change.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadSampleTenant, parseTenantFile } from '@ems-licensing/graph-simulator';
import { IDS, smallTenant } from '@ems-licensing/graph-simulator/test-support';
import { main } from '../../lib/cli/main.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';
import { recordingIo, tempFile } from '../support/engine-harness.js';
import { recordOf, startFunctionsHarness, type FunctionsHarness } from '../support/functions-harness.js';

const DAY_MS = 24 * 60 * 60_000;
/** Twelve synced employees holding EMS; with the small tenant's alice, thirteen holders of EMS. */
const STAFF = Array.from({ length: 12 }, (_, i) => ({
  id: `c0000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
  upn: `emp${String(i + 1).padStart(2, '0')}@fabrikam.com`,
}));

function tenant() {
  const base = smallTenant();
  return parseTenantFile({
    ...base,
    skus: base.skus.map((s) =>
      s.skuId === IDS.EMS ? { ...s, prepaidUnits: { ...s.prepaidUnits, enabled: 30 } } : s,
    ),
    users: [
      ...base.users,
      ...STAFF.map((s) => ({
        id: s.id,
        userPrincipalName: s.upn,
        usageLocation: 'GB',
        onPremisesSyncEnabled: true,
        employeeType: 'Employee',
        directLicenses: [{ skuId: IDS.EMS }],
      })),
    ],
  });
}

/** A rules change with a typo (`Employe`) and `unmatched: remove`: every employee matches nothing. */
const TYPO_RULES = [
  'version: 1',
  'defaults: { usageLocation: GB, unmatched: remove }',
  'rules:',
  '  - name: contractors',
  '    when: { attribute: employeeType, equals: Contractor }',
  '    license: { sku: EMS, intune: off }',
  '  - name: employees',
  '    when: { attribute: employeeType, equals: Employe }',
  '    license: { sku: EMS }',
  '',
].join('\n');

/** Limits a small tenant can go over: at most 3 users (10 % of 13 holders is 1). */
const GUARD_ENV = { GUARD_REMOVAL_PERCENT: '10', GUARD_REMOVAL_COUNT: '3' };

let h: FunctionsHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(env: Record<string, string> = {}): Promise<FunctionsHarness> {
  h = await startFunctionsHarness({
    storageConnectionString: inject('storageConnectionString'),
    tenant: tenant(),
    env: { ...GUARD_ENV, ...env },
  });
  return h;
}

/** The CLI, as an operator runs it against the app's storage and Service Bus queue. */
async function cli(fh: FunctionsHarness, ...argv: string[]) {
  const io = recordingIo();
  const code = await main(argv, { ...fh.env, GRAPH_BASE_URL: fh.sim.url, LOG_LEVEL: 'silent' }, io);
  return { code, out: io.stdoutText(), err: io.stderrText() };
}

const holdsEms = (fh: FunctionsHarness, id: string) =>
  fh.sim.tenant.user(id)?.assignedLicenses.some((l) => l.skuId.toLowerCase() === IDS.EMS) ?? false;

function finals(records: (OutcomeRecord | null)[]): OutcomeRecord[] {
  return records.filter((r): r is OutcomeRecord => r !== null && r.phase === 'final');
}

describe('a delta resync after a rules change', () => {
  it('is held: nothing removed, each user HELD with the round, and the round listed', async () => {
    const fh = await harness({ RULES_PATH: await tempFile('typo.yaml', TYPO_RULES) });
    const round = await fh.delta();

    expect(round).toMatchObject({ fullSync: true, held: 13 });
    expect(round.heldRound).toMatch(/^delta-/);
    const held = fh.jobs().filter((j) => j.guard?.verdict === 'held');
    expect(held.map((j) => j.user.id).sort()).toEqual([IDS.alice, ...STAFF.map((s) => s.id)].sort());
    fh.sim.counters.reset();

    const records = finals((await fh.drain()).map(recordOf));

    // One write: bob's license, which the rules add (additions are never held); no removal.
    expect(fh.sim.counters.get('assignLicense')).toBe(1);
    expect(holdsEms(fh, IDS.bob)).toBe(true);
    expect(STAFF.every((s) => holdsEms(fh, s.id))).toBe(true);
    expect(holdsEms(fh, IDS.alice)).toBe(true);
    expect(records.filter((r) => r.outcome === 'HELD')).toHaveLength(13);
    expect(records.filter((r) => r.outcome !== 'HELD').map((r) => [r.userId, r.outcome])).toEqual([
      [IDS.bob, 'ASSIGNED'],
    ]);
    const emp01 = records.find((r) => r.userId === STAFF[0]!.id);
    expect(emp01).toMatchObject({
      outcome: 'HELD',
      held: { roundId: round.heldRound, actions: [expect.objectContaining({ kind: 'removeLicense' })] },
      error: { code: 'HeldByGuard' },
    });
    expect(emp01?.error?.fix).toContain(`ems-licensing release ${String(round.heldRound)}`);

    const listed = await cli(fh, 'held');
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(
      new RegExp(`${String(round.heldRound)}\\s+held\\s+delta .* 13 user\\(s\\) held`),
    );
    const one = await cli(fh, 'held', String(round.heldRound));
    expect(one.out).toContain('emp01@fabrikam.com: delta reconcile; held remove EMS');
  });

  it('keeps a held user held when a change notification comes for them, then the release makes exactly the held changes', async () => {
    const fh = await harness({ RULES_PATH: await tempFile('typo.yaml', TYPO_RULES) });
    expect((await fh.keeper()).action).toBe('created');
    const round = String((await fh.delta()).heldRound);
    await fh.drain();
    // emp01 moves department: the notification's job would remove EMS; it joins the held round.
    fh.sim.tenant.upsertUser({ id: STAFF[0]!.id, userPrincipalName: STAFF[0]!.upn, department: 'Sales' });
    await fh.sim.tenant.flushNotifications();
    const echo = finals((await fh.drain()).map(recordOf)).filter((r) => r.userId === STAFF[0]!.id);
    expect(echo.map((r) => [r.source, r.outcome, r.held?.roundId])).toEqual([['graph', 'HELD', round]]);
    expect(holdsEms(fh, STAFF[0]!.id)).toBe(true);

    const before = fh.messages().length;
    const released = await cli(fh, 'release', round);

    expect(released.code).toBe(0);
    expect(released.out).toContain(`Released round ${round}: 13 job(s) sent to the queue`);
    const sent = fh.jobs().slice(before);
    expect(sent).toHaveLength(13);
    expect(sent.every((j) => j.guard?.verdict === 'released' && j.guard.round === round)).toBe(true);
    fh.sim.counters.reset();
    const done = finals((await fh.drain()).map(recordOf));
    expect(done.map((r) => r.outcome)).toEqual(Array.from({ length: 13 }, () => 'REMOVED'));
    expect(new Set(done.map((r) => r.userId))).toEqual(new Set([IDS.alice, ...STAFF.map((s) => s.id)]));
    expect(fh.sim.counters.get('assignLicense')).toBe(13);
    expect(STAFF.some((s) => holdsEms(fh, s.id))).toBe(false);
    // bob (contractor) and carol (EMS through a group) were never part of it.
    expect(holdsEms(fh, IDS.carol)).toBe(true);

    const again = await cli(fh, 'release', round);
    expect(again).toMatchObject({ code: 1 });
    expect(again.err).toContain(`Round ${round} is released already`);
  });

  it('lets an ordinary round through: a handful of removals is not held', async () => {
    const rules = TYPO_RULES.replace('equals: Employe }', 'in: [Employee] }');
    const fh = await harness({ RULES_PATH: await tempFile('rules.yaml', rules) });
    // Two employees leave the rules' reach (their type changes in AD): two removals, under the limit.
    for (const s of STAFF.slice(0, 2))
      fh.sim.tenant.upsertUser({ id: s.id, userPrincipalName: s.upn, employeeType: 'Intern' });

    const round = await fh.delta();

    expect(round).toMatchObject({ held: 0, heldRound: null });
    const records = finals((await fh.drain()).map(recordOf));
    expect(
      records
        .filter((r) => r.outcome === 'REMOVED')
        .map((r) => r.userId)
        .sort(),
    ).toEqual(
      STAFF.slice(0, 2)
        .map((s) => s.id)
        .sort(),
    );
  });
});

describe('the typo-plus-unmatched: remove file on the sample tenant, through the delta handler', () => {
  it('removes nothing until the round is released, then exactly the users it held', async () => {
    const sample = await loadSampleTenant();
    h = await startFunctionsHarness({
      storageConnectionString: inject('storageConnectionString'),
      tenant: sample,
      // The default limits: 10 % of a SKU's holders, 25 users.
      env: { RULES_PATH: await tempFile('typo.yaml', TYPO_RULES) },
    });
    const fh = h;
    const licenses = () =>
      new Map(fh.sim.tenant.users().map((u) => [u.id, JSON.stringify(u.assignedLicenses)]));
    const changedSince = (then: Map<string, string>) =>
      new Set([...licenses()].filter(([id, l]) => then.get(id) !== l).map(([id]) => id));
    const before = licenses();

    const round = await fh.delta();

    expect(round.held).toBeGreaterThan(25);
    const heldUsers = new Set(
      fh
        .jobs()
        .filter((j) => j.guard?.verdict === 'held')
        .map((j) => j.user.id),
    );
    expect(heldUsers.size).toBe(round.held);
    const records = finals((await fh.drain()).map(recordOf));
    // Nobody held lost anything; what changed is what the rules add (contractors licensed).
    expect([...changedSince(before)].filter((id) => heldUsers.has(id))).toEqual([]);
    expect(records.filter((r) => r.outcome === 'REMOVED')).toEqual([]);
    const beforeRelease = licenses();

    expect((await cli(fh, 'release', String(round.heldRound))).code).toBe(0);
    await fh.drain();

    expect(changedSince(beforeRelease)).toEqual(heldUsers);
  });
});

describe('a burst of HR leaves', () => {
  it('removes a day’s first leaves up to the limit, holds the rest, and the release removes exactly those', async () => {
    const fh = await harness();
    for (const s of STAFF.slice(0, 5)) {
      const res = await fh.postHr({ body: { type: 'leave', user: { userPrincipalName: s.upn } } });
      expect(res.status).toBe(202);
    }

    const records = finals((await fh.drain()).map(recordOf));

    const day = fh.clock.now().toISOString().slice(0, 10);
    expect(records.map((r) => r.outcome)).toEqual(['REMOVED', 'REMOVED', 'REMOVED', 'HELD', 'HELD']);
    expect(records.slice(3).map((r) => r.held?.roundId)).toEqual([`hr-${day}`, `hr-${day}`]);
    expect(STAFF.slice(3, 5).every((s) => holdsEms(fh, s.id))).toBe(true);
    // The leave is on record all the same: a notification for a held leaver cannot license them.
    const marks = (await fh.parts.storage()).leavers;
    expect((await marks.get(STAFF[4]!.id))?.state).toBe('left');

    const released = await cli(fh, 'release', `hr-${day}`);
    expect(released.code).toBe(0);
    const after = finals((await fh.drain()).map(recordOf));
    expect(after.map((r) => [r.userId, r.outcome, r.source])).toEqual(
      expect.arrayContaining([
        [STAFF[3]!.id, 'REMOVED', 'hr'],
        [STAFF[4]!.id, 'REMOVED', 'hr'],
      ]),
    );
    expect(after).toHaveLength(2);
    expect(STAFF.slice(0, 5).some((s) => holdsEms(fh, s.id))).toBe(false);
    expect(STAFF.slice(5).every((s) => holdsEms(fh, s.id))).toBe(true);
  });
});

describe('a day of cleanup reclaims', () => {
  it('is held above the limit (recorded HELD, in the daily summary) and released deliberately; a discard drops it', async () => {
    const fh = await harness({ DISABLED_RECLAIM_DAYS: '1' });
    for (const s of STAFF.slice(0, 6))
      fh.sim.tenant.upsertUser({ id: s.id, userPrincipalName: s.upn, accountEnabled: false });
    expect((await fh.cleanup()).disabledTracked).toBe(6);
    fh.clock.advance(DAY_MS + 60_000);

    const report = await fh.cleanup();

    const round = `cleanup-${fh.clock.now().toISOString().slice(0, 10)}`;
    expect(report).toMatchObject({ reclaimQueued: 6, reclaimHeld: 6, heldRound: round });
    const held = finals((await fh.drain()).map(recordOf));
    expect(held.map((r) => [r.outcome, r.policy])).toEqual(
      Array.from({ length: 6 }, () => ['HELD', 'disabledAccount']),
    );
    expect(STAFF.slice(0, 6).every((s) => holdsEms(fh, s.id))).toBe(true);
    const summary = JSON.parse(
      await fh.readBlob(`daily/${fh.clock.now().toISOString().slice(0, 10)}.json`),
    ) as {
      heldRounds: { id: string }[];
    };
    expect(summary.heldRounds.map((r) => r.id)).toEqual([round]);
    // The next day's cleanup does not queue them again while they wait in the round.
    fh.clock.advance(DAY_MS);
    expect((await fh.cleanup()).reclaimQueued).toBe(0);

    expect((await cli(fh, 'release', round)).code).toBe(0);
    const removed = finals((await fh.drain()).map(recordOf));
    expect(removed.map((r) => r.outcome)).toEqual(Array.from({ length: 6 }, () => 'REMOVED'));
    expect(STAFF.slice(0, 6).some((s) => holdsEms(fh, s.id))).toBe(false);
  });

  it('drops a round on --discard: nothing it held is made', async () => {
    const fh = await harness({ DISABLED_RECLAIM_DAYS: '1' });
    for (const s of STAFF.slice(0, 5))
      fh.sim.tenant.upsertUser({ id: s.id, userPrincipalName: s.upn, accountEnabled: false });
    await fh.cleanup();
    fh.clock.advance(DAY_MS + 60_000);
    const round = String((await fh.cleanup()).heldRound);
    await fh.drain();
    fh.sim.counters.reset();

    const discarded = await cli(fh, 'release', round, '--discard');

    expect(discarded.code).toBe(0);
    expect(discarded.out).toContain(`Discarded round ${round}`);
    expect(fh.pending()).toEqual([]);
    expect(fh.sim.counters.writes()).toBe(0);
    expect((await cli(fh, 'held')).out).toMatch(new RegExp(`${round}\\s+discarded`));
  });
});
