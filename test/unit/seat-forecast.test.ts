/**
 * The seat forecast (lib/licensing/seat-forecast.ts) and the hire prediction beside it: pure, so
 * every figure and every run-out date is asserted exactly, against a fixed clock.
 */
import { describe, expect, it } from 'vitest';
import { hireAsUser, skusForHire } from '../../lib/licensing/hire-demand.js';
import {
  forecastSeats,
  shortfallWarnings,
  skusAfterPlan,
  waitingForSeats,
  type SkuSeats,
  type UserSeatUse,
  type WaitingRecordFacts,
} from '../../lib/licensing/seat-forecast.js';
import type { CompiledRules } from '../../lib/licensing/types.js';

const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';
const E5 = 'b05e124f-c7cc-45a0-a6aa-8cf78c946968';
const NOW = new Date('2026-03-01T09:00:00Z');
const at = (iso: string) => new Date(iso);

const ems = (prepaid: number, consumedUnits: number): SkuSeats => ({
  skuId: EMS,
  sku: 'EMS',
  prepaid,
  consumedUnits,
});
/** `n` users who hold EMS once the plan is through. */
const holders = (n: number): UserSeatUse[] =>
  Array.from({ length: n }, () => ({ held: [EMS], after: [EMS] }));

describe('forecastSeats', () => {
  it('counts free seats, what the rules want, the shortfall and who waits', () => {
    const users: UserSeatUse[] = [
      ...holders(8),
      { held: [], after: [EMS] }, // the plan adds EMS
      { held: [EMS], after: [] }, // the plan removes it
      { held: [], after: [] },
    ];
    const [f] = forecastSeats({
      now: NOW,
      skus: [ems(8, 9)],
      users,
      waiting: new Map([[EMS, 2]]),
      hires: [],
    });
    expect(f).toEqual({
      sku: 'EMS',
      skuId: EMS,
      prepaid: 8,
      consumed: 9,
      free: 0,
      wanted: 9,
      short: 1,
      waiting: 2,
      scheduledHires: 0,
      leftAfterHires: -1,
      hiresPerDay: null,
      runsOutOn: '2026-03-01',
      runsOutBasis: 'now',
    });
  });

  it('dates the run-out at the scheduled hire that takes the last seat', () => {
    const hires = [
      { effectiveAt: at('2026-03-20T08:00:00Z'), skuIds: [EMS] },
      { effectiveAt: at('2026-03-10T08:00:00Z'), skuIds: [EMS] },
      { effectiveAt: at('2026-04-02T08:00:00Z'), skuIds: [EMS] },
      { effectiveAt: at('2026-03-05T08:00:00Z'), skuIds: [E5] }, // another SKU
      { effectiveAt: at('2026-02-20T08:00:00Z'), skuIds: [EMS] }, // started already
    ];
    const [f] = forecastSeats({ now: NOW, skus: [ems(10, 7)], users: holders(8), waiting: new Map(), hires });
    // 2 seats left after the plan; the second EMS hire by date (10 March, 20 March) takes the last one.
    expect(f).toMatchObject({ wanted: 8, scheduledHires: 3, leftAfterHires: -1 });
    expect(f?.runsOutOn).toBe('2026-03-20');
    expect(f?.runsOutBasis).toBe('scheduled');
  });

  it('extrapolates at the hiring pace when the scheduled hires leave seats over', () => {
    // 2 hires over the 20 days to the last start: 0.1 a day; 10 seats left after the plan → 100 days.
    const hires = [
      { effectiveAt: at('2026-03-11T09:00:00Z'), skuIds: [EMS] },
      { effectiveAt: at('2026-03-21T09:00:00Z'), skuIds: [EMS] },
    ];
    const [f] = forecastSeats({
      now: NOW,
      skus: [ems(20, 10)],
      users: holders(10),
      waiting: new Map(),
      hires,
    });
    expect(f?.hiresPerDay).toBe(0.1);
    expect(f?.leftAfterHires).toBe(8);
    expect(f?.runsOutOn).toBe('2026-06-09'); // 1 March + 100 days
    expect(f?.runsOutBasis).toBe('pace');
  });

  it('gives no date when no demand is known and seats are left', () => {
    const [f] = forecastSeats({
      now: NOW,
      skus: [ems(20, 10)],
      users: holders(10),
      waiting: new Map(),
      hires: [],
    });
    expect(f?.runsOutOn).toBeNull();
    expect(f?.runsOutBasis).toBeNull();
  });
});

