import { describe, expect, it } from 'vitest';
import { Catalog } from '../../lib/licensing/catalog.js';
import { PLAN, SKU, tenantSkus } from './license-fixtures.js';

const catalog = (): Catalog => new Catalog(tenantSkus());

describe('Catalog: names and GUIDs', () => {
  it.each([
    ['part number', 'EMS', SKU.EMS],
    ['part number in another case', 'emsPremium', SKU.EMSPREMIUM],
    ['GUID', SKU.EMS, SKU.EMS],
    ['GUID in upper case', SKU.EMS.toUpperCase(), SKU.EMS],
    ['INTUNE_A as a SKU is the standalone Intune SKU, not the plan', 'INTUNE_A', SKU.INTUNE_A],
  ])('resolves a SKU by %s', (_, ref, skuId) => {
    expect(catalog().resolveSku(ref)?.skuId).toBe(skuId);
  });

  it.each([['EMSS'], [PLAN.INTUNE_A], ['']])('finds no SKU for %j', (ref) => {
    expect(catalog().resolveSku(ref)).toBeNull();
  });

  it('resolves plans within one SKU only, by name (any case) or GUID', () => {
    const c = catalog();
    expect(c.resolvePlan(SKU.EMS, 'intune_a')?.servicePlanId).toBe(PLAN.INTUNE_A);
    expect(c.resolvePlan(SKU.EMS, PLAN.MFA_PREMIUM.toUpperCase())?.servicePlanName).toBe('MFA_PREMIUM');
    expect(c.resolvePlan(SKU.EMS, 'AAD_PREMIUM_P2')).toBeNull();
    expect(c.resolvePlan(SKU.EMSPREMIUM, 'AAD_PREMIUM_P2')?.servicePlanId).toBe(PLAN.AAD_PREMIUM_P2);
  });

  it('names GUIDs back, and falls back to the GUID when unknown', () => {
    const c = catalog();
    expect(c.skuPartNumber(SKU.EMS.toUpperCase())).toBe('EMS');
    expect(c.skuPartNumber('00000000-0000-0000-0000-000000000001')).toBe(
      '00000000-0000-0000-0000-000000000001',
    );
    expect(c.planName(PLAN.INTUNE_A, SKU.EMS)).toBe('INTUNE_A');
    expect(c.planName(PLAN.TEAMS1)).toBe('TEAMS1');
    expect(c.planName('00000000-0000-0000-0000-000000000002')).toBe('00000000-0000-0000-0000-000000000002');
    // Passed around as plain functions (planner input) without losing `this`.
    const { skuPartNumber, freeSeats } = c;
    expect(skuPartNumber(SKU.EMSPREMIUM)).toBe('EMSPREMIUM');
    expect(freeSeats(SKU.EMS)).toBe(60);
  });
});

describe('Catalog: assignability', () => {
  it.each([
    ['Enabled', 'User', true],
    ['Warning', 'User', true],
    ['Suspended', 'User', false],
    ['Deleted', 'User', false],
    ['LockedOut', 'User', false],
    ['Enabled', 'Company', false],
  ])('capabilityStatus %s, appliesTo %s → %s', (capabilityStatus, appliesTo, assignable) => {
    const [ems] = tenantSkus();
    const c = new Catalog([{ ...ems!, capabilityStatus, appliesTo }]);
    expect(c.isAssignable(SKU.EMS)).toBe(assignable);
    expect(c.whyNotAssignable(SKU.EMS) === null).toBe(assignable);
  });

  it('says why a SKU cannot be assigned and what to do', () => {
    expect(catalog().whyNotAssignable(SKU.POWER_BI_PRO)).toMatch(/capabilityStatus Suspended: .*renew/);
    expect(catalog().whyNotAssignable('00000000-0000-0000-0000-000000000001')).toMatch(/no SKU/);
  });

  it('lists assignable part numbers, sorted, without the suspended one', () => {
    expect(catalog().assignableSkuPartNumbers()).toEqual([
      'AAD_PREMIUM',
      'EMS',
      'EMSPREMIUM',
      'INTUNE_A',
      'SPE_E3',
    ]);
  });
});

describe('Catalog: seats', () => {
  it.each([
    ['EMS', SKU.EMS, 60],
    ['fully used', SKU.EMSPREMIUM, 0],
    ['consumed above prepaid never goes negative', SKU.AAD_PREMIUM, 0],
    ['unknown SKU', '00000000-0000-0000-0000-000000000001', 0],
  ])('freeSeats: %s', (_, skuId, free) => {
    expect(catalog().freeSeats(skuId)).toBe(free);
  });
});
