/**
 * `when: { entra: '…' }` in the rules file: loaded and checked with the rest of the file (a rule
 * the app cannot evaluate is a rules error at load, with the file position and the rule's column),
 * combinable with all/any/not/memberOf, selected from Graph, evaluated and explained.
 */
import { describe, expect, it } from 'vitest';
import { evaluateRules } from '../../lib/rules/evaluate.js';
import { explainEvaluation } from '../../lib/licensing/explain.js';
import { parseRules } from '../../lib/rules/load.js';
import { RulesError, type RulesProblem } from '../../lib/rules/rules-error.js';
import { userSelectFor } from '../../lib/rules/select.js';
import type { Condition } from '../../lib/rules/schema.js';
import type { CompiledRule } from '../../lib/licensing/types.js';
import { SKU, user } from './license-fixtures.js';

const GROUP = '7b0d6c1e-0000-4000-8000-000000000001';

function problemsOf(text: string): readonly RulesProblem[] {
  try {
    parseRules(text, 'rules.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(RulesError);
    return (e as RulesError).problems;
  }
  throw new Error('expected the rules to be refused');
}

const compiled = (name: string, when: Condition, index: number): CompiledRule => ({
  name,
  index,
  description: null,
  when,
  licenses: [{ skuId: SKU.EMS, skuPartNumber: 'EMS', disabledPlans: [] }],
});

describe('loading entra conditions', () => {
  it('reads them alone and combined with all / not / memberOf', () => {
    const rules = parseRules(
      [
        'version: 1',
        'rules:',
        '  - name: sales',
        `    when: { entra: '(user.department -eq "Sales") -and (user.employeeType -ne "Contractor")' }`,
        '    license: { sku: EMS }',
        '  - name: pilot-sales',
        '    when:',
        '      all:',
        `        - entra: user.department -eq "Sales"`,
        `        - memberOf: ${GROUP}`,
        `        - not: { entra: 'user.country -in ["GB", "IE"]' }`,
        '    license: none',
      ].join('\n'),
      'rules.yaml',
    );
    expect(rules.rules[0]?.when).toEqual({
      entra: '(user.department -eq "Sales") -and (user.employeeType -ne "Contractor")',
    });
    expect(rules.rules[1]?.when).toEqual({
      all: [
        { entra: 'user.department -eq "Sales"' },
        { memberOf: GROUP },
        { not: { entra: 'user.country -in ["GB", "IE"]' } },
      ],
    });
  });

  it('refuses a rule it cannot evaluate at load: file line and column, rule name, the column in the rule, the fix', () => {
    const problems = problemsOf(
      [
        'version: 1',
        'rules:',
        '  - name: ipads',
        `    when: { entra: '(user.department -eq "Sales") -and (device.deviceOSType -eq "iPad")' }`,
        '    license: { sku: EMS }',
      ].join('\n'),
    );
    expect(problems).toEqual([
      {
        line: 4,
        column: 20,
        path: 'rules[0].when.entra',
        rule: 'ipads',
        message:
          'entra rule, column 37 ("device.deviceOSType"): device properties select devices; licenses are assigned to users',
        fix: 'keep device groups out of the rules (they carry no user licenses)',
      },
    ]);
  });

  it('reports a syntax error in a nested entra condition beside other problems in the file', () => {
    const problems = problemsOf(
      [
        'version: 1',
        'rules:',
        '  - name: a',
        '    when:',
        '      any:',
        '        - entra: user.department -eqq "Sales"',
        '    license: { sku: EMS, intune: maybe }',
      ].join('\n'),
    );
    expect(problems.map((p) => [p.line, p.path, p.message])).toEqual([
      [6, 'rules[0].when.any[0].entra', 'entra rule, column 17 ("-eqq"): unknown operator -eqq'],
      [7, 'rules[0].license.intune', '"intune" cannot be "maybe"'],
    ]);
    expect(problems[0]?.fix).toBe('did you mean -eq?');
  });

  it('refuses an empty rule, a non-text one, and entra combined with another key', () => {
    expect(
      problemsOf('version: 1\nrules:\n  - name: a\n    when: { entra: "" }\n    license: none\n')[0]?.message,
    ).toBe('"entra" is empty');
    expect(
      problemsOf('version: 1\nrules:\n  - name: a\n    when: { entra: 42 }\n    license: none\n')[0]?.message,
    ).toBe('"entra" should be a string, not number 42');
    const combined = problemsOf(
      `version: 1\nrules:\n  - name: a\n    when: { entra: 'user.department -eq "x"', memberOf: ${GROUP} }\n    license: none\n`,
    );
    expect(combined[0]?.message).toBe('"entra" cannot be combined with "memberOf" in one condition');
  });
});

describe('entra conditions in the engine', () => {
  it('adds the Graph properties the rule reads to $select', () => {
    const rules = parseRules(
      [
        'version: 1',
        'rules:',
        '  - name: a',
        `    when: { entra: 'user.city -eq "Leeds" -and user.dirSyncEnabled -eq true -and user.extensionAttribute2 -ne null -and user.proxyAddresses -any (_ -startsWith "smtp:")' }`,
        '    license: none',
      ].join('\n'),
      'rules.yaml',
    );
    const select = userSelectFor(rules);
    for (const p of ['city', 'onPremisesSyncEnabled', 'onPremisesExtensionAttributes', 'proxyAddresses'])
      expect(select).toContain(p);
    expect(select).not.toContain('department');
  });

  it('is first-match like any condition, and explain shows each clause with the value it saw', () => {
    const rules = [
      compiled('contractors', { entra: 'user.employeeType -eq "Contractor"' }, 0),
      compiled(
        'sales',
        {
          all: [
            { entra: '(user.department -eq "Sales") -and (user.country -in ["GB","IE"])' },
            { memberOf: GROUP },
          ],
        },
        1,
      ),
    ];
    const u = user({ employeeType: 'Employee', department: 'sales', country: 'GB' });
    const evaluation = evaluateRules({ rules }, u, new Set([GROUP.toUpperCase()]));
    expect(evaluation.matched?.name).toBe('sales');
    expect(explainEvaluation(evaluation, u)).toEqual([
      'alex.wilber@contoso.com (11111111-2222-4333-8444-555555555555): rule "sales" matched (rule 2).',
      '  rule 1 "contractors": no match',
      '    ✗ entra: user.employeeType -eq "Contractor" (value: "Employee")',
      '  rule 2 "sales": MATCH',
      '    ✓ all of:',
      '        ✓ entra: (user.department -eq "Sales") -and (user.country -in ["GB","IE"])',
      '            ✓ all of (-and):',
      '                ✓ user.department -eq "Sales" (value: "sales")',
      '                ✓ user.country -in ["GB","IE"] (value: "GB")',
      `        ✓ member of group ${GROUP} (is a member)`,
      '  → wants: EMS',
    ]);
  });
});
