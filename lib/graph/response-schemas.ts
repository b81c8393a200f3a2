/**
 * Schemas of the Graph envelopes the gateway reads (collections, delta pages, function results),
 * built on the entity schemas in ./types.ts.
 */
import { z } from 'zod';
import { graphUserSchema, subscribedSkuSchema } from './types.js';

/** An OData collection page: `value` plus an optional `@odata.nextLink`. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    value: z.array(item),
    '@odata.nextLink': z.string().optional(),
  });
}

/** A page of /users. */
export const userPageSchema = pageSchema(graphUserSchema);
/** GET /subscribedSkus. */
export const skuPageSchema = pageSchema(subscribedSkuSchema);

/** `checkMemberGroups` answers `{ value: [groupId, …] }`. */
export const idListSchema = z.object({ value: z.array(z.string()) });

/**
 * A user removed since the last delta round: `{ id, "@removed": { reason } }` with reason
 * `changed` (soft-deleted, restorable for 30 days) or `deleted` (gone)
 * (learn.microsoft.com/graph/api/user-delta).
 */
export const removedItemSchema = z.object({
  id: z.string(),
  '@removed': z.object({ reason: z.string().default('changed') }),
});

/**
 * A changed user in a delta page. Graph documents that an updated instance carries its id and "at
 * least the updated properties", so a property the rules need may be missing; `userPrincipalName`
 * then reads as ''. Consumers treat delta users as hints and re-read the user before acting.
 */
export const deltaUserSchema = graphUserSchema.extend({ userPrincipalName: z.string().default('') });

/** A /users/delta page before its items are told apart (changed user or `@removed`). */
export const deltaEnvelopeSchema = z.object({
  value: z.array(z.record(z.string(), z.unknown())),
  '@odata.nextLink': z.string().optional(),
  '@odata.deltaLink': z.string().optional(),
});

/** GET /groups/{id}?$select=id,displayName (learn.microsoft.com/graph/api/group-get). */
export const groupNameSchema = z.object({ id: z.string(), displayName: z.string().nullish() });
