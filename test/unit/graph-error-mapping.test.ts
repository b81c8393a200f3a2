import { GraphError as SdkGraphError } from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { redactAddresses, toGraphError } from '../../lib/graph/error-mapping.js';
import { GraphError, type GraphErrorKind } from '../../lib/graph/graph-error.js';
import type { GraphOperation } from '../../lib/graph/operations.js';

/** An error as the Graph JS client 3.0.7 throws it for a `{"error":{code,message}}` answer. */
function sdkError(
  status: number,
  code: string | null,
  message: string,
  headers?: Record<string, string>,
): SdkGraphError {
  const e = new SdkGraphError(status, message);
  e.code = code;
  if (headers) e.headers = new Headers(headers);
  return e;
}

const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';

interface Row {
  name: string;
  error: unknown;
  operation?: GraphOperation;
  kind: GraphErrorKind;
  fixIncludes: string;
}

const rows: Row[] = [
  {
    name: 'seats exhausted',
    error: sdkError(
      400,
      'Request_BadRequest',
      `Subscription with SKU ${EMS} does not have any available licenses.`,
    ),
    kind: 'seatsExhausted',
    fixIncludes: EMS,
  },
  {
    name: 'seats exhausted, partner wording',
    error: sdkError(
      400,
      'Request_BadRequest',
      `LicenseQuotaExceededException : Subscription with Account x and SKU ${EMS} does not have any available licenses left.`,
    ),
    kind: 'seatsExhausted',
    fixIncludes: 'buy more licenses',
  },
  {
    name: 'invalid usage location',
    error: sdkError(
      400,
      'Request_BadRequest',
      'License assignment cannot be done for user with invalid usage location.',
    ),
    kind: 'invalidUsageLocation',
    fixIncludes: 'usageLocation',
  },
  {
    name: 'mutually exclusive plans',
    error: sdkError(
      400,
      'Request_BadRequest',
      'License assignment failed because service plans [a], [b] are mutually exclusive.',
    ),
    kind: 'mutuallyExclusivePlans',
    fixIncludes: 'disabledPlans',
  },
  {
    name: 'dependent plans',
    error: sdkError(
      400,
      'Request_BadRequest',
      'License assignment failed because service plan [x] depends on the service plan(s) [y].',
    ),
    kind: 'dependentPlans',
    fixIncludes: 'enable the required plan',
  },
  {
    name: 'inherited from a group',
    error: sdkError(
      400,
      'Request_BadRequest',
      'User license is inherited from a group membership and it cannot be removed directly from the user.',
    ),
    kind: 'inheritedLicense',
    fixIncludes: 'group',
  },
  {
    name: 'unknown SKU',
    error: sdkError(
      400,
      'Request_BadRequest',
      `License ${EMS} does not correspond to a valid company License.`,
    ),
    kind: 'invalidSku',
    fixIncludes: 'subscribedSkus',
  },
  {
    name: 'other 400',
    error: sdkError(
      400,
      'Request_BadRequest',
      'No license changes provided. At least one license to add or remove must be specified.',
    ),
    kind: 'badRequest',
    fixIncludes: 'Request_BadRequest',
  },
  {
    name: '404',
    error: sdkError(
      404,
      'Request_ResourceNotFound',
      "Resource 'x' does not exist or one of its queried reference-property objects are not present.",
    ),
    kind: 'notFound',
    fixIncludes: 'not yet synced',
  },
  {
    name: '401',
    error: sdkError(401, 'InvalidAuthenticationToken', 'Access token is empty.'),
    kind: 'unauthorized',
    fixIncludes: 'token',
  },
  {
    name: '403 on assignLicense names LicenseAssignment.ReadWrite.All',
    error: sdkError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
    operation: 'assignLicense',
    kind: 'forbidden',
    fixIncludes: 'LicenseAssignment.ReadWrite.All',
  },
  {
    name: '403 on getUser names User.Read.All',
    error: sdkError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
    operation: 'getUser',
    kind: 'forbidden',
    fixIncludes: 'User.Read.All',
  },
  {
    name: '403 on setUsageLocation names User.ReadWrite.All',
    error: sdkError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
    operation: 'setUsageLocation',
    kind: 'forbidden',
    fixIncludes: 'User.ReadWrite.All',
  },
  {
    name: '403 on subscribedSkus names LicenseAssignment.Read.All',
    error: sdkError(403, 'Authorization_RequestDenied', 'Insufficient privileges.'),
    operation: 'listSubscribedSkus',
    kind: 'forbidden',
    fixIncludes: 'LicenseAssignment.Read.All',
  },
  {
    name: '403 on checkMemberGroups names GroupMember.Read.All',
    error: sdkError(403, 'Authorization_RequestDenied', 'Insufficient privileges.'),
    operation: 'checkMemberGroups',
    kind: 'forbidden',
    fixIncludes: 'GroupMember.Read.All',
  },
  {
    name: '403 on createSubscription names User.Read.All',
    error: sdkError(403, 'ExtensionError', 'Operation: Create; Exception: [Status Code: Forbidden]'),
    operation: 'createSubscription',
    kind: 'forbidden',
    fixIncludes: 'User.Read.All',
  },
  {
    name: '410 Gone',
    error: sdkError(410, 'resyncRequired', 'Gone'),
    operation: 'delta',
    kind: 'syncStateNotFound',
    fixIncludes: 'full delta sync',
  },
  {
    name: 'syncStateNotFound 400',
    error: sdkError(
      400,
      'syncStateNotFound',
      'The sync state generation is not found. The delta token is expired and data must be synchronized again.',
    ),
    operation: 'delta',
    kind: 'syncStateNotFound',
    fixIncludes: 'delta link',
  },
  {
    name: '429 after retries',
    error: sdkError(429, 'TooManyRequests', 'Too many requests'),
    kind: 'throttled',
    fixIncludes: 'maxConcurrentSessions',
  },
  {
    name: '503',
    error: sdkError(503, 'ServiceUnavailable', 'Service unavailable'),
    kind: 'unavailable',
    fixIncludes: 'service health',
  },
  {
    name: '500',
    error: sdkError(500, 'UnknownError', ''),
    kind: 'unavailable',
    fixIncludes: 'retried later',
  },
  {
    name: 'network failure (no response)',
    error: new SdkGraphError(-1, '', new TypeError('fetch failed')),
    kind: 'unavailable',
    fixIncludes: 'GRAPH_BASE_URL',
  },
  {
    name: 'credential endpoint unavailable (passes: retried)',
    error: Object.assign(new SdkGraphError(-1, 'ManagedIdentityCredential: no endpoint'), {
      code: 'CredentialUnavailableError',
    }),
    kind: 'unavailable',
    fixIncludes: 'tried again',
  },
  {
    name: 'token service 5xx (passes: retried)',
    error: Object.assign(new SdkGraphError(-1, 'AuthenticationError: 503 Service Unavailable'), {
      code: 'AuthenticationError',
    }),
    kind: 'unavailable',
    fixIncludes: 'AZURE_CLIENT_ID',
  },
  {
    name: 'no such managed identity (permanent)',
    error: Object.assign(
      new SdkGraphError(
        -1,
        'ManagedIdentityCredential: No User Assigned or Delegated Managed Identity found for specified ClientId',
      ),
      { code: 'CredentialUnavailableError' },
    ),
    kind: 'unauthorized',
    fixIncludes: 'AZURE_CLIENT_ID',
  },
  {
    name: 'application not found in the tenant (permanent)',
    error: Object.assign(new SdkGraphError(-1, 'AADSTS700016: Application with identifier x was not found'), {
      code: 'AuthenticationError',
    }),
    kind: 'unauthorized',
    fixIncludes: 'AZURE_CLIENT_ID',
  },
  {
    name: 'raw OData error body',
    error: {
      status: 400,
      body: {
        error: {
          code: 'Request_BadRequest',
          message: 'License assignment cannot be done for user with invalid usage location.',
        },
      },
    },
    kind: 'invalidUsageLocation',
    fixIncludes: 'usageLocation',
  },
  { name: 'a thrown string', error: 'boom', kind: 'unknown', fixIncludes: 'see the cause' },
];

