/**
 * Turns whatever a Graph call threw into a typed `GraphError` with a fix an operator can act on.
 *
 * Graph answers failures as `{"error":{"code","message"}}` (learn.microsoft.com/graph/errors). The
 * Graph JS client (3.0.7, `GraphErrorHandler`) surfaces them as its own `GraphError` with
 * `statusCode`, `code`, `message`, `requestId` and the response `headers`; a failure before any
 * response (network, credential) arrives with `statusCode` -1 and `code` = the original error name.
 * Messages matched below are the documented ones collected in GRAPH-FACTS.md.
 */
import { ZodError } from 'zod';
import { firstGuidIn } from '../shared/guid.js';
import { GraphError, isGraphError, type GraphErrorKind } from './graph-error.js';
import { REQUIRED_PERMISSION, type GraphOperation } from './operations.js';
import { parseRetryAfterMs } from './retry-after.js';

export type { GraphOperation } from './operations.js';

/** What the mapping reads from a thrown value, whatever its shape. */
interface FailureFacts {
  status: number;
  code: string;
  message: string;
  requestId: string | undefined;
  retryAfterMs: number | undefined;
}

/** Node's fetch fails with `TypeError: fetch failed`; socket-level codes show up in messages. */
const NETWORK_FAILURE =
  /fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|socket hang up|other side closed/i;

/** Socket errors that prove a request never left this machine: nothing can have been applied. */
const NEVER_SENT = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ERR_INVALID_URL/;

/**
 * Graph's own messages can echo a UPN or mail address (e.g. "Resource 'ann@contoso.com' does not
 * exist…"); outcomes and logs must not carry them in clear.
 */
