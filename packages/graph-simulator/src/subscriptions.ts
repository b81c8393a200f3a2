/**
 * Change-notification subscriptions on users and the notifications themselves.
 * Sources: learn.microsoft.com/graph/api/subscription-post-subscriptions, .../subscription-update,
 * .../subscription-get, .../subscription-delete, .../subscription-reauthorize,
 * learn.microsoft.com/graph/change-notifications-delivery-webhooks (validation, delivery),
 * learn.microsoft.com/graph/change-notifications-lifecycle-events, learn.microsoft.com/graph/api/resources/changenotification.
 */
import { randomUUID } from 'node:crypto';
import type { GraphSubscription } from './graph-resources.js';
import { isRecord, type Reply, type RequestContext } from './context.js';
import type { ChangeType, Directory, UserRecord } from './directory.js';
import { GraphHttpError } from './errors.js';
import type { NotificationDelivery } from './types.js';

/** api/resources/subscription, "Maximum length of subscription per resource type": users 41,760 minutes. */
const USER_SUBSCRIPTION_MAX_MINUTES = 41_760;
/** api/resources/subscription: clientState is at most 128 characters. */
const MAX_CLIENT_STATE = 128;
/** The simulated app registration the subscriptions belong to. */
const APPLICATION_ID = '24d3b144-21ae-4080-943f-7067b395b913';

interface SubscriptionRecord {
  sub: GraphSubscription & { applicationId: string; creatorId: string; latestSupportedTlsVersion: string };
  lost: boolean;
}

interface QueuedItem {
  subscriptionId: string;
  item: Record<string, unknown>;
}

export class Subscriptions {
  readonly #subs = new Map<string, SubscriptionRecord>();
  #queue: QueuedItem[] = [];
  readonly #dir: Directory;
  readonly #timeoutMs: number;

