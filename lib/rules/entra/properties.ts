/**
 * The user properties an Entra membership rule may name, and where each one lives on the Graph
 * user this app reads. Property names come from "Dynamic membership rules for groups in Microsoft
 * Entra ID" (learn.microsoft.com/entra/identity/users/groups-dynamic-membership, "Supported
 * properties"); where the rule spelling differs from Graph's (dirSyncEnabled, objectId, mobile,
 * physicalDeliveryOfficeName, telephoneNumber, facsimileTelephoneNumber, extensionAttributeN), the
 * Graph name is from learn.microsoft.com/graph/api/resources/user and resources/onpremisesextensionattributes.
 */
import {
  EXTENSION_ATTRIBUTE_NAMES,
  type AssignedPlan,
  type ExtensionAttributeName,
  type GraphUser,
} from '../../graph/types.js';

interface PropertyBase {
  /** The name as the documentation spells it after `user.`. */
  name: string;
  /** The Graph user property to `$select` to read it. */
  graph: string;
}

/** A property a rule can test, with its type and how to read it from a Graph user. */
export type EntraProperty =
  | (PropertyBase & { type: 'string'; read(user: GraphUser): string | null })
  | (PropertyBase & { type: 'boolean'; read(user: GraphUser): boolean | null })
  /** A string collection (proxyAddresses, otherMails): `-any (_ …)`, or an operator on every item. */
  | (PropertyBase & { type: 'strings'; read(user: GraphUser): readonly string[] })
  /** assignedPlans: `-any (assignedPlan.servicePlanId -eq "…" …)` only. */
  | (PropertyBase & { type: 'plans'; read(user: GraphUser): readonly AssignedPlan[] });

/** Graph returns unset text as null; an empty string is treated the same (nothing to compare). */
const text = (v: string | null | undefined): string | null => (v == null || v === '' ? null : v);

/** Text properties whose rule name is the Graph name. */
const SAME_NAME_TEXT = [
  'city',
  'companyName',
  'country',
  'department',
  'displayName',
  'employeeId',
  'employeeType',
  'givenName',
  'jobTitle',
  'mail',
  'mailNickname',
  'onPremisesDistinguishedName',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'passwordPolicies',
  'postalCode',
  'preferredLanguage',
  'state',
  'streetAddress',
  'surname',
  'usageLocation',
  'userPrincipalName',
  'userType',
] as const satisfies readonly (keyof GraphUser)[];

function extensionAttribute(name: ExtensionAttributeName): EntraProperty {
  return {
    name,
    graph: 'onPremisesExtensionAttributes',
    type: 'string',
    read: (u) => text(u.onPremisesExtensionAttributes?.[name]),
  };
}

const PROPERTIES: EntraProperty[] = [
  ...SAME_NAME_TEXT.map((name): EntraProperty => ({
    name,
    graph: name,
    type: 'string',
    read: (u) => text(u[name]),
  })),
  { name: 'objectId', graph: 'id', type: 'string', read: (u) => text(u.id) },
  {
    name: 'physicalDeliveryOfficeName',
    graph: 'officeLocation',
    type: 'string',
    read: (u) => text(u.officeLocation),
  },
  { name: 'mobile', graph: 'mobilePhone', type: 'string', read: (u) => text(u.mobilePhone) },
  // Graph keeps the business number in a collection that holds at most one number (resources/user).
  {
    name: 'telephoneNumber',
    graph: 'businessPhones',
    type: 'string',
    read: (u) => text(u.businessPhones?.[0]),
  },
  { name: 'facsimileTelephoneNumber', graph: 'faxNumber', type: 'string', read: (u) => text(u.faxNumber) },
  { name: 'accountEnabled', graph: 'accountEnabled', type: 'boolean', read: (u) => u.accountEnabled ?? null },
  // dirSyncEnabled is the rule's name for onPremisesSyncEnabled: null when never synced.
  {
    name: 'dirSyncEnabled',
    graph: 'onPremisesSyncEnabled',
    type: 'boolean',
    read: (u) => u.onPremisesSyncEnabled ?? null,
  },
  { name: 'proxyAddresses', graph: 'proxyAddresses', type: 'strings', read: (u) => u.proxyAddresses ?? [] },
  { name: 'otherMails', graph: 'otherMails', type: 'strings', read: (u) => u.otherMails ?? [] },
  { name: 'assignedPlans', graph: 'assignedPlans', type: 'plans', read: (u) => u.assignedPlans ?? [] },
  ...EXTENSION_ATTRIBUTE_NAMES.map(extensionAttribute),
];

