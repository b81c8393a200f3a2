/**
 * Opaque page tokens. Graph pages collections with `@odata.nextLink` carrying a `$skiptoken`
 * the client must treat as opaque (learn.microsoft.com/graph/paging); the state stays on the server.
 */
import { randomBytes } from 'node:crypto';

export class PageTokens<T> {
  #states = new Map<string, T>();

  issue(state: T): string {
    // Long and URL-safe, like Graph's own tokens; never derived from the data.
    const token = randomBytes(24).toString('base64url');
    this.#states.set(token, state);
    return token;
  }

  get(token: string): T | undefined {
    return this.#states.get(token);
  }

  /** Every state issued so far (for bulk invalidation). */
  all(): IterableIterator<T> {
    return this.#states.values();
  }
}

/** Builds a Graph-style link: base + path + query, each value URL-encoded. */
export function buildLink(baseUrl: string, path: string, params: Record<string, string | undefined>): string {
  const query = Object.entries(params)
    .filter((e): e is [string, string] => e[1] !== undefined)
    // Commas stay readable, as in Graph's own links ($select=id,displayName).
    .map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/gi, ',')}`)
    .join('&');
  return `${baseUrl}${path}${query === '' ? '' : `?${query}`}`;
}