  constructor(dir: Directory, timeoutMs: number) {
    this.#dir = dir;
    this.#timeoutMs = timeoutMs;
    dir.onChange((user, changeType) => this.#queueChange(user, changeType));
  }

  // ---- HTTP handlers ----

  async create(ctx: RequestContext): Promise<Reply> {
    const body = ctx.body;
    if (!isRecord(body)) throw invalidRequest('A subscription object is expected in the request body.');
    for (const field of ['changeType', 'notificationUrl', 'resource', 'expirationDateTime']) {
      if (typeof body[field] !== 'string' || body[field] === '') {
        throw invalidRequest(`The '${field}' property is required.`);
      }
    }
    const resource = String(body['resource']);
    // subscription-post-subscriptions: users are subscribed to as "users" (or "/users").
    if (resource.replace(/^\//, '').toLowerCase() !== 'users') {
      throw invalidRequest(
        `Resource '${resource}' is not supported by this simulator; subscribe to 'users'.`,
      );
    }
    const changeType = parseChangeType(String(body['changeType']));
    const expiration = parseExpiration(body['expirationDateTime'], this.#dir.now());
    const clientState = body['clientState'];
    if (clientState !== undefined && clientState !== null) {
      if (typeof clientState !== 'string' || clientState.length > MAX_CLIENT_STATE) {
        throw invalidRequest(
          `The 'clientState' property must be a string of at most ${MAX_CLIENT_STATE} characters.`,
        );
      }
    }
    const notificationUrl = parseUrl(body['notificationUrl'], 'notificationUrl');
    const lifecycleRaw = body['lifecycleNotificationUrl'];
    const lifecycleNotificationUrl =
      lifecycleRaw === undefined || lifecycleRaw === null
        ? null
        : parseUrl(lifecycleRaw, 'lifecycleNotificationUrl');

    // change-notifications-delivery-webhooks, "Notification endpoint validation": both URLs are validated.
    await this.#validateEndpoint(notificationUrl);
    if (lifecycleNotificationUrl !== null) await this.#validateEndpoint(lifecycleNotificationUrl);

    const sub: SubscriptionRecord['sub'] = {
      id: randomUUID(),
      resource,
      applicationId: APPLICATION_ID,
      changeType,
      clientState: typeof clientState === 'string' ? clientState : null,
      notificationUrl,
      lifecycleNotificationUrl,
      expirationDateTime: expiration.toISOString(),
      creatorId: APPLICATION_ID,
      latestSupportedTlsVersion: 'v1_2',
    };
    this.#subs.set(sub.id, { sub, lost: false });
    // subscription-post-subscriptions: "201 Created" with the subscription.
    return {
      status: 201,
      body: { '@odata.context': `${ctx.baseUrl}/v1.0/$metadata#subscriptions/$entity`, ...sub },
    };
  }

  get(ctx: RequestContext, id: string): Reply {
    const rec = this.#live(id);
    return {
      status: 200,
      body: { '@odata.context': `${ctx.baseUrl}/v1.0/$metadata#subscriptions/$entity`, ...rec.sub },
    };
  }

  renew(ctx: RequestContext, id: string): Reply {
    const rec = this.#live(id);
    const body = ctx.body;
    if (!isRecord(body) || typeof body['expirationDateTime'] !== 'string') {
      throw invalidRequest("The 'expirationDateTime' property is required.");
    }
    // subscription-update: only expirationDateTime (and notificationUrl) may change; same limits as on create.
    rec.sub.expirationDateTime = parseExpiration(body['expirationDateTime'], this.#dir.now()).toISOString();
    return {
      status: 200,
      body: { '@odata.context': `${ctx.baseUrl}/v1.0/$metadata#subscriptions/$entity`, ...rec.sub },
    };
  }

  delete(id: string): Reply {
    this.#live(id);
    this.#subs.delete(id);
    this.#queue = this.#queue.filter((q) => q.subscriptionId !== id);
    // subscription-delete: "204 No Content".
    return { status: 204 };
  }

  reauthorize(id: string): Reply {
    this.#live(id);
    // subscription-reauthorize: "If successful, this action returns a 204 No Content response code."
    return { status: 204 };
  }

  // ---- test-facing operations ----

  list(): GraphSubscription[] {
    const now = this.#dir.now().getTime();
    return [...this.#subs.values()]
      .filter((r) => !r.lost && Date.parse(r.sub.expirationDateTime) > now)
      .map((r) => ({ ...r.sub }));
  }

  lose(id: string): void {
    const rec = this.#subs.get(id);
    if (rec === undefined) throw new Error(`No subscription ${id}`);
    rec.lost = true;
  }

  pending(): number {
    return this.#queue.length;
  }

  /**
   * Sends queued notifications, one POST per subscription with every item in `value`. Items a
   * subscriber does not accept with 2xx stay queued for the next flush (Graph retries failed
   * deliveries for up to 4 hours: change-notifications-delivery-webhooks, "Processing the change notification").
   */
  async flush(): Promise<NotificationDelivery[]> {
    const queued = this.#queue;
    this.#queue = [];
    const bySub = new Map<string, Record<string, unknown>[]>();
    for (const q of queued) {
      const list = bySub.get(q.subscriptionId) ?? [];
      list.push(q.item);
      bySub.set(q.subscriptionId, list);
    }
    const deliveries: NotificationDelivery[] = [];
    for (const [subscriptionId, items] of bySub) {
      const rec = this.#subs.get(subscriptionId);
      if (rec === undefined || rec.lost) continue;
      const result = await this.#post(rec.sub.notificationUrl, { value: items });
      deliveries.push({ subscriptionId, url: rec.sub.notificationUrl, count: items.length, ...result });
      if (result.status < 200 || result.status > 299) {
        this.#queue.push(...items.map((item) => ({ subscriptionId, item })));
      }
    }
    return deliveries;
  }

  /** change-notifications-lifecycle-events: `reauthorizationRequired` goes to lifecycleNotificationUrl. */
  async lifecycle(subscriptionId: string, event: 'reauthorizationRequired'): Promise<NotificationDelivery> {
    const rec = this.#subs.get(subscriptionId);
    if (rec === undefined || rec.lost) throw new Error(`No subscription ${subscriptionId}`);
    const url = rec.sub.lifecycleNotificationUrl;
    if (url === null || url === undefined) {
      throw new Error(
        `Subscription ${subscriptionId} has no lifecycleNotificationUrl; Graph sends lifecycle events only there`,
      );
    }
    const item = {
      subscriptionId,
      subscriptionExpirationDateTime: rec.sub.expirationDateTime,
      tenantId: this.#dir.tenantId,
      clientState: rec.sub.clientState ?? null,
      lifecycleEvent: event,
    };
    const result = await this.#post(url, { value: [item] });
    return { subscriptionId, url, count: 1, ...result };
  }

  // ---- internals ----

  #live(id: string): SubscriptionRecord {
    const rec = this.#subs.get(id);
    // Expired subscriptions are removed by Graph (api/resources/subscription); lost ones are simply gone.
    if (
      rec === undefined ||
      rec.lost ||
      Date.parse(rec.sub.expirationDateTime) <= this.#dir.now().getTime()
    ) {
      throw new GraphHttpError(
        404,
        'ResourceNotFound',
        `The object was not found. Subscription '${id}' does not exist.`,
      );
    }
    return rec;
  }

  #queueChange(user: UserRecord, changeType: ChangeType): void {
    const now = this.#dir.now().getTime();
    for (const rec of this.#subs.values()) {
      if (rec.lost || Date.parse(rec.sub.expirationDateTime) <= now) continue;
      if (!rec.sub.changeType.split(',').includes(changeType)) continue;
      const id = user.props.id;
      // api/resources/changenotification; users get basic notifications (no resource data, no validationTokens).
      this.#queue.push({
        subscriptionId: rec.sub.id,
        item: {
          subscriptionId: rec.sub.id,
          subscriptionExpirationDateTime: rec.sub.expirationDateTime,
          changeType,
          resource: `Users/${id}`,
          resourceData: {
            '@odata.type': '#Microsoft.Graph.User',
            '@odata.id': `Users/${id}`,
            id,
            organizationId: this.#dir.tenantId,
          },
          clientState: rec.sub.clientState ?? null,
          tenantId: this.#dir.tenantId,
        },
      });
    }
  }

  /**
   * change-notifications-delivery-webhooks, "Notification endpoint validation": Graph POSTs
   * `{notificationUrl}?validationToken={opaque token}` (text/plain) and needs, within 10 seconds,
   * 200 OK, Content-Type text/plain and the URL-decoded token as the body. Real tokens contain
   * spaces and colons ("Validation: Testing client application reachability for subscription Request-Id: …").
   */
  async #validateEndpoint(url: string): Promise<void> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const target = `${url}${url.includes('?') ? '&' : '?'}validationToken=${encodeURIComponent(token)}`;
    let status: number;
    let text: string;
    let contentType: string;
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: '',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = res.status;
      contentType = res.headers.get('content-type') ?? '';
      text = await res.text();
    } catch (cause) {
      throw new GraphHttpError(
        400,
        'ValidationError',
        `Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. (${describe(cause)})`,
      );
    }
    if (status !== 200) {
      throw new GraphHttpError(
        400,
        'ValidationError',
        `Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request. Got ${status}.`,
      );
    }
    if (!contentType.toLowerCase().startsWith('text/plain') || text !== token) {
      throw new GraphHttpError(
        400,
        'ValidationError',
        'Subscription validation request failed. Response must exactly match validationToken query parameter.',
      );
    }
  }

  async #post(url: string, body: unknown): Promise<{ status: number; error?: string }> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await res.arrayBuffer();
      return { status: res.status };
    } catch (cause) {
      return { status: 0, error: describe(cause) };
    }
  }
}

