/**
 * GET /users/delta (learn.microsoft.com/graph/api/user-delta, learn.microsoft.com/graph/delta-query-users,
 * learn.microsoft.com/graph/delta-query-overview):
 * - the first round returns every current user, page by page via `@odata.nextLink`, and ends with
 *   an `@odata.deltaLink`; query parameters (`$select`) are encoded in the tokens, not repeated;
 * - `$deltatoken=latest` returns no data and a deltaLink "from now";
 * - later rounds return users changed since the token; removed users come as
 *   `{"id": …, "@removed": {"reason": "changed" | "deleted"}}` ("changed" = soft-deleted and restorable);
 * - updated users "at least" carry the changed properties; the simulator sends every selected one;
 * - tokens for identity resources last 7 days; an older one gets 400 `syncStateNotFound`, "The sync
 *   state generation is not found. The delta token is expired and data must be synchronized again."
 *   (devblogs.microsoft.com/microsoft365dev/duration-of-change-tracking-tokens-for-identity-and-education-resources).
 */
import type { Reply, RequestContext } from './context.js';
import { GraphHttpError, unsupportedQuery } from './errors.js';
import { buildLink, PageTokens } from './paging.js';
import { parseUserSelect, projectUser } from './user-properties.js';

const DELTA_TOKEN_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;
const DEFAULT_DELTA_PAGE = 100;

type Entry = { id: string; removed?: 'changed' | 'deleted' };

interface TokenState {
  issuedAt: number;
  select: string[] | undefined;
  expired: false | 'syncStateNotFound' | 'gone';
  /** Delta tokens: the change sequence they stand for. Skip tokens: the round in progress. */
  seq: number;
  round?: { entries: Entry[]; offset: number; pageSize: number; endSeq: number };
}

const ALLOWED = new Set(['$select', '$deltatoken', '$skiptoken']);

export class DeltaHandlers {
  readonly #tokens = new PageTokens<TokenState>();

  /** Makes every token issued so far answer as expired. */
  expireAll(mode: 'syncStateNotFound' | 'gone'): void {
    for (const state of this.#tokens.all()) state.expired = mode;
  }

  handle(ctx: RequestContext): Reply {
    for (const key of Object.keys(ctx.query)) {
      // user-delta: only $select (and a limited $filter on id, not simulated) are supported.
      if (key.startsWith('$') && !ALLOWED.has(key))
        throw unsupportedQuery(`Query option '${key}' is not supported with delta.`);
    }
    const now = ctx.dir.now().getTime();
    const pageSize = maxPageSize(ctx.headers['prefer']);
    const deltatoken = ctx.query['$deltatoken'];
    const skiptoken = ctx.query['$skiptoken'];

    if (deltatoken === 'latest') {
      const select = parseUserSelect(ctx.query['$select']);
      const link = this.#deltaLink(ctx.baseUrl, { issuedAt: now, select, expired: false, seq: ctx.dir.seq });
      return { status: 200, body: page(ctx.baseUrl, select, [], { '@odata.deltaLink': link }) };
    }

    let state: TokenState;
    if (deltatoken !== undefined || skiptoken !== undefined) {
      const token = deltatoken ?? skiptoken ?? '';
      const found = this.#tokens.get(token);
      if (found === undefined) throw expiredError('syncStateNotFound', ctx);
      if (found.expired !== false) throw expiredError(found.expired, ctx, found.select);
      if (now - found.issuedAt > DELTA_TOKEN_LIFETIME_MS) throw expiredError('syncStateNotFound', ctx);
      state = found.round !== undefined ? found : this.#newRound(ctx, found.seq, found.select, pageSize);
    } else {
      state = this.#fullSync(ctx, parseUserSelect(ctx.query['$select']), pageSize);
    }

    const round = state.round;
    if (round === undefined) throw new Error('delta round missing');
    const slice = round.entries.slice(round.offset, round.offset + round.pageSize);
    const value = slice.map((e) => this.#render(ctx, e, state.select));
    const nextOffset = round.offset + round.pageSize;
    const headers: Record<string, string> =
      ctx.headers['prefer'] !== undefined
        ? { 'preference-applied': `odata.maxpagesize=${round.pageSize}` }
        : {};
    if (nextOffset < round.entries.length) {
      const token = this.#tokens.issue({ ...state, issuedAt: now, round: { ...round, offset: nextOffset } });
      const nextLink = buildLink(ctx.baseUrl, '/v1.0/users/delta', { $skiptoken: token });
      return {
        status: 200,
        body: page(ctx.baseUrl, state.select, value, { '@odata.nextLink': nextLink }),
        headers,
      };
    }
    const deltaLink = this.#deltaLink(ctx.baseUrl, {
      issuedAt: now,
      select: state.select,
      expired: false,
      seq: round.endSeq,
    });
    return {
      status: 200,
      body: page(ctx.baseUrl, state.select, value, { '@odata.deltaLink': deltaLink }),
      headers,
    };
  }

