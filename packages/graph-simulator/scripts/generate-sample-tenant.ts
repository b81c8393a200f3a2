/**
 * Generates src/sample-tenant.json deterministically (seeded PRNG): ~300 users, mostly
 * synced from AD, some cloud-only, a few guests; real SKU and service plan GUIDs from entra-docs
 * `licensing-service-plan-reference.md`. Run: `npm run generate-sample-tenant` in
 * this package.
 */
import { writeFile } from 'node:fs/promises';
import { parseTenantFile, SAMPLE_TENANT_PATH, type TenantFileInput } from '../src/tenant-file.js';
import { prng } from '../src/prng.js';

// ---- deterministic randomness ----

const rand = prng(20240611);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(items: readonly T[]): T => {
  const item = items[int(items.length)];
  if (item === undefined) throw new Error('pick from empty list');
  return item;
};
const chance = (p: number): boolean => rand() < p;
const hex = (n: number): string => Array.from({ length: n }, () => int(16).toString(16)).join('');
/** A v4-shaped GUID from the seeded PRNG. */
const guid = (): string => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
const base64Bytes = (n: number): string =>
  Buffer.from(Array.from({ length: n }, () => int(256))).toString('base64');

// ---- SKUs and plans (entra-docs licensing-service-plan-reference.md) ----

const P = {
  AAD_PREMIUM: '41781fb2-bc02-4b7c-bd55-b576c07bb09d',
  AAD_PREMIUM_P2: 'eec0eb4f-6444-4f95-aba0-50c24d67f998',
  RMS_S_PREMIUM: '6c57d4b6-3b23-47a5-9bc9-69f17b4947b3',
  RMS_S_PREMIUM2: '5689bec4-755d-4753-8b61-40975025187c',
  ADALLOM_S_DISCOVERY: '932ad362-64a8-4783-9106-97849a1a30b9',
  ADALLOM_S_STANDALONE: '2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2',
  ATA: '14ab5db5-e6c4-4b20-b4bc-13e36fd2227f',
  EXCHANGE_S_FOUNDATION: '113feb6c-3fe4-4440-bddc-54d774bf0318',
  RMS_S_ENTERPRISE: 'bea4c11e-220a-4e6d-8eb8-8ea15d019f90',
  MFA_PREMIUM: '8a256a2b-b617-496d-b51b-e76466e88db0',
  INTUNE_A: 'c1ec4a95-1f05-45b3-a911-aa3fa01094f5',
  EXCHANGE_S_ENTERPRISE: 'efb87545-963c-4e0d-99df-69c6916d9eb0',
  EXCHANGE_S_STANDARD: '9aaf7827-d63c-4b61-89c3-182f06f82e5c',
  SHAREPOINTENTERPRISE: '5dbe027f-2339-4123-9542-606e4d348a72',
  SHAREPOINTSTANDARD: 'c7699d2e-19aa-44de-8edf-1736da088ca1',
  SHAREPOINTWAC: 'e95bec33-7c88-4a70-8e19-b10bd9d0c014',
  OFFICESUBSCRIPTION: '43de0ff5-c92c-492b-9116-175376d08c38',
  MCOSTANDARD: '0feaeb32-d00e-4d66-bd5a-43b5b83db82c',
  TEAMS1: '57ff2da0-773e-42df-b2af-ffb7a2317929',
  SWAY: 'a23b959c-7ce8-4e57-9140-b90eb88a9e97',
  INTUNE_O365: '882e1d05-acd1-4ccb-8708-6ee03664b117',
  YAMMER_ENTERPRISE: '7547a3fe-08ee-4ccb-b430-5077c5041653',
  FORMS_PLAN_E3: '2789c901-c14e-48ab-a76a-be334d9d793a',
  PROJECTWORKMANAGEMENT: 'b737dad2-2f6c-4c65-90e3-ca563267e8b9',
  BPOS_S_TODO_1: '5e62787c-c316-451f-b873-1d05acd4d12c',
  BI_AZURE_P0: '2049e525-b859-401b-b2a0-e0a31c4b1fe4',
  MCOPSTNC: '505e180f-f7e0-4b65-91d4-00d670bbd18c',
} as const;
type PlanName = keyof typeof P;

