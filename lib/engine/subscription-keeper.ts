/**
 * Keeps one Graph change-notification subscription on /users alive for our notification URL:
 * creates it, renews it well before expiry, and recreates it if Graph lost it. Its state lives in
 * the subscriptions table. Users allow at most 41,760 minutes (under 29 days) per subscription
 * (learn.microsoft.com/graph/api/resources/subscription, "Subscription lifetime").
 */
import type { GraphGateway } from '../graph/gateway.js';
import { isGraphError } from '../graph/graph-error.js';
import type { Logger } from '../log.js';
import type { SubscriptionRecord, SubscriptionStore } from '../store/ports.js';

export const USERS_RESOURCE = '/users';
/** There is no `created` changeType for users; creation arrives as `updated`. */
export const USERS_CHANGE_TYPE = 'updated,deleted';
export const MAX_USER_SUBSCRIPTION_MINUTES = 41_760;
/** Ask for a little less than the maximum so clock skew cannot make Graph refuse the expiry. */
const REQUESTED_MINUTES = MAX_USER_SUBSCRIPTION_MINUTES - 60;
/** Renew when less than this is left (the keeper runs every hour, so there are many chances). */
export const RENEW_WHEN_LEFT_MS = 3 * 24 * 60 * 60_000;

export interface SubscriptionKeeperDeps {
  gateway: GraphGateway;
  store: SubscriptionStore;
  notificationUrl: string;
  clientState: string;
  /** The name of the setting holding the clientState (stored instead of the secret). */
  clientStateRef: string;
  logger: Logger;
  now?: () => Date;
}

export type KeeperAction = 'created' | 'renewed' | 'recreated' | 'kept';

export interface KeeperResult {
  action: KeeperAction;
  subscriptionId: string;
  expirationDateTime: string;
}

function expiryFrom(now: Date): string {
  return new Date(now.getTime() + REQUESTED_MINUTES * 60_000).toISOString();
}

async function create(deps: SubscriptionKeeperDeps, now: Date): Promise<SubscriptionRecord> {
  const sub = await deps.gateway.createSubscription({
    resource: USERS_RESOURCE,
    changeType: USERS_CHANGE_TYPE,
    notificationUrl: deps.notificationUrl,
    // Users only get reauthorizationRequired lifecycle events; they go to the same endpoint.
    lifecycleNotificationUrl: deps.notificationUrl,
    expirationDateTime: expiryFrom(now),
    clientState: deps.clientState,
  });
  const record: SubscriptionRecord = {
    id: sub.id,
    resource: sub.resource,
    changeType: sub.changeType,
    notificationUrl: sub.notificationUrl,
    expirationDateTime: sub.expirationDateTime,
    clientStateRef: deps.clientStateRef,
    updatedAt: now.toISOString(),
  };
  await deps.store.upsert(record);
  return record;
}

/** One pass of the keeper (the timer calls it; so does start-up). */
export async function keepSubscription(deps: SubscriptionKeeperDeps): Promise<KeeperResult> {
  const now = (deps.now ?? (() => new Date()))();
  const log = deps.logger.child({ task: 'subscription-keeper' });
  const mine = (await deps.store.list()).filter(
    (r) => r.notificationUrl === deps.notificationUrl && r.resource.replace(/^\//, '') === 'users',
  );
  // Keep the newest; forget any others (a previous half-finished run), deleting them in Graph too.
  mine.sort((a, b) => b.expirationDateTime.localeCompare(a.expirationDateTime));
  const [current, ...stale] = mine;
  for (const s of stale) {
    await deps.gateway.deleteSubscription(s.id).catch((e: unknown) => {
      if (!isGraphError(e) || e.kind !== 'notFound') throw e;
    });
    await deps.store.delete(s.id);
  }

  if (!current) {
    const created = await create(deps, now);
    log.info({ subscriptionId: created.id, expires: created.expirationDateTime }, 'subscription created');
    return { action: 'created', subscriptionId: created.id, expirationDateTime: created.expirationDateTime };
  }

  const live = await deps.gateway.getSubscription(current.id);
  if (!live) {
    await deps.store.delete(current.id);
    const created = await create(deps, now);
    log.warn({ lost: current.id, subscriptionId: created.id }, 'subscription was gone in Graph; recreated');
    return {
      action: 'recreated',
      subscriptionId: created.id,
      expirationDateTime: created.expirationDateTime,
    };
  }

  const left = new Date(live.expirationDateTime).getTime() - now.getTime();
  if (left > RENEW_WHEN_LEFT_MS) {
    return { action: 'kept', subscriptionId: live.id, expirationDateTime: live.expirationDateTime };
  }
  try {
    const renewed = await deps.gateway.renewSubscription(live.id, expiryFrom(now));
    await deps.store.upsert({
      ...current,
      expirationDateTime: renewed.expirationDateTime,
      updatedAt: now.toISOString(),
    });
    log.info({ subscriptionId: live.id, expires: renewed.expirationDateTime }, 'subscription renewed');
    return { action: 'renewed', subscriptionId: live.id, expirationDateTime: renewed.expirationDateTime };
  } catch (e) {
    if (!isGraphError(e) || e.kind !== 'notFound') throw e;
    await deps.store.delete(current.id);
    const created = await create(deps, now);
    return {
      action: 'recreated',
      subscriptionId: created.id,
      expirationDateTime: created.expirationDateTime,
    };
  }
}

/**
 * Answers a `reauthorizationRequired` lifecycle event: reauthorize, and if Graph no longer knows
 * the subscription, let the keeper recreate it.
 * (learn.microsoft.com/graph/change-notifications-lifecycle-events)
 */
export async function handleReauthorization(
  subscriptionId: string,
  deps: SubscriptionKeeperDeps,
): Promise<KeeperResult> {
  try {
    await deps.gateway.reauthorizeSubscription(subscriptionId);
    const now = (deps.now ?? (() => new Date()))();
    const renewed = await deps.gateway.renewSubscription(subscriptionId, expiryFrom(now));
    const stored = (await deps.store.list()).find((r) => r.id === subscriptionId);
    if (stored)
      await deps.store.upsert({
        ...stored,
        expirationDateTime: renewed.expirationDateTime,
        updatedAt: now.toISOString(),
      });
    return { action: 'renewed', subscriptionId, expirationDateTime: renewed.expirationDateTime };
  } catch (e) {
    if (!isGraphError(e) || e.kind !== 'notFound') throw e;
    return keepSubscription(deps);
  }
}