describe('toGraphError', () => {
  it.each(rows)('$name → $kind', ({ error, operation, kind, fixIncludes }) => {
    const mapped = toGraphError(error, operation ?? 'assignLicense');
    expect(mapped).toBeInstanceOf(GraphError);
    expect(mapped.kind).toBe(kind);
    expect(mapped.fix).toContain(fixIncludes);
  });

  it('keeps status, code and Graph message', () => {
    const mapped = toGraphError(
      sdkError(
        400,
        'Request_BadRequest',
        'License assignment cannot be done for user with invalid usage location.',
      ),
      'assignLicense',
    );
    expect(mapped).toMatchObject({
      status: 400,
      code: 'Request_BadRequest',
      message: 'License assignment cannot be done for user with invalid usage location.',
    });
  });

  it('reads Retry-After (seconds) and request-id from the response headers', () => {
    const mapped = toGraphError(
      sdkError(429, 'TooManyRequests', 'slow down', { 'Retry-After': '7', 'request-id': 'r-1' }),
      'getUser',
    );
    expect(mapped.retryAfterMs).toBe(7000);
    expect(mapped.requestId).toBe('r-1');
    expect(mapped.transient).toBe(true);
  });

  it('redacts UPNs echoed in Graph messages', () => {
    const mapped = toGraphError(
      sdkError(
        404,
        'Request_ResourceNotFound',
        "Resource 'ann_contoso.com#EXT#@tenant.onmicrosoft.com' does not exist.",
      ),
      'getUser',
    );
    expect(mapped.message).toBe("Resource '[redacted]' does not exist.");
    expect(mapped.cause).toBeUndefined();
  });

  it('keeps the cause of a failure without a response', () => {
    const network = new SdkGraphError(-1, '', new TypeError('fetch failed'));
    expect(toGraphError(network, 'listUsers').cause).toBe(network);
  });

  it('maps a malformed response (ZodError) to kind unknown with the cause', () => {
    const parsed = z.object({ value: z.array(z.string()) }).safeParse({ value: 'nope' });
    expect(parsed.success).toBe(false);
    const mapped = toGraphError(parsed.error, 'checkMemberGroups');
    expect(mapped.kind).toBe('unknown');
    expect(mapped.code).toBe('MalformedResponse');
    expect(mapped.cause).toBe(parsed.error);
  });

  it('passes a GraphError through unchanged', () => {
    const original = new GraphError({ kind: 'notFound', status: 404, code: 'x', message: 'm', fix: 'f' });
    expect(toGraphError(original, 'getUser')).toBe(original);
  });
});

describe('redactAddresses', () => {
  it('replaces anything shaped like an address, keeps the rest', () => {
    expect(redactAddresses('user ann@contoso.com and bob@x.org (id 42)')).toBe(
      'user [redacted] and [redacted] (id 42)',
    );
  });
});
