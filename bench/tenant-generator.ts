/**
 * Larger tenants for the benchmark, generated in memory from the bundled sample tenant with a
 * seeded PRNG: every user is a copy of a randomly picked sample user (so the mix stays the sample's:
 * synced and cloud-only, members and guests, contractors, users without a usage location, EMS held
 * right or wrong, licenses inherited from a group) with a new id, UPN and immutable id, and the same
 * group memberships. SKUs and plans are the sample's; prepaid seats are recomputed from what the
 * new users consume so that EMS has a seat for every synced user (the example rules license them
 * all) and EMS E5 stays exactly full, as in the sample.
 */
import { parseTenantFile, prng, type TenantFile } from '@ems-licensing/graph-simulator';

const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';
const EMSPREMIUM = 'b05e124f-c7cc-45a0-a6aa-8cf78c946968';

export function generateTenant(sample: TenantFile, users: number, seed = 20240611): TenantFile {
  if (users <= sample.users.length) {
    return parseTenantFile(
      { ...sample, users: sample.users.slice(0, users) },
      `sample tenant, ${users} users`,
    );
  }
  const rand = prng(seed);
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  const guid = () =>
    `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(rand() * 4)] ?? '8'}${hex(3)}-${hex(12)}`;

  const userIds = new Set(sample.users.map((u) => u.id));
  const clonesOf = new Map<string, string[]>();
  const out: TenantFile['users'] = [];
  for (let i = 0; i < users; i++) {
    const template = sample.users[Math.floor(rand() * sample.users.length)]!;
    const id = guid();
    const [local = 'user', domain = 'contoso.com'] = template.userPrincipalName.split('@');
    const suffix = `.b${String(i)}`;
    // Guests keep their #EXT# shape: the suffix goes before it.
    const upnLocal = local.includes('#EXT#') ? local.replace('#EXT#', `${suffix}#EXT#`) : `${local}${suffix}`;
    out.push({
      ...structuredClone(template),
      id,
      userPrincipalName: `${upnLocal}@${domain}`,
      ...(typeof template.mail === 'string'
        ? { mail: `${local.split('#')[0] ?? local}${suffix}@${domain}` }
        : {}),
      ...(template.onPremisesImmutableId
        ? { onPremisesImmutableId: Buffer.from(hex(32), 'hex').toString('base64') }
        : {}),
    });
    clonesOf.set(template.id, [...(clonesOf.get(template.id) ?? []), id]);
  }
  // Same memberships: a sample user's place in a group goes to all of its copies; nested groups stay.
  const groups = sample.groups.map((g) => ({
    ...structuredClone(g),
    members: g.members.flatMap((m) => (userIds.has(m) ? (clonesOf.get(m) ?? []) : [m])),
  }));

  // Seats consumed per SKU: direct licenses plus licenses from groups the user is a direct member of.
  const consumed = new Map<string, number>();
  const groupSkus = new Map<string, Set<string>>();
  for (const g of groups) {
    for (const m of g.members) {
      const set = groupSkus.get(m) ?? new Set<string>();
      for (const l of g.licenses) set.add(l.skuId);
      groupSkus.set(m, set);
    }
  }
  let synced = 0;
  for (const u of out) {
    if (u.onPremisesSyncEnabled === true) synced++;
    const skus = new Set([...u.directLicenses.map((l) => l.skuId), ...(groupSkus.get(u.id) ?? [])]);
    for (const s of skus) consumed.set(s, (consumed.get(s) ?? 0) + 1);
  }
  const skus = sample.skus.map((sku) => {
    const used = consumed.get(sku.skuId) ?? 0;
    const sampleFree = Math.max(0, sku.prepaidUnits.enabled - countSampleHolders(sample, sku.skuId));
    const enabled =
      sku.skuId === EMS
        ? Math.ceil((used + synced) / 25) * 25
        : sku.skuId === EMSPREMIUM
          ? used
          : Math.max(sku.prepaidUnits.enabled, used + sampleFree);
    return { ...structuredClone(sku), prepaidUnits: { ...sku.prepaidUnits, enabled } };
  });
  return parseTenantFile({ ...sample, skus, groups, users: out }, `generated tenant, ${users} users`);
}

function countSampleHolders(sample: TenantFile, skuId: string): number {
  const viaGroup = new Set(
    sample.groups.filter((g) => g.licenses.some((l) => l.skuId === skuId)).flatMap((g) => g.members),
  );
  return sample.users.filter((u) => viaGroup.has(u.id) || u.directLicenses.some((l) => l.skuId === skuId))
    .length;
}
