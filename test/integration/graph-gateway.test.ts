/**
 * The real Graph gateway (Graph JS client + our middleware) against the Graph simulator over HTTP.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadBaseConfig } from '../../lib/config.js';
import { createGraphClient } from '../../lib/graph/client.js';
import { SimulatorCredential } from '../../lib/graph/credential.js';
import type { GraphGateway } from '../../lib/graph/gateway.js';
import { GraphError } from '../../lib/graph/graph-error.js';
import { createGraphGateway, graphGatewayFromConfig } from '../../lib/graph/graph-gateway.js';
import type { DeltaPage } from '../../lib/graph/types.js';
import { createLogger, silentLogger } from '../../lib/log.js';
import {
  parseTenantFile,
  startSimulator,
  type Simulator,
  type TenantFileInput,
} from '@ems-licensing/graph-simulator';

const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';
const INTUNE_A = 'c1ec4a95-1f05-45b3-a911-aa3fa01094f5';
const AAD_PREMIUM = '41781fb2-bc02-4b7c-bd55-b576c07bb09d';
const GROUP = '20000000-0000-4000-8000-000000000001';
const OTHER_GROUP = '20000000-0000-4000-8000-000000000002';
const id = (n: number) => `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const GUEST_UPN = 'ann_fabrikam.com#EXT#@contoso.onmicrosoft.com';
const CORRELATION_ID = '7d1c4a52-3b0e-4c8e-9f4e-2a6b1d9e0c11';

/** Seven users: five members (one without usageLocation), one group-licensed, one guest. */
function tenant(): TenantFileInput {
  return {
    tenantId: '30000000-0000-4000-8000-000000000001',
    defaultDomain: 'contoso.onmicrosoft.com',
    skus: [
      {
        skuId: EMS,
        skuPartNumber: 'EMS',
        prepaidUnits: { enabled: 10 },
        servicePlans: [
          { servicePlanId: INTUNE_A, servicePlanName: 'INTUNE_A' },
          { servicePlanId: AAD_PREMIUM, servicePlanName: 'AAD_PREMIUM' },
        ],
      },
    ],
    groups: [
      {
        id: GROUP,
        displayName: 'EMS licensed',
        members: [id(5)],
        licenses: [{ skuId: EMS, disabledPlans: [] }],
      },
      { id: OTHER_GROUP, displayName: 'Sales', members: [id(1)] },
    ],
    users: [
      { id: id(1), userPrincipalName: 'u1@contoso.com', usageLocation: 'DE', department: 'Sales' },
      { id: id(2), userPrincipalName: 'u2@contoso.com', usageLocation: 'DE', employeeId: "O'Brien-7" },
      { id: id(3), userPrincipalName: 'u3@contoso.com', department: 'IT' },
      { id: id(4), userPrincipalName: 'u4@contoso.com', usageLocation: 'FR' },
      { id: id(5), userPrincipalName: 'u5@contoso.com', usageLocation: 'DE' },
      { id: id(6), userPrincipalName: 'u6@contoso.com', usageLocation: 'US' },
      { id: id(7), userPrincipalName: GUEST_UPN, usageLocation: 'US', userType: 'Guest' },
    ],
  };
}

let sim: Simulator;
let sleeps: number[];

/** A gateway whose retries record their delay instead of waiting. */
function fastGateway(maxRetries = 3): GraphGateway {
  const client = createGraphClient({
    baseUrl: sim.url,
    credential: new SimulatorCredential(),
    maxRetries,
    retry: { sleep: recordSleep },
  });
  return createGraphGateway({ client });
}

/** The production wiring: config → credential → client → gateway; retries record their wait. */
function configuredGateway(): GraphGateway {
  return graphGatewayFromConfig(
    loadBaseConfig({ GRAPH_BASE_URL: sim.url, GRAPH_MAX_RETRIES: '3' }),
    silentLogger(),
    { sleep: recordSleep },
  );
}

function recordSleep(ms: number): Promise<void> {
  sleeps.push(ms);
  return Promise.resolve();
}

async function rejection(promise: Promise<unknown>): Promise<GraphError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GraphError) return error;
    throw error;
  }
  throw new Error('expected a GraphError');
}

beforeEach(async () => {
  sim = await startSimulator({ tenant: parseTenantFile(tenant()) });
  sleeps = [];
});

afterEach(async () => {
  await sim.close();
});

