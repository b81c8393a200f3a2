/**
 * The blast-radius guard's decision (lib/engine/blast-guard.ts): what counts as a reduction, what
 * a held plan still does, the limits, the verdict and its release, and the CLI run's guard.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GUARD_SETTINGS,
  guardVerdict,
  heldPlan,
  holdReason,
  limitFor,
  reductionsOf,
  ReductionTally,
  withholdReductions,
} from '../../lib/engine/blast-guard.js';
import type { Decision } from '../../lib/engine/decide.js';
import type { GuardCheck } from '../../lib/engine/reduction-guard.js';
import { RunGuard } from '../../lib/engine/run-guard.js';
import type { GraphUser } from '../../lib/graph/types.js';
import type { LicensePlan, PlanAction } from '../../lib/licensing/types.js';
import { PLAN, SKU } from './license-fixtures.js';

const remove = (sku: keyof typeof SKU = 'EMS'): PlanAction => ({
  kind: 'removeLicense',
  skuId: SKU[sku],
  skuPartNumber: sku,
});
const add = (sku: keyof typeof SKU, disabledPlans: string[] = []): PlanAction => ({
  kind: 'addLicense',
  skuId: SKU[sku],
  skuPartNumber: sku,
  disabledPlans,
});
const update = (before: string[], after: string[]): PlanAction => ({
  kind: 'updateDisabledPlans',
  skuId: SKU.EMS,
  skuPartNumber: 'EMS',
  before,
  after,
});
const counts = (entries: [string, number][]) =>
  new Map(
    entries.map(([sku, n]) => [
      sku,
      { skuPartNumber: sku === SKU.EMS ? 'EMS' : 'EMSPREMIUM', reductions: n },
    ]),
  );

describe('reductions', () => {
  it('counts a removal and plans switched off that were on; never an add, a location or plans switched on', () => {
    expect(reductionsOf([remove()])).toEqual([{ skuId: SKU.EMS, skuPartNumber: 'EMS', kind: 'remove' }]);
    expect(reductionsOf([update([], [PLAN.INTUNE_A])])).toEqual([
      { skuId: SKU.EMS, skuPartNumber: 'EMS', kind: 'disablePlans' },
    ]);
    expect(reductionsOf([update([PLAN.INTUNE_A], [])])).toEqual([]);
    expect(reductionsOf([add('EMS'), { kind: 'setUsageLocation', from: null, to: 'GB' }])).toEqual([]);
  });

  it('holds removals and plan reductions back, and keeps what the rules add (a swap keeps the old SKU)', () => {
    const swap = [add('EMSPREMIUM'), remove('EMS')];
    expect(withholdReductions(swap)).toEqual({ kept: [add('EMSPREMIUM')], held: [remove('EMS')] });
  });

  it('splits an update that switches one plan on and another off: on now, off when released', () => {
    const both = update([PLAN.INTUNE_A], [PLAN.MFA_PREMIUM]);
    expect(withholdReductions([both])).toEqual({
      kept: [update([PLAN.INTUNE_A], [])],
      held: [update([], [PLAN.MFA_PREMIUM])],
    });
    // Only switching off: nothing kept for it, the whole update held.
    const off = update([PLAN.INTUNE_A], [PLAN.INTUNE_A, PLAN.MFA_PREMIUM]);
    expect(withholdReductions([off])).toEqual({ kept: [], held: [off] });
  });

  it('gives a held plan the outcome of what it still does', () => {
    const plan: LicensePlan = {
      actions: [add('EMSPREMIUM'), remove('EMS')],
      conflicts: [],
      deferred: null,
      blocked: null,
      outcome: 'UPDATED',
    };
    expect(heldPlan(plan).plan).toMatchObject({ actions: [add('EMSPREMIUM')], outcome: 'ASSIGNED' });
    expect(heldPlan({ ...plan, actions: [remove('EMS')], outcome: 'REMOVED' }).plan).toMatchObject({
      actions: [],
      outcome: 'UNCHANGED',
    });
  });

  it('counts each user once per SKU, however often they are added', () => {
    const tally = new ReductionTally();
    tally.add('u1', [remove('EMS'), remove('EMSPREMIUM')]);
    tally.add('u1', [remove('EMS')]);
    tally.add('u2', [remove('EMS')]);
    tally.add('u3', [add('EMS')]);
    expect(tally.users).toBe(2);
    expect(tally.counts().get(SKU.EMS)?.reductions).toBe(2);
    expect(tally.counts().get(SKU.EMSPREMIUM)?.reductions).toBe(1);
  });
});

describe('limits and verdict', () => {
  it('allows the larger of the share and the count: a scope is held only above both', () => {
    expect(limitFor(300, DEFAULT_GUARD_SETTINGS)).toBe(30);
    expect(limitFor(100, DEFAULT_GUARD_SETTINGS)).toBe(25);
    expect(limitFor(0, DEFAULT_GUARD_SETTINGS)).toBe(25);
    expect(limitFor(10_000, DEFAULT_GUARD_SETTINGS)).toBe(1_000);
    expect(limitFor(300, { removalPercent: 0, removalCount: 0 })).toBe(0);
  });

  it('never holds an ordinary day’s handful of leavers, and holds a mass removal', () => {
    const holders = () => 300;
    const verdict = (n: number) =>
      guardVerdict({ counts: counts([[SKU.EMS, n]]), users: n, holders, settings: DEFAULT_GUARD_SETTINGS });
    expect(verdict(5).hold).toBe(false);
    expect(verdict(30).hold).toBe(false);
    expect(verdict(31)).toMatchObject({
      hold: true,
      over: [{ skuId: SKU.EMS, reductions: 31, holders: 300, limit: 30 }],
    });
  });

  it('is released by --allow-removals only when it covers every user of the scope', () => {
    const input = {
      counts: counts([[SKU.EMS, 230]]),
      users: 230,
      holders: () => 300,
      settings: DEFAULT_GUARD_SETTINGS,
    };
    expect(guardVerdict({ ...input, allowRemovals: 229 })).toMatchObject({ hold: true, allowed: 229 });
    expect(guardVerdict({ ...input, allowRemovals: 230 })).toMatchObject({ hold: false, allowed: 230 });
    expect(guardVerdict(input).allowed).toBeNull();
  });

  it('says why, with the counts and the settings that decide', () => {
    const v = guardVerdict({
      counts: counts([[SKU.EMS, 230]]),
      users: 230,
      holders: () => 300,
      settings: DEFAULT_GUARD_SETTINGS,
    });
    expect(holdReason(v, DEFAULT_GUARD_SETTINGS, 'this run')).toBe(
      'The blast-radius guard held this run: it would remove or reduce EMS for 230 user(s) (77 % of 300 holders; the limit is 30). ' +
        "A scope is held above both 10 % of a SKU's holders and 25 users (GUARD_REMOVAL_PERCENT, GUARD_REMOVAL_COUNT); nothing was removed.",
    );
  });
});

describe('RunGuard (a CLI run)', () => {
  const user = (id: string): GraphUser => ({
    id,
    userPrincipalName: `${id}@contoso.com`,
    assignedLicenses: [],
    licenseAssignmentStates: [],
  });
  const check = (id: string, actions: PlanAction[]): GuardCheck => ({
    facts: {
      jobId: `job-${id}`,
      correlationId: 'c',
      source: 'cli',
      eventId: 'run-1',
      acceptedAt: '2026-01-01T00:00:00.000Z',
      attempt: 0,
      dryRun: false,
      userRef: { id },
      startedAt: new Date(0),
    },
    action: 'reconcile',
    eventAt: new Date(0),
    user: user(id),
    decision: { plan: { actions } } as unknown as Decision,
    reductions: reductionsOf(actions),
    holders: () => 100,
    marker: undefined,
  });
  const guard = (planned: number, settings = DEFAULT_GUARD_SETTINGS, allowRemovals: number | null = null) =>
    new RunGuard({
      runId: 'run-1',
      settings,
      verdict: guardVerdict({
        counts: counts([[SKU.EMS, planned]]),
        users: planned,
        holders: () => 100,
        settings,
        allowRemovals,
      }),
      planned: new Map([[SKU.EMS, planned]]),
      reason: 'held',
      release: 'release it',
    });

  it('holds every reduction of a run held by its plan', async () => {
    const g = guard(40);
    expect(await g.check(check('u1', [remove()]))).toEqual({
      kind: 'hold',
      roundId: 'run-1',
      reason: 'held',
      release: 'release it',
    });
  });

  it('makes what the plan showed, and holds what goes past it and past the limits (the tenant changed)', async () => {
    const g = guard(2, { removalPercent: 0, removalCount: 2 });
    expect((await g.check(check('u1', [remove()]))).kind).toBe('allow');
    expect((await g.check(check('u2', [remove()]))).kind).toBe('allow');
    const third = await g.check(check('u3', [remove()]));
    expect(third).toMatchObject({ kind: 'hold', roundId: 'run-1' });
    // A user it allowed asking again (a retry in the run's retry rounds) is still allowed.
    expect((await g.check(check('u1', [remove()]))).kind).toBe('allow');
  });

  it('lets a released run go up to the admin’s number, and no further', async () => {
    const g = guard(3, { removalPercent: 0, removalCount: 1 }, 3);
    for (const id of ['u1', 'u2', 'u3']) expect((await g.check(check(id, [remove()]))).kind).toBe('allow');
    expect((await g.check(check('u4', [remove()]))).kind).toBe('hold');
  });
});
