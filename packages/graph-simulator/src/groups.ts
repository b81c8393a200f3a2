/**
 * GET /groups, GET /groups/{id}, GET /groups/{id}/members, GET /groups/{id}/transitiveMembers.
 * learn.microsoft.com/graph/api/group-list, group-get, group-list-members, group-list-transitivemembers.
 *
 * Permissions (application, least privileged first, per those pages): GroupMember.Read.All, then
 * Group.Read.All, Directory.Read.All. The simulator does not check tokens, so it does not enforce them.
 *
 * Cost (learn.microsoft.com/graph/throttling-limits, identity and access service): members 3 and
 * transitiveMembers 5 resource units; a GET not listed there costs 1; `$select` takes 1 off, never
 * below 1. Each answer says its cost in `x-ms-resource-unit`, as Graph does.
 */
import type { Reply, RequestContext } from './context.js';
import type { GroupRecord } from './directory.js';
import { badRequest, resourceNotFound, unsupportedQuery } from './errors.js';
import { compileGroupFilter } from './group-filter.js';
import { GROUP_PROPERTIES, parseGroupSelect, projectGroup, renderGroup } from './group-properties.js';
import { buildLink, PageTokens } from './paging.js';
import { USER_PROPERTIES, projectUser } from './user-properties.js';
import { parseTop } from './users.js';

const LIST_PARAMS = new Set(['$select', '$top', '$filter', '$count', '$skiptoken']);

/** Resource units of one request: the listed cost, 1 off for `$select`, at least 1. */
function resourceUnits(base: number, select: string | undefined): Record<string, string> {
  return { 'x-ms-resource-unit': String(Math.max(1, base - (select === undefined ? 0 : 1))) };
}

interface PageState {
  /** Collection path for the next link, e.g. `/v1.0/groups/{id}/members`. */
  path: string;
  items: Record<string, unknown>[];
  offset: number;
  top: number;
  count: number | undefined;
  params: Record<string, string | undefined>;
  context: string;
  cost: number;
}

function checkParams(ctx: RequestContext, allowed: ReadonlySet<string>, resource: string): void {
  for (const key of Object.keys(ctx.query)) {
    if (key.startsWith('$') && !allowed.has(key)) {
      throw unsupportedQuery(`Query option '${key}' is not supported by this simulator or by ${resource}.`);
    }
  }
  const count = ctx.query['$count']?.toLowerCase() === 'true';
  // learn.microsoft.com/graph/aad-advanced-queries: $count on directory objects needs ConsistencyLevel: eventual.
  if (count && ctx.headers['consistencylevel']?.toLowerCase() !== 'eventual') {
    throw badRequest('$count is not currently supported.');
  }
}

export class GroupHandlers {
  readonly #pages = new PageTokens<PageState>();