describe('users', () => {
  it('pages through /users with $select and $top, following @odata.nextLink', async () => {
    const graph = configuredGateway();
    const pages: number[] = [];
    const ids: string[] = [];
    for await (const page of graph.listUsers(['department'], { pageSize: 3 })) {
      pages.push(page.length);
      ids.push(...page.map((u) => u.id));
    }
    expect(pages).toEqual([3, 3, 1]);
    expect(new Set(ids).size).toBe(7);
    const listRequests = sim.requests.filter((r) => r.kind === 'listUsers');
    expect(listRequests).toHaveLength(3);
    const first = listRequests[0]!;
    expect(first.query.$top).toBe('3');
    expect(first.query.$select?.split(',')).toEqual(
      expect.arrayContaining(['id', 'userPrincipalName', 'department']),
    );
    expect(sim.counters.get('listUsers')).toBe(3);
  });

  it('uses a page size of 999 by default', async () => {
    const graph = configuredGateway();
    for await (const page of graph.listUsers(['department'])) expect(page).toHaveLength(7);
    expect(sim.requests.find((r) => r.kind === 'listUsers')?.query.$top).toBe('999');
  });

  it('reads a user by id, with the selected attributes', async () => {
    const user = await configuredGateway().getUser(id(1), ['department']);
    expect(user).toMatchObject({
      id: id(1),
      userPrincipalName: 'u1@contoso.com',
      department: 'Sales',
      usageLocation: 'DE',
    });
  });

  it('reads a guest by a UPN containing #EXT#', async () => {
    const user = await configuredGateway().getUser(GUEST_UPN, []);
    expect(user?.id).toBe(id(7));
    expect(sim.requests.find((r) => r.kind === 'getUser')?.path).toContain('%23EXT%23');
  });

  it('answers null for a user Graph does not know', async () => {
    expect(await configuredGateway().getUser(id(99), [])).toBeNull();
    expect(await configuredGateway().getUser('nobody@contoso.com', [])).toBeNull();
  });

  it('finds a user by employeeId, quotes doubled', async () => {
    const graph = configuredGateway();
    expect((await graph.findUserByEmployeeId("O'Brien-7", []))?.id).toBe(id(2));
    expect(await graph.findUserByEmployeeId('nobody', [])).toBeNull();
    expect(sim.requests.find((r) => r.kind === 'listUsers')?.query.$filter).toBe(
      "employeeId eq 'O''Brien-7'",
    );
  });

  it('sets usageLocation with PATCH', async () => {
    const graph = configuredGateway();
    await graph.setUsageLocation(id(3), 'NL');
    const patch = sim.requests.find((r) => r.kind === 'patchUser');
    expect(patch).toMatchObject({ method: 'PATCH', body: { usageLocation: 'NL' }, status: 204 });
    expect((await graph.getUser(id(3), []))?.usageLocation).toBe('NL');
  });

  it('checks transitive group membership in chunks of 20', async () => {
    const groups = [
      OTHER_GROUP,
      GROUP,
      ...Array.from(
        { length: 23 },
        (_, i) => `20000000-0000-4000-8000-1000000000${String(i).padStart(2, '0')}`,
      ),
    ];
    const member = await configuredGateway().checkMemberGroups(id(1), groups);
    expect(member).toEqual([OTHER_GROUP]);
    const calls = sim.requests.filter((r) => r.kind === 'checkMemberGroups');
    expect(calls.map((r) => (r.body as { groupIds: string[] }).groupIds.length)).toEqual([20, 5]);
  });
});

describe('licenses', () => {
  it('assigns a license with disabled plans and reads it back', async () => {
    const graph = configuredGateway();
    const answered = await graph.assignLicense(id(1), {
      addLicenses: [{ skuId: EMS, disabledPlans: [INTUNE_A] }],
      removeLicenses: [],
    });
    expect(answered.id).toBe(id(1));
    const after = await graph.getUser(id(1), []);
    expect(after?.assignedLicenses).toEqual([{ skuId: EMS, disabledPlans: [INTUNE_A] }]);
    expect(sim.requests.find((r) => r.kind === 'assignLicense')?.body).toEqual({
      addLicenses: [{ skuId: EMS, disabledPlans: [INTUNE_A] }],
      removeLicenses: [],
    });
  });

  it('lists subscribed SKUs', async () => {
    const skus = await configuredGateway().listSubscribedSkus();
    expect(skus).toHaveLength(1);
    expect(skus[0]).toMatchObject({ skuId: EMS, skuPartNumber: 'EMS', prepaidUnits: { enabled: 10 } });
    expect(skus[0]?.servicePlans.map((p) => p.servicePlanName)).toEqual(expect.arrayContaining(['INTUNE_A']));
  });

  it('maps seats exhausted', async () => {
    const consumed = sim.tenant.sku('EMS')!.consumedUnits;
    sim.tenant.setPrepaidUnits('EMS', consumed);
    const error = await rejection(
      configuredGateway().assignLicense(id(1), {
        addLicenses: [{ skuId: EMS, disabledPlans: [] }],
        removeLicenses: [],
      }),
    );
    expect(error).toMatchObject({ kind: 'seatsExhausted', status: 400, code: 'Request_BadRequest' });
    expect(error.fix).toContain(EMS);
  });

  it('maps a missing usage location', async () => {
    const error = await rejection(
      configuredGateway().assignLicense(id(3), {
        addLicenses: [{ skuId: EMS, disabledPlans: [] }],
        removeLicenses: [],
      }),
    );
    expect(error.kind).toBe('invalidUsageLocation');
  });

  it('maps a license inherited from a group', async () => {
    const error = await rejection(
      configuredGateway().assignLicense(id(5), { addLicenses: [], removeLicenses: [EMS] }),
    );
    expect(error.kind).toBe('inheritedLicense');
  });
});

