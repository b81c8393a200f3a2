/**
 * Request pipeline: classify → count → authenticate → throttle (when on) → inject faults → handle
 * → hold (latency, when on) → answer → record.
 * Routes are the v1.0 paths this app uses (learn.microsoft.com/graph/api/overview?view=graph-rest-1.0).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Reply, RequestContext } from './context.js';
import type { Counters } from './counters.js';
import type { DeltaHandlers } from './delta.js';
import type { Directory } from './directory.js';
import { errorBody, GraphHttpError } from './errors.js';
import type { Faults } from './faults.js';
import { parseJsonBody, readBody, sendEmpty, sendJson, type ResponseMeta } from './http-util.js';
import { hold, latencyFor, type LatencySettings } from './latency.js';
import { assignLicense, checkMemberGroups, listSubscribedSkus } from './licenses.js';
import type { Subscriptions } from './subscriptions.js';
import type { Throttle } from './throttle.js';
import type { RecordedRequest, RequestKind } from './types.js';
import type { GroupHandlers } from './groups.js';
import type { UserHandlers } from './users.js';

export interface RouterDeps {
  dir: Directory;
  users: UserHandlers;
  groups: GroupHandlers;
  delta: DeltaHandlers;
  subscriptions: Subscriptions;
  counters: Counters;
  faults: Faults;
  requests: RecordedRequest[];
  requireAuth: boolean;
  baseUrl: () => string;
  /** Graph's documented limits, when turned on (./throttle.ts). */
  throttle: Throttle | null;
  /** Time held before each answer, when turned on (./latency.ts). */
  latency: LatencySettings | null;
  /** False: keep no per-request log (long benchmarks). */
  recordRequests: boolean;
}

interface Route {
  kind: RequestKind;
  run: (ctx: RequestContext) => Reply | Promise<Reply>;
}

const DELTA_SEGMENTS = new Set(['delta', 'delta()', 'microsoft.graph.delta', 'microsoft.graph.delta()']);

/** Matches method + segments (after /v1.0) to a handler; `undefined` for paths Graph would not know. */
function route(
  deps: RouterDeps,
  method: string,
  seg: string[],
): Route | { kind: RequestKind; error: GraphHttpError } {
  const [a, b, c, ...rest] = seg;
  const lowerC = c?.toLowerCase();
  if (a === 'users' && rest.length === 0) {
    if (b === undefined) {
      if (method === 'GET') return { kind: 'listUsers', run: (ctx) => deps.users.list(ctx) };
      return { kind: 'unknown', error: methodNotAllowed(method) };
    }
    if (c === undefined && DELTA_SEGMENTS.has(b.toLowerCase())) {
      if (method === 'GET') return { kind: 'delta', run: (ctx) => deps.delta.handle(ctx) };
      return { kind: 'delta', error: methodNotAllowed(method) };
    }
    if (c === undefined) {
      if (method === 'GET') return { kind: 'getUser', run: (ctx) => deps.users.get(ctx, b) };
      if (method === 'PATCH') return { kind: 'patchUser', run: (ctx) => deps.users.patch(ctx, b) };
      return { kind: 'unknown', error: methodNotAllowed(method) };
    }
    if (lowerC === 'assignlicense' || lowerC === 'microsoft.graph.assignlicense') {
      if (method === 'POST') return { kind: 'assignLicense', run: (ctx) => assignLicense(ctx, b) };
      return { kind: 'assignLicense', error: methodNotAllowed(method) };
    }
    if (lowerC === 'checkmembergroups' || lowerC === 'microsoft.graph.checkmembergroups') {
      if (method === 'POST') return { kind: 'checkMemberGroups', run: (ctx) => checkMemberGroups(ctx, b) };
      return { kind: 'checkMemberGroups', error: methodNotAllowed(method) };
    }
  }
  if (a === 'groups' && rest.length === 0) {
    if (method !== 'GET') {
      // Group writes (create, add members, assignLicense on groups) are not part of what the app does.
      return { kind: 'unknown', error: methodNotAllowed(method) };
    }
    if (b === undefined) return { kind: 'listGroups', run: (ctx) => deps.groups.list(ctx) };
    if (c === undefined) return { kind: 'getGroup', run: (ctx) => deps.groups.get(ctx, b) };
    if (lowerC === 'members')
      return { kind: 'listGroupMembers', run: (ctx) => deps.groups.members(ctx, b, false) };
    if (lowerC === 'transitivemembers')
      return { kind: 'listGroupTransitiveMembers', run: (ctx) => deps.groups.members(ctx, b, true) };
  }
  if (a === 'subscribedSkus' && b === undefined) {
    if (method === 'GET') return { kind: 'subscribedSkus', run: (ctx) => listSubscribedSkus(ctx) };
    return { kind: 'subscribedSkus', error: methodNotAllowed(method) };
  }
  if (a === 'subscriptions' && rest.length === 0) {
    if (b === undefined) {
      if (method === 'POST')
        return { kind: 'createSubscription', run: (ctx) => deps.subscriptions.create(ctx) };
      // subscription-list: GET /subscriptions lists the app's subscriptions (counted as getSubscription).
      if (method === 'GET') {
        return {
          kind: 'getSubscription',
          run: (ctx) => ({
            status: 200,
            body: {
              '@odata.context': `${ctx.baseUrl}/v1.0/$metadata#subscriptions`,
              value: deps.subscriptions.list(),
            },
          }),
        };
      }
      return { kind: 'unknown', error: methodNotAllowed(method) };
    }
    if (c === undefined) {
      if (method === 'GET') return { kind: 'getSubscription', run: (ctx) => deps.subscriptions.get(ctx, b) };
      if (method === 'PATCH')
        return { kind: 'renewSubscription', run: (ctx) => deps.subscriptions.renew(ctx, b) };
      if (method === 'DELETE') return { kind: 'deleteSubscription', run: () => deps.subscriptions.delete(b) };
      return { kind: 'unknown', error: methodNotAllowed(method) };
    }
    if (lowerC === 'reauthorize' || lowerC === 'microsoft.graph.reauthorize') {
      if (method === 'POST')
        return { kind: 'reauthorizeSubscription', run: () => deps.subscriptions.reauthorize(b) };
      return { kind: 'reauthorizeSubscription', error: methodNotAllowed(method) };
    }
  }
  // The OData router's answer to an unknown path segment.
  const last = seg[seg.length - 1] ?? '';
  return {
    kind: 'unknown',
    error: new GraphHttpError(400, 'BadRequest', `Resource not found for the segment '${last}'.`),
  };
}

