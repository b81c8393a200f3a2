/**
 * Tenants for bench/pacing.bench.ts, built in memory with a seeded PRNG from the bundled sample
 * tenant's SKUs (EMS and its plans), for the rules in examples/rules.yaml (synced, enabled users
 * get EMS, contractors without Intune; `defaults.usageLocation: GB`):
 *
 * - `onboardingTenant(n)`: n users just synced from AD, none with a usage location or a license:
 *   each needs exactly 2 writes (PATCH usageLocation, then assignLicense).
 * - `steadyStateTenant(n, drift)`: n users already licensed as the rules say, except `drift` of
 *   them (a share, e.g. 0.01): half have lost EMS, half are employees with Intune switched off;
 *   each of those needs exactly 1 write (assignLicense).
 *
 * No groups: these rules test none, so no checkMemberGroups calls.
 */
import {
  loadSampleTenant,
  parseTenantFile,
  prng,
  type GraphUser,
  type TenantFile,
} from '@ems-licensing/graph-simulator';

export const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';
export const INTUNE_A = 'c1ec4a95-1f05-45b3-a911-aa3fa01094f5';

type User = TenantFile['users'][number];

function idMaker(seed: number) {
  const rand = prng(seed);
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  return {
    rand,
    guid: () => `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(rand() * 4)] ?? '8'}${hex(3)}-${hex(12)}`,
    immutableId: () => Buffer.from(hex(32), 'hex').toString('base64'),
  };
}

function syncedUser(i: number, ids: ReturnType<typeof idMaker>, contractor: boolean): User {
  const name = `user${String(i).padStart(6, '0')}`;
  return {
    id: ids.guid(),
    userPrincipalName: `${name}@contoso.com`,
    displayName: `User ${String(i)}`,
    accountEnabled: true,
    userType: 'Member',
    employeeType: contractor ? 'Contractor' : 'Employee',
    department: contractor ? 'Field Services' : 'Operations',
    onPremisesSyncEnabled: true,
    onPremisesImmutableId: ids.immutableId(),
    directLicenses: [],
  };
}

async function tenantWith(users: User[], emsSeats: number, label: string): Promise<TenantFile> {
  const sample = await loadSampleTenant();
  const skus = sample.skus.map((sku) =>
    sku.skuId === EMS
      ? { ...structuredClone(sku), prepaidUnits: { ...sku.prepaidUnits, enabled: emsSeats } }
      : sku,
  );
  return parseTenantFile({ ...sample, skus, groups: [], users }, label);
}

/** n new synced users, each needing a usage location and EMS: 2 writes each. */
export async function onboardingTenant(n: number, seed = 20240611): Promise<TenantFile> {
  const ids = idMaker(seed);
  const users = Array.from({ length: n }, (_, i) => syncedUser(i, ids, ids.rand() < 0.1));
  return tenantWith(users, n + 25, `onboarding tenant, ${String(n)} users`);
}

/** n users licensed as the rules say, except round(n × drift) who need one assignLicense each. */
export async function steadyStateTenant(n: number, drift: number, seed = 20240611): Promise<TenantFile> {
  const ids = idMaker(seed);
  const drifted = Math.round(n * drift);
  // Spread the drifted users evenly over the list, as real drift is.
  const step = drifted === 0 ? Number.POSITIVE_INFINITY : n / drifted;
  const users: User[] = [];
  let k = 0;
  for (let i = 0; i < n; i++) {
    const contractor = ids.rand() < 0.1;
    const user = { ...syncedUser(i, ids, contractor), usageLocation: 'GB' };
    const drifts = k < drifted && i >= Math.floor(k * step);
    if (drifts) k++;
    if (drifts && k % 2 === 1) {
      users.push(user); // lost EMS
    } else if (drifts) {
      // An employee with Intune switched off: the rules want every plan on.
      users.push({
        ...user,
        employeeType: 'Employee',
        directLicenses: [{ skuId: EMS, disabledPlans: [INTUNE_A] }],
      });
    } else {
      users.push({ ...user, directLicenses: [{ skuId: EMS, disabledPlans: contractor ? [INTUNE_A] : [] }] });
    }
  }
  return tenantWith(users, n + 25, `steady-state tenant, ${String(n)} users, ${String(drifted)} drifted`);
}

/** Synced, enabled users the example rules license who still lack a usage location or EMS. */
export function unlicensed(users: readonly GraphUser[]): number {
  return users.filter(
    (u) =>
      u.onPremisesSyncEnabled === true &&
      u.accountEnabled !== false &&
      (u.usageLocation == null || !u.assignedLicenses.some((l) => l.skuId === EMS)),
  ).length;
}
