/**
 * The Graph v1.0 shapes this app depends on, parsed at the edge (STYLE.md principle 5).
 * Source: learn.microsoft.com/graph/api/resources/user, .../assignedlicense,
 * .../licenseassignmentstate, .../subscribedsku.
 */
import { z } from 'zod';

/** A directly assigned license as Graph reports it in `assignedLicenses`. */
export const assignedLicenseSchema = z.object({
  skuId: z.string(),
  disabledPlans: z.array(z.string()).default([]),
});
export type AssignedLicense = z.infer<typeof assignedLicenseSchema>;

/**
 * One license assignment path (direct or through a group). `assignedByGroup` is null for a
 * direct assignment. `error` values seen: CountViolation, MutuallyExclusiveViolation,
 * DependencyViolation, ProhibitedInUsageLocationViolation, UniquenessViolation, Other/Others.
 */
export const licenseAssignmentStateSchema = z.object({
  skuId: z.string(),
  disabledPlans: z.array(z.string()).default([]),
  assignedByGroup: z.string().nullish(),
  state: z.string().nullish(),
  error: z.string().nullish(),
  lastUpdatedDateTime: z.string().nullish(),
});
export type LicenseAssignmentState = z.infer<typeof licenseAssignmentStateSchema>;

export const EXTENSION_ATTRIBUTE_NAMES = Array.from(
  { length: 15 },
  (_, i) => `extensionAttribute${i + 1}` as const,
);
export type ExtensionAttributeName = (typeof EXTENSION_ATTRIBUTE_NAMES)[number];

export const onPremisesExtensionAttributesSchema = z
  .object(
    Object.fromEntries(EXTENSION_ATTRIBUTE_NAMES.map((n) => [n, z.string().nullish()])) as Record<
      ExtensionAttributeName,
      z.ZodOptional<z.ZodNullable<z.ZodString>>
    >,
  )
  .partial();

/**
 * A service plan the user holds (learn.microsoft.com/graph/api/resources/assignedplan): what
 * `user.assignedPlans -any (...)` in an Entra membership rule tests.
 */
export const assignedPlanSchema = z.object({
  assignedDateTime: z.string().nullish(),
  capabilityStatus: z.string().nullish(),
  service: z.string().nullish(),
  servicePlanId: z.string().nullish(),
});
export type AssignedPlan = z.infer<typeof assignedPlanSchema>;

/** User properties only Entra-syntax rules read (learn.microsoft.com/graph/api/resources/user). */
const entraRuleUserFields = {
  city: z.string().nullish(),
  state: z.string().nullish(),
  postalCode: z.string().nullish(),
  streetAddress: z.string().nullish(),
  givenName: z.string().nullish(),
  surname: z.string().nullish(),
  mailNickname: z.string().nullish(),
  officeLocation: z.string().nullish(),
  mobilePhone: z.string().nullish(),
  businessPhones: z.array(z.string()).nullish(),
  faxNumber: z.string().nullish(),
  preferredLanguage: z.string().nullish(),
  passwordPolicies: z.string().nullish(),
  onPremisesDistinguishedName: z.string().nullish(),
  onPremisesSecurityIdentifier: z.string().nullish(),
  onPremisesSamAccountName: z.string().nullish(),
  proxyAddresses: z.array(z.string()).nullish(),
  otherMails: z.array(z.string()).nullish(),
  assignedPlans: z.array(assignedPlanSchema).nullish(),
};

/** The user attributes rules can test, plus the license state the planner needs. */
export const graphUserSchema = z.object({
  id: z.string(),
  userPrincipalName: z.string(),
  displayName: z.string().nullish(),
  mail: z.string().nullish(),
  accountEnabled: z.boolean().nullish(),
  usageLocation: z.string().nullish(),
  department: z.string().nullish(),
  jobTitle: z.string().nullish(),
  companyName: z.string().nullish(),
  country: z.string().nullish(),
  employeeId: z.string().nullish(),
  employeeType: z.string().nullish(),
  userType: z.string().nullish(),
  onPremisesSyncEnabled: z.boolean().nullish(),
  onPremisesImmutableId: z.string().nullish(),
  onPremisesExtensionAttributes: onPremisesExtensionAttributesSchema.nullish(),
  createdDateTime: z.string().nullish(),
  // Read only when an `entra:` rule tests them (see lib/rules/entra/properties.ts).
  ...entraRuleUserFields,
  assignedLicenses: z.array(assignedLicenseSchema).default([]),
  licenseAssignmentStates: z.array(licenseAssignmentStateSchema).default([]),
});
export type GraphUser = z.infer<typeof graphUserSchema>;

/** Attributes always selected, whatever the rules use: identity and license state. */
export const BASE_USER_SELECT = [
  'id',
  'userPrincipalName',
  'displayName',
  'accountEnabled',
  'usageLocation',
  'assignedLicenses',
  'licenseAssignmentStates',
] as const;

export const servicePlanInfoSchema = z.object({
  servicePlanId: z.string(),
  servicePlanName: z.string(),
  provisioningStatus: z.string().nullish(),
  appliesTo: z.string().nullish(),
});
export type ServicePlanInfo = z.infer<typeof servicePlanInfoSchema>;

export const subscribedSkuSchema = z.object({
  id: z.string().nullish(),
  skuId: z.string(),
  skuPartNumber: z.string(),
  appliesTo: z.string().nullish(),
  capabilityStatus: z.string(),
  consumedUnits: z.number().int(),
  prepaidUnits: z.object({
    enabled: z.number().int(),
    suspended: z.number().int().default(0),
    warning: z.number().int().default(0),
    lockedOut: z.number().int().default(0),
  }),
  servicePlans: z.array(servicePlanInfoSchema).default([]),
});
export type SubscribedSku = z.infer<typeof subscribedSkuSchema>;

/** Body of POST /users/{id}/assignLicense. Both arrays are always sent (Graph answers 400 otherwise). */
export interface AssignLicenseBody {
  addLicenses: { skuId: string; disabledPlans: string[] }[];
  removeLicenses: string[];
}

/** A page of /users/delta: users changed since the last token, or `@removed` tombstones. */
export interface DeltaPage {
  users: GraphUser[];
  /** Graph documents the reasons `changed` (soft delete) and `deleted` (hard delete). */
  removed: { id: string; reason: string }[];
  nextLink?: string;
  deltaLink?: string;
}

/** A Graph change-notification subscription (learn.microsoft.com/graph/api/resources/subscription). */
export const subscriptionSchema = z.object({
  id: z.string(),
  resource: z.string(),
  changeType: z.string(),
  notificationUrl: z.string(),
  lifecycleNotificationUrl: z.string().nullish(),
  expirationDateTime: z.string(),
  clientState: z.string().nullish(),
});
export type GraphSubscription = z.infer<typeof subscriptionSchema>;