describe('headers and retries', () => {
  it("sends the call's correlation id as client-request-id, and a bearer token", async () => {
    await configuredGateway().getUser(id(1), [], { correlationId: CORRELATION_ID });
    const request = sim.requests.find((r) => r.kind === 'getUser');
    expect(request?.headers['client-request-id']).toBe(CORRELATION_ID);
    // The simulator answers 401 without `Authorization: Bearer …`, so a 200 proves the token went out.
    expect(request?.status).toBe(200);
  });

  it('waits out a 429 with Retry-After and succeeds', async () => {
    sim.faults.inject({ kind: 'assignLicense', status: 429, retryAfterSeconds: 1, times: 1 });
    await configuredGateway().assignLicense(
      id(1),
      { addLicenses: [{ skuId: EMS, disabledPlans: [] }], removeLicenses: [] },
      { correlationId: CORRELATION_ID },
    );
    // It waited exactly what Retry-After said (1 s), once, before the retry.
    expect(sleeps).toEqual([1000]);
    expect(sim.counters.get('assignLicense')).toBe(2);
    const attempts = sim.requests.filter((r) => r.kind === 'assignLicense');
    expect(attempts.map((r) => r.status)).toEqual([429, 200]);
    // the retry is the same logical request: same client-request-id, same body
    expect(attempts.map((r) => r.headers['client-request-id'])).toEqual([CORRELATION_ID, CORRELATION_ID]);
    expect(attempts[1]?.body).toEqual(attempts[0]?.body);
  });

  it('retries a 503 with exponential backoff', async () => {
    sim.faults.inject({ kind: 'getUser', status: 503, times: 2 });
    const user = await fastGateway().getUser(id(1), []);
    expect(user?.id).toBe(id(1));
    expect(sim.counters.get('getUser')).toBe(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]!).toBeGreaterThan(sleeps[0]! / 2);
  });

  it('gives up after maxRetries with a throttled GraphError carrying Retry-After', async () => {
    sim.faults.inject({ kind: 'assignLicense', status: 429, retryAfterSeconds: 1, times: 10 });
    const error = await rejection(
      fastGateway(2).assignLicense(id(1), {
        addLicenses: [{ skuId: EMS, disabledPlans: [] }],
        removeLicenses: [],
      }),
    );
    expect(error).toMatchObject({ kind: 'throttled', status: 429, retryAfterMs: 1000 });
    expect(error.transient).toBe(true);
    expect(sim.counters.get('assignLicense')).toBe(3);
    expect(sleeps).toEqual([1000, 1000]);
  });
});

describe('logging', () => {
  it('logs retries and failures without the token or any UPN', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'trace',
      destination: { write: (line: string) => void lines.push(line) },
    });
    const client = createGraphClient({
      baseUrl: sim.url,
      credential: new SimulatorCredential(),
      maxRetries: 2,
      logger,
      retry: { sleep: () => Promise.resolve() },
    });
    const graph = createGraphGateway({ client, logger });
    sim.faults.inject({ kind: 'getUser', status: 503, times: 1 });
    expect((await graph.getUser(GUEST_UPN, []))?.id).toBe(id(7));
    expect(await graph.getUser('nobody@contoso.com', [])).toBeNull();
    await rejection(
      graph.assignLicense(id(3), { addLicenses: [{ skuId: EMS, disabledPlans: [] }], removeLicenses: [] }),
    );
    const output = lines.join('');
    expect(output).toContain('retrying');
    expect(output).toContain('invalidUsageLocation');
    expect(output).not.toMatch(/ann_fabrikam|nobody|EXT%23|#EXT#/);
    expect(output).not.toContain(SimulatorCredential.TOKEN);
  });
});

