/**
 * Public types of the Graph tenant simulator. Tests, the benchmark and the keyless local run code
 * against these; the HTTP behaviour behind them is described (with sources) in the handler files.
 */
import type { GraphSubscription, GraphUser, SubscribedSku } from './graph-resources.js';
import type { LatencyInput } from './latency.js';
import type { TenantFile } from './tenant-file.js';
import type { ThrottleStats, ThrottlingInput } from './throttle.js';

export const REQUEST_KINDS = [
  'listUsers',
  'getUser',
  'patchUser',
  'assignLicense',
  'subscribedSkus',
  'checkMemberGroups',
  'listGroups',
  'getGroup',
  'listGroupMembers',
  'listGroupTransitiveMembers',
  'delta',
  'createSubscription',
  'getSubscription',
  'renewSubscription',
  'deleteSubscription',
  'reauthorizeSubscription',
  'unknown',
] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

export interface SimulatorOptions {
  /** Parsed tenant (see `loadTenantFile` / `loadSampleTenant`). The simulator works on a deep copy. */
  tenant: TenantFile;
  /** TCP port on 127.0.0.1; default 0 (the OS picks one). */
  port?: number;
  /** Injectable clock: delta token expiry, subscription expiry, timestamps. Default `() => new Date()`. */
  now?: () => Date;
  /** Default true: requests without `Authorization: Bearer …` get 401 InvalidAuthenticationToken. */
  requireAuth?: boolean;
  /** Timeout of validation and notification POSTs; default 10,000 ms (Graph's validation limit). */
  notificationTimeoutMs?: number;
  /**
   * Graph's documented identity throttling limits (./throttle.ts): `true` for the documented
   * defaults, an object to adjust them, `false` to turn off what the tenant file turns on. Default:
   * the tenant file's `throttling`, else off.
   */
  throttling?: boolean | ThrottlingInput;
  /** Time held before each answer (./latency.ts). Default: the tenant file's `latency`, else none. */
  latency?: LatencyInput;
  /** Default true: keep every request in `Simulator.requests`. Long benchmarks turn it off. */
  recordRequests?: boolean;
}

/** One request as the simulator saw it, in arrival order. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1.0/users/abc/assignLicense`. */
  path: string;
  /** Query parameters, decoded (`$select`, `$top`, …). */
  query: Record<string, string>;
  kind: RequestKind;
  status: number;
  /** Request headers, names lowercased, `authorization` left out. */
  headers: Record<string, string>;
  /** Parsed JSON body for POST/PATCH, when there was one. */
  body?: unknown;
}

export interface SimulatorCounters {
  /** Requests of this kind so far, faulted ones included. */
  get(kind: RequestKind): number;
  /** Directory writes: `assignLicense` + `patchUser` only (subscription calls are not directory writes). */
  writes(): number;
  /** Requests answered 429, by the throttling limits or by an injected fault. */
  throttled(): number;
  snapshot(): Record<RequestKind, number>;
  reset(): void;
}

/** Answer the next `times` matching requests with a throttling or server error. */
export interface FaultSpec {
  /** Request kind to fault; all kinds when omitted. */
  kind?: RequestKind;
  status: 429 | 500 | 502 | 503 | 504;
  /** Sent as the `Retry-After` header (seconds) when given. */
  retryAfterSeconds?: number;
  times: number;
}

export interface SimulatorFaults {
  inject(fault: FaultSpec): void;
  clear(): void;
  /** Faults not yet used up. */
  pending(): FaultSpec[];
}

/** Result of one POST the simulator made to a subscriber. `status` 0 means no HTTP answer (timeout, refused). */
export interface NotificationDelivery {
  subscriptionId: string;
  url: string;
  status: number;
  /** Number of items in the POSTed `value` array. */
  count: number;
  error?: string;
}

export interface UpsertUserInput extends Partial<
  Omit<GraphUser, 'assignedLicenses' | 'licenseAssignmentStates'>
> {
  id?: string;
  userPrincipalName: string;
  [property: string]: unknown;
}

/** Live tenant state and the mutations a test (or "AD sync") performs on it. */
export interface TenantState {
  readonly tenantId: string;
  /** Every non-deleted user as Graph would return it with every property selected. */
  users(): GraphUser[];
  /** By object id or UPN (case-insensitive); undefined for unknown or deleted users. */
  user(idOrUpn: string): GraphUser | undefined;
  sku(partNumberOrId: string): SubscribedSku | undefined;
  skus(): SubscribedSku[];
  /**
   * Creates or updates a user as AD sync would (matched by `id`, else by UPN), re-evaluates group
   * licenses, records a delta change and queues an `updated` notification for every subscription on users.
   */
  upsertUser(user: UpsertUserInput): GraphUser;
  /** Soft delete (restorable): delta `@removed` reason `changed`; `permanent: true` gives reason `deleted`. Queues a `deleted` notification. */
  deleteUser(id: string, options?: { permanent?: boolean }): void;
  setPrepaidUnits(skuPartNumberOrId: string, enabled: number): void;
  /** Adds (or replaces) a license on a group; members get it by inheritance (direct members only, as Entra does). */
  addGroupLicense(groupId: string, skuPartNumberOrId: string, disabledPlans?: string[]): void;
  /** Takes a license off a group: its members lose that inherited path (as when an admin removes it in Entra). */
  removeGroupLicense(groupId: string, skuPartNumberOrId: string): void;
  /** Creates the group if needed. `memberId` may be a user or another group (nesting). */
  addToGroup(memberId: string, groupId: string): void;
  removeFromGroup(memberId: string, groupId: string): void;
  /** Sends every queued change notification now (one POST per subscription) and empties the queue. */
  flushNotifications(): Promise<NotificationDelivery[]>;
  /** Number of queued notifications not yet flushed. */
  pendingNotifications(): number;
  /** POSTs a lifecycle notification to the subscription's lifecycleNotificationUrl. */
  sendLifecycleEvent(subscriptionId: string, event: 'reauthorizationRequired'): Promise<NotificationDelivery>;
  /** Graph lost the subscription: GET/PATCH answer 404 afterwards. */
  loseSubscription(id: string): void;
  /**
   * Every delta and delta skip token issued so far answers as expired: 400 `syncStateNotFound`
   * (default), or `410 Gone` when `{ gone: true }`.
   */
  expireDeltaTokens(options?: { gone?: boolean }): void;
  /** Live (unexpired, not lost) subscriptions. */
  subscriptions(): GraphSubscription[];
  /**
   * The current directory as a tenant file (live users with their direct licenses, groups, seats),
   * e.g. to persist the sample tenant between CLI runs. Inherited paths are recomputed on load.
   */
  exportTenant(): TenantFile;
}

export interface Simulator {
  /** e.g. `http://127.0.0.1:53412` (no `/v1.0`). */
  url: string;
  counters: SimulatorCounters;
  requests: RecordedRequest[];
  faults: SimulatorFaults;
  tenant: TenantState;
  /** What the throttling limits did so far; `null` when throttling is off. */
  throttleStats(): ThrottleStats | null;
  close(): Promise<void>;
}
