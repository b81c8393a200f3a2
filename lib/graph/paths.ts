/**
 * Building Graph request paths and query values safely.
 */
import { GraphError } from './graph-error.js';

/**
 * The path of one user by object id or UPN. UPNs are percent-encoded: a guest's UPN holds `#EXT#`
 * (`ann_contoso.com#EXT#@tenant.onmicrosoft.com`), and an unencoded `#` would end the URL there.
 * A UPN starting with `$` must use the key form `/users('$x@y')`, otherwise Graph reads the `$` as
 * a query option (learn.microsoft.com/graph/api/user-get, note on `$` in userPrincipalName).
 */
export function userPath(idOrUpn: string): string {
  if (idOrUpn === '') throw new RangeError('user id or UPN must not be empty');
  if (idOrUpn.startsWith('$')) {
    return `/users('${encodeURIComponent(idOrUpn.replaceAll("'", "''"))}')`;
  }
  return `/users/${encodeURIComponent(idOrUpn)}`;
}

/** A path segment for an id that is not a user (subscription ids). */
export function segment(id: string): string {
  if (id === '') throw new RangeError('id must not be empty');
  return encodeURIComponent(id);
}

/**
 * An OData string literal: single quotes doubled (OData ABNF, `SQUOTE-in-string`). The whole
 * filter is percent-encoded afterwards because query values must be (learn.microsoft.com/graph/
 * query-parameters: "values of query parameters should be percent-encoded").
 */
export function odataString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `$filter` value for users with this employeeId, percent-encoded. */
export function employeeIdFilter(employeeId: string): string {
  return encodeURIComponent(`employeeId eq ${odataString(employeeId)}`);
}

/** An `@odata.nextLink`/`@odata.deltaLink` split into what `client.api(…).version(…)` needs. */
export interface ResolvedLink {
  version: string;
  /** Path after the version, with the query string as Graph sent it. */
  pathAndQuery: string;
}

/**
 * Splits an absolute Graph link into version and path+query, after checking it points at the
 * configured Graph origin. Why not hand the link to `client.api(link)`: the SDK (3.0.7,
 * `GraphRequest.parsePath`) only recognises absolute `https://` links; an `http://127.0.0.1` link
 * from the simulator would be appended to the base URL as if it were a path. Why the origin check:
 * a link is data from the network and must not steer our requests elsewhere.
 */
export function resolveLink(link: string, baseUrl: string): ResolvedLink {
  let url: URL;
  let base: URL;
  try {
    base = new URL(baseUrl);
    url = new URL(link, base);
  } catch (cause) {
    throw new GraphError({
      kind: 'unknown',
      status: 0,
      code: 'InvalidLink',
      message: 'A Graph paging or delta link is not a valid URL.',
      fix: 'Discard the stored link (for delta: start a full sync).',
      cause,
    });
  }
  if (url.origin !== base.origin) {
    throw new GraphError({
      kind: 'unknown',
      status: 0,
      code: 'ForeignLink',
      message: `A Graph paging or delta link points at ${url.origin}, not at GRAPH_BASE_URL (${base.origin}).`,
      fix: 'A delta link stored under another GRAPH_BASE_URL cannot be reused: discard it and start a full delta sync.',
    });
  }
  const basePath = base.pathname.replace(/\/+$/, '');
  const rest = url.pathname.startsWith(basePath) ? url.pathname.slice(basePath.length) : url.pathname;
  const match = /^\/([^/]+)\/(.*)$/.exec(rest);
  if (match === null || match[1] === undefined || match[2] === undefined) {
    throw new GraphError({
      kind: 'unknown',
      status: 0,
      code: 'InvalidLink',
      message: 'A Graph paging or delta link has no API version segment.',
      fix: 'Discard the stored link (for delta: start a full sync).',
    });
  }
  return { version: match[1], pathAndQuery: `/${match[2]}${url.search}` };
}
