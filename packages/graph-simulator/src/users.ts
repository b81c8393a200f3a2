/**
 * GET /users, GET /users/{id|userPrincipalName}, PATCH /users/{id}.
 * learn.microsoft.com/graph/api/user-list, .../user-get, .../user-update.
 */
import { isAdvancedQuery, isRecord, type Reply, type RequestContext } from './context.js';
import type { Directory, UserRecord } from './directory.js';
import { badRequest, GraphHttpError, resourceNotFound, unsupportedQuery } from './errors.js';
import { buildLink, PageTokens } from './paging.js';
import { compileUserFilter } from './user-filter.js';
import { parseUserSelect, projectUser, USER_PROPERTIES } from './user-properties.js';

/** learn.microsoft.com/graph/paging: /users pages 100 by default; `$top` goes up to 999. */
const DEFAULT_USER_PAGE = 100;
const MAX_USER_PAGE = 999;

const ALLOWED_LIST_PARAMS = new Set(['$select', '$top', '$filter', '$count', '$skiptoken', '$orderby']);

interface ListState {
  ids: string[];
  offset: number;
  top: number;
  select: string[] | undefined;
  count: number | undefined;
  params: Record<string, string | undefined>;
}

export class UserHandlers {
  readonly #pages = new PageTokens<ListState>();

  list(ctx: RequestContext): Reply {
    const skiptoken = ctx.query['$skiptoken'];
    let state: ListState;
    if (skiptoken !== undefined) {
      const stored = this.#pages.get(skiptoken);
      // An unknown or tampered skip token is a bad request (learn.microsoft.com/graph/paging: tokens are opaque).
      if (stored === undefined) throw badRequest(`Invalid skip token '${skiptoken}'.`);
      state = stored;
    } else {
      state = this.#startList(ctx);
    }
    const page = state.ids.slice(state.offset, state.offset + state.top);
    const value = page
      .map((id) => ctx.dir.users.get(id))
      .filter((u): u is UserRecord => u !== undefined && u.deleted === null)
      .map((u) => projectUser(ctx.dir.renderUser(u), state.select));
    const body: Record<string, unknown> = {
      '@odata.context': contextUrl(ctx.baseUrl, state.select),
    };
    if (state.count !== undefined) body['@odata.count'] = state.count;
    const nextOffset = state.offset + state.top;
    if (nextOffset < state.ids.length) {
      const token = this.#pages.issue({ ...state, offset: nextOffset });
      body['@odata.nextLink'] = buildLink(ctx.baseUrl, '/v1.0/users', { ...state.params, $skiptoken: token });
    }
    body['value'] = value;
    return { status: 200, body };
  }

  #startList(ctx: RequestContext): ListState {
    for (const key of Object.keys(ctx.query)) {
      if (key.startsWith('$') && !ALLOWED_LIST_PARAMS.has(key)) {
        // learn.microsoft.com/graph/aad-advanced-queries: unsupported query options are rejected, not ignored.
        throw unsupportedQuery(`Query option '${key}' is not supported by this simulator or by /users.`);
      }
    }
    const select = parseUserSelect(ctx.query['$select']);
    const top = parseTop(ctx.query['$top']);
    const advanced = isAdvancedQuery(ctx);
    const countRequested = ctx.query['$count']?.toLowerCase() === 'true';
    const filterText = ctx.query['$filter'];
    // learn.microsoft.com/graph/aad-advanced-queries: advanced queries need ConsistencyLevel: eventual AND $count=true.
    const filter =
      filterText === undefined ? undefined : compileUserFilter(filterText, advanced && countRequested);
    let users = ctx.dir.liveUsers();
    // Same answer, found by id: a read-back of 15 users need not render a 20,000-user directory.
    const ids = filter?.ids ?? null;
    if (ids !== null) users = users.filter((u) => ids.has(u.props.id.toLowerCase()));
    if (filter !== undefined) users = users.filter((u) => filter.test(ctx.dir.renderUser(u)));
    const orderby = ctx.query['$orderby'];
    if (orderby !== undefined) users = orderUsers(users, orderby);
    if (countRequested && !advanced) {
      // learn.microsoft.com/graph/aad-advanced-queries: $count on directory objects needs ConsistencyLevel: eventual.
      throw badRequest('$count is not currently supported.');
    }
    return {
      ids: users.map((u) => u.props.id.toLowerCase()),
      offset: 0,
      top,
      select,
      count: countRequested ? users.length : undefined,
      params: {
        $select: ctx.query['$select'],
        $filter: filterText,
        $top: ctx.query['$top'],
        $count: ctx.query['$count'],
        $orderby: orderby,
      },
    };
  }

  get(ctx: RequestContext, idOrUpn: string): Reply {
    const rec = ctx.dir.findUser(idOrUpn);
    if (rec === undefined) throw resourceNotFound(idOrUpn);
    const select = parseUserSelect(ctx.query['$select']);
    return {
      status: 200,
      body: {
        '@odata.context': `${contextUrl(ctx.baseUrl, select)}/$entity`,
        ...projectUser(ctx.dir.renderUser(rec), select),
      },
    };
  }

  patch(ctx: RequestContext, idOrUpn: string): Reply {
    const rec = ctx.dir.findUser(idOrUpn);
    if (rec === undefined) throw resourceNotFound(idOrUpn);
    if (!isRecord(ctx.body)) throw badRequest('Empty Payload. JSON content expected.');
    const updates = validatePatch(ctx.dir, rec, ctx.body);
    Object.assign(rec.props, updates);
    ctx.dir.touch(rec);
    // learn.microsoft.com/graph/api/user-update: "If successful, this method returns a 204 No Content response code."
    return { status: 204 };
  }
}

