import { describe, expect, it } from 'vitest';
import { Catalog } from '../../lib/licensing/catalog.js';
import { RulesValidationError, compileRules } from '../../lib/licensing/compile.js';
import { loadRulesFile, parseRules } from '../../lib/rules/load.js';
import { RulesError } from '../../lib/rules/rules-error.js';
import { PLAN, SKU, tenantSkus } from './license-fixtures.js';

const catalog = new Catalog(tenantSkus());
const one = (license: string, extraRules = ''): string =>
  `version: 1\ndefaults: { usageLocation: GB }\nrules:\n  - name: r1\n    when: { attribute: department, equals: IT }\n    license: ${license}\n${extraRules}`;
const compileText = (text: string) => compileRules(parseRules(text, 'rules.yaml'), catalog);

function validationError(text: string): RulesValidationError {
  try {
    compileText(text);
  } catch (e) {
    expect(e).toBeInstanceOf(RulesValidationError);
    expect(e).toBeInstanceOf(RulesError);
    return e as RulesValidationError;
  }
  throw new Error('expected compileRules to refuse the rules');
}

describe('compileRules: resolving licenses', () => {
  it.each([
    ['no plan list: everything on', '{ sku: EMS }', []],
    [
      'disabledPlans by name and GUID',
      `{ sku: EMS, disabledPlans: [mfa_premium, ${PLAN.INTUNE_A.toUpperCase()}] }`,
      [PLAN.MFA_PREMIUM, PLAN.INTUNE_A],
    ],
    ['intune: off', '{ sku: EMS, intune: off }', [PLAN.INTUNE_A]],
    [
      'intune: off added to a list',
      '{ sku: EMS, intune: off, disabledPlans: [RMS_S_PREMIUM] }',
      [PLAN.RMS_S_PREMIUM, PLAN.INTUNE_A],
    ],
    [
      'intune: off already in the list',
      '{ sku: EMS, intune: off, disabledPlans: [INTUNE_A] }',
      [PLAN.INTUNE_A],
    ],
    ['intune: on', '{ sku: EMS, intune: on }', []],
    // Every per-user plan not allowed is disabled; the tenant-level EXCHANGE_S_FOUNDATION is never listed.
    [
      'enabledPlans inverted over the SKU’s plans',
      '{ sku: EMS, enabledPlans: [AAD_PREMIUM, INTUNE_A] }',
      [PLAN.RMS_S_PREMIUM, PLAN.ADALLOM_S_DISCOVERY, PLAN.RMS_S_ENTERPRISE, PLAN.MFA_PREMIUM],
    ],
    [
      'enabledPlans with intune: on',
      '{ sku: EMS, enabledPlans: [AAD_PREMIUM], intune: on }',
      [PLAN.RMS_S_PREMIUM, PLAN.ADALLOM_S_DISCOVERY, PLAN.RMS_S_ENTERPRISE, PLAN.MFA_PREMIUM],
    ],
    [
      'enabledPlans with intune: off',
      '{ sku: EMS, enabledPlans: [AAD_PREMIUM, MFA_PREMIUM], intune: off }',
      [PLAN.RMS_S_PREMIUM, PLAN.ADALLOM_S_DISCOVERY, PLAN.RMS_S_ENTERPRISE, PLAN.INTUNE_A],
    ],
  ])('%s', (_, license, disabledPlans) => {
    const compiled = compileText(one(license));
    expect(compiled.rules[0]?.licenses).toEqual([{ skuId: SKU.EMS, skuPartNumber: 'EMS', disabledPlans }]);
  });

  it('inverts enabledPlans at every compile, so a plan Microsoft adds later stays off', () => {
    const rules = parseRules(one('{ sku: EMS, enabledPlans: [AAD_PREMIUM] }'), 'rules.yaml');
    const before = compileRules(rules, catalog);
    const skus = tenantSkus();
    const newPlan = '9d0c4ee5-e4a1-4625-ab39-d82b619b1a34';
    skus[0]!.servicePlans.push({
      servicePlanId: newPlan,
      servicePlanName: 'NEW_PLAN',
      provisioningStatus: 'Success',
      appliesTo: 'User',
    });
    const after = compileRules(rules, new Catalog(skus));
    const disabled = (c: typeof before): string[] =>
      c.rules[0]?.licenses === 'none' ? [] : c.rules[0]!.licenses[0]!.disabledPlans;
    expect(disabled(before)).not.toContain(newPlan);
    expect(disabled(after)).toContain(newPlan);
  });

  it('collects managed SKUs from every rule, and keeps defaults', async () => {
    const compiled = compileRules(
      await loadRulesFile(new URL('../fixtures/rules-valid.yaml', import.meta.url).pathname),
      catalog,
    );
    expect([...compiled.managedSkuIds].sort()).toEqual([SKU.EMSPREMIUM, SKU.EMS].sort());
    expect(compiled.defaults).toEqual({ usageLocation: 'GB', unmatched: 'remove' });
    expect(
      compiled.rules.map((r) => [r.name, r.index, r.licenses === 'none' ? 'none' : r.licenses.length]),
    ).toEqual([
      ['guests', 0, 'none'],
      ['contractors', 1, 1],
      ['security-team', 2, 1],
      ['uk-staff', 3, 1],
    ]);
  });

  it('resolves `sku: INTUNE_A` to the standalone Intune SKU', () => {
    const compiled = compileText(one('{ sku: INTUNE_A }'));
    expect(compiled.rules[0]?.licenses).toEqual([
      { skuId: SKU.INTUNE_A, skuPartNumber: 'INTUNE_A', disabledPlans: [] },
    ]);
  });
});