describe('delta', () => {
  async function fullRound(graph: GraphGateway): Promise<{ pages: DeltaPage[]; deltaLink: string }> {
    const pages: DeltaPage[] = [];
    let page = await graph.deltaPage({ select: ['department'] });
    pages.push(page);
    while (page.nextLink !== undefined) {
      page = await graph.deltaPage({ link: page.nextLink });
      pages.push(page);
    }
    if (page.deltaLink === undefined) throw new Error('no deltaLink at the end of the round');
    return { pages, deltaLink: page.deltaLink };
  }

  it('runs a full round, then returns changes and @removed entries from the deltaLink', async () => {
    const graph = configuredGateway();
    const first = await fullRound(graph);
    expect(first.pages.flatMap((p) => p.users.map((u) => u.id)).sort()).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map(id).sort(),
    );
    expect(sim.requests.find((r) => r.kind === 'delta')?.query.$select?.split(',')).toEqual(
      expect.arrayContaining(['id', 'department']),
    );

    sim.tenant.upsertUser({ id: id(4), userPrincipalName: 'u4@contoso.com', department: 'Finance' });
    sim.tenant.deleteUser(id(6));
    const changes = await graph.deltaPage({ link: first.deltaLink });
    expect(changes.users.map((u) => u.id)).toEqual([id(4)]);
    expect(changes.users[0]?.department).toBe('Finance');
    expect(changes.removed).toEqual([{ id: id(6), reason: 'changed' }]);
    // A new delta link for the next round, on the same Graph.
    expect(changes.deltaLink?.startsWith(`${sim.url}/v1.0/users/delta?$deltatoken=`)).toBe(true);
    expect(changes.deltaLink).not.toBe(first.deltaLink);
  });

  it('maps an expired delta token to syncStateNotFound (400 and 410)', async () => {
    const graph = configuredGateway();
    const { deltaLink } = await fullRound(graph);
    sim.tenant.expireDeltaTokens();
    expect((await rejection(graph.deltaPage({ link: deltaLink }))).kind).toBe('syncStateNotFound');
    sim.tenant.expireDeltaTokens({ gone: true });
    expect((await rejection(graph.deltaPage({ link: deltaLink }))).kind).toBe('syncStateNotFound');
  });

  it('refuses a link that points away from GRAPH_BASE_URL', async () => {
    const error = await rejection(
      configuredGateway().deltaPage({ link: 'https://elsewhere.example/v1.0/users/delta?$deltatoken=x' }),
    );
    expect(error.code).toBe('ForeignLink');
    expect(sim.counters.get('delta')).toBe(0);
  });
});

describe('subscriptions', () => {
  let endpoint: Server;
  let notificationUrl: string;

  beforeEach(async () => {
    // The subscriber side (our notification function's role), answering Graph's validation POST.
    endpoint = createServer((req, res) => {
      const token = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('validationToken');
      req.resume();
      if (token !== null) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(token);
        return;
      }
      res.writeHead(202);
      res.end();
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    notificationUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/api/graph-notifications`;
  });

  afterEach(async () => {
    endpoint.closeAllConnections();
    await new Promise<void>((resolve) => endpoint.close(() => resolve()));
  });

  it('creates, reads, renews, reauthorizes and deletes a subscription', async () => {
    const graph = configuredGateway();
    const expiry = new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString();
    const created = await graph.createSubscription({
      resource: '/users',
      changeType: 'updated,deleted',
      notificationUrl,
      lifecycleNotificationUrl: notificationUrl,
      expirationDateTime: expiry,
      clientState: 'a-client-state-of-enough-length',
    });
    expect(created).toMatchObject({ resource: '/users', changeType: 'updated,deleted' });

    expect((await graph.getSubscription(created.id))?.id).toBe(created.id);

    const later = new Date(Date.now() + 2 * 24 * 60 * 60 * 1000).toISOString();
    const renewed = await graph.renewSubscription(created.id, later);
    expect(Date.parse(renewed.expirationDateTime)).toBe(Date.parse(later));

    await graph.reauthorizeSubscription(created.id);
    expect(sim.counters.get('reauthorizeSubscription')).toBe(1);

    await graph.deleteSubscription(created.id);
    expect(await graph.getSubscription(created.id)).toBeNull();
    // deleting again is not an error: the subscription is gone either way
    await graph.deleteSubscription(created.id);
  });
});