describe('skusAfterPlan', () => {
  it('applies adds and removes, and adds what a waiting plan still wants', () => {
    expect(
      skusAfterPlan(
        [EMS.toUpperCase()],
        [
          { kind: 'removeLicense', skuId: EMS, skuPartNumber: 'EMS' },
          { kind: 'addLicense', skuId: E5, skuPartNumber: 'EMSPREMIUM', disabledPlans: [] },
        ],
        null,
      ),
    ).toEqual([E5]);
    // No free seat: the plan carries no action, the rules still want EMS.
    expect(skusAfterPlan([], [], [EMS])).toEqual([EMS]);
  });
});

describe('waitingForSeats', () => {
  const rec = (
    userId: string,
    recordedAt: string,
    outcome: string,
    errorCode: string | null,
    skus = ['EMS'],
  ): WaitingRecordFacts => ({
    userId,
    recordedAt,
    outcome,
    dryRun: false,
    phase: 'final',
    errorCode,
    skus,
  });

  it('counts users whose latest record is a seat deferral, by SKU', () => {
    const waiting = waitingForSeats(
      [
        rec('ann', '2026-02-01T00:00:00Z', 'DEFERRED', 'NoFreeSeats'),
        rec('bob', '2026-02-01T00:00:00Z', 'DEFERRED', 'NoFreeSeats'),
        rec('bob', '2026-02-02T00:00:00Z', 'ASSIGNED', null), // got the seat since
        rec('cas', '2026-02-03T00:00:00Z', 'DEFERRED', 'UserNotFound'), // waits, but not for a seat
        { ...rec('dee', '2026-02-04T00:00:00Z', 'DEFERRED', 'NoFreeSeats'), dryRun: true }, // a plan
        rec('eve', '2026-02-05T00:00:00Z', 'DEFERRED', 'NoFreeSeats', ['GONE']), // SKU the tenant lacks
        rec('fay', '2026-02-01T00:00:00Z', 'DEFERRED', 'NoFreeSeats'),
        { ...rec('fay', '2026-02-06T00:00:00Z', 'UNCHANGED', null), phase: 'pending' }, // a job under way
      ],
      (part) => (part === 'EMS' ? EMS : null),
    );
    expect([...waiting]).toEqual([[EMS, 2]]); // ann and fay
  });
});

describe('shortfallWarnings', () => {
  it('names each SKU the rules want on more users than it has seats', () => {
    const forecast = forecastSeats({
      now: NOW,
      skus: [ems(5, 5)],
      users: holders(7),
      waiting: new Map(),
      hires: [],
    });
    expect(shortfallWarnings(forecast)).toEqual([
      'the rules want EMS on 7 users, but the tenant has 5 seats (2 short): buy 2 more or narrow the rules; until then the users beyond the seats are DEFERRED.',
    ]);
  });
});

describe('hire prediction', () => {
  const rules: CompiledRules = {
    rules: [
      {
        name: 'contractors',
        index: 0,
        description: null,
        when: {
          all: [
            { attribute: 'onPremisesSyncEnabled', equals: true },
            { attribute: 'employeeType', in: ['Contractor'] },
          ],
        },
        licenses: [{ skuId: E5, skuPartNumber: 'EMSPREMIUM', disabledPlans: [] }],
      },
      {
        name: 'staff',
        index: 1,
        description: null,
        when: { attribute: 'department', equals: 'Sales' },
        licenses: [{ skuId: EMS, skuPartNumber: 'EMS', disabledPlans: [] }],
      },
    ],
    managedSkuIds: new Set([EMS, E5]),
    defaults: { usageLocation: null, unmatched: 'leave' },
  };

  it('reads what HR said as an enabled account synced from AD', () => {
    const user = hireAsUser(
      {
        userPrincipalName: 'new@contoso.com',
        attributes: { Title: 'Engineer', organization: 'Contoso', extensionAttribute3: 'x' },
      },
      'upn-1',
    );
    expect(user).toMatchObject({
      id: 'upn-1',
      userPrincipalName: 'new@contoso.com',
      accountEnabled: true,
      onPremisesSyncEnabled: true,
      jobTitle: 'Engineer',
      companyName: 'Contoso',
      userType: 'Member',
      onPremisesExtensionAttributes: { extensionAttribute3: 'x' },
    });
  });

  it('gives the SKUs of the first rule that matches, or none', () => {
    expect(
      skusForHire({ userPrincipalName: null, attributes: { employeeType: 'Contractor' } }, rules, 'emp-1'),
    ).toEqual([E5]);
    expect(
      skusForHire({ userPrincipalName: null, attributes: { department: 'Sales' } }, rules, 'emp-2'),
    ).toEqual([EMS]);
    expect(
      skusForHire({ userPrincipalName: null, attributes: { department: 'Legal' } }, rules, 'emp-3'),
    ).toEqual([]);
  });
});
