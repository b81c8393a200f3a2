/**
 * The port the engine and the functions use to reach Microsoft Graph. The real adapter
 * (`createGraphGateway` in ./graph-gateway.ts) sits on @microsoft/microsoft-graph-client; tests of
 * the engine run it against the simulator over HTTP.
 */
import type { AssignLicenseBody, DeltaPage, GraphSubscription, GraphUser, SubscribedSku } from './types.js';

/** Per-call options: the correlation id travels to Graph as `client-request-id`. */
export interface CallOptions {
  correlationId?: string;
  signal?: AbortSignal;
}

export interface NewSubscription {
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  expirationDateTime: string;
  clientState: string;
}

export interface GraphGateway {
  /** Pages through /users with `$select` (and `$top`), yielding one page at a time. */
  listUsers(
    select: readonly string[],
    options?: CallOptions & { pageSize?: number },
  ): AsyncIterable<GraphUser[]>;
  /** One user by object id or UPN; `null` when Graph answers 404. */
  getUser(idOrUpn: string, select: readonly string[], options?: CallOptions): Promise<GraphUser | null>;
  /**
   * Several users by object id (`$filter=id in (...)`, 15 per request): one request where a GET
   * per user would cost fifteen. Ids Graph does not find are simply absent from the result.
   */
  getUsers(ids: readonly string[], select: readonly string[], options?: CallOptions): Promise<GraphUser[]>;
  /** One user by employeeId (`$filter=employeeId eq '…'`, an advanced query); `null` if none. */
  findUserByEmployeeId(
    employeeId: string,
    select: readonly string[],
    options?: CallOptions,
  ): Promise<GraphUser | null>;
  /** POST /users/{id}/assignLicense. Returns the user as Graph answers it. */
  assignLicense(userId: string, body: AssignLicenseBody, options?: CallOptions): Promise<GraphUser>;
  /** PATCH /users/{id} { usageLocation }. */
  setUsageLocation(userId: string, usageLocation: string, options?: CallOptions): Promise<void>;
  /** GET /subscribedSkus. */
  listSubscribedSkus(options?: CallOptions): Promise<SubscribedSku[]>;
  /** POST /users/{id}/checkMemberGroups (transitive); returns the subset of groupIds the user is in. */
  checkMemberGroups(userId: string, groupIds: readonly string[], options?: CallOptions): Promise<string[]>;
  /** One page of /users/delta: pass a nextLink/deltaLink from before, or nothing to start a full sync. */
  deltaPage(
    linkOrSelect: { link: string } | { select: readonly string[] },
    options?: CallOptions,
  ): Promise<DeltaPage>;
  createSubscription(sub: NewSubscription, options?: CallOptions): Promise<GraphSubscription>;
  renewSubscription(
    id: string,
    expirationDateTime: string,
    options?: CallOptions,
  ): Promise<GraphSubscription>;
  reauthorizeSubscription(id: string, options?: CallOptions): Promise<void>;
  getSubscription(id: string, options?: CallOptions): Promise<GraphSubscription | null>;
  deleteSubscription(id: string, options?: CallOptions): Promise<void>;
  /** A group's displayName (GET /groups/{id}?$select=id,displayName); `null` when Graph answers 404. */
  getGroupName(id: string, options?: CallOptions): Promise<string | null>;
}