describe('compileRules: every problem, naming the rule', () => {
  it('lists the valid assignable SKUs for an unknown SKU, at its line', () => {
    const e = validationError(one('{ sku: EMSS }'));
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]).toMatchObject({ rule: 'r1', line: 6, path: 'rules[0].license.sku' });
    expect(e.problems[0]?.message).toBe(
      'unknown SKU "EMSS": the tenant has no subscription with this part number or id',
    );
    expect(e.problems[0]?.fix).toBe(
      'did you mean "EMS"? assignable SKUs in this tenant: AAD_PREMIUM, EMS, EMSPREMIUM, INTUNE_A, SPE_E3',
    );
    expect(e.message).toContain('rules.yaml:6:');
  });

  it('reports all problems of the bad-SKU fixture together', async () => {
    const rules = await loadRulesFile(new URL('../fixtures/rules-bad-sku.yaml', import.meta.url).pathname);
    const e = (() => {
      try {
        compileRules(rules, new Catalog(tenantSkus().filter((s) => s.skuPartNumber !== 'INTUNE_A')));
      } catch (err) {
        return err as RulesValidationError;
      }
      throw new Error('expected a RulesValidationError');
    })();
    expect(e.problems.map((p) => [p.rule, p.line, p.message])).toEqual([
      ['wrong-sku', 5, 'unknown SKU "EMSS": the tenant has no subscription with this part number or id'],
      ['wrong-plan', 8, 'EMS has no service plan "INTUNE"'],
      ['intune-without-intune', 11, 'intune: off on AAD_PREMIUM, which has no INTUNE_A plan'],
    ]);
    expect(e.problems[1]?.fix).toBe('did you mean "INTUNE_A"?');
    expect(e.problems[2]?.fix).toContain('AAD_PREMIUM plans: AAD_PREMIUM, MFA_PREMIUM, ADALLOM_S_DISCOVERY');
  });

  it("lists the SKU's plans when an unknown plan is nothing like any of them", () => {
    const e = validationError(one('{ sku: EMS, enabledPlans: [EXCHANGE_ONLINE] }'));
    expect(e.problems[0]?.fix).toBe(
      'EMS plans: AAD_PREMIUM, RMS_S_PREMIUM, ADALLOM_S_DISCOVERY, EXCHANGE_S_FOUNDATION, RMS_S_ENTERPRISE, MFA_PREMIUM, INTUNE_A',
    );
  });

  it('explains that a plan GUID given as a SKU is a plan', () => {
    const e = validationError(one(`{ sku: ${PLAN.INTUNE_A} }`));
    expect(e.problems[0]?.fix).toMatch(/is a service plan of EMS, EMSPREMIUM, INTUNE_A, SPE_E3, not a SKU/);
  });

  it('refuses a SKU that cannot be assigned, saying why', () => {
    const e = validationError(one('{ sku: POWER_BI_PRO }'));
    expect(e.problems[0]?.message).toMatch(/^SKU POWER_BI_PRO cannot be assigned: .*Suspended/);
  });

  it('refuses the same SKU named twice in one rule (by name and GUID)', () => {
    const text = `version: 1\nrules:\n  - name: r1\n    when: { attribute: department, equals: IT }\n    licenses: [ { sku: EMS }, { sku: ${SKU.EMS} } ]\n`;
    expect(validationError(text).problems[0]?.message).toBe('SKU EMS is listed twice in this rule');
  });

  it('works without positions for rules built in code', () => {
    const rules = parseRules(one('{ sku: EMSS }'), 'rules.yaml');
    const copy = structuredClone(rules);
    try {
      compileRules(copy, catalog);
      expect.unreachable();
    } catch (e) {
      expect((e as RulesValidationError).problems[0]).not.toHaveProperty('line');
      expect((e as Error).message).toContain('rules: 1 problem');
    }
  });
});
