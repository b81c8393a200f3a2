/**
 * reconcile (the CLI's plan and apply) against the Graph simulator over HTTP: users are read
 * through the paged list with `$select`, never one GET per user, and processed with bounded
 * concurrency, measured on the GraphGateway port itself.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { reconcile } from '../../lib/engine/reconcile.js';
import type { GraphGateway } from '../../lib/graph/gateway.js';
import { silentLogger } from '../../lib/log.js';
import { createStorage } from '../../lib/store/table-clients.js';
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
    getUsers: (ids, select, options) => inner.getUsers(ids, select, options),
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
    getGroupName: (id, options) => inner.getGroupName(id, options),
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

describe('a run that meets throttling, outages and a killed predecessor', () => {
  const connectionString = inject('storageConnectionString');

  async function storage() {
    const s = createStorage({ connectionString, tablePrefix: `rc${randomBytes(5).toString('hex')}` });
    await s.ensureTables();
    return s;
  }

  it('tries users put off by throttling again within the run, waiting out Retry-After, and finishes', async () => {
    sim = await startSimulator({ tenant: tenant(100) });
    // No in-process retries: every 429 reaches the engine.
    const gateway = simulatorGateway(sim, { GRAPH_MAX_RETRIES: '0' });
    const context = await contextFor(gateway, RULES);
    sim.faults.inject({ kind: 'assignLicense', status: 429, retryAfterSeconds: 7, times: 5 });
    const slept: number[] = [];

    const summary = await reconcile({
      gateway,
      context,
      logger: silentLogger(),
      dryRun: false,
      concurrency: 4,
      outcomes: null,
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
    });

    expect(summary.byOutcome.ASSIGNED).toBe(USERS);
    expect(summary.notDone).toEqual([]);
    expect(summary.users).toBe(USERS);
    // One retry round, after Graph's Retry-After (7 s beats the 1.5 s backoff).
    expect(slept).toEqual([7_000]);
    // Every write request counts, the refused ones too.
    expect(summary.writes).toBe(USERS + 5);
    expect(sim.tenant.users().every((u) => u.assignedLicenses.length === 1)).toBe(true);
  });

  it('lists the users still not done after its retry rounds, each with its reason, and records them', async () => {
    sim = await startSimulator({ tenant: tenant(100) });
    const gateway = simulatorGateway(sim, { GRAPH_MAX_RETRIES: '0' });
    const context = await contextFor(gateway, RULES);
    const s = await storage();
    // Graph answers every write 503 (an outage).
    sim.faults.inject({ kind: 'assignLicense', status: 503, times: 1_000 });
    const summary = await reconcile({
      gateway,
      context,
      logger: silentLogger(),
      dryRun: false,
      concurrency: 2,
      outcomes: s.outcomes,
      retryRounds: 2,
      sleep: () => Promise.resolve(),
    });

    expect(summary.users).toBe(USERS);
    expect(summary.notDone).toHaveLength(USERS);
    expect(summary.notDone[0]).toMatchObject({
      code: 'serviceNotAvailable',
      reason: expect.stringMatching(/Not done in this run after 3 attempt/) as unknown,
    });
    // Three tries each, no more. A 503 on a write leaves its outcome unknown: each try reads the
    // user, sees the change missing, and sends it once more. None of them changed anything.
    expect(sim.counters.get('assignLicense')).toBe(USERS * 3 * 2);
    expect(sim.tenant.users().some((u) => u.assignedLicenses.length > 0)).toBe(false);
    const [record] = await s.outcomes.listByUser(userId(1));
    expect(record).toMatchObject({ outcome: 'DEFERRED', phase: 'final', retryAt: null, writes: 2 });
    // The run's final record replaced the pending one: nothing is left unfinished.
    const pending: string[] = [];
    for await (const p of s.outcomes.listPending({ source: 'cli' })) pending.push(p.userId);
    expect(pending).toEqual([]);
  });

  it('stops with a partial summary when Graph keeps failing a page of users', async () => {
    sim = await startSimulator({ tenant: tenant(100) });
    const gateway = simulatorGateway(sim, { GRAPH_MAX_RETRIES: '1' });
    const context = await contextFor(gateway, RULES);
    // Page 1 is read; every later page read fails (two tries each: one retry).
    let lists = 0;
    const failing: GraphGateway = {
      ...gateway,
      listUsers: async function* (select, options) {
        for await (const page of gateway.listUsers(select, options)) {
          lists++;
          yield page;
          sim.faults.inject({ kind: 'listUsers', status: 500, times: 2 });
        }
      },
    };
    const summary = await reconcile({
      gateway: failing,
      context,
      logger: silentLogger(),
      dryRun: true,
      concurrency: 2,
      outcomes: null,
      pageSize: PAGE_SIZE,
    });
    expect(lists).toBe(1);
    expect(summary.users).toBe(PAGE_SIZE);
    expect(summary.aborted).toMatch(/Reading the users from Graph failed after retries \(generalException/);
  });

  it('first completes what a killed run left pending: made changes are recorded as made, others as interrupted', async () => {
    sim = await startSimulator({ tenant: tenant(100) });
    const gateway = simulatorGateway(sim);
    const context = await contextFor(gateway, RULES);
    const s = await storage();
    // A killed run wrote its intent for user1 and user2; only user1's write reached Graph.
    const acceptedAt = new Date().toISOString();
    const add = (id: string) => ({
      kind: 'addLicense' as const,
      skuId: IDS.EMS,
      skuPartNumber: 'EMS',
      disabledPlans: id === userId(1) ? [IDS.INTUNE_A] : [],
    });
    for (const id of [userId(1), userId(2)]) {
      await s.outcomes.record({
        userId: id,
        userPrincipalName: null,
        jobId: `killed-${id}`,
        correlationId: randomUUID(),
        source: 'cli',
        eventId: 'killed-run',
        rule: 'contractors',
        outcome: 'ASSIGNED',
        skus: ['EMS'],
        licensesBefore: [],
        licensesAfter: ['EMS'],
        actions: [add(id)],
        conflicts: [],
        error: null,
        retryAt: null,
        dryRun: false,
        durationMs: 0,
        recordedAt: acceptedAt,
        phase: 'pending',
        attempt: 0,
        acceptedAt,
        writes: 0,
        recovered: false,
      });
    }
    await gateway.assignLicense(userId(1), {
      addLicenses: [{ skuId: IDS.EMS, disabledPlans: [IDS.INTUNE_A] }],
      removeLicenses: [],
    });
    sim.counters.reset();

    const summary = await reconcile({
      gateway,
      context,
      logger: silentLogger(),
      dryRun: false,
      concurrency: 4,
      outcomes: s.outcomes,
    });

    expect(summary.recovered).toEqual({ recovered: 1, interrupted: 1, left: 0 });
    const [made] = (await s.outcomes.listByUser(userId(1))).filter((r) => r.jobId === `killed-${userId(1)}`);
    expect(made).toMatchObject({ phase: 'final', outcome: 'ASSIGNED', recovered: true });
    const [notMade] = (await s.outcomes.listByUser(userId(2))).filter(
      (r) => r.jobId === `killed-${userId(2)}`,
    );
    expect(notMade).toMatchObject({
      phase: 'final',
      outcome: 'DEFERRED',
      error: expect.objectContaining({ code: 'Interrupted' }) as unknown,
    });
    // user1 is compliant now; this run licenses the other 22, once each.
    expect(summary.byOutcome.ASSIGNED).toBe(USERS - 1);
    expect(sim.counters.get('assignLicense')).toBe(USERS - 1);
    const pending: string[] = [];
    for await (const p of s.outcomes.listPending()) pending.push(p.jobId);
    expect(pending).toEqual([]);
  });

  it('reads changed users back fifteen at a time and records one final outcome per user', async () => {
    sim = await startSimulator({ tenant: tenant(100) });
    const gateway = simulatorGateway(sim);
    const context = await contextFor(gateway, RULES);
    const s = await storage();
    sim.counters.reset();

    const summary = await reconcile({
      gateway,
      context,
      logger: silentLogger(),
      dryRun: false,
      concurrency: 4,
      outcomes: s.outcomes,
    });

    expect(summary.byOutcome.ASSIGNED).toBe(USERS);
    expect(summary.notVerified).toBe(0);
    // 23 changed users: two `id in (...)` reads (15 + 8), never a GET per user.
    expect(sim.counters.get('getUser')).toBe(0);
    const verifying = sim.requests.filter(
      (r) => r.kind === 'listUsers' && (r.query.$filter ?? '').startsWith('id in'),
    );
    expect(verifying).toHaveLength(2);
    for (let i = 1; i <= USERS; i++) {
      const records = await s.outcomes.listByUser(userId(i));
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ phase: 'final', outcome: 'ASSIGNED', writes: 1 });
      expect(records[0]?.licensesAfter).toEqual([i % 3 === 1 ? 'EMS:-INTUNE_A' : 'EMS']);
    }
  });
});