function invalidRequest(message: string): GraphHttpError {
  return new GraphHttpError(400, 'InvalidRequest', message);
}

/** Users support `updated` and `deleted` only (api/resources/subscription, changeType). */
function parseChangeType(raw: string): string {
  const parts = raw.split(',').map((s) => s.trim());
  for (const p of parts) {
    if (p !== 'updated' && p !== 'deleted') throw invalidRequest(`Invalid 'changeType' attribute: '${p}'.`);
  }
  return [...new Set(parts)].join(',');
}

function parseExpiration(raw: unknown, now: Date): Date {
  const ms = typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(ms)) throw invalidRequest(`Invalid 'expirationDateTime': '${String(raw)}'.`);
  if (ms <= now.getTime()) throw invalidRequest('Subscription expiration must be in the future.');
  if (ms > now.getTime() + USER_SUBSCRIPTION_MAX_MINUTES * 60_000) {
    // The wording Graph uses for an over-long subscription (api/resources/subscription, maximum length).
    throw invalidRequest(
      `Subscription expiration can only be ${USER_SUBSCRIPTION_MAX_MINUTES} minutes in the future.`,
    );
  }
  return new Date(ms);
}

/**
 * Graph requires HTTPS notification URLs; the simulator also accepts http on loopback so tests
 * can run a plain node:http endpoint.
 */
function parseUrl(raw: unknown, field: string): string {
  if (typeof raw !== 'string') throw invalidRequest(`The '${field}' property must be a URL.`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidRequest(`The '${field}' property must be an absolute URL.`);
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw invalidRequest(`The '${field}' must be an HTTPS URL.`);
  }
  return raw;
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
