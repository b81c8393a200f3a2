/**
 * Middleware that attaches the bearer token and a `client-request-id` to requests for the
 * configured Graph origin, and to nothing else.
 *
 * Why not the SDK's AuthenticationHandler and TelemetryHandler: in @microsoft/microsoft-graph-client
 * 3.0.7 both decide "is this Graph?" with `isGraphURL(url) || isCustomHost(url, customHosts)`, and
 * that check (`isValidEndpoint` in GraphRequestUtil.js) only recognises URLs containing `https://`.
 * For the simulator on `http://127.0.0.1:PORT` `customHosts` therefore does not help: the
 * AuthenticationHandler sends no token and the TelemetryHandler deletes any `client-request-id`
 * (verified against a loopback server). Scoping by exact origin also keeps the token from ever
 * going to a host other than GRAPH_BASE_URL (a foreign `@odata.nextLink`, a redirect).
 */
import { randomUUID } from 'node:crypto';
import type { AuthenticationProvider, Context, Middleware } from '@microsoft/microsoft-graph-client';
import { isGuid } from '../shared/guid.js';
import { deleteHeader, getHeader, requestUrlOf, setHeader } from './request-headers.js';

/** Request header Graph echoes in responses and logs for support cases (learn.microsoft.com/graph/errors). */
export const CLIENT_REQUEST_ID_HEADER = 'client-request-id';

/** Attaches `Authorization: Bearer …` and `client-request-id` for one origin only. */
export class HostScopedAuthMiddleware implements Middleware {
  readonly #authProvider: AuthenticationProvider;
  readonly #origin: string;
  #next: Middleware | undefined;

  /**
   * @param authProvider Source of access tokens (a `TokenCredentialAuthenticationProvider`).
   * @param baseUrl GRAPH_BASE_URL; only requests to exactly its origin get the token.
   */
  constructor(authProvider: AuthenticationProvider, baseUrl: string) {
    this.#authProvider = authProvider;
    this.#origin = new URL(baseUrl).origin;
  }

  async execute(context: Context): Promise<void> {
    if (this.#next === undefined) throw new Error('HostScopedAuthMiddleware must not be last in the chain');
    let sameOrigin = false;
    try {
      sameOrigin = new URL(requestUrlOf(context)).origin === this.#origin;
    } catch {
      sameOrigin = false;
    }
    if (sameOrigin) {
      const token = await this.#authProvider.getAccessToken();
      setHeader(context, 'Authorization', `Bearer ${token}`);
      // Graph wants a GUID here; a caller's correlation id that is not one is replaced so the
      // request still carries an id (the gateway logs both).
      const requestId = getHeader(context, CLIENT_REQUEST_ID_HEADER);
      if (requestId === undefined || !isGuid(requestId)) {
        setHeader(context, CLIENT_REQUEST_ID_HEADER, randomUUID());
      }
    } else {
      deleteHeader(context, 'Authorization');
    }
    await this.#next.execute(context);
  }

  setNext(next: Middleware): void {
    this.#next = next;
  }
}