const SKU = {
  EMS: 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e',
  EMSPREMIUM: 'b05e124f-c7cc-45a0-a6aa-8cf78c946968',
  ENTERPRISEPACK: '6fd2c87f-b296-42f0-b197-1e91e994b900',
  INTUNE_A: '061f9ace-7d42-4136-88ac-31dc755f143f',
  EXCHANGESTANDARD: '4b9405b0-7788-4568-add1-99614e613b69',
  POWER_BI_STANDARD: 'a403ebcc-fae0-4ca2-8c8c-7a907fd6c235',
  MCOPSTNC: '47794cd0-f0e5-45c5-9033-2eb6b5fc84e0',
} as const;

/** Plans listed as `appliesTo: Company` in subscribedSkus (Exchange Foundation, communication credits). */
const COMPANY_PLANS = new Set<PlanName>(['EXCHANGE_S_FOUNDATION', 'MCOPSTNC']);
const plans = (
  ...names: PlanName[]
): {
  servicePlanId: string;
  servicePlanName: string;
  provisioningStatus: string;
  appliesTo: 'User' | 'Company';
}[] =>
  names.map((n) => ({
    servicePlanId: P[n],
    servicePlanName: n,
    provisioningStatus: 'Success',
    appliesTo: COMPANY_PLANS.has(n) ? 'Company' : 'User',
  }));

// ---- people ----

const FIRST = [
  'Adele',
  'Alex',
  'Ana',
  'Ben',
  'Carla',
  'Chen',
  'Dario',
  'Diego',
  'Elena',
  'Emil',
  'Fatima',
  'Finn',
  'Grace',
  'Hana',
  'Ivan',
  'Isla',
  'Jonas',
  'Julia',
  'Kai',
  'Keiko',
  'Lars',
  'Lea',
  'Liam',
  'Lucia',
  'Marta',
  'Mateo',
  'Mia',
  'Nadia',
  'Noah',
  'Olga',
  'Omar',
  'Pia',
  'Priya',
  'Quinn',
  'Rafael',
  'Rosa',
  'Sam',
  'Sofia',
  'Tariq',
  'Theo',
  'Uma',
  'Victor',
  'Wen',
  'Yara',
  'Zoe',
];
const LAST = [
  'Andersen',
  'Baker',
  'Costa',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Haddad',
  'Ito',
  'Jensen',
  'Kowalski',
  'Larsen',
  'Meyer',
  'Novak',
  'Okafor',
  'Petrov',
  'Quintero',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Usman',
  'Varga',
  'Weber',
  'Xu',
  'Yilmaz',
  'Zimmer',
  'Moreau',
  'Nguyen',
  'Patel',
  'Silva',
];
const DEPARTMENTS: Record<string, string[]> = {
  Engineering: [
    'Software Engineer',
    'Senior Software Engineer',
    'Engineering Manager',
    'Site Reliability Engineer',
    'QA Engineer',
  ],
  Sales: ['Account Executive', 'Sales Manager', 'Sales Development Representative'],
  Finance: ['Accountant', 'Financial Analyst', 'Controller'],
  'Human Resources': ['HR Business Partner', 'Recruiter', 'HR Specialist'],
  Marketing: ['Marketing Manager', 'Content Strategist', 'Designer'],
  Operations: ['Operations Analyst', 'Facilities Coordinator', 'Logistics Planner'],
  'IT Security': ['Security Analyst', 'Security Engineer', 'CISO'],
  Support: ['Support Engineer', 'Support Team Lead'],
};
const SITES = [
  { country: 'United States', usage: 'US', city: 'Seattle', office: 'SEA-1' },
  { country: 'United States', usage: 'US', city: 'New York', office: 'NYC-2' },
  { country: 'United Kingdom', usage: 'GB', city: 'London', office: 'LON-1' },
  { country: 'Germany', usage: 'DE', city: 'Munich', office: 'MUC-1' },
  { country: 'France', usage: 'FR', city: 'Paris', office: 'PAR-1' },
  { country: 'Netherlands', usage: 'NL', city: 'Amsterdam', office: 'AMS-1' },
  { country: 'India', usage: 'IN', city: 'Bengaluru', office: 'BLR-1' },
  { country: 'Canada', usage: 'CA', city: 'Toronto', office: 'YYZ-1' },
] as const;
const CONTRACTOR_FIRMS = ['Fabrikam Staffing', 'Northwind Consulting', 'Adatum Services'];
const DOMAIN = 'contoso.com';
const TENANT_DOMAIN = 'contoso.onmicrosoft.com';

