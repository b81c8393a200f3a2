/**
 * Helpers for tests that run against the simulator: a tiny tenant, fetch wrappers and a
 * notification receiver (node:http on loopback). Used by this package's tests and, through the
 * package's `./test-support` export, by the app's tests (the same tenant and ids everywhere).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseTenantFile, type TenantFile } from '../src/tenant-file.js';

export const IDS = {
  tenant: '11111111-1111-4111-8111-111111111111',
  EMS: 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e',
  EMSPREMIUM: 'b05e124f-c7cc-45a0-a6aa-8cf78c946968',
  ENTERPRISEPACK: '6fd2c87f-b296-42f0-b197-1e91e994b900',
  EXCHANGESTANDARD: '4b9405b0-7788-4568-add1-99614e613b69',
  MCOPSTNC: '47794cd0-f0e5-45c5-9033-2eb6b5fc84e0',
  INTUNE_A: 'c1ec4a95-1f05-45b3-a911-aa3fa01094f5',
  AAD_PREMIUM: '41781fb2-bc02-4b7c-bd55-b576c07bb09d',
  EXCHANGE_S_ENTERPRISE: 'efb87545-963c-4e0d-99df-69c6916d9eb0',
  EXCHANGE_S_STANDARD: '9aaf7827-d63c-4b61-89c3-182f06f82e5c',
  SHAREPOINTENTERPRISE: '5dbe027f-2339-4123-9542-606e4d348a72',
  SHAREPOINTWAC: 'e95bec33-7c88-4a70-8e19-b10bd9d0c014',
  alice: 'a0000000-0000-4000-8000-000000000001',
  bob: 'a0000000-0000-4000-8000-000000000002',
  carol: 'a0000000-0000-4000-8000-000000000003',
  dave: 'a0000000-0000-4000-8000-000000000004',
  erin: 'a0000000-0000-4000-8000-000000000005',
  groupEms: 'b0000000-0000-4000-8000-000000000001',
  groupInner: 'b0000000-0000-4000-8000-000000000002',
  groupOuter: 'b0000000-0000-4000-8000-000000000003',
} as const;

/**
 * Five users: alice (synced employee, EMS direct), bob (synced contractor, no usageLocation),
 * carol (EMS only through a group), dave (cloud-only, Exchange Plan 1), erin (guest, disabled).
 * EMS has 5 seats (2 used), EMSPREMIUM 1 seat (unused), Company SKU MCOPSTNC.
 */
