/**
 * Rules that look wrong, before they act: usage locations that are not ISO 3166-1 alpha-2 codes
 * (a rules error at load, with the code meant), and the warnings a plan over the tenant gives.
 */
import { describe, expect, it } from 'vitest';
import { guardVerdict, DEFAULT_GUARD_SETTINGS } from '../../lib/engine/blast-guard.js';
import { ruleWarnings } from '../../lib/engine/rule-warnings.js';
import { compileRules } from '../../lib/licensing/compile.js';
import { Catalog } from '../../lib/licensing/catalog.js';
import { COUNTRIES } from '../../lib/rules/iso-3166.js';
import { parseRules, RulesError } from '../../lib/rules/load.js';
import { intendedCountryCode, isCountryCode } from '../../lib/rules/usage-location.js';
import { SKU, tenantSkus } from './license-fixtures.js';

function problems(yaml: string): string[] {
  try {
    parseRules(yaml, 'rules.yaml');
  } catch (e) {
    if (e instanceof RulesError)
      return e.problems.map((p) => `${String(p.line)}:${String(p.column)} ${p.message} | ${p.fix ?? ''}`);
    throw e;
  }
  return [];
}

describe('ISO 3166-1 alpha-2 usage locations', () => {
  it('ships every assigned code (249), each a region the platform’s own ICU data knows', () => {
    expect(COUNTRIES.size).toBe(249);
    const regions = new Intl.DisplayNames(['en'], { type: 'region' });
    const unknown = [...COUNTRIES.keys()].filter((c) => regions.of(c) === c);
    expect(unknown).toEqual([]);
    expect(new Set([...COUNTRIES.values()].map((c) => c.alpha3)).size).toBe(249);
  });

  it('knows codes in any case, and nothing else', () => {
    expect(isCountryCode('GB')).toBe(true);
    expect(isCountryCode('gb')).toBe(true);
    expect(isCountryCode('UK')).toBe(false);
    expect(isCountryCode('EU')).toBe(false);
    expect(isCountryCode('GBR')).toBe(false);
  });

  it('tells the code meant: reserved codes, alpha-3 codes, names, names with a typo', () => {
    expect(intendedCountryCode('UK')).toBe('GB');
    expect(intendedCountryCode('EL')).toBe('GR');
    expect(intendedCountryCode('DEU')).toBe('DE');
    expect(intendedCountryCode('usa')).toBe('US');
    expect(intendedCountryCode('Germany')).toBe('DE');
    expect(intendedCountryCode('Germnay')).toBe('DE');
    expect(intendedCountryCode('XX')).toBeNull();
  });

  it('refuses defaults.usageLocation: UK at load, at its line and column, with the code meant', () => {
    expect(problems('version: 1\ndefaults:\n  usageLocation: UK\nrules: []\n')).toEqual([
      '3:18 "UK" is not an ISO 3166-1 alpha-2 country code: Graph would refuse every license assignment | did you mean "GB" (United Kingdom)? Usage locations are ISO 3166-1 alpha-2 codes',
    ]);
    expect(problems('version: 1\ndefaults:\n  usageLocation: GB\nrules: []\n')).toEqual([]);
  });

  it('refuses a usageLocation condition no user can ever meet, in equals and in lists', () => {
    const yaml = [
      'version: 1',
      'rules:',
      '  - name: uk-staff',
      '    when: { attribute: usageLocation, equals: UK }',
      '    license: { sku: EMS }',
      '  - name: dach',
      '    when: { attribute: usageLocation, in: [de, AT, Switzerland] }',
      '    license: { sku: EMS }',
      '',
    ].join('\n');
    expect(problems(yaml)).toEqual([
      '4:47 "UK" is not an ISO 3166-1 alpha-2 country code: no user\'s usageLocation can equal it | did you mean "GB" (United Kingdom)? Usage locations are ISO 3166-1 alpha-2 codes',
      '7:52 "Switzerland" is not an ISO 3166-1 alpha-2 country code: no user\'s usageLocation can equal it | did you mean "CH" (Switzerland)? Usage locations are ISO 3166-1 alpha-2 codes',
    ]);
  });
});

describe('rule warnings', () => {
  const rules = compileRules(
    parseRules(
      [
        'version: 1',
        'defaults: { unmatched: remove }',
        'rules:',
        '  - name: contractors',
        '    when: { attribute: employeeType, equals: Contractor }',
        '    license: { sku: EMS, intune: off }',
        '  - name: employees',
        '    when: { attribute: employeeType, equals: Employe }',
        '    license: { sku: EMS }',
        '  - name: pilot',
        '    when: { memberOf: 7b0d6c1e-0000-4000-8000-0000000000aa }',
        '    license: { sku: EMSPREMIUM }',
        '',
      ].join('\n'),
      'rules.yaml',
    ),
    new Catalog(tenantSkus()),
  );

  it('names a rule nobody reaches, a group that does not exist, and unmatched: remove over the guard', () => {
    const unmatched = guardVerdict({
      counts: new Map([[SKU.EMS, { skuPartNumber: 'EMS', reductions: 230 }]]),
      users: 230,
      holders: () => 300,
      settings: DEFAULT_GUARD_SETTINGS,
    });
    const warnings = ruleWarnings({
      rules,
      users: 300,
      decidedBy: new Map([
        ['contractors', 12],
        ['pilot', 3],
      ]),
      missingGroups: new Set(['7b0d6c1e-0000-4000-8000-0000000000aa']),
      unmatched,
    });
    expect(warnings.map((w) => [w.code, w.rule])).toEqual([
      ['RuleMatchesNobody', 'employees'],
      ['GroupNotFound', 'pilot'],
      ['UnmatchedRemovesTooMany', null],
    ]);
    expect(warnings[2]?.message).toBe(
      'defaults.unmatched: remove would remove EMS for 230 user(s) (77 % of 300 holders; the limit is 30) from users no rule matches: more than the blast-radius guard allows.',
    );
  });

  it('says nothing when every rule decides someone and unmatched: remove stays within the guard', () => {
    const quiet = guardVerdict({
      counts: new Map([[SKU.EMS, { skuPartNumber: 'EMS', reductions: 3 }]]),
      users: 3,
      holders: () => 300,
      settings: DEFAULT_GUARD_SETTINGS,
    });
    const warnings = ruleWarnings({
      rules,
      users: 300,
      decidedBy: new Map([
        ['contractors', 12],
        ['employees', 200],
        ['pilot', 3],
      ]),
      missingGroups: new Set(),
      unmatched: quiet,
    });
    expect(warnings).toEqual([]);
  });
});
