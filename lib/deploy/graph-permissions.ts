/**
 * Which Microsoft Graph application permissions (app roles) the managed identity needs, and which of
 * them it lacks. Pure: the grant script (scripts/grant-graph-permissions.ts) does the I/O. This list
 * is the one source of truth for the permission names; docs cite {@link GRAPH_PERMISSIONS}.
 *
 * Least privilege per GRAPH-FACTS.md (learn.microsoft.com/graph/api/user-assignlicense,
 * user-update, subscribedsku-list, directoryobject-checkmembergroups, subscription-post-subscriptions).
 */
import { parseRules } from '../rules/load.js';
import { conditionsIn, groupIdsUsed } from '../rules/select.js';

/** appId of the Microsoft Graph service principal, the same in every tenant. */
export const MICROSOFT_GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** When a permission is needed. */
export type PermissionCondition = 'always' | 'usageLocationDefault' | 'groupReads';

export interface GraphPermission {
  /** The app role's `value`, as in Graph's `appRoles`. */
  readonly value: string;
  readonly when: PermissionCondition;
  /** What the app does with it (printed by the grant script, cited by the docs). */
  readonly why: string;
}

export const GRAPH_PERMISSIONS: readonly GraphPermission[] = [
  {
    value: 'LicenseAssignment.ReadWrite.All',
    when: 'always',
    why: 'assign and remove licenses (POST /users/{id}/assignLicense)',
  },
  {
    value: 'LicenseAssignment.Read.All',
    when: 'always',
    why: "read the tenant's SKUs, service plans and free seats (GET /subscribedSkus)",
  },
  {
    value: 'User.Read.All',
    when: 'always',
    why: 'read users and their licenses, /users/delta, change notifications on /users',
  },
  {
    value: 'User.ReadWrite.All',
    when: 'usageLocationDefault',
    why: 'set usageLocation (PATCH /users/{id}) because the rules file has defaults.usageLocation',
  },
  {
    // Entra-syntax rules (`entra:`) read user properties only: User.Read.All covers them.
    value: 'GroupMember.Read.All',
    when: 'groupReads',
    why: 'check transitive group membership because a rule uses memberOf, or read licensed groups and their members for `ems-licensing import-gbl` run as this identity',
  },
];

/** What the rules file asks of Graph beyond reading users and assigning licenses. */
export interface RulesPermissionNeeds {
  /** The rules set `defaults.usageLocation` (the app PATCHes users that have none). */
  setsUsageLocation: boolean;
  /** Some rule condition uses `memberOf`. */
  usesMemberOf: boolean;
  /**
   * The identity also runs `ems-licensing import-gbl` unattended. An operator normally runs it
   * signed in as themselves (`az login`), so the app's identity does not need group reads for it.
   */
  importsGroups?: boolean;
}

/** The permissions needed for these rules, in {@link GRAPH_PERMISSIONS} order. */
export function requiredGraphPermissions(needs: RulesPermissionNeeds): GraphPermission[] {
  return GRAPH_PERMISSIONS.filter(
    (p) =>
      p.when === 'always' ||
      (p.when === 'usageLocationDefault' && needs.setsUsageLocation) ||
      (p.when === 'groupReads' && (needs.usesMemberOf || needs.importsGroups === true)),
  );
}

/**
 * What a rules file asks of Graph, read with the app's own rules parser (so a file the app would
 * refuse is refused here too, with its line and the fix): `defaults.usageLocation` set, and any
 * `memberOf` condition.
 * @throws RulesError when the file has problems.
 */
export function rulesPermissionNeeds(yamlText: string, fileName = 'rules.yaml'): RulesPermissionNeeds {
  const rules = parseRules(yamlText, fileName);
  return {
    setsUsageLocation: rules.defaults.usageLocation !== undefined,
    usesMemberOf: groupIdsUsed(rules).length > 0,
  };
}

/** How many `entra:` conditions a rules file has (they need no permission beyond User.Read.All). */
export function entraConditionCount(yamlText: string, fileName = 'rules.yaml'): number {
  const rules = parseRules(yamlText, fileName);
  return rules.rules.reduce((n, r) => n + [...conditionsIn(r.when)].filter((c) => 'entra' in c).length, 0);
}

/** An app role of the Graph service principal (`GET /servicePrincipals?$filter=appId eq '…'`). */
export interface AppRole {
  id: string;
  value: string | null;
  allowedMemberTypes?: string[];
  isEnabled?: boolean;
}

/** An app role assignment of the identity (`GET /servicePrincipals/{id}/appRoleAssignments`). */
export interface AppRoleAssignment {
  appRoleId: string;
  resourceId: string;
}

export interface PermissionPlan {
  /** Needed and already granted. */
  granted: { permission: GraphPermission; appRoleId: string }[];
  /** Needed and missing: POST these. */
  toGrant: { permission: GraphPermission; appRoleId: string }[];
  /** Granted on Graph but not needed by this configuration (reported, never revoked). */
  extra: { value: string; appRoleId: string }[];
}

/**
 * Compares the needed permissions with the identity's existing assignments on Microsoft Graph.
 * Throws when Graph's service principal has no enabled application role of a needed name (a typo
 * here, or a tenant where the role is unavailable), naming it.
 */
export function planPermissionGrants(
  needed: readonly GraphPermission[],
  graphAppRoles: readonly AppRole[],
  graphServicePrincipalId: string,
  existing: readonly AppRoleAssignment[],
): PermissionPlan {
  const byValue = new Map(
    graphAppRoles
      .filter(
        (r) =>
          r.value &&
          r.isEnabled !== false &&
          (r.allowedMemberTypes ?? ['Application']).includes('Application'),
      )
      .map((r) => [r.value, r.id]),
  );
  const onGraph = new Set(
    existing.filter((a) => a.resourceId === graphServicePrincipalId).map((a) => a.appRoleId),
  );
  const plan: PermissionPlan = { granted: [], toGrant: [], extra: [] };
  for (const permission of needed) {
    const appRoleId = byValue.get(permission.value);
    if (appRoleId === undefined) {
      throw new Error(
        `Microsoft Graph has no application permission named ${permission.value} in this tenant; check the name in lib/deploy/graph-permissions.ts`,
      );
    }
    (onGraph.has(appRoleId) ? plan.granted : plan.toGrant).push({ permission, appRoleId });
  }
  const neededIds = new Set([...plan.granted, ...plan.toGrant].map((g) => g.appRoleId));
  const valueById = new Map(graphAppRoles.map((r) => [r.id, r.value ?? r.id]));
  for (const appRoleId of onGraph) {
    if (!neededIds.has(appRoleId))
      plan.extra.push({ value: valueById.get(appRoleId) ?? appRoleId, appRoleId });
  }
  return plan;
}
