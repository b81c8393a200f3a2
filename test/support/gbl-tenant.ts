/**
 * A variant of the bundled sample tenant that licenses EMS and Office 365 E3 only through groups:
 * two dynamic groups and one static group, the shape `import-gbl` is built for.
 *
 * - "DYN-Sales-EMS" (dynamic): Sales employees with enabled accounts get EMS, every plan on;
 * - "DYN-Contractors-EMS" (dynamic): contractors with enabled accounts get EMS without Intune;
 * - "SG-License-M365-E3" (static, from the sample): E3 without Yammer, for its enabled members.
 *
 * The dynamic groups' members are computed here by plain predicates written from the rules'
 * meaning, not by the app's rule evaluator: they stand for what Entra computed, so a test that
 * imports the groups compares the evaluator with an independent answer.
 */
import { loadSampleTenant, type TenantFile } from '@ems-licensing/graph-simulator';

export const GBL = {
  sales: 'd1000000-0000-4000-8000-000000000001',
  contractors: 'd1000000-0000-4000-8000-000000000002',
  e3: 'aa11483d-1706-4c27-a5fb-91d4e605e742',
  emsPilot: 'd6b67995-2c87-469f-9780-7e7337d96819',
  EMS: 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e',
  ENTERPRISEPACK: '6fd2c87f-b296-42f0-b197-1e91e994b900',
  EXCHANGESTANDARD: '4b9405b0-7788-4568-add1-99614e613b69',
  INTUNE_A_PLAN: 'c1ec4a95-1f05-45b3-a911-aa3fa01094f5',
} as const;

/** As written in Entra's rule box (the second without hyphens, as many tenants write them). */
export const SALES_RULE =
  '(user.department -eq "Sales") -and (user.employeeType -ne "Contractor") -and (user.accountEnabled -eq true)';
export const CONTRACTORS_RULE = 'user.employeeType -eq "Contractor" and user.accountEnabled -eq true';

type TenantUser = TenantFile['users'][number];
const text = (v: unknown): string => (typeof v === 'string' ? v.toLowerCase() : '');

/** Entra's membership of the two dynamic groups, by predicate. */
export const isSalesEmployee = (u: TenantUser): boolean =>
  text(u['department']) === 'sales' && text(u['employeeType']) !== 'contractor' && u.accountEnabled;
export const isContractor = (u: TenantUser): boolean =>
  text(u['employeeType']) === 'contractor' && u.accountEnabled;

/** The sample tenant as that organisation. */
export async function gblSampleTenant(): Promise<TenantFile> {
  return gblVariant(await loadSampleTenant());
}

/**
 * Any tenant built from the sample (the sample itself, or a larger one generated from it) turned
 * into that organisation: needs the sample's SG-License-M365-E3 and SG-EMS-Pilot groups.
 */
export function gblVariant(tenant: TenantFile): TenantFile {
  const licensedByGroups = new Set<string>([GBL.EMS, GBL.ENTERPRISEPACK]);
  // EMS and E3 come only from groups in this organisation.
  const users = tenant.users.map((u) => ({
    ...u,
    directLicenses: u.directLicenses.filter((l) => !licensedByGroups.has(l.skuId)),
  }));
  const byId = new Map(users.map((u) => [u.id, u]));
  const groups = tenant.groups.map((g) => {
    if (g.id === GBL.emsPilot) return { ...g, licenses: [] };
    if (g.id !== GBL.e3) return g;
    // Enabled members only, and none holding Exchange Plan 1 directly (it excludes E3's Exchange Plan 2).
    const eligible = (u: TenantUser | undefined): boolean =>
      u !== undefined && u.accountEnabled && !u.directLicenses.some((l) => l.skuId === GBL.EXCHANGESTANDARD);
    const members = g.members.filter((id) => eligible(byId.get(id)));
    // A few contractors get E3 too, so both dynamic groups overlap the static one.
    const contractors = users
      .filter((u) => isContractor(u) && eligible(u) && !members.includes(u.id))
      .slice(0, 3);
    return { ...g, members: [...members, ...contractors.map((u) => u.id)] };
  });
  return {
    ...tenant,
    users,
    groups: [
      ...groups,
      {
        id: GBL.sales,
        displayName: 'DYN-Sales-EMS',
        description: null,
        groupTypes: ['DynamicMembership'],
        membershipRule: SALES_RULE,
        membershipRuleProcessingState: 'On',
        securityEnabled: true,
        mailEnabled: false,
        licenseProcessingState: 'ProcessingComplete',
        members: users.filter(isSalesEmployee).map((u) => u.id),
        licenses: [{ skuId: GBL.EMS, disabledPlans: [] }],
      },
      {
        id: GBL.contractors,
        displayName: 'DYN-Contractors-EMS',
        description: null,
        groupTypes: ['DynamicMembership'],
        membershipRule: CONTRACTORS_RULE,
        membershipRuleProcessingState: 'On',
        securityEnabled: true,
        mailEnabled: false,
        licenseProcessingState: 'ProcessingComplete',
        members: users.filter(isContractor).map((u) => u.id),
        licenses: [{ skuId: GBL.EMS, disabledPlans: [GBL.INTUNE_A_PLAN] }],
      },
    ],
  };
}