  #fullSync(ctx: RequestContext, select: string[] | undefined, pageSize: number): TokenState {
    // delta-query-overview: the first round holds resources that exist now; earlier deletions are not returned.
    const entries = ctx.dir.liveUsers().map((u) => ({ id: u.props.id }));
    return {
      issuedAt: ctx.dir.now().getTime(),
      select,
      expired: false,
      seq: 0,
      round: { entries, offset: 0, pageSize, endSeq: ctx.dir.seq },
    };
  }

  #newRound(ctx: RequestContext, since: number, select: string[] | undefined, pageSize: number): TokenState {
    const changed = [...ctx.dir.users.values()]
      .filter((u) => u.changedSeq > since)
      .sort((a, b) => a.changedSeq - b.changedSeq);
    const entries: Entry[] = changed.map((u) =>
      u.deleted === null
        ? { id: u.props.id }
        : { id: u.props.id, removed: u.deleted.permanent ? 'deleted' : 'changed' },
    );
    return {
      issuedAt: ctx.dir.now().getTime(),
      select,
      expired: false,
      seq: since,
      round: { entries, offset: 0, pageSize, endSeq: ctx.dir.seq },
    };
  }

  #render(ctx: RequestContext, e: Entry, select: string[] | undefined): Record<string, unknown> {
    const rec = ctx.dir.users.get(e.id.toLowerCase());
    // A user removed after the round started is reported as removed, not as stale data.
    if (e.removed !== undefined || rec === undefined || rec.deleted !== null) {
      const reason = e.removed ?? (rec?.deleted?.permanent === false ? 'changed' : 'deleted');
      return { id: e.id, '@removed': { reason } };
    }
    return projectUser(ctx.dir.renderUser(rec), select);
  }

  #deltaLink(baseUrl: string, state: TokenState): string {
    return buildLink(baseUrl, '/v1.0/users/delta', { $deltatoken: this.#tokens.issue(state) });
  }
}

function page(
  baseUrl: string,
  select: string[] | undefined,
  value: unknown[],
  link: Record<string, string>,
): Record<string, unknown> {
  return {
    '@odata.context': `${baseUrl}/v1.0/$metadata#users${select === undefined ? '' : `(${select.join(',')})`}`,
    ...link,
    value,
  };
}

/** `Prefer: odata.maxpagesize=N` sets the delta page size (learn.microsoft.com/graph/delta-query-overview, "Optional request header"). */
function maxPageSize(prefer: string | undefined): number {
  const m = prefer === undefined ? null : /odata\.maxpagesize\s*=\s*(\d+)/i.exec(prefer);
  const n = m?.[1] === undefined ? DEFAULT_DELTA_PAGE : Number(m[1]);
  return Math.max(1, Math.min(n, 999));
}

function expiredError(
  mode: 'syncStateNotFound' | 'gone',
  ctx: RequestContext,
  select?: string[],
): GraphHttpError {
  if (mode === 'gone') {
    // delta-query-overview: 410 Gone means the token can no longer be used and a full resync is needed;
    // the Location header points at a fresh delta query. The error code here is *unconfirmed*.
    return new GraphHttpError(
      410,
      'resyncRequired',
      'The delta token is no longer valid. Start a new delta query (full synchronization).',
      { location: buildLink(ctx.baseUrl, '/v1.0/users/delta', { $select: select?.join(',') }) },
    );
  }
  return new GraphHttpError(
    400,
    'syncStateNotFound',
    'The sync state generation is not found. The delta token is expired and data must be synchronized again.',
  );
}
