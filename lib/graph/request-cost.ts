/**
 * What one Graph request costs against the identity service's budgets, estimated before it is
 * sent, so the pacer can hold it until the budget allows it.
 *
 * Source: learn.microsoft.com/graph/throttling-limits, "Identity and access service limits"
 * (costs): GET users 2; GET subscribedSkus 3; POST me/checkMemberGroups and checkMemberObjects 4;
 * me/getMemberGroups, getMemberObjects, licenseDetails, memberOf, transitiveMemberOf 2 (a cost for
 * a `me/` path "also applies to equivalent requests starting with users/{id | userPrincipalName}/");
 * GET groups/{id}/members 3, transitiveMembers 5; any other identity GET 1; any other POST, PATCH,
 * PUT or DELETE 1 resource unit plus 1 write. `$select` takes 1 off, `$expand` adds 1, `$top`
 * under 20 takes 1 off; never below 1. Change notification subscriptions are a different service
 * and are not paced. A `$batch` costs what its requests cost ("each request is throttled on its
 * own", learn.microsoft.com/graph/json-batching).
 */

/** Which budget a request draws on: writes (plus resource units), resource units only, or none. */
export type RequestLane = 'write' | 'read' | 'none';

export interface RequestCost {
  lane: RequestLane;
  resourceUnits: number;
  writes: number;
}

const FREE: RequestCost = { lane: 'none', resourceUnits: 0, writes: 0 };

/** POST actions that only read (write cost 0 in Graph's table). */
const READ_ACTIONS = new Map<string, number>([
  ['checkmembergroups', 4],
  ['checkmemberobjects', 4],
  ['getmembergroups', 2],
  ['getmemberobjects', 2],
  ['getbyids', 3],
]);

/** GET paths with their own base cost, by the segments after `users/{id}` or `groups/{id}`. */
const USER_NAVIGATION_COST = new Map<string, number>([
  ['licensedetails', 2],
  ['memberof', 2],
  ['transitivememberof', 2],
  ['ownedobjects', 2],
]);
const GROUP_NAVIGATION_COST = new Map<string, number>([
  ['members', 3],
  ['transitivemembers', 5],
]);

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** The action name of a segment, without an OData namespace (`microsoft.graph.checkMemberGroups`). */
function actionName(segment: string): string {
  const lower = segment.toLowerCase();
  return lower.startsWith('microsoft.graph.') ? lower.slice('microsoft.graph.'.length) : lower;
}

function baseReadCost(segments: readonly string[]): number {
  const [first, , third] = segments.map((s) => s.toLowerCase());
  if (first === 'users' && segments.length === 1) return 2;
  if (first === 'subscribedskus') return 3;
  if (first === 'users' && third !== undefined) return USER_NAVIGATION_COST.get(third) ?? 1;
  if (first === 'groups' && third !== undefined) return GROUP_NAVIGATION_COST.get(third) ?? 1;
  return 1;
}

function queryAdjustment(query: URLSearchParams): number {
  let adjust = 0;
  if (query.has('$select')) adjust -= 1;
  if (query.has('$expand')) adjust += 1;
  const top = query.get('$top');
  if (top !== null && Number(top) < 20) adjust -= 1;
  return adjust;
}

/**
 * The cost of a request to `path` (with its query; relative to the API version, e.g.
 * `/users/abc/assignLicense?x=y`) sent with `method`.
 */
export function costOf(method: string, pathAndQuery: string): RequestCost {
  const url = new URL(pathAndQuery, 'http://graph.invalid/');
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const first = segments[0]?.toLowerCase();
  if (first === undefined || first === 'subscriptions' || first === '$batch') return FREE;
  const verb = method.toUpperCase();
  if (WRITE_METHODS.has(verb)) {
    const last = segments.at(-1);
    const readAction = verb === 'POST' && last !== undefined ? READ_ACTIONS.get(actionName(last)) : undefined;
    if (readAction === undefined) return { lane: 'write', resourceUnits: 1, writes: 1 };
    return { lane: 'read', resourceUnits: readAction, writes: 0 };
  }
  const cost = Math.max(1, baseReadCost(segments) + queryAdjustment(url.searchParams));
  return { lane: 'read', resourceUnits: cost, writes: 0 };
}

/** The segments after the API version of an absolute Graph URL, with the query. */
export function pathAfterVersion(url: string): string {
  const parsed = new URL(url);
  const path = parsed.pathname.replace(/^\/(v1\.0|beta)(?=\/|$)/i, '');
  return `${path}${parsed.search}`;
}

/**
 * The cost of a `$batch` body (`{ requests: [{ method, url }] }`): the sum of its requests, on the
 * write lane when any of them writes. An unreadable body counts as one write (the safe side).
 */
export function costOfBatch(body: unknown): RequestCost {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { lane: 'write', resourceUnits: 1, writes: 1 };
    }
  }
  const requests =
    typeof parsed === 'object' && parsed !== null && 'requests' in parsed && Array.isArray(parsed.requests)
      ? (parsed.requests as unknown[])
      : null;
  if (requests === null) return { lane: 'write', resourceUnits: 1, writes: 1 };
  let resourceUnits = 0;
  let writes = 0;
  for (const item of requests) {
    const { method, url } = (typeof item === 'object' && item !== null ? item : {}) as {
      method?: unknown;
      url?: unknown;
    };
    if (typeof method !== 'string' || typeof url !== 'string') {
      resourceUnits += 1;
      writes += 1;
      continue;
    }
    const cost = costOf(method, url.startsWith('/') ? url : `/${url}`);
    resourceUnits += cost.resourceUnits;
    writes += cost.writes;
  }
  if (resourceUnits === 0) return FREE;
  return { lane: writes > 0 ? 'write' : 'read', resourceUnits, writes };
}
