/**
 * Sorting the items of one notification request, without I/O, in two steps:
 *
 * 1. {@link screenItems}: is each item authentic (our clientState, checked first and cheaply, so
 *    an anonymous sender never gets an item parsed), well-formed, and from our tenant?
 * 2. {@link sortItems}: given which subscriptions the app owns, which items are user changes that
 *    become jobs (one per user), and which lifecycle events to act on (one per subscription).
 *
 * Everything dropped is counted by reason; nothing the sender wrote is kept for the log except,
 * for an authentic but malformed item, a description by field name (issue-text.ts).
 */
import { changeNotificationSchema, userIdOf, type ChangeNotification } from './graph-notification-schema.js';
import { declaredKeys, describeIssues } from './issue-text.js';

/** A lifecycle notification, handed to the subscription side. */
export interface LifecycleEvent {
  subscriptionId: string;
  /** For users only `reauthorizationRequired` is sent; others are passed on as they come. */
  lifecycleEvent: string;
  subscriptionExpirationDateTime?: string;
}

/** One user change that becomes a job. */
export interface UserChange {
  subscriptionId: string;
  userId: string;
  changeType: string;
}

export interface Screened {
  /** Authentic, well-formed items from our tenant. */
  accepted: ChangeNotification[];
  /** Wrong or missing clientState (anyone may post to the URL; these prove nothing). */
  wrongClientState: number;
  /** Authentic but not a change notification item. */
  malformed: number;
  /** Authentic, but for a tenant other than ours (or naming none, when we know ours). */
  foreignTenant: number;
  /** The first malformed item's problem, by field name (never a value). */
  firstProblem?: string;
}

export interface Sorted {
  changes: UserChange[];
  lifecycle: LifecycleEvent[];
  /** Items for subscriptions the app does not own. */
  unknownSubscription: number;
  /** `deleted` changes: a deleted user holds nothing to license (cleanup prunes their records). */
  deleted: number;
  /** Changes that are not about one user of the subscription's resource. */
  notUser: number;
  /** Repeats within the request (the same user, or a second lifecycle item for one subscription). */
  repeats: number;
}

const ITEM_KEYS = declaredKeys(changeNotificationSchema);

/**
 * Step 1. `tenantId` is the app's tenant (`AZURE_TENANT_ID`) when it knows it: an item from
 * another tenant, or one naming no tenant, is then dropped. Graph puts the tenant in every item
 * (api/resources/changenotification, `tenantId`).
 */
export function screenItems(
  items: readonly unknown[],
  isOurClientState: (received: unknown) => boolean,
  tenantId?: string,
): Screened {
  const screened: Screened = { accepted: [], wrongClientState: 0, malformed: 0, foreignTenant: 0 };
  const tenant = tenantId?.toLowerCase();
  for (const [index, raw] of items.entries()) {
    // Every item, lifecycle ones included: one batch can mix subscriptions (and senders).
    const clientState =
      typeof raw === 'object' && raw !== null ? (raw as { clientState?: unknown }).clientState : undefined;
    if (!isOurClientState(clientState)) {
      screened.wrongClientState += 1;
      continue;
    }
    const parsed = changeNotificationSchema.safeParse(raw);
    if (!parsed.success) {
      screened.malformed += 1;
      screened.firstProblem ??= `value[${String(index)}]: ${describeIssues(parsed.error, ITEM_KEYS)}`;
      continue;
    }
    if (tenant !== undefined && parsed.data.tenantId?.toLowerCase() !== tenant) {
      screened.foreignTenant += 1;
      continue;
    }
    screened.accepted.push(parsed.data);
  }
  return screened;
}

/** The subscription ids the screened items name, for the ownership check. */
export function subscriptionIdsOf(items: readonly ChangeNotification[]): Set<string> {
  return new Set(items.map((i) => i.subscriptionId));
}

/** Step 2. `owned`: the ids among the items' subscriptions that the app owns. */
export function sortItems(items: readonly ChangeNotification[], owned: ReadonlySet<string>): Sorted {
  const sorted: Sorted = {
    changes: [],
    lifecycle: [],
    unknownSubscription: 0,
    deleted: 0,
    notUser: 0,
    repeats: 0,
  };
  const users = new Set<string>();
  const lifecycleFor = new Set<string>();
  for (const item of items) {
    if (!owned.has(item.subscriptionId)) {
      sorted.unknownSubscription += 1;
      continue;
    }
    if (item.lifecycleEvent !== undefined) {
      // Once per subscription per request: each event may mean a Graph call.
      const key = item.subscriptionId.toLowerCase();
      if (lifecycleFor.has(key)) {
        sorted.repeats += 1;
        continue;
      }
      lifecycleFor.add(key);
      sorted.lifecycle.push({
        subscriptionId: item.subscriptionId,
        lifecycleEvent: item.lifecycleEvent,
        ...(item.subscriptionExpirationDateTime === undefined
          ? {}
          : { subscriptionExpirationDateTime: item.subscriptionExpirationDateTime }),
      });
      continue;
    }
    // The schema guarantees changeType on non-lifecycle items.
    const changeType = item.changeType ?? '';
    if (changeType === 'deleted') {
      sorted.deleted += 1;
      continue;
    }
    // `updated` covers creation and soft deletion: users have no `created` change type.
    const userId = userIdOf(item);
    if (userId === null) {
      sorted.notUser += 1;
      continue;
    }
    const key = userId.toLowerCase();
    if (users.has(key)) {
      sorted.repeats += 1;
      continue;
    }
    users.add(key);
    sorted.changes.push({ subscriptionId: item.subscriptionId, userId, changeType });
  }
  return sorted;
}
