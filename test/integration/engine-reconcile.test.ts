/**
 * reconcile (the CLI's plan and apply) against the Graph simulator over HTTP: users are read
 * through the paged list with `$select`, never one GET per user, and processed with bounded
 * concurrency, measured on the GraphGateway port itself.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reconcile } from '../../lib/engine/reconcile.js';
import type { GraphGateway } from '../../lib/graph/gateway.js';
import { silentLogger } from '../../lib/log.js';
import { parseTenantFile, startSimulator, type Simulator } from '@ems-licensing/graph-simulator';
import { IDS } from '@ems-licensing/graph-simulator/test-support';
import { contextFor, simulatorGateway } from '../support/engine-harness.js';

const USERS = 23;
const PAGE_SIZE = 5;
const userId = (n: number) => `c0000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** USERS synced users (every third a contractor), all with a usage location, none licensed. */
function tenant(emsSeats: number) {
  return parseTenantFile({
    tenantId: IDS.tenant,
    defaultDomain: 'fabrikam.onmicrosoft.com',
    skus: [
      {
        skuId: IDS.EMS,
        skuPartNumber: 'EMS',
        prepaidUnits: { enabled: emsSeats },
        servicePlans: [
          { servicePlanId: IDS.AAD_PREMIUM, servicePlanName: 'AAD_PREMIUM' },
          { servicePlanId: IDS.INTUNE_A, servicePlanName: 'INTUNE_A' },
        ],
      },
    ],
    users: Array.from({ length: USERS }, (_, i) => ({
      id: userId(i + 1),
      userPrincipalName: `user${String(i + 1)}@fabrikam.com`,
      usageLocation: 'GB',
      onPremisesSyncEnabled: true,
      employeeType: i % 3 === 0 ? 'Contractor' : 'Employee',
    })),
  });
}

const RULES = `
version: 1
rules:
  - name: contractors
    when:
      all:
        - { attribute: onPremisesSyncEnabled, equals: true }
        - { attribute: employeeType, equals: Contractor }
    license: { sku: EMS, intune: off }
  - name: synced-staff
    when: { attribute: onPremisesSyncEnabled, equals: true }
    license: { sku: EMS }
`;

/** A GraphGateway decorator that measures how many assignLicense calls are in flight at once. */
function countingInFlight(inner: GraphGateway) {
  const stats = { inFlight: 0, maxInFlight: 0, calls: 0 };
  const gateway: GraphGateway = {
    listUsers: (select, options) => inner.listUsers(select, options),
    getUser: (idOrUpn, select, options) => inner.getUser(idOrUpn, select, options),
    findUserByEmployeeId: (employeeId, select, options) =>
      inner.findUserByEmployeeId(employeeId, select, options),
    assignLicense: async (userId, body, options) => {
      stats.calls++;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      try {
        return await inner.assignLicense(userId, body, options);
      } finally {
        stats.inFlight--;
      }
    },
    setUsageLocation: (id, usageLocation, options) => inner.setUsageLocation(id, usageLocation, options),
    listSubscribedSkus: (options) => inner.listSubscribedSkus(options),
    checkMemberGroups: (id, groupIds, options) => inner.checkMemberGroups(id, groupIds, options),
    deltaPage: (linkOrSelect, options) => inner.deltaPage(linkOrSelect, options),
    createSubscription: (sub, options) => inner.createSubscription(sub, options),
    renewSubscription: (id, expiry, options) => inner.renewSubscription(id, expiry, options),
    reauthorizeSubscription: (id, options) => inner.reauthorizeSubscription(id, options),
    getSubscription: (id, options) => inner.getSubscription(id, options),
    deleteSubscription: (id, options) => inner.deleteSubscription(id, options),
  };
  return { gateway, stats };
}

let sim: Simulator;

afterEach(async () => {
  await sim.close();
});

