/**
 * Builds the Microsoft Graph client (@microsoft/microsoft-graph-client 3.0.7) once, for the
 * composition root: base URL from GRAPH_BASE_URL (global, national clouds, the loopback
 * simulator), API version v1.0, tokens from a `TokenCredential`, retries per GRAPH_MAX_RETRIES.
 *
 * The middleware chain is our own, in the SDK's default order minus telemetry and redirects, plus
 * the pacer:
 *   HostScopedAuthMiddleware → RetryMiddleware → PacingMiddleware → HTTPMessageHandler (`fetch`).
 * - Pacing: every attempt (retries too) waits for the process's Graph budget; see pacer.ts. One
 *   `GraphPacer` per process, passed in by the composition root; without one, nothing is paced.
 * - Auth: the SDK's AuthenticationHandler attaches tokens only to URLs it recognises as Graph, and
 *   in 3.0.7 that test only accepts `https://` URLs, even with `customHosts`; see
 *   host-scoped-auth.ts. Passing `customHosts` would therefore change nothing here and is left out.
 * - Retries: see retry-middleware.ts for why the SDK's RetryHandler is not used.
 * - Redirects: Node's fetch follows them and drops `Authorization` on a cross-origin redirect
 *   (verified on Node 20), so the SDK's RedirectHandler adds nothing the Graph calls here need.
 */
import { Client, HTTPMessageHandler } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import type { TokenCredential } from '@azure/identity';
import { ConfigError, isLoopbackUrl } from '../config.js';
import type { Logger } from '../log.js';
import { SimulatorCredential } from './credential.js';
import { HostScopedAuthMiddleware } from './host-scoped-auth.js';
import type { GraphPacer } from './pacer.js';
import { PacingMiddleware } from './pacing-middleware.js';
import { RetryMiddleware, type RetryOptions } from './retry-middleware.js';

/** Graph API version every request uses unless a link names another. */
export const GRAPH_API_VERSION = 'v1.0';

const GLOBAL_GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

const baseUrls = new WeakMap<Client, string>();

/** Inputs of `createGraphClient`. */
export interface GraphClientOptions {
  /** GRAPH_BASE_URL without the version, e.g. `https://graph.microsoft.us` or `http://127.0.0.1:7071`. */
  baseUrl: string;
  credential: TokenCredential;
  /** Retries of 429/503/504 per request (GRAPH_MAX_RETRIES). */
  maxRetries: number;
  /** Backoff tuning and test seams (sleep, random); see `RetryOptions`. */
  retry?: Omit<RetryOptions, 'maxRetries' | 'logger'>;
  /** The process's pacer (shared by every client of the process); none: requests are not paced. */
  pacer?: GraphPacer;
  logger?: Logger;
}

/**
 * The token scope for a Graph base URL: the host's `/.default` scope, which is how national clouds
 * are addressed (learn.microsoft.com/graph/deployments: e.g. `https://graph.microsoft.us/.default`,
 * `https://microsoftgraph.chinacloudapi.cn/.default`). The loopback simulator accepts any token,
 * so it keeps the global scope.
 */
export function graphScopeFor(baseUrl: string): string {
  if (isLoopbackUrl(baseUrl)) return GLOBAL_GRAPH_SCOPE;
  return `${new URL(baseUrl).origin}/.default`;
}

/** Builds the Graph client. Throws `ConfigError` if the simulator credential meets a non-loopback URL. */
export function createGraphClient(options: GraphClientOptions): Client {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  if (options.credential instanceof SimulatorCredential && !isLoopbackUrl(baseUrl)) {
    throw new ConfigError(
      'GRAPH_BASE_URL: the simulator credential is only allowed for a loopback URL; use a real credential for Microsoft Graph.',
    );
  }
  const authProvider = new TokenCredentialAuthenticationProvider(options.credential, {
    scopes: [graphScopeFor(baseUrl)],
  });
  const auth = new HostScopedAuthMiddleware(authProvider, baseUrl);
  const retry = new RetryMiddleware({
    ...options.retry,
    maxRetries: options.maxRetries,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const http = new HTTPMessageHandler();
  auth.setNext(retry);
  if (options.pacer === undefined) {
    retry.setNext(http);
  } else {
    const pacing = new PacingMiddleware(options.pacer);
    retry.setNext(pacing);
    pacing.setNext(http);
  }
  const client = Client.initWithMiddleware({
    baseUrl,
    defaultVersion: GRAPH_API_VERSION,
    middleware: auth,
  });
  baseUrls.set(client, baseUrl);
  return client;
}

/** The base URL a client from `createGraphClient` was built with; `undefined` for other clients. */
export function graphBaseUrlOf(client: Client): string | undefined {
  return baseUrls.get(client);
}
