/**
 * Graph's documented throttling of the identity and access service, optional (off unless the
 * tenant file or the start options turn it on), so tests stay fast and the benchmark can measure
 * a client against the limits a real tenant enforces.
 *
 * Source: learn.microsoft.com/graph/throttling-limits, "Identity and access service limits":
 * - "Throttling is based on a token bucket algorithm, which works by adding individual costs of
 *   requests." Limits per application + tenant pair: resource units (RU) 3,500 / 5,000 / 8,000 per
 *   10 s for tenants under 50 / 50 to 500 / over 500 users, and 3,000 writes per 2 min 30 s; per
 *   tenant (all apps): 18,000 writes per 5 min. (The per-application limits across all tenants,
 *   150,000 RU per 20 s and 70,000 writes per 5 min, cannot bind in a one-tenant simulator.)
 * - Costs: GET users 2, GET subscribedSkus 3, (me|users/{id})/checkMemberGroups 4 ("any request
 *   cost that applies to a request path starting with me/ also applies to equivalent requests
 *   starting with users/{id | userPrincipalName}/"); any other identity GET 1; POST, PATCH, PUT,
 *   DELETE 1 RU plus 1 write. `$select` takes 1 off, `$expand` adds 1, `$top` under 20 takes 1
 *   off; a cost is never below 1.
 * - Responses carry `x-ms-resource-unit` (the request's cost) and, "only when the application
 *   consumed more than 0.8 of its limit", `x-ms-throttle-limit-percentage` ("ranges from 0.8 to
 *   1.8"). A 429 carries `Retry-After` (seconds), `x-ms-throttle-scope`
 *   (`<Scope>/<Limit>/<ApplicationId>/<TenantId>`, Limit Read | Write | ReadWrite) and
 *   `x-ms-throttle-information` (e.g. `WriteLimitExceeded`, `ResourceUnitLimitExceeded`).
 * - learn.microsoft.com/graph/throttling: "Microsoft Graph continues to log resource usage while a
 *   client is being throttled", so a refused request is charged too (the bucket may go below zero,
 *   down to the 1.8 the percentage header can show) unless `chargeThrottled` is false.
 *
 * Change notification subscriptions are not identity resources and are not limited here.
 */
import { z } from 'zod';
import { GraphHttpError } from './errors.js';
import type { RequestKind } from './types.js';

/** Requests the identity limits apply to; the others (subscriptions, unknown paths) pass free. */
const IDENTITY_KINDS: ReadonlySet<RequestKind> = new Set([
  'listUsers',
  'getUser',
  'patchUser',
  'assignLicense',
  'subscribedSkus',
  'checkMemberGroups',
  'delta',
]);

/** Directory writes (1 RU plus 1 write); checkMemberGroups is a POST that only reads. */
const WRITE_KINDS: ReadonlySet<RequestKind> = new Set(['patchUser', 'assignLicense']);

/** Base cost before query adjustments (learn.microsoft.com/graph/throttling-limits, cost table). */
const BASE_COST: Partial<Record<RequestKind, number>> = {
  listUsers: 2,
  subscribedSkus: 3,
  checkMemberGroups: 4,
};

/** A fixed application id for `x-ms-throttle-scope`: the simulator does not tell apps apart. */
export const SIMULATED_APP_ID = '5e3ce6c0-2b1f-4285-8d4b-75ee78787346';

/** What the tenant file or the start options may say; every field has the documented default. */
export const throttlingSettingsSchema = z.object({
  /** RU per 10 s per app and tenant; by default from the tenant's user count (S / M / L). */
  resourceUnitsPer10s: z.number().positive().optional(),
  /** Writes per 150 s per app and tenant (documented: 3,000). */
  writesPer150s: z.number().positive().default(3_000),
  /** Writes per 300 s per tenant, all apps (documented: 18,000). */
  tenantWritesPer300s: z.number().positive().default(18_000),
  /**
   * How full every bucket starts, 0 to 1. 1 (default): an app that has been idle. 0: an app that
   * has just spent its budget, the only state in which no client can beat `writes ÷ rate`.
   */
  initialFill: z.number().min(0).max(1).default(1),
  /** Charge refused requests too (Graph "continues to log resource usage while throttled"). */
  chargeThrottled: z.boolean().default(true),
});
export type ThrottlingSettings = z.infer<typeof throttlingSettingsSchema>;
export type ThrottlingInput = z.input<typeof throttlingSettingsSchema>;

/** `true` turns the documented limits on with their defaults; an object adjusts them. */
export const throttlingOptionSchema = z.union([z.boolean(), throttlingSettingsSchema]);

/** RU per 10 s per app and tenant for a tenant of this many users (S < 50 ≤ M ≤ 500 < L). */
export function resourceUnitsPer10sFor(users: number): number {
  if (users < 50) return 3_500;
  if (users <= 500) return 5_000;
  return 8_000;
}

/** The cost of one request as Graph's table and query rules put it. */
export function requestCost(
  kind: RequestKind,
  query: Readonly<Record<string, string>>,
): { resourceUnits: number; writes: number } {
  if (!IDENTITY_KINDS.has(kind)) return { resourceUnits: 0, writes: 0 };
  if (WRITE_KINDS.has(kind)) return { resourceUnits: 1, writes: 1 };
  let cost = BASE_COST[kind] ?? 1;
  if (query['$select'] !== undefined) cost -= 1;
  if (query['$expand'] !== undefined) cost += 1;
  const top = Number(query['$top']);
  if (query['$top'] !== undefined && Number.isFinite(top) && top < 20) cost -= 1;
  return { resourceUnits: Math.max(1, cost), writes: 0 };
}

