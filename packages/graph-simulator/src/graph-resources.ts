/**
 * The Microsoft Graph v1.0 resources the simulator serves, as it renders them. The package keeps
 * its own copy of these shapes so it depends on nothing of the app that uses it; a consumer's own
 * types (the app parses these with zod at its edge) meet them structurally.
 * Sources: learn.microsoft.com/graph/api/resources/user, .../assignedlicense,
 * .../licenseassignmentstate, .../subscribedsku, .../serviceplaninfo, .../subscription.
 */

/** A license in `assignedLicenses` (resources/assignedlicense). */
export interface AssignedLicense {
  skuId: string;
  disabledPlans: string[];
}

/**
 * One assignment path in `licenseAssignmentStates` (resources/licenseassignmentstate):
 * `assignedByGroup` is null for a direct assignment; `error` is e.g. `CountViolation`.
 */
export interface LicenseAssignmentState {
  skuId: string;
  disabledPlans: string[];
  assignedByGroup?: string | null | undefined;
  state?: string | null | undefined;
  error?: string | null | undefined;
  lastUpdatedDateTime?: string | null | undefined;
}

/** `onPremisesExtensionAttributes`: extensionAttribute1 … extensionAttribute15 (resources/onpremisesextensionattributes). */
export type OnPremisesExtensionAttributes = Partial<
  Record<
    | 'extensionAttribute1'
    | 'extensionAttribute2'
    | 'extensionAttribute3'
    | 'extensionAttribute4'
    | 'extensionAttribute5'
    | 'extensionAttribute6'
    | 'extensionAttribute7'
    | 'extensionAttribute8'
    | 'extensionAttribute9'
    | 'extensionAttribute10'
    | 'extensionAttribute11'
    | 'extensionAttribute12'
    | 'extensionAttribute13'
    | 'extensionAttribute14'
    | 'extensionAttribute15',
    string | null | undefined
  >
>;

/** A user with the properties the simulator knows by name (any other stored property is served as given). */
export interface GraphUser {
  id: string;
  userPrincipalName: string;
  displayName?: string | null | undefined;
  mail?: string | null | undefined;
  accountEnabled?: boolean | null | undefined;
  usageLocation?: string | null | undefined;
  department?: string | null | undefined;
  jobTitle?: string | null | undefined;
  companyName?: string | null | undefined;
  country?: string | null | undefined;
  employeeId?: string | null | undefined;
  employeeType?: string | null | undefined;
  userType?: string | null | undefined;
  onPremisesSyncEnabled?: boolean | null | undefined;
  onPremisesImmutableId?: string | null | undefined;
  onPremisesExtensionAttributes?: OnPremisesExtensionAttributes | null | undefined;
  createdDateTime?: string | null | undefined;
  assignedLicenses: AssignedLicense[];
  licenseAssignmentStates: LicenseAssignmentState[];
}

/** A service plan of a SKU (resources/serviceplaninfo). */
export interface ServicePlanInfo {
  servicePlanId: string;
  servicePlanName: string;
  provisioningStatus?: string | null | undefined;
  appliesTo?: string | null | undefined;
}

/** A SKU the tenant has bought (resources/subscribedsku); `id` is `{tenantId}_{skuId}`. */
export interface SubscribedSku {
  id?: string | null | undefined;
  skuId: string;
  skuPartNumber: string;
  appliesTo?: string | null | undefined;
  capabilityStatus: string;
  consumedUnits: number;
  prepaidUnits: { enabled: number; suspended: number; warning: number; lockedOut: number };
  servicePlans: ServicePlanInfo[];
}

/** A change-notification subscription (resources/subscription). */
export interface GraphSubscription {
  id: string;
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string | null | undefined;
  expirationDateTime: string;
  clientState?: string | null | undefined;
}