const BY_NAME = new Map(PROPERTIES.map((p) => [p.name.toLowerCase(), p]));

/** Every property name a rule can use, as documented (for "did you mean"). */
export const SUPPORTED_PROPERTY_NAMES: readonly string[] = PROPERTIES.map((p) => p.name);

/** Why a documented property cannot be evaluated here, and what to write instead. */
export interface UnsupportedProperty {
  reason: string;
  fix: string;
}

const UNSUPPORTED: ReadonlyMap<string, UnsupportedProperty> = new Map([
  [
    'memberof',
    {
      reason:
        'memberOf inside an Entra rule is not evaluated here (in Entra it counts direct members only, and is in preview)',
      fix: 'test the group with a memberOf condition beside this one: all: [{ entra: "…" }, { memberOf: <group id> }] (memberOf here is transitive)',
    },
  ],
  [
    'employeehiredate',
    {
      reason:
        'employeeHireDate compares dates with system.now, so the result changes with the clock and not with the user, and this app re-evaluates a user only when the user changes',
      fix: 'use an attribute HR sets when the person starts (employeeType, an extensionAttribute), or keep this group in group-based licensing',
    },
  ],
  [
    'sipproxyaddress',
    {
      reason: 'Microsoft Graph v1.0 does not expose sipProxyAddress on users, so the app cannot read it',
      fix: 'test proxyAddresses instead: user.proxyAddresses -any (_ -startsWith "sip:")',
    },
  ],
  [
    'manager',
    {
      reason: 'the manager relationship is not read by this app',
      fix: 'keep this group in group-based licensing, or test an attribute such as department',
    },
  ],
]);

/** A property found by name, a documented one this app cannot read, or nothing at all. */
export type PropertyLookup =
  | { kind: 'supported'; property: EntraProperty }
  | { kind: 'unsupported'; unsupported: UnsupportedProperty }
  | { kind: 'unknown' };

/**
 * Finds a property by the name written after `user.`. Names match case-insensitively, as the
 * documentation's own examples spell them (`user.employeehiredate`, `user.mailNickname`).
 * `onPremisesExtensionAttributes.extensionAttributeN` (the Graph spelling) is accepted too.
 */
export function lookupProperty(written: string): PropertyLookup {
  const key = written.toLowerCase().replace(/^onpremisesextensionattributes\./, '');
  const property = BY_NAME.get(key);
  if (property !== undefined) return { kind: 'supported', property };
  const unsupported = UNSUPPORTED.get(key);
  if (unsupported !== undefined) return { kind: 'unsupported', unsupported };
  if (/^extension_[0-9a-z]+_/i.test(written)) {
    return {
      kind: 'unsupported',
      unsupported: {
        reason: 'directory extension properties (extension_<app id>_<name>) are not read by this app',
        fix: 'sync the value into one of extensionAttribute1..15, or keep this group in group-based licensing',
      },
    };
  }
  return { kind: 'unknown' };
}

/** The item properties of `assignedPlan` in `user.assignedPlans -any (assignedPlan.… )`. */
export const ASSIGNED_PLAN_FIELDS = ['servicePlanId', 'capabilityStatus', 'service'] as const;
export type AssignedPlanField = (typeof ASSIGNED_PLAN_FIELDS)[number];

/** The field of an assigned plan by its name, any case; null when there is none. */
export function lookupPlanField(written: string): AssignedPlanField | null {
  return ASSIGNED_PLAN_FIELDS.find((f) => f.toLowerCase() === written.toLowerCase()) ?? null;
}