describe('reading users', () => {
  beforeEach(async () => {
    sim = await startSimulator({ tenant: tenant(100) });
  });

  it('plan pages through /users with $select (one request per page) and never GETs a user', async () => {
    const gateway = simulatorGateway(sim);
    const context = await contextFor(gateway, RULES);
    sim.counters.reset();
    const reads: number[] = [];

    const summary = await reconcile({
      gateway,
      context,
      logger: silentLogger(),
      dryRun: true,
      concurrency: 4,
      outcomes: null,
      pageSize: PAGE_SIZE,
      onUsersRead: (n) => reads.push(n),
    });

    expect(summary.users).toBe(USERS);
    expect(summary.byOutcome.ASSIGNED).toBe(USERS);
    const pages = Math.ceil(USERS / PAGE_SIZE);
    expect(sim.counters.get('listUsers')).toBe(pages);
    expect(reads).toEqual([5, 10, 15, 20, 23]);
    expect(sim.counters.get('getUser')).toBe(0);
    expect(sim.counters.writes()).toBe(0);

    const lists = sim.requests.filter((r) => r.kind === 'listUsers');
    const first = lists[0];
    expect(first?.query.$top).toBe(String(PAGE_SIZE));
    const select = first?.query.$select?.split(',') ?? [];
    // The attributes the rules test, plus what the planner needs; not every property.
    expect(select).toEqual(
      expect.arrayContaining([
        'id',
        'employeeType',
        'onPremisesSyncEnabled',
        'usageLocation',
        'assignedLicenses',
        'licenseAssignmentStates',
      ]),
    );
    expect(select).not.toContain('department');
    // Later pages follow @odata.nextLink (a skip token), not a new query per user.
    expect(lists.slice(1).every((r) => r.query.$skiptoken !== undefined)).toBe(true);
  });
});

describe('bounded concurrency', () => {
  it.each([1, 4])('apply keeps at most %i assignLicense call(s) in flight', async (concurrency) => {
    sim = await startSimulator({ tenant: tenant(100) });
    const { gateway, stats } = countingInFlight(simulatorGateway(sim));
    const context = await contextFor(gateway, RULES);

    const summary = await reconcile({
      gateway,
      context,
      logger: silentLogger(),
      dryRun: false,
      concurrency,
      outcomes: null,
      pageSize: PAGE_SIZE,
    });

    expect(summary.byOutcome.ASSIGNED).toBe(USERS);
    expect(stats.calls).toBe(USERS);
    expect(sim.counters.get('assignLicense')).toBe(USERS);
    expect(stats.maxInFlight).toBeLessThanOrEqual(concurrency);
    if (concurrency > 1) expect(stats.maxInFlight).toBeGreaterThan(1);
    else expect(stats.maxInFlight).toBe(1);
    const licensed = sim.tenant.users().filter((u) => u.assignedLicenses.length === 1);
    expect(licensed).toHaveLength(USERS);
  });

  it('never overshoots the free seats when users run concurrently', async () => {
    const seats = 7;
    sim = await startSimulator({ tenant: tenant(seats) });
    const { gateway, stats } = countingInFlight(simulatorGateway(sim));
    const context = await contextFor(gateway, RULES);

    const summary = await reconcile({
      gateway,
      context,
      logger: silentLogger(),
      dryRun: false,
      concurrency: 8,
      outcomes: null,
      pageSize: PAGE_SIZE,
    });

    expect(summary.byOutcome.ASSIGNED).toBe(seats);
    expect(summary.byOutcome.DEFERRED).toBe(USERS - seats);
    expect(summary.byOutcome.FAILED).toBe(0);
    // Seats are reserved before the call: Graph never had to refuse one.
    expect(stats.calls).toBe(seats);
    expect(sim.requests.filter((r) => r.kind === 'assignLicense' && r.status !== 200)).toEqual([]);
    expect(sim.tenant.sku('EMS')?.consumedUnits).toBe(seats);
  });

  it('plan predicts the DEFERRED users apply will have when seats run short', async () => {
    const seats = 7;
    sim = await startSimulator({ tenant: tenant(seats) });
    const gateway = simulatorGateway(sim);
    const outcomesOf = async (dryRun: boolean) => {
      const byUser = new Map<string, string>();
      await reconcile({
        gateway,
        // A fresh context per run, as every CLI run reads the catalog once.
        context: await contextFor(gateway, RULES),
        logger: silentLogger(),
        dryRun,
        concurrency: 1,
        outcomes: null,
        onResult: (r) => byUser.set(r.record.userId, r.record.outcome),
      });
      return byUser;
    };

    const planned = await outcomesOf(true);
    expect(sim.counters.writes()).toBe(0);
    const applied = await outcomesOf(false);

    expect([...planned.values()].filter((o) => o === 'ASSIGNED')).toHaveLength(seats);
    expect([...planned.values()].filter((o) => o === 'DEFERRED')).toHaveLength(USERS - seats);
    expect(planned).toEqual(applied);
  });
});
