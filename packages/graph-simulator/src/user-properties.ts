/**
 * Which user properties exist, which come back by default, and `$select` projection.
 * Source: learn.microsoft.com/graph/api/resources/user (v1.0) — "By default, only a limited set of
 * properties are returned (businessPhones, displayName, givenName, id, jobTitle, mail, mobilePhone,
 * officeLocation, preferredLanguage, surname, userPrincipalName)"; every other property must be
 * asked for with `$select`.
 */
import { badRequest } from './errors.js';

const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
] as const;

/** Collection-valued properties: an unset one reads as `[]`, not `null`. */
const COLLECTION_PROPERTIES = new Set([
  'businessPhones',
  'assignedLicenses',
  'assignedPlans',
  'licenseAssignmentStates',
  'otherMails',
  'proxyAddresses',
  'imAddresses',
  'identities',
  'provisionedPlans',
  'onPremisesProvisioningErrors',
]);

/** Structural properties of microsoft.graph.user (v1.0) a `$select` may name. */
export const USER_PROPERTIES = new Set<string>([
  ...DEFAULT_USER_PROPERTIES,
  'aboutMe',
  'accountEnabled',
  'ageGroup',
  'assignedLicenses',
  'assignedPlans',
  'birthday',
  'city',
  'companyName',
  'consentProvidedForMinor',
  'country',
  'createdDateTime',
  'creationType',
  'deletedDateTime',
  'department',
  'employeeHireDate',
  'employeeId',
  'employeeLeaveDateTime',
  'employeeOrgData',
  'employeeType',
  'externalUserState',
  'externalUserStateChangeDateTime',
  'faxNumber',
  'identities',
  'imAddresses',
  'isResourceAccount',
  'lastPasswordChangeDateTime',
  'legalAgeGroupClassification',
  'licenseAssignmentStates',
  'mailNickname',
  'onPremisesDistinguishedName',
  'onPremisesDomainName',
  'onPremisesExtensionAttributes',
  'onPremisesImmutableId',
  'onPremisesLastSyncDateTime',
  'onPremisesProvisioningErrors',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'onPremisesSyncEnabled',
  'onPremisesUserPrincipalName',
  'otherMails',
  'passwordPolicies',
  'postalCode',
  'preferredDataLocation',
  'provisionedPlans',
  'proxyAddresses',
  'securityIdentifier',
  'showInAddressList',
  'signInSessionsValidFromDateTime',
  'state',
  'streetAddress',
  'usageLocation',
  'userType',
]);

/** Lowercased name → canonical name (OData property names match case-insensitively in Graph). */
const CANONICAL = new Map([...USER_PROPERTIES].map((p) => [p.toLowerCase(), p]));

/**
 * Parses `$select`; undefined means "default set". `id` is always returned.
 * An unknown name gives 400 Request_BadRequest "Could not find a property named 'x' on type
 * 'microsoft.graph.user'." (the directory's OData parser wording).
 */
export function parseUserSelect(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const out = new Set<string>(['id']);
  for (const name of names) {
    const canonical = CANONICAL.get(name.toLowerCase());
    if (canonical === undefined) {
      throw badRequest(`Could not find a property named '${name}' on type 'microsoft.graph.user'.`);
    }
    out.add(canonical);
  }
  return [...out];
}

/** Projects a full user onto the selected (or default) properties; unset ones are null or []. */
export function projectUser(
  full: Record<string, unknown>,
  select: readonly string[] | undefined,
): Record<string, unknown> {
  const names = select ?? DEFAULT_USER_PROPERTIES;
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const value = full[name];
    out[name] = value === undefined ? (COLLECTION_PROPERTIES.has(name) ? [] : null) : value;
  }
  return out;
}
