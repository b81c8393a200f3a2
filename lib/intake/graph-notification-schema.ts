/**
 * Graph's changeNotificationCollection as it reaches us (learn.microsoft.com/graph/api/resources/
 * changenotificationcollection and .../changenotification). Objects are loose: Graph adds fields
 * over time and unknown fields must not turn a delivery into a 400.
 *
 * The collection is checked in two steps, so an unauthenticated sender costs little: the body must
 * be an object with a `value` array of at most {@link MAX_NOTIFICATION_ITEMS} items (checked
 * without a schema), and each item is parsed with {@link changeNotificationSchema} only after its
 * clientState matched (see graph-notifications.ts).
 */
import { z } from 'zod';

/**
 * The most items one request may hold. Graph's basic user notifications are about 450 bytes each,
 * so the 1 MiB body cap already stops a real batch near 2,300; this bound is for bodies of tiny
 * fake items (`{}` is 3 bytes), which would otherwise cost a check each.
 */
export const MAX_NOTIFICATION_ITEMS = 2_500;

const resourceDataSchema = z.looseObject({
  '@odata.type': z.string().max(256).optional(),
  '@odata.id': z.string().max(1_024).optional(),
  id: z.string().min(1).max(256).optional(),
});

/**
 * One item: a change notification (`changeType` + `resource`) or a lifecycle notification
 * (`lifecycleEvent`, no resource). Every string is bounded, so nothing the sender puts in an item
 * is ever long in a log line or a table key.
 */
export const changeNotificationSchema = z
  .looseObject({
    subscriptionId: z.string().min(1).max(256),
    changeType: z.string().min(1).max(64).optional(),
    resource: z.string().min(1).max(1_024).optional(),
    resourceData: resourceDataSchema.optional(),
    // Graph's limit for clientState is 128 characters (api/resources/subscription).
    clientState: z.string().max(128).nullish(),
    tenantId: z.string().max(64).optional(),
    subscriptionExpirationDateTime: z.string().max(64).optional(),
    lifecycleEvent: z.string().min(1).max(64).optional(),
  })
  .refine((n) => n.lifecycleEvent !== undefined || n.changeType !== undefined, {
    message: 'an item needs changeType (a change) or lifecycleEvent (a lifecycle notification)',
  });
export type ChangeNotification = z.infer<typeof changeNotificationSchema>;

/** The items of a change notification collection, or null when the body is not one. */
export function notificationItems(body: unknown): unknown[] | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const value = (body as { value?: unknown }).value;
  return Array.isArray(value) ? (value as unknown[]) : null;
}

/** The `@odata.type` of a user, which Graph spells `#Microsoft.Graph.User` (compared case-insensitively). */
export const USER_ODATA_TYPE = '#microsoft.graph.user';

// Graph user object ids are GUIDs; this stays a little wider (no slash, nothing that could
// escape a table key or a URL path) so a test tenant with other ids still works.
const USER_ID = /^[A-Za-z0-9-]{1,64}$/;
const USER_RESOURCE = /^\/?users\/([^/?#]+)$/i;

/**
 * The user's object id, or null when the item is not a notification about one user. A basic user
 * notification names the user twice (api/resources/changenotification): `resource` is
 * `Users/{id}` (the subscription's resource, `/users`, plus the id) and `resourceData.id` is the
 * id; when `resourceData` says what it is, `@odata.type` is `#Microsoft.Graph.User`. An item that
 * is about something else, or whose two ids disagree, is not a user notification.
 */
export function userIdOf(n: ChangeNotification): string | null {
  const type = n.resourceData?.['@odata.type'];
  if (type !== undefined && type.toLowerCase() !== USER_ODATA_TYPE) return null;
  const fromResource = n.resource === undefined ? undefined : USER_RESOURCE.exec(n.resource)?.[1];
  if (fromResource === undefined || !USER_ID.test(fromResource)) return null;
  const id = n.resourceData?.id;
  if (id !== undefined && id.toLowerCase() !== fromResource.toLowerCase()) return null;
  return id ?? fromResource;
}
