/**
 * A tenant's license catalog with the real SKU and plan GUIDs (entra-docs
 * licensing-service-plan-reference.md), and a user builder, for the licensing unit tests.
 */
import type { GraphUser, LicenseAssignmentState, SubscribedSku } from '../../lib/graph/types.js';

export const SKU = {
  EMS: 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e',
  EMSPREMIUM: 'b05e124f-c7cc-45a0-a6aa-8cf78c946968',
  INTUNE_A: '061f9ace-7d42-4136-88ac-31dc755f143f',
  SPE_E3: '05e9a617-0261-4cee-bb44-138d3ef5d965',
  AAD_PREMIUM: '078d2b04-f1bd-4111-bbd4-b4b1b354cef4',
  POWER_BI_PRO: 'f8a1db68-be16-40ed-86d5-cb42ce701560',
} as const;

export const PLAN = {
  AAD_PREMIUM: '41781fb2-bc02-4b7c-bd55-b576c07bb09d',
  AAD_PREMIUM_P2: 'eec0eb4f-6444-4f95-aba0-50c24d67f998',
  RMS_S_PREMIUM: '6c57d4b6-3b23-47a5-9bc9-69f17b4947b3',
  RMS_S_PREMIUM2: '5689bec4-755d-4753-8b61-40975025187c',
  RMS_S_ENTERPRISE: 'bea4c11e-220a-4e6d-8eb8-8ea15d019f90',
  ADALLOM_S_DISCOVERY: '932ad362-64a8-4783-9106-97849a1a30b9',
  ADALLOM_S_STANDALONE: '2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2',
  ATA: '14ab5db5-e6c4-4b20-b4bc-13e36fd2227f',
  EXCHANGE_S_FOUNDATION: '113feb6c-3fe4-4440-bddc-54d774bf0318',
  MFA_PREMIUM: '8a256a2b-b617-496d-b51b-e76466e88db0',
  INTUNE_A: 'c1ec4a95-1f05-45b3-a911-aa3fa01094f5',
  TEAMS1: '57ff2da0-773e-42df-b2af-ffb7a2317929',
  BI_AZURE_P2: '70d33638-9c74-4d01-bfd3-562de28bd4ba',
} as const;

type PlanName = keyof typeof PLAN;

function sku(
  skuPartNumber: keyof typeof SKU,
  plans: PlanName[],
  seats: { enabled: number; consumed: number },
  extra: Partial<SubscribedSku> = {},
): SubscribedSku {
  return {
    skuId: SKU[skuPartNumber],
    skuPartNumber,
    appliesTo: 'User',
    capabilityStatus: 'Enabled',
    consumedUnits: seats.consumed,
    prepaidUnits: { enabled: seats.enabled, suspended: 0, warning: 0, lockedOut: 0 },
    servicePlans: plans.map((name) => ({
      servicePlanId: PLAN[name],
      servicePlanName: name,
      provisioningStatus: 'Success',
      // Exchange Foundation is a tenant-level plan in these SKUs.
      appliesTo: name === 'EXCHANGE_S_FOUNDATION' ? 'Company' : 'User',
    })),
    ...extra,
  };
}

const EMS_PLANS: PlanName[] = [
  'AAD_PREMIUM',
  'RMS_S_PREMIUM',
  'ADALLOM_S_DISCOVERY',
  'EXCHANGE_S_FOUNDATION',
  'RMS_S_ENTERPRISE',
  'MFA_PREMIUM',
  'INTUNE_A',
];

/** The sample tenant's subscribedSkus. */
export function tenantSkus(): SubscribedSku[] {
  return [
    sku('EMS', EMS_PLANS, { enabled: 100, consumed: 40 }),
    sku('EMSPREMIUM', [...EMS_PLANS, 'AAD_PREMIUM_P2', 'RMS_S_PREMIUM2', 'ADALLOM_S_STANDALONE', 'ATA'], {
      enabled: 10,
      consumed: 10,
    }),
    sku('INTUNE_A', ['INTUNE_A'], { enabled: 5, consumed: 1 }),
    sku('SPE_E3', ['TEAMS1', 'INTUNE_A', 'AAD_PREMIUM'], { enabled: 50, consumed: 50 }),
    sku('AAD_PREMIUM', ['AAD_PREMIUM', 'MFA_PREMIUM', 'ADALLOM_S_DISCOVERY'], { enabled: 20, consumed: 25 }),
    sku('POWER_BI_PRO', ['BI_AZURE_P2'], { enabled: 5, consumed: 0 }, { capabilityStatus: 'Suspended' }),
  ];
}

/** A synced user with no licenses; override what the test needs. */
export function user(overrides: Partial<GraphUser> = {}): GraphUser {
  return {
    id: '11111111-2222-4333-8444-555555555555',
    userPrincipalName: 'alex.wilber@contoso.com',
    displayName: 'Alex Wilber',
    accountEnabled: true,
    usageLocation: 'GB',
    onPremisesSyncEnabled: true,
    employeeType: 'Employee',
    userType: 'Member',
    assignedLicenses: [],
    licenseAssignmentStates: [],
    ...overrides,
  };
}

/** A direct assignment as Graph reports it in both assignedLicenses and licenseAssignmentStates. */
export function direct(
  skuId: string,
  disabledPlans: string[] = [],
): Pick<GraphUser, 'assignedLicenses' | 'licenseAssignmentStates'> {
  return {
    assignedLicenses: [{ skuId, disabledPlans }],
    licenseAssignmentStates: [
      { skuId, disabledPlans, assignedByGroup: null, state: 'Active', error: 'None' },
    ],
  };
}

/** A group assignment state. */
export function viaGroup(
  skuId: string,
  groupId: string,
  disabledPlans: string[] = [],
): LicenseAssignmentState {
  return { skuId, disabledPlans, assignedByGroup: groupId, state: 'Active', error: 'None' };
}