function methodNotAllowed(method: string): GraphHttpError {
  return new GraphHttpError(
    405,
    'Request_BadRequest',
    `The HTTP method '${method}' is not allowed for this resource.`,
  );
}

export function createRequestListener(deps: RouterDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((error: unknown) => {
      // Last resort: the pipeline itself failed (socket closed mid-body and similar).
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(error instanceof Error ? error.message : String(error));
    });
  };
}

async function handle(deps: RouterDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const headers = lowerHeaders(req);
  const query = Object.fromEntries(url.searchParams.entries());
  const meta: ResponseMeta = {
    requestId: randomUUID(),
    clientRequestId: headers['client-request-id'],
    date: deps.dir.now(),
  };
  const rawSegments = url.pathname.split('/').filter((s) => s !== '');
  const version = rawSegments[0];
  let segments: string[];
  try {
    segments = rawSegments.slice(1).map((s) => decodeURIComponent(s));
  } catch {
    segments = rawSegments.slice(1);
  }
  const matched =
    version === 'v1.0'
      ? route(deps, method, segments)
      : {
          kind: 'unknown' as const,
          error: new GraphHttpError(
            400,
            'BadRequest',
            `Invalid version: '${version ?? ''}'. The simulator serves v1.0 only.`,
          ),
        };
  deps.counters.increment(matched.kind);

  const record: RecordedRequest = {
    method,
    path: url.pathname,
    query,
    kind: matched.kind,
    status: 0,
    headers: Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'authorization')),
  };
  if (deps.recordRequests) deps.requests.push(record);

  // Headers the throttle adds to whatever the answer is (x-ms-resource-unit, the percentage).
  const throttleHeaders: Record<string, string> = {};
  let reply: Reply;
  try {
    const bodyText = await readBody(req);
    const body =
      method === 'POST' || method === 'PATCH' ? parseJsonBodyLenient(bodyText, matched.kind) : undefined;
    if (body !== undefined) record.body = body;
    reply = await run(
      deps,
      matched,
      {
        method,
        segments,
        query,
        headers,
        body,
        baseUrl: deps.baseUrl(),
        dir: deps.dir,
      },
      throttleHeaders,
    );
  } catch (error) {
    reply = errorReply(error, meta);
  }
  record.status = reply.status;
  if (reply.status === 429) deps.counters.throttledAnswer();
  if (deps.latency !== null) await hold(latencyFor(deps.latency, method, matched.kind));
  const replyHeaders = { ...throttleHeaders, ...reply.headers };
  if (reply.body === undefined) sendEmpty(res, reply.status, meta, replyHeaders);
  else sendJson(res, reply.status, reply.body, meta, replyHeaders);
}

function parseJsonBodyLenient(text: string, kind: RequestKind): unknown {
  // Unknown routes answer their own error; do not let a bad body mask it.
  if (kind === 'unknown') {
    try {
      return parseJsonBody(text);
    } catch {
      return undefined;
    }
  }
  return parseJsonBody(text);
}

async function run(
  deps: RouterDeps,
  matched: Route | { kind: RequestKind; error: GraphHttpError },
  ctx: RequestContext,
  throttleHeaders: Record<string, string>,
): Promise<Reply> {
  // learn.microsoft.com/graph/auth-v2-service: every call carries `Authorization: Bearer {token}`;
  // without one Graph answers 401 InvalidAuthenticationToken "Access token is empty."
  if (deps.requireAuth) {
    const auth = ctx.headers['authorization'];
    if (auth === undefined || !/^Bearer\s+\S+/i.test(auth)) {
      throw new GraphHttpError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    }
  }
  // Graph authenticates before it throttles; a refused request is answered 429 (thrown) here.
  if (deps.throttle !== null) {
    Object.assign(throttleHeaders, deps.throttle.admit(matched.kind, ctx.query, ctx.dir.now().getTime()));
  }
  const fault = deps.faults.take(matched.kind);
  if (fault !== undefined) throw fault;
  if ('error' in matched) throw matched.error;
  return matched.run(ctx);
}

function errorReply(error: unknown, meta: ResponseMeta): Reply {
  if (error instanceof GraphHttpError) {
    return {
      status: error.status,
      body: errorBody(error.code, error.message, meta),
      headers: error.headers,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: errorBody('generalException', `Simulator failure: ${message}`, meta) };
}

function lowerHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