  /** GET /groups: `$filter` (see group-filter.ts), `$select`, `$top` 1–999 (default 100), paging. */
  list(ctx: RequestContext): Reply {
    const resumed = this.#resume(ctx);
    if (resumed !== null) return resumed;
    checkParams(ctx, LIST_PARAMS, '/groups');
    const select = parseGroupSelect(ctx.query['$select']);
    const filterText = ctx.query['$filter'];
    const filter = filterText === undefined ? undefined : compileGroupFilter(filterText);
    const groups = [...ctx.dir.groups.values()].filter((g) => filter === undefined || filter(g, ctx.dir));
    return this.#page(ctx, {
      path: '/v1.0/groups',
      items: groups.map((g) => projectGroup(renderGroup(ctx.dir, g), select)),
      offset: 0,
      top: parseTop(ctx.query['$top']),
      count: ctx.query['$count']?.toLowerCase() === 'true' ? groups.length : undefined,
      params: {
        $select: ctx.query['$select'],
        $filter: filterText,
        $top: ctx.query['$top'],
        $count: ctx.query['$count'],
      },
      context: `${ctx.baseUrl}/v1.0/$metadata#groups${select === undefined ? '' : `(${select.join(',')})`}`,
      cost: 1,
    });
  }

  /** GET /groups/{id}. */
  get(ctx: RequestContext, id: string): Reply {
    const group = this.#find(ctx, id);
    const select = parseGroupSelect(ctx.query['$select']);
    return {
      status: 200,
      body: {
        '@odata.context': `${ctx.baseUrl}/v1.0/$metadata#groups${select === undefined ? '' : `(${select.join(',')})`}/$entity`,
        ...projectGroup(renderGroup(ctx.dir, group), select),
      },
      headers: resourceUnits(1, ctx.query['$select']),
    };
  }

  /**
   * GET /groups/{id}/members (direct) or /transitiveMembers (through nested groups, each member
   * once). Items are directoryObjects carrying `@odata.type` (#microsoft.graph.user or .group);
   * `$select` names properties of either type, and each item gets the ones its type has.
   */
  members(ctx: RequestContext, id: string, transitive: boolean): Reply {
    const resumed = this.#resume(ctx);
    if (resumed !== null) return resumed;
    const group = this.#find(ctx, id);
    checkParams(
      ctx,
      new Set(['$select', '$top', '$count', '$skiptoken']),
      transitive ? 'transitiveMembers' : 'members',
    );
    const select = parseMemberSelect(ctx.query['$select']);
    const items = ctx.dir.membersOf(group, transitive).map((m) =>
      m.kind === 'user'
        ? {
            '@odata.type': '#microsoft.graph.user',
            ...projectUser(
              ctx.dir.renderUser(m.user),
              select?.filter((p) => USER_PROPERTIES.has(p)),
            ),
          }
        : {
            '@odata.type': '#microsoft.graph.group',
            ...projectGroup(
              renderGroup(ctx.dir, m.group),
              select?.filter((p) => GROUP_PROPERTIES.has(p)),
            ),
          },
    );
    const segment = transitive ? 'transitiveMembers' : 'members';
    return this.#page(ctx, {
      path: `/v1.0/groups/${group.id}/${segment}`,
      items,
      offset: 0,
      top: parseTop(ctx.query['$top']),
      count: ctx.query['$count']?.toLowerCase() === 'true' ? items.length : undefined,
      params: { $select: ctx.query['$select'], $top: ctx.query['$top'], $count: ctx.query['$count'] },
      context: `${ctx.baseUrl}/v1.0/$metadata#directoryObjects`,
      cost: transitive ? 5 : 3,
    });
  }

  #find(ctx: RequestContext, id: string): GroupRecord {
    const group = ctx.dir.groups.get(id.toLowerCase());
    if (group === undefined) throw resourceNotFound(id);
    return group;
  }

  /** The next page of an earlier list, when the request carries a `$skiptoken`. */
  #resume(ctx: RequestContext): Reply | null {
    const token = ctx.query['$skiptoken'];
    if (token === undefined) return null;
    const state = this.#pages.get(token);
    // learn.microsoft.com/graph/paging: skip tokens are opaque; an unknown one is a bad request.
    if (state === undefined) throw badRequest(`Invalid skip token '${token}'.`);
    return this.#page(ctx, state);
  }

  #page(ctx: RequestContext, state: PageState): Reply {
    const body: Record<string, unknown> = { '@odata.context': state.context };
    if (state.count !== undefined) body['@odata.count'] = state.count;
    const next = state.offset + state.top;
    if (next < state.items.length) {
      const token = this.#pages.issue({ ...state, offset: next });
      body['@odata.nextLink'] = buildLink(ctx.baseUrl, state.path, { ...state.params, $skiptoken: token });
    }
    body['value'] = state.items.slice(state.offset, next);
    return { status: 200, body, headers: resourceUnits(state.cost, state.params['$select']) };
  }
}

/** `$select` on a directoryObject collection: names a user or a group has. */
function parseMemberSelect(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const known = new Map([...USER_PROPERTIES, ...GROUP_PROPERTIES].map((p) => [p.toLowerCase(), p]));
  const out = new Set<string>(['id']);
  for (const name of raw.split(',').map((s) => s.trim())) {
    if (name === '') continue;
    const canonical = known.get(name.toLowerCase());
    if (canonical === undefined) {
      throw badRequest(
        `Could not find a property named '${name}' on type 'microsoft.graph.directoryObject'.`,
      );
    }
    out.add(canonical);
  }
  return [...out];
}