export function redactAddresses(text: string): string {
  return text.replace(/[^\s'"()[\],;<>]+@[^\s'"()[\],;<>]+/g, '[redacted]');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function headerOf(headers: unknown, name: string): string | null {
  if (headers === undefined || headers === null) return null;
  if (headers instanceof Headers) return headers.get(name);
  if (isRecord(headers)) {
    for (const [key, value] of Object.entries(headers)) {
      if (key.toLowerCase() === name && typeof value === 'string') return value;
    }
  }
  return null;
}

/** `{"error":{"code","message"}}`, possibly still a JSON string. */
function odataErrorOf(body: unknown): { code?: string; message?: string; requestId?: string } | undefined {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (!isRecord(parsed)) return undefined;
  // The SDK stores `JSON.stringify(error.error)` in `body`, so accept both levels.
  const inner = isRecord(parsed.error) ? parsed.error : parsed;
  const innerError = isRecord(inner.innerError) ? inner.innerError : undefined;
  const code = stringOrUndefined(inner.code);
  const message = stringOrUndefined(inner.message);
  const requestId = stringOrUndefined(innerError?.['request-id']);
  if (code === undefined && message === undefined) return undefined;
  return {
    ...(code === undefined ? {} : { code }),
    ...(message === undefined ? {} : { message }),
    ...(requestId === undefined ? {} : { requestId }),
  };
}

function factsOf(error: unknown): FailureFacts {
  if (!isRecord(error)) {
    return {
      status: -1,
      code: 'Unknown',
      message: String(error),
      requestId: undefined,
      retryAfterMs: undefined,
    };
  }
  const statusValue = typeof error.statusCode === 'number' ? error.statusCode : error.status;
  const status = typeof statusValue === 'number' ? statusValue : -1;
  const odata = odataErrorOf(error.body) ?? odataErrorOf(error);
  const headers = error.headers;
  const code = stringOrUndefined(error.code) ?? odata?.code ?? stringOrUndefined(error.name) ?? 'Unknown';
  const bodyText =
    typeof error.body === 'string' && odata === undefined ? error.body.slice(0, 300) : undefined;
  const message =
    stringOrUndefined(error.message) ??
    odata?.message ??
    bodyText ??
    (status > 0 ? `Graph answered HTTP ${status} without an error message` : 'Graph call failed');
  const requestId =
    stringOrUndefined(error.requestId) ?? odata?.requestId ?? headerOf(headers, 'request-id') ?? undefined;
  return {
    status,
    code,
    message,
    requestId,
    retryAfterMs: parseRetryAfterMs(headerOf(headers, 'retry-after')),
  };
}

interface Classified {
  kind: GraphErrorKind;
  fix: string;
}

function classifyBadRequest(facts: FailureFacts): Classified | undefined {
  const { message, code } = facts;
  if (
    /syncStateNotFound|resyncRequired|syncStateInvalid/i.test(code) ||
    /sync state generation is not found|delta token is expired/i.test(message)
  ) {
    return {
      kind: 'syncStateNotFound',
      fix: 'The delta token expired (directory delta links last about 7 days) or was rejected: discard the stored delta link and start a full delta sync; the next timer run does this.',
    };
  }
  if (/does not have any available licenses|LicenseQuotaExceeded|CountViolation/i.test(message)) {
    const sku = firstGuidIn(message);
    return {
      kind: 'seatsExhausted',
      fix: `No free seat for SKU ${sku ?? '(see message)'}: buy more licenses or reclaim seats from leavers; the job is deferred and tried again.`,
    };
  }
  if (/invalid usage location/i.test(message)) {
    return {
      kind: 'invalidUsageLocation',
      fix: "The user has no (or an invalid) usageLocation: set it in AD/Entra (ISO 3166-1 alpha-2, e.g. 'DE') or set defaults.usageLocation in the rules; Graph needs it before a license can be assigned directly.",
    };
  }
  if (/mutually exclusive/i.test(message)) {
    return {
      kind: 'mutuallyExclusivePlans',
      fix: 'Two service plans named in the message cannot both be enabled for one user: disable one of them in the rule (disabledPlans) or remove the other license from the user.',
    };
  }
  if (/depends on the service plan/i.test(message)) {
    return {
      kind: 'dependentPlans',
      fix: 'A service plan needs another plan that is disabled or missing (see message): enable the required plan in the rule, or disable the dependent plan too.',
    };
  }
  if (/inherited from a group/i.test(message)) {
    return {
      kind: 'inheritedLicense',
      fix: 'This license is assigned through a group (group-based licensing) and cannot be changed per user: change the group assignment or the user’s group membership, or stop managing this SKU by rule.',
    };
  }
  if (/does not correspond to a valid company license/i.test(message)) {
    return {
      kind: 'invalidSku',
      fix: 'The SKU named in the message is not subscribed in this tenant: check the rule’s SKU against GET /subscribedSkus (run `ems-licensing validate`).',
    };
  }
  return undefined;
}

/**
 * Token failures that will not pass by waiting: Entra ID says the identity or application does
 * not exist or its credential is wrong (AADSTS700016, 7000215, 700024, 90002…), the managed
 * identity endpoint knows no identity with that client id, or no sign-in is available at all on
 * a workstation (`az login` never run).
 */
const DEFINITE_CREDENTIAL_ERROR =
  /AADSTS(700016|7000215|700024|7000222|90002|50034)\b|identity not found|No User Assigned or Delegated Managed Identity|Please run 'az login'|not logged in|az login/i;

function classify(facts: FailureFacts, operation: GraphOperation): Classified {
  const { status, code } = facts;
  if (status === -1 && /Credential|Authentication/i.test(code)) {
    // Only a definite configuration answer from Entra ID is permanent (no such identity or app,
    // bad secret). Anything else — the managed identity endpoint timing out, a 5xx or 429 from the
    // token service — passes, and the job must be tried again rather than FAILED for good.
    if (DEFINITE_CREDENTIAL_ERROR.test(facts.message)) {
      return {
        kind: 'unauthorized',
        fix: 'No token could be obtained for Graph: check the managed identity exists and AZURE_CLIENT_ID names it (or sign in with `az login --tenant …` for local runs).',
      };
    }
    return {
      kind: 'unavailable',
      fix: 'No token could be obtained for Graph just now (identity endpoint or token service unavailable): the job is tried again; if it persists, check the managed identity and AZURE_CLIENT_ID (or `az login` for local runs).',
    };
  }
  if (status === -1 && code === 'AbortError') {
    return {
      kind: 'unknown',
      fix: 'The call was cancelled by its caller (timeout or shutdown); it is safe to run the job again.',
    };
  }
  if (status === -1 && (code === 'TypeError' || NETWORK_FAILURE.test(facts.message))) {
    return {
      kind: 'unavailable',
      fix: 'Graph could not be reached (network or DNS failure): the job is retried later; if it persists check outbound connectivity to GRAPH_BASE_URL.',
    };
  }
  if (status === 401) {
    return {
      kind: 'unauthorized',
      fix: 'Graph rejected the access token: check the managed identity belongs to this tenant and that GRAPH_BASE_URL matches the cloud the token was issued for.',
    };
  }
  if (status === 403) {
    return {
      kind: 'forbidden',
      fix: `The app lacks the application permission ${REQUIRED_PERMISSION[operation]} for ${operation}: grant it to the managed identity with "npm run grant-graph-permissions -- --apply" (docs/operations.md) and retry.`,
    };
  }
  if (status === 404) {
    return {
      kind: 'notFound',
      fix: 'The object does not exist (deleted, mistyped, or not yet synced from AD): check the id; a hire not yet synced is retried.',
    };
  }
  if (status === 410) {
    return {
      kind: 'syncStateNotFound',
      fix: 'Graph answered 410 Gone for the delta link: discard the stored delta link and start a full delta sync.',
    };
  }
  if (status === 429) {
    return {
      kind: 'throttled',
      fix: 'Graph kept throttling after the client’s retries: the job is retried after Retry-After; if frequent, lower the concurrency (host.json maxConcurrentSessions for the Functions app, --concurrency for the CLI); Graph allows about 20 writes/s per app and tenant.',
    };
  }
  if (status >= 500) {
    return {
      kind: 'unavailable',
      fix: 'Graph had a server error or was unavailable after retries: the job is retried later; if it persists check the Microsoft 365 service health.',
    };
  }
  if (status >= 400) {
    return (
      classifyBadRequest(facts) ?? {
        kind: 'badRequest',
        fix: `Graph refused the ${operation} request (${code}): read the message; it usually names the rule value or setting to correct.`,
      }
    );
  }
  return { kind: 'unknown', fix: `Unexpected Graph failure during ${operation}: see the cause in the logs.` };
}

/**
 * Maps anything a Graph call threw to a `GraphError`. A `GraphError` passes through unchanged; a
 * `ZodError` (a response that did not match the expected shape) becomes kind `unknown` with code
 * `MalformedResponse` and the ZodError as cause.
 */
export function toGraphError(error: unknown, operation: GraphOperation): GraphError {
  if (isGraphError(error)) return error;
  if (error instanceof ZodError) {
    return new GraphError({
      kind: 'unknown',
      status: 200,
      code: 'MalformedResponse',
      message: `Graph's answer to ${operation} did not have the expected shape: ${error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
      fix: 'GRAPH_BASE_URL may point at something other than Microsoft Graph v1.0, or Graph changed a response: check the setting and report the cause.',
      cause: error,
    });
  }
  const facts = factsOf(error);
  const { kind, fix } = classify(facts, operation);
  return new GraphError({
    kind,
    status: facts.status,
    code: facts.code,
    message: redactAddresses(facts.message),
    fix,
    ...(facts.retryAfterMs === undefined ? {} : { retryAfterMs: facts.retryAfterMs }),
    ...(facts.requestId === undefined ? {} : { requestId: facts.requestId }),
    // An HTTP failure is fully described by status, code, message and request id; the SDK error
    // would only add Graph's unredacted message (pino's err serializer prints causes). Failures
    // without a response (network, credential) keep their cause: it is all there is to go on.
    ...(facts.status === -1 ? { cause: error } : {}),
  });
}

/** The `code` and `message` of an error and of every cause below it, for pattern checks. */
function causeChainText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && isRecord(current); depth++) {
    if (typeof current.code === 'string') parts.push(current.code);
    if (typeof current.message === 'string') parts.push(current.message);
    current = current.cause;
  }
  return parts.join(' ');
}

/**
 * Whether a failed write may nevertheless have been applied by Graph. A 4xx (429 included) is
 * Graph's answer that it did not make the change; a 5xx, a timeout, or a connection that broke
 * after the request was sent leaves it unknown ("applied, but the response was lost" happens
 * under load). Only a request that provably never left (no token, connection refused, name not
 * resolved) is known not to have been applied.
 */
export function isWriteOutcomeUnknown(error: GraphError): boolean {
  if (error.status >= 500) return true;
  if (error.status !== -1) return false;
  if (/Credential|Authentication/i.test(error.code)) return false;
  return !NEVER_SENT.test(causeChainText(error));
}