export function parseTop(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_USER_PAGE;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_USER_PAGE) {
    // The directory's answer to an out-of-range page size (learn.microsoft.com/graph/paging: 1 to 999 for users).
    throw unsupportedQuery(
      `Invalid page size specified: '${raw}'. Must be between 1 and ${MAX_USER_PAGE} inclusive.`,
    );
  }
  return n;
}

function orderUsers(users: UserRecord[], orderby: string): UserRecord[] {
  const m = /^\s*(displayName|userPrincipalName)(?:\s+(asc|desc))?\s*$/i.exec(orderby);
  // learn.microsoft.com/graph/api/user-list: $orderby is supported on displayName and userPrincipalName.
  if (m === null) throw unsupportedQuery(`Unsupported $orderby '${orderby}'.`);
  const prop = m[1]?.toLowerCase() === 'displayname' ? 'displayName' : 'userPrincipalName';
  const dir = m[2]?.toLowerCase() === 'desc' ? -1 : 1;
  const text = (u: UserRecord): string => {
    const v = u.props[prop];
    return typeof v === 'string' ? v : '';
  };
  return [...users].sort((a, b) => dir * text(a).localeCompare(text(b)));
}

export function contextUrl(baseUrl: string, select: readonly string[] | undefined): string {
  return `${baseUrl}/v1.0/$metadata#users${select === undefined ? '' : `(${select.join(',')})`}`;
}

/** Read-only or computed properties (learn.microsoft.com/graph/api/resources/user, "Properties"). */
const READ_ONLY = new Set([
  'id',
  'assignedLicenses',
  'assignedPlans',
  'licenseAssignmentStates',
  'createdDateTime',
  'deletedDateTime',
  'onPremisesSyncEnabled',
  'onPremisesLastSyncDateTime',
  'onPremisesSecurityIdentifier',
  'onPremisesDistinguishedName',
  'onPremisesDomainName',
  'onPremisesSamAccountName',
  'onPremisesUserPrincipalName',
  'onPremisesProvisioningErrors',
  'provisionedPlans',
  'proxyAddresses',
  'securityIdentifier',
  'creationType',
  'externalUserStateChangeDateTime',
]);

/**
 * Attributes AD owns for synced users; changing them in the cloud fails with "Unable to update the
 * specified properties for on-premises mastered Directory Sync objects or objects currently
 * undergoing migration." (learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-syncservice-features;
 * usageLocation is cloud-managed and stays writable).
 */
const AD_MASTERED = new Set([
  'displayName',
  'givenName',
  'surname',
  'userPrincipalName',
  'mail',
  'mailNickname',
  'department',
  'jobTitle',
  'companyName',
  'country',
  'city',
  'state',
  'employeeId',
  'employeeType',
  'officeLocation',
  'accountEnabled',
  'onPremisesImmutableId',
  'onPremisesExtensionAttributes',
]);

function validatePatch(
  dir: Directory,
  rec: UserRecord,
  body: Record<string, unknown>,
): Record<string, unknown> {
  const updates: Record<string, unknown> = {};
  const synced = rec.props['onPremisesSyncEnabled'] === true;
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith('@odata.')) continue;
    if (!USER_PROPERTIES.has(key)) {
      throw badRequest(`Property '${key}' does not exist on type 'microsoft.graph.user'.`);
    }
    if (READ_ONLY.has(key)) throw badRequest(`Property '${key}' is read-only and cannot be set.`);
    if (synced && AD_MASTERED.has(key)) {
      throw badRequest(
        'Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.',
      );
    }
    if (key === 'usageLocation') {
      // learn.microsoft.com/graph/api/resources/user: usageLocation is an ISO 3166 two-letter country code.
      if (value !== null && (typeof value !== 'string' || !/^[A-Z]{2}$/.test(value))) {
        throw badRequest(`Invalid value specified for property 'usageLocation' of resource 'User'.`);
      }
    }
    if (key === 'userPrincipalName' && typeof value === 'string') {
      const other = dir.findUser(value);
      if (other !== undefined && other !== rec) {
        throw new GraphHttpError(
          400,
          'Request_BadRequest',
          `Another object with the same value for property userPrincipalName already exists.`,
        );
      }
    }
    updates[key] = value;
  }
  return updates;
}
