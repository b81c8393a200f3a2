/**
 * Graph's changeNotificationCollection as it reaches us (learn.microsoft.com/graph/api/resources/
 * changenotificationcollection and .../changenotification). Objects are loose: Graph adds fields
 * over time and unknown fields must not turn a delivery into a 400.
 */
import { z } from 'zod';

const resourceDataSchema = z.looseObject({
  '@odata.type': z.string().optional(),
  '@odata.id': z.string().optional(),
  id: z.string().min(1).optional(),
});

/**
 * One item: a change notification (`changeType` + `resource`) or a lifecycle notification
 * (`lifecycleEvent`, no resource). `clientState` is not required here: an item without it fails
 * the clientState check and is dropped, it does not spoil the rest of the batch.
 */
export const changeNotificationSchema = z
  .looseObject({
    subscriptionId: z.string().min(1).max(256),
    changeType: z.string().min(1).optional(),
    resource: z.string().min(1).optional(),
    resourceData: resourceDataSchema.optional(),
    clientState: z.string().nullish(),
    tenantId: z.string().optional(),
    subscriptionExpirationDateTime: z.string().optional(),
    lifecycleEvent: z.string().min(1).optional(),
  })
  .refine((n) => n.lifecycleEvent !== undefined || n.changeType !== undefined, {
    message: 'an item needs changeType (a change) or lifecycleEvent (a lifecycle notification)',
  })
  .refine((n) => n.lifecycleEvent !== undefined || n.resource !== undefined || n.resourceData?.id, {
    message: 'a change notification needs resource or resourceData.id',
  });
export type ChangeNotification = z.infer<typeof changeNotificationSchema>;

export const changeNotificationCollectionSchema = z.looseObject({
  value: z.array(changeNotificationSchema),
});

// Graph user object ids are GUIDs; this stays a little wider (no slash, nothing that could
// escape a table key or a URL path) so a test tenant with other ids still works.
const USER_ID = /^[A-Za-z0-9-]{1,64}$/;
const USER_RESOURCE = /^\/?users\/([^/?#]+)$/i;

/**
 * The user's object id, or null when the item is not about a user. Basic user notifications carry
 * `resource: "Users/{id}"` and `resourceData.id`; the latter is preferred, the path is the fallback.
 */
export function userIdOf(n: ChangeNotification): string | null {
  const fromResource = n.resource ? USER_RESOURCE.exec(n.resource)?.[1] : undefined;
  if (n.resource !== undefined && fromResource === undefined) return null;
  const id = n.resourceData?.id ?? fromResource;
  return id !== undefined && USER_ID.test(id) ? id : null;
}