export function smallTenant(): TenantFile {
  return parseTenantFile({
    tenantId: IDS.tenant,
    defaultDomain: 'fabrikam.onmicrosoft.com',
    skus: [
      {
        skuId: IDS.EMS,
        skuPartNumber: 'EMS',
        prepaidUnits: { enabled: 5 },
        servicePlans: [
          { servicePlanId: IDS.AAD_PREMIUM, servicePlanName: 'AAD_PREMIUM' },
          { servicePlanId: IDS.INTUNE_A, servicePlanName: 'INTUNE_A' },
          {
            servicePlanId: '113feb6c-3fe4-4440-bddc-54d774bf0318',
            servicePlanName: 'EXCHANGE_S_FOUNDATION',
            appliesTo: 'Company',
          },
        ],
      },
      {
        skuId: IDS.EMSPREMIUM,
        skuPartNumber: 'EMSPREMIUM',
        prepaidUnits: { enabled: 1 },
        servicePlans: [{ servicePlanId: IDS.INTUNE_A, servicePlanName: 'INTUNE_A' }],
      },
      {
        skuId: IDS.ENTERPRISEPACK,
        skuPartNumber: 'ENTERPRISEPACK',
        prepaidUnits: { enabled: 10 },
        servicePlans: [
          { servicePlanId: IDS.EXCHANGE_S_ENTERPRISE, servicePlanName: 'EXCHANGE_S_ENTERPRISE' },
          { servicePlanId: IDS.SHAREPOINTENTERPRISE, servicePlanName: 'SHAREPOINTENTERPRISE' },
          { servicePlanId: IDS.SHAREPOINTWAC, servicePlanName: 'SHAREPOINTWAC' },
        ],
      },
      {
        skuId: IDS.EXCHANGESTANDARD,
        skuPartNumber: 'EXCHANGESTANDARD',
        prepaidUnits: { enabled: 10 },
        servicePlans: [{ servicePlanId: IDS.EXCHANGE_S_STANDARD, servicePlanName: 'EXCHANGE_S_STANDARD' }],
      },
      {
        skuId: IDS.MCOPSTNC,
        skuPartNumber: 'MCOPSTNC',
        appliesTo: 'Company',
        prepaidUnits: { enabled: 1000 },
        servicePlans: [
          {
            servicePlanId: '505e180f-f7e0-4b65-91d4-00d670bbd18c',
            servicePlanName: 'MCOPSTNC',
            appliesTo: 'Company',
          },
        ],
      },
    ],
    planConstraints: {
      mutuallyExclusive: [[IDS.EXCHANGE_S_STANDARD, IDS.EXCHANGE_S_ENTERPRISE]],
      dependencies: [{ plan: IDS.SHAREPOINTWAC, requiresAnyOf: [IDS.SHAREPOINTENTERPRISE] }],
    },
    groups: [
      { id: IDS.groupEms, displayName: 'SG-EMS', members: [IDS.carol], licenses: [{ skuId: IDS.EMS }] },
      { id: IDS.groupInner, displayName: 'SG-Inner', members: [IDS.alice] },
      { id: IDS.groupOuter, displayName: 'SG-Outer', members: [IDS.groupInner] },
    ],
    users: [
      {
        id: IDS.alice,
        userPrincipalName: 'alice@fabrikam.com',
        displayName: 'Alice Adams',
        usageLocation: 'DE',
        employeeId: 'E1001',
        employeeType: 'Employee',
        department: 'Engineering',
        onPremisesSyncEnabled: true,
        onPremisesImmutableId: 'YWxpY2U=',
        directLicenses: [{ skuId: IDS.EMS }],
      },
      {
        id: IDS.bob,
        userPrincipalName: 'bob@fabrikam.com',
        displayName: 'Bob Brown',
        employeeId: 'C2001',
        employeeType: 'Contractor',
        onPremisesSyncEnabled: true,
      },
      {
        id: IDS.carol,
        userPrincipalName: 'carol@fabrikam.com',
        displayName: 'Carol Chen',
        usageLocation: 'US',
      },
      {
        id: IDS.dave,
        userPrincipalName: 'dave@fabrikam.onmicrosoft.com',
        displayName: 'Dave Diaz',
        usageLocation: 'GB',
        directLicenses: [{ skuId: IDS.EXCHANGESTANDARD }],
      },
      {
        id: IDS.erin,
        userPrincipalName: 'erin_contoso.com#EXT#@fabrikam.onmicrosoft.com',
        displayName: 'Erin (Contoso)',
        userType: 'Guest',
        accountEnabled: false,
      },
    ],
  });
}

export interface Json {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** fetch with a bearer token and JSON in/out. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Json> {
  const res = await fetch(path.startsWith('http') ? path : `${baseUrl}${path}`, {
    method,
    headers: {
      authorization: 'Bearer test-token',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

export function errorOf(res: Json): { code: string; message: string; innerError: Record<string, string> } {
  return res.body['error'] as { code: string; message: string; innerError: Record<string, string> };
}

export interface Receiver {
  url: string;
  /** Every POST received: query string and parsed JSON body (undefined for validation requests). */
  received: { query: URLSearchParams; body: unknown; contentType: string | undefined }[];
  /** How the receiver answers validation requests; default echoes the token as text/plain. */
  validation: 'echo' | 'wrong' | 'status500';
  /** Status for notification POSTs; default 202. */
  notificationStatus: number;
  close(): Promise<void>;
}

/** A notification endpoint for subscription tests (node:http on loopback). */
export async function startReceiver(): Promise<Receiver> {
  const receiver: Omit<Receiver, 'url' | 'close'> = {
    received: [],
    validation: 'echo',
    notificationStatus: 202,
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const text = Buffer.concat(chunks).toString('utf8');
      const token = url.searchParams.get('validationToken');
      receiver.received.push({
        query: url.searchParams,
        body: text === '' ? undefined : (JSON.parse(text) as unknown),
        contentType: req.headers['content-type'],
      });
      if (token !== null) {
        if (receiver.validation === 'status500') {
          res.writeHead(500).end();
        } else {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end(receiver.validation === 'echo' ? token : 'not-the-token');
        }
        return;
      }
      res.writeHead(receiver.notificationStatus).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/notify`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