/** One token bucket refilling continuously; its level may go below zero (charged refusals). */
class Bucket {
  readonly capacity: number;
  readonly #perMs: number;
  readonly #floor: number;
  #level: number;
  #at: number;

  constructor(capacity: number, windowSeconds: number, fill: number, nowMs: number) {
    this.capacity = capacity;
    this.#perMs = capacity / (windowSeconds * 1000);
    // The percentage header tops out at 1.8: usage of at most 1.8 times the limit is remembered.
    this.#floor = -0.8 * capacity;
    this.#level = capacity * fill;
    this.#at = nowMs;
  }

  level(nowMs: number): number {
    if (nowMs > this.#at) {
      this.#level = Math.min(this.capacity, this.#level + (nowMs - this.#at) * this.#perMs);
      this.#at = nowMs;
    }
    return this.#level;
  }

  /** Milliseconds until `cost` tokens are there (0 if they are now). */
  waitMs(cost: number, nowMs: number): number {
    const missing = cost - this.level(nowMs);
    return missing <= 0 ? 0 : missing / this.#perMs;
  }

  charge(cost: number, nowMs: number): void {
    this.#level = Math.max(this.#floor, this.level(nowMs) - cost);
  }

  /** Share of the limit used: (capacity − level) / capacity, 0 to 1.8. */
  used(nowMs: number): number {
    return (this.capacity - this.level(nowMs)) / this.capacity;
  }
}

interface Limit {
  bucket: Bucket;
  /** `x-ms-throttle-scope` without the ids: e.g. `Tenant_Application/Write`. */
  scope: string;
  information: string;
  appliesTo: 'resourceUnits' | 'writes';
}

/** Counts of what the throttle did, for tests and the benchmark. */
export interface ThrottleStats {
  /** Requests the identity limits applied to. */
  checked: number;
  /** Requests answered 429 by the limits (injected faults are not counted here). */
  throttled: number;
  /** Resource units charged, refused requests included. */
  resourceUnits: number;
}

/** The limits of one simulated tenant, checked on every request before it is handled. */
export class Throttle {
  readonly settings: Readonly<ThrottlingSettings & { resourceUnitsPer10s: number }>;
  readonly #limits: Limit[];
  readonly #tenantId: string;
  readonly #stats: ThrottleStats = { checked: 0, throttled: 0, resourceUnits: 0 };

  constructor(settings: ThrottlingSettings, tenant: { tenantId: string; users: number }, nowMs: number) {
    const ru = settings.resourceUnitsPer10s ?? resourceUnitsPer10sFor(tenant.users);
    this.settings = { ...settings, resourceUnitsPer10s: ru };
    this.#tenantId = tenant.tenantId;
    const fill = settings.initialFill;
    this.#limits = [
      {
        bucket: new Bucket(ru, 10, fill, nowMs),
        // The RU quota counts every request of the app in the tenant, reads and writes alike.
        scope: 'Tenant_Application/ReadWrite',
        information: 'ResourceUnitLimitExceeded',
        appliesTo: 'resourceUnits',
      },
      {
        bucket: new Bucket(settings.writesPer150s, 150, fill, nowMs),
        scope: 'Tenant_Application/Write',
        information: 'WriteLimitExceeded',
        appliesTo: 'writes',
      },
      {
        bucket: new Bucket(settings.tenantWritesPer300s, 300, fill, nowMs),
        scope: 'Tenant/Write',
        information: 'WriteLimitExceeded',
        appliesTo: 'writes',
      },
    ];
  }

  stats(): ThrottleStats {
    return { ...this.#stats };
  }

  /**
   * Admits or refuses one request. Returns the headers to add to its answer; throws the 429 (a
   * `GraphHttpError` with Graph's headers) when a limit is exhausted.
   */
  admit(kind: RequestKind, query: Readonly<Record<string, string>>, nowMs: number): Record<string, string> {
    const cost = requestCost(kind, query);
    if (cost.resourceUnits === 0) return {};
    this.#stats.checked++;
    this.#stats.resourceUnits += cost.resourceUnits;
    const applicable = this.#limits.filter((l) => cost[l.appliesTo] > 0);
    const exhausted = applicable.filter((l) => l.bucket.waitMs(cost[l.appliesTo], nowMs) > 0);
    if (exhausted.length === 0 || this.settings.chargeThrottled) {
      for (const limit of applicable) limit.bucket.charge(cost[limit.appliesTo], nowMs);
    }
    const headers: Record<string, string> = { 'x-ms-resource-unit': String(cost.resourceUnits) };
    const used = Math.max(...applicable.map((l) => l.bucket.used(nowMs)));
    // "Returned only when the application consumed more than 0.8 of its limit"; two decimals, as
    // the documentation gives no precision and a client must not depend on more.
    if (used > 0.8) headers['x-ms-throttle-limit-percentage'] = Math.min(1.8, used).toFixed(2);
    if (exhausted.length === 0) return headers;
    this.#stats.throttled++;
    // Retry-After after the refusal was charged: a client that waits exactly that long gets in
    // (unless others spend the refill first). The scope named is the limit with the longest wait.
    const { limit, waitMs } = exhausted
      .map((l) => ({ limit: l, waitMs: l.bucket.waitMs(cost[l.appliesTo], nowMs) }))
      .reduce((a, b) => (b.waitMs > a.waitMs ? b : a));
    throw new GraphHttpError(429, 'TooManyRequests', 'Too many requests. Please try again later.', {
      ...headers,
      // Whole seconds, at least 1, as Graph sends them.
      'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))),
      'x-ms-throttle-scope': `${limit.scope}/${SIMULATED_APP_ID}/${this.#tenantId}`,
      'x-ms-throttle-information': limit.information,
    });
  }
}
