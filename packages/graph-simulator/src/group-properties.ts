/**
 * Groups as Graph renders them, which properties come back by default, and `$select`.
 * Source: learn.microsoft.com/graph/api/resources/group (v1.0): `assignedLicenses` and
 * `licenseProcessingState` are "Returned only on $select"; `hasMembersWithLicenseErrors` is never
 * returned (it only filters); group-list: "This operation returns by default only a subset of the
 * properties for each group".
 */
import type { Directory, GroupRecord } from './directory.js';
import { badRequest } from './errors.js';

/** Returned without `$select` (the group properties marked "Returned by default"). */
export const DEFAULT_GROUP_PROPERTIES = [
  'id',
  'createdDateTime',
  'description',
  'displayName',
  'groupTypes',
  'mail',
  'mailEnabled',
  'mailNickname',
  'membershipRule',
  'membershipRuleProcessingState',
  'onPremisesSyncEnabled',
  'securityEnabled',
] as const;

/** Every group property the simulator can render (any other name is a 400, as Graph's OData parser answers). */
export const GROUP_PROPERTIES = new Set<string>([
  ...DEFAULT_GROUP_PROPERTIES,
  'assignedLicenses',
  'licenseProcessingState',
]);

const CANONICAL = new Map([...GROUP_PROPERTIES].map((p) => [p.toLowerCase(), p]));

/** `$select` on groups; undefined means the default set. `id` always comes back. */
export function parseGroupSelect(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const out = new Set<string>(['id']);
  for (const name of raw.split(',').map((s) => s.trim())) {
    if (name === '') continue;
    const canonical = CANONICAL.get(name.toLowerCase());
    if (canonical === undefined) {
      throw badRequest(`Could not find a property named '${name}' on type 'microsoft.graph.group'.`);
    }
    out.add(canonical);
  }
  return [...out];
}

/** The group with every property the simulator knows. */
export function renderGroup(dir: Directory, g: GroupRecord): Record<string, unknown> {
  return {
    id: g.id,
    createdDateTime: g.createdDateTime,
    description: g.description,
    displayName: g.displayName,
    groupTypes: [...g.groupTypes],
    mail: null,
    mailEnabled: g.mailEnabled,
    mailNickname: g.displayName.replace(/[^A-Za-z0-9]/g, '').slice(0, 64) || g.id,
    membershipRule: g.membershipRule,
    membershipRuleProcessingState: g.membershipRuleProcessingState,
    onPremisesSyncEnabled: null,
    securityEnabled: g.securityEnabled,
    // resources/assignedlicense: the SKU and the plans the group disables.
    assignedLicenses: [...g.licenses].map(([skuKey, disabledPlans]) => ({
      disabledPlans: [...disabledPlans],
      skuId: dir.skusById.get(skuKey)?.sku.skuId ?? skuKey,
    })),
    // resources/licenseprocessingstate: `{ "state": "ProcessingComplete" }`.
    licenseProcessingState: { state: g.licenseProcessingState },
  };
}

/** Projects a rendered group onto `select` (or the default set). */
export function projectGroup(
  full: Record<string, unknown>,
  select: readonly string[] | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of select ?? DEFAULT_GROUP_PROPERTIES) out[name] = full[name] ?? null;
  return out;
}