type User = TenantFileInput['users'][number];

const usedUpns = new Set<string>();
function uniqueAlias(first: string, last: string): string {
  const base = `${first}.${last}`.toLowerCase();
  let alias = base;
  for (let n = 2; usedUpns.has(alias); n++) alias = `${base}${n}`;
  usedUpns.add(alias);
  return alias;
}

function extensionAttributes(values: Partial<Record<number, string>>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (let i = 1; i <= 15; i++) out[`extensionAttribute${i}`] = values[i] ?? null;
  return out;
}

const isoDaysAgo = (days: number): string =>
  new Date(Date.UTC(2024, 5, 1) - days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const users: User[] = [];
const synced: User[] = [];
let employeeSeq = 100200;
let contractorSeq = 50010;

// Synced from AD (onPremisesSyncEnabled: true): employees and contractors.
for (let i = 0; i < 250; i++) {
  const first = pick(FIRST);
  const last = pick(LAST);
  const alias = uniqueAlias(first, last);
  const department = pick(Object.keys(DEPARTMENTS));
  const site = pick(SITES);
  const contractor = chance(0.2);
  const sam = `${first.slice(0, 1)}${last}`.toLowerCase().slice(0, 18) + String(i);
  const user: User = {
    id: guid(),
    userPrincipalName: `${alias}@${DOMAIN}`,
    displayName: `${first} ${last}${contractor ? ' (EXT)' : ''}`,
    givenName: first,
    surname: last,
    mail: `${alias}@${DOMAIN}`,
    mailNickname: alias,
    department,
    jobTitle: pick(DEPARTMENTS[department] ?? ['Specialist']),
    companyName: contractor ? pick(CONTRACTOR_FIRMS) : 'Contoso Ltd',
    country: site.country,
    city: site.city,
    officeLocation: site.office,
    // AD sync does not set usageLocation; most have it from an earlier admin script, ~10% do not.
    usageLocation: chance(0.12) ? null : site.usage,
    accountEnabled: !chance(0.04),
    userType: 'Member',
    employeeId: contractor ? `C${String(contractorSeq++)}` : `E${String(employeeSeq++)}`,
    employeeType: contractor ? 'Contractor' : 'Employee',
    employeeHireDate: isoDaysAgo(30 + int(3000)),
    createdDateTime: isoDaysAgo(20 + int(2500)),
    onPremisesSyncEnabled: true,
    onPremisesImmutableId: base64Bytes(16),
    onPremisesSamAccountName: sam,
    onPremisesDomainName: 'corp.contoso.com',
    onPremisesUserPrincipalName: `${alias}@${DOMAIN}`,
    onPremisesDistinguishedName: `CN=${first} ${last},OU=${contractor ? 'Contractors' : 'Staff'},OU=Users,DC=corp,DC=contoso,DC=com`,
    onPremisesLastSyncDateTime: isoDaysAgo(0),
    onPremisesExtensionAttributes: extensionAttributes({
      1: `CC-${String(1000 + int(40) * 10)}`,
      2: pick(['Office', 'Remote', 'Hybrid']),
      ...(chance(0.05) ? { 10: 'NoIntune' } : {}),
    }),
    proxyAddresses: [`SMTP:${alias}@${DOMAIN}`],
    businessPhones: [],
    directLicenses: [],
  };
  users.push(user);
  synced.push(user);
}

// Cloud-only members: admins, service and shared accounts.
for (let i = 0; i < 35; i++) {
  const service = i < 10;
  const first = service ? pick(['svc', 'admin', 'shared', 'room']) : pick(FIRST);
  const last = service ? pick(['backup', 'reports', 'printer', 'helpdesk', 'board', 'intranet']) : pick(LAST);
  const alias = uniqueAlias(first, last);
  const site = pick(SITES);
  users.push({
    id: guid(),
    userPrincipalName: `${alias}@${chance(0.5) ? DOMAIN : TENANT_DOMAIN}`,
    displayName: service ? `${first}-${last}` : `${first} ${last}`,
    givenName: service ? null : first,
    surname: service ? null : last,
    mail: `${alias}@${DOMAIN}`,
    mailNickname: alias,
    department: service ? null : pick(Object.keys(DEPARTMENTS)),
    jobTitle: service ? null : 'Cloud Administrator',
    companyName: service ? null : 'Contoso Ltd',
    country: site.country,
    city: site.city,
    usageLocation: chance(0.15) ? null : site.usage,
    accountEnabled: !chance(0.05),
    userType: 'Member',
    employeeId: null,
    employeeType: null,
    createdDateTime: isoDaysAgo(10 + int(1500)),
    onPremisesSyncEnabled: null,
    onPremisesImmutableId: null,
    onPremisesExtensionAttributes: extensionAttributes({}),
    businessPhones: [],
    directLicenses: [],
  });
}

// Guests (B2B): UPN with #EXT#, no usageLocation, never synced.
for (let i = 0; i < 15; i++) {
  const first = pick(FIRST);
  const last = pick(LAST);
  const partner = pick(['fabrikam.com', 'tailspintoys.com', 'wingtiptoys.com']);
  const alias = uniqueAlias(first, last);
  users.push({
    id: guid(),
    userPrincipalName: `${alias}_${partner}#EXT#@${TENANT_DOMAIN}`,
    displayName: `${first} ${last} (${partner})`,
    givenName: first,
    surname: last,
    mail: `${alias}@${partner}`,
    mailNickname: `${alias}_${partner}#EXT#`,
    companyName: null,
    usageLocation: null,
    accountEnabled: true,
    userType: 'Guest',
    creationType: 'Invitation',
    externalUserState: 'Accepted',
    createdDateTime: isoDaysAgo(5 + int(700)),
    onPremisesSyncEnabled: null,
    onPremisesExtensionAttributes: extensionAttributes({}),
    businessPhones: [],
    directLicenses: [],
  });
}

// ---- licenses ----

const withLocation = (u: User): boolean => typeof u.usageLocation === 'string';
const direct = (u: User, skuId: string, disabledPlans: string[] = []): void => {
  u.directLicenses = [...(u.directLicenses ?? []), { skuId, disabledPlans }];
};

// EMS already assigned directly to about a quarter of the synced users: mostly right
// (contractors without Intune), a few wrong both ways for the planner to fix.
let emsHolders = 0;
for (const u of synced) {
  if (!withLocation(u) || !chance(0.28)) continue;
  const contractor = u.employeeType === 'Contractor';
  const wrong = chance(0.12);
  const intuneOff = contractor !== wrong;
  direct(u, SKU.EMS, intuneOff ? [P.INTUNE_A] : []);
  emsHolders++;
}

// EMS E5 for the security team, every seat used (0 free).
let emsPremiumHolders = 0;
for (const u of synced) {
  if (u.department === 'IT Security' && withLocation(u) && emsPremiumHolders < 6) {
    direct(u, SKU.EMSPREMIUM);
    emsPremiumHolders++;
  }
}

// Standalone Intune for a few cloud-only admins.
let intuneHolders = 0;
for (const u of users) {
  if (u.onPremisesSyncEnabled === null && u.userType === 'Member' && withLocation(u) && intuneHolders < 4) {
    direct(u, SKU.INTUNE_A);
    intuneHolders++;
  }
}

// Exchange Online (Plan 1) for some cloud-only accounts (never together with Office 365 E3: mutually exclusive).
const exchangeStandard = new Set<string>();
for (const u of users) {
  if (u.onPremisesSyncEnabled === null && u.userType === 'Member' && withLocation(u) && chance(0.4)) {
    direct(u, SKU.EXCHANGESTANDARD);
    exchangeStandard.add(u.id);
  }
}

// Power BI (free) here and there.
let powerBiHolders = 0;
for (const u of users) {
  if (u.userType === 'Member' && withLocation(u) && chance(0.08)) {
    direct(u, SKU.POWER_BI_STANDARD);
    powerBiHolders++;
  }
}

// ---- groups ----

const groupIds = {
  allStaff: guid(),
  engineering: guid(),
  m365: guid(),
  emsPilot: guid(),
  intuneExempt: guid(),
};
const engineers = synced.filter((u) => u.department === 'Engineering').map((u) => u.id);
const employees = synced.filter((u) => u.employeeType === 'Employee');
const m365Members = employees.filter((u) => !exchangeStandard.has(u.id) && chance(0.35)).map((u) => u.id);
// A pilot group assigning EMS (all plans on) to a handful of synced users without a direct EMS:
// their EMS is inherited and cannot be changed per user.
const pilot = synced
  .filter((u) => withLocation(u) && !(u.directLicenses ?? []).some((l) => l.skuId === SKU.EMS))
  .slice(0, 8)
  .map((u) => u.id);
const exempt = synced
  .filter((u) => u.department === 'Support')
  .slice(0, 6)
  .map((u) => u.id);

const groups: TenantFileInput['groups'] = [
  { id: groupIds.engineering, displayName: 'SG-Engineering', members: engineers, licenses: [] },
  // Nested: All Staff contains SG-Engineering (checkMemberGroups is transitive).
  {
    id: groupIds.allStaff,
    displayName: 'SG-All-Staff',
    members: [
      groupIds.engineering,
      ...employees.filter((u) => u.department !== 'Engineering').map((u) => u.id),
    ],
    licenses: [],
  },
  {
    id: groupIds.m365,
    displayName: 'SG-License-M365-E3',
    members: m365Members,
    licenses: [{ skuId: SKU.ENTERPRISEPACK, disabledPlans: [P.YAMMER_ENTERPRISE] }],
  },
  {
    id: groupIds.emsPilot,
    displayName: 'SG-EMS-Pilot',
    members: pilot,
    licenses: [{ skuId: SKU.EMS, disabledPlans: [] }],
  },
  { id: groupIds.intuneExempt, displayName: 'SG-Intune-Exempt', members: exempt, licenses: [] },
];

// ---- SKUs ----

const roundUp = (n: number, step: number): number => Math.ceil(n / step) * step;
const emsConsumed = emsHolders + pilot.length;
const skus: TenantFileInput['skus'] = [
  {
    skuId: SKU.EMS,
    skuPartNumber: 'EMS',
    appliesTo: 'User',
    capabilityStatus: 'Enabled',
    // Enough for every synced user on top of today's holders (the example rules license all of them).
    prepaidUnits: {
      enabled: roundUp(emsConsumed + synced.length, 25),
      suspended: 0,
      warning: 0,
      lockedOut: 0,
    },
    servicePlans: plans(
      'EXCHANGE_S_FOUNDATION',
      'ADALLOM_S_DISCOVERY',
      'RMS_S_ENTERPRISE',
      'RMS_S_PREMIUM',
      'MFA_PREMIUM',
      'AAD_PREMIUM',
      'INTUNE_A',
    ),
  },
  {
    skuId: SKU.EMSPREMIUM,
    skuPartNumber: 'EMSPREMIUM',
    appliesTo: 'User',
    capabilityStatus: 'Enabled',
    prepaidUnits: { enabled: emsPremiumHolders, suspended: 0, warning: 0, lockedOut: 0 },
    servicePlans: plans(
      'EXCHANGE_S_FOUNDATION',
      'AAD_PREMIUM',
      'AAD_PREMIUM_P2',
      'RMS_S_PREMIUM',
      'RMS_S_PREMIUM2',
      'RMS_S_ENTERPRISE',
      'MFA_PREMIUM',
      'ADALLOM_S_STANDALONE',
      'ATA',
      'INTUNE_A',
    ),
  },
  {
    skuId: SKU.ENTERPRISEPACK,
    skuPartNumber: 'ENTERPRISEPACK',
    appliesTo: 'User',
    capabilityStatus: 'Enabled',
    prepaidUnits: { enabled: roundUp(m365Members.length + 20, 10), suspended: 0, warning: 0, lockedOut: 0 },
    servicePlans: plans(
      'EXCHANGE_S_ENTERPRISE',
      'SHAREPOINTENTERPRISE',
      'SHAREPOINTWAC',
      'OFFICESUBSCRIPTION',
      'MCOSTANDARD',
      'TEAMS1',
      'SWAY',
      'INTUNE_O365',
      'RMS_S_ENTERPRISE',
      'YAMMER_ENTERPRISE',
      'FORMS_PLAN_E3',
      'PROJECTWORKMANAGEMENT',
    ),
  },
  {
    skuId: SKU.INTUNE_A,
    skuPartNumber: 'INTUNE_A',
    appliesTo: 'User',
    capabilityStatus: 'Enabled',
    prepaidUnits: { enabled: 25, suspended: 0, warning: 0, lockedOut: 0 },
    servicePlans: plans('INTUNE_A'),
  },
  {
    skuId: SKU.EXCHANGESTANDARD,
    skuPartNumber: 'EXCHANGESTANDARD',
    appliesTo: 'User',
    capabilityStatus: 'Enabled',
    prepaidUnits: { enabled: roundUp(exchangeStandard.size + 5, 5), suspended: 0, warning: 0, lockedOut: 0 },
    servicePlans: plans('EXCHANGE_S_STANDARD', 'INTUNE_O365', 'BPOS_S_TODO_1'),
  },
  {
    skuId: SKU.POWER_BI_STANDARD,
    skuPartNumber: 'POWER_BI_STANDARD',
    appliesTo: 'User',
    capabilityStatus: 'Enabled',
    // Free (viral) SKUs show a very large prepaid count.
    prepaidUnits: { enabled: 1_000_000, suspended: 0, warning: 0, lockedOut: 0 },
    servicePlans: plans('EXCHANGE_S_FOUNDATION', 'BI_AZURE_P0'),
  },
  {
    skuId: SKU.MCOPSTNC,
    skuPartNumber: 'MCOPSTNC',
    appliesTo: 'Company',
    capabilityStatus: 'Enabled',
    prepaidUnits: { enabled: 10_000_000, suspended: 0, warning: 0, lockedOut: 0 },
    servicePlans: plans('MCOPSTNC'),
  },
];

const tenant: TenantFileInput = {
  tenantId: '7a3c1e52-9b4d-4f0e-8a61-2c5d9e0f4b17',
  defaultDomain: TENANT_DOMAIN,
  countryLetterCode: 'US',
  skus,
  planConstraints: {
    // Exchange Online Plan 1 and Plan 2 cannot be held together (entra-docs licensing-groups-resolve-problems.md).
    mutuallyExclusive: [[P.EXCHANGE_S_STANDARD, P.EXCHANGE_S_ENTERPRISE]],
    // Office for the web needs a SharePoint plan (same article, "dependency violation").
    dependencies: [{ plan: P.SHAREPOINTWAC, requiresAnyOf: [P.SHAREPOINTENTERPRISE, P.SHAREPOINTSTANDARD] }],
  },
  groups,
  users,
};

// Validate before writing: the file must load exactly as the simulator will read it.
parseTenantFile(tenant, 'generated sample tenant');
await writeFile(SAMPLE_TENANT_PATH, `${JSON.stringify(tenant, null, 2)}\n`, 'utf8');
process.stdout.write(
  `Wrote ${SAMPLE_TENANT_PATH}: ${users.length} users (${synced.length} synced), ${groups.length} groups, ${skus.length} SKUs; ` +
    `EMS holders ${emsConsumed} (${pilot.length} by group), Power BI ${powerBiHolders}.\n`,
);
