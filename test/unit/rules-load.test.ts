import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderRulesJsonSchema } from '../../lib/rules/json-schema.js';
import { loadRulesFile, parseRules } from '../../lib/rules/load.js';
import { RulesError, type RulesProblem } from '../../lib/rules/rules-error.js';

const fixture = (name: string): string => new URL(`../fixtures/${name}`, import.meta.url).pathname;

/** The problems parseRules reports for `text` (fails the test if it parses). */
function problemsOf(
  text: string,
  source = 'rules.yaml',
): { error: RulesError; problems: readonly RulesProblem[] } {
  try {
    parseRules(text, source);
  } catch (e) {
    expect(e).toBeInstanceOf(RulesError);
    return { error: e as RulesError, problems: (e as RulesError).problems };
  }
  throw new Error('expected the rules to be refused');
}

const rulesWith = (when: string, license = '{ sku: EMS }'): string =>
  `version: 1\nrules:\n  - name: r1\n    when: ${when}\n    license: ${license}\n`;

describe('parseRules: valid files', () => {
  it('reads the full-featured YAML fixture with defaults, every combinator and both license forms', async () => {
    const rules = await loadRulesFile(fixture('rules-valid.yaml'));
    expect(rules.defaults).toEqual({ usageLocation: 'GB', unmatched: 'remove' });
    expect(rules.rules.map((r) => r.name)).toEqual(['guests', 'contractors', 'security-team', 'uk-staff']);
    expect(rules.rules[0]?.license).toBe('none');
    expect(rules.rules[1]?.license).toEqual({ sku: 'ems', intune: 'off' });
    expect(rules.rules[2]?.licenses).toEqual([
      { sku: 'EMSPREMIUM', enabledPlans: ['AAD_PREMIUM_P2', 'INTUNE_A'] },
    ]);
  });

  it('reads tab-indented JSON and points at the line of a mistake in it', () => {
    const json =
      '{\n\t"version": 1,\n\t"rules": [\n\t\t{ "name": "a", "when": { "memberOf": "x" }, "license": "none", "lisence": 1 }\n\t]\n}\n';
    const { problems } = problemsOf(json, 'rules.json');
    expect(problems.map((p) => [p.line, p.message])).toEqual([
      [4, '"memberOf" cannot be "x"'],
      [4, 'unknown key "lisence"'],
    ]);
    expect(parseRules('{\n\t"version": 1,\n\t"rules": []\n}\n', 'rules.json').rules).toEqual([]);
  });

  it('reads JSON (with $schema) through the same parser', async () => {
    const rules = await loadRulesFile(fixture('rules-valid.json'));
    expect(rules.rules[0]?.license).toEqual({ sku: 'EMS', intune: 'off' });
    expect(rules.defaults.unmatched).toBe('leave');
  });

  it('parses the shipped example', async () => {
    const rules = await loadRulesFile(new URL('../../examples/rules.yaml', import.meta.url).pathname);
    expect(rules.defaults.usageLocation).toBe('GB');
    expect(rules.rules.map((r) => r.name)).toEqual(['contractors', 'synced-staff']);
  });
});

describe('parseRules: errors name file:line:column, the rule, and the fix', () => {
  it('reports a typo on line 7 as :7: with a did-you-mean', async () => {
    const error = await loadRulesFile(fixture('rules-bad-typo.yaml')).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RulesError);
    const problems = (error as RulesError).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      line: 7,
      column: 7,
      rule: 'contractors',
      path: 'rules[0].when.atribute',
    });
    expect(problems[0]?.fix).toBe('did you mean "attribute"?');
    expect((error as Error).message).toContain(
      'rules-bad-typo.yaml:7:7: rule "contractors": unknown key "atribute"',
    );
  });

  it('lists every problem of a file at once, each at its own line', async () => {
    const error = (await loadRulesFile(fixture('rules-bad-many.yaml')).catch(
      (e: unknown) => e,
    )) as RulesError;
    const byLine = error.problems.map((p) => [p.line, p.message, p.fix]);
    expect(byLine).toEqual([
      [
        3,
        '"usageLocation" cannot be "gb"',
        'usageLocation is two capital letters (ISO 3166-1 alpha-2), e.g. GB',
      ],
      [4, '"unmatched" cannot be "delete"', 'allowed values: leave, remove'],
      [7, '"attribute" cannot be "departmnt"', 'did you mean "department"?'],
      [
        8,
        'intune: on contradicts disabledPlans, which lists INTUNE_A',
        'remove INTUNE_A from disabledPlans, or write intune: off',
      ],
      [9, 'the name "a" is already used by rule 1', expect.stringContaining('own name')],
      [10, 'unknown key "memberof"', 'did you mean "memberOf"?'],
      [11, 'unknown key "licence"', 'did you mean "license"?'],
    ]);
    expect(error.message.split('\n')[0]).toMatch(/rules-bad-many\.yaml: 7 problems in the rules file:$/);
  });

  it.each([
    ['an unknown top-level key', 'version: 1\nrule: []\n', 2, 'unknown key "rule"', 'did you mean "rules"?'],
    ['a wrong version', 'version: 2\nrules: []\n', 1, '"version" cannot be 2', 'use one of 1'],
    ['a missing version', 'rules: []\n', 1, 'missing "version"', 'add version: one of 1'],
    [
      'an empty file',
      '# nothing\n',
      undefined,
      'the rules file is empty',
      'start from examples/rules.yaml (version: 1, rules: [...])',
    ],
  ])('reports %s', (_, text, line, message, fix) => {
    const { problems } = problemsOf(text);
    expect(problems[0]).toMatchObject({ message, fix });
    expect(problems[0]?.line).toBe(line);
  });

  it.each([
    ['two operators', '{ attribute: department, equals: IT, in: [HR] }', /has 2 operators \(equals, in\)/],
    ['no operator', '{ attribute: department }', /has no operator/],
    [
      'an operator of a boolean attribute it does not support',
      '{ attribute: accountEnabled, startsWith: t }',
      /true or false/,
    ],
    ['a quoted boolean', '{ attribute: onPremisesSyncEnabled, equals: "true" }', /true or false, not "true"/],
    ['a boolean for a text attribute', '{ attribute: department, equals: true }', /is text/],
    [
      'memberOf mixed into an attribute test',
      '{ attribute: department, equals: IT, memberOf: 6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b }',
      /"memberOf" cannot be combined/,
    ],
    ['a memberOf that is no GUID', '{ memberOf: Sales-Team }', /memberOf takes a group object id/],
    ['an empty all', '{ all: [] }', /"all" is an empty list/],
    ['a mapping that is no condition', '{ foo: 1 }', /not a condition: "foo" is not/],
    [
      'a list where a condition belongs',
      '[ { attribute: department, equals: IT } ]',
      /expected a condition, found a list/,
    ],
    ['an unknown attribute', '{ attribute: title, equals: x }', /"attribute" cannot be "title"/],
  ])('refuses a condition with %s', (_, when, message) => {
    const { problems } = problemsOf(rulesWith(when));
    expect(problems.map((p) => `${p.message}; ${p.fix ?? ''}`).join(' | ')).toMatch(message);
    expect(problems.every((p) => p.rule === 'r1' && p.line === 4)).toBe(true);
  });

  it.each([
    [
      'both license and licenses',
      'license: { sku: EMS }\n    licenses: [ { sku: EMSPREMIUM } ]',
      /both license and licenses/,
    ],
    [
      'disabledPlans and enabledPlans together',
      'license: { sku: EMS, disabledPlans: [], enabledPlans: [] }',
      /only one is allowed/,
    ],
    [
      'intune: off with INTUNE_A enabled (by GUID)',
      'license: { sku: EMS, intune: off, enabledPlans: [C1EC4A95-1F05-45B3-A911-AA3FA01094F5] }',
      /intune: off contradicts enabledPlans/,
    ],
    [
      'an unknown license key',
      'license: { sku: EMS, disabled_plans: [INTUNE_A] }',
      /unknown key "disabled_plans"/,
    ],
    ['a misspelt none', 'license: nothing', /"license" cannot be "nothing"/],
    ['the same SKU twice', 'licenses: [ { sku: EMS }, { sku: ems } ]', /listed twice/],
  ])('refuses a rule with %s', (_, licenseLines, message) => {
    const text = `version: 1\nrules:\n  - name: r1\n    when: { attribute: department, equals: IT }\n    ${licenseLines}\n`;
    const { problems } = problemsOf(text);
    expect(problems.map((p) => p.message).join(' | ')).toMatch(message);
    expect(problems[0]?.rule).toBe('r1');
  });

  it('reports a YAML syntax error at its position', () => {
    const { problems } = problemsOf(
      'version: 1\nrules:\n  - name: a\n    when: { attribute: department, equals: IT\n',
    );
    expect(problems[0]?.message).toMatch(/^not valid YAML/);
    expect(problems[0]?.line).toBeGreaterThanOrEqual(4);
  });

  it('refuses a key written twice instead of letting the last one win', () => {
    const { problems } = problemsOf(
      'version: 1\nrules:\n  - name: a\n    when: { attribute: department, equals: IT }\n    license: none\n    license: { sku: EMS }\n',
    );
    expect(problems[0]).toMatchObject({ line: 6, fix: 'remove or rename one of the two keys' });
  });

  it('says what to do when the file does not exist', async () => {
    const error = (await loadRulesFile('/nonexistent/rules.yaml').catch((e: unknown) => e)) as RulesError;
    expect(error).toBeInstanceOf(RulesError);
    expect(error.problems[0]?.message).toContain('ENOENT');
    expect(error.problems[0]?.fix).toContain('RULES_PATH');
  });
});

describe('rules.schema.json', () => {
  it('is what scripts/generate-rules-schema.ts would write now (run `npm run rules:schema`)', async () => {
    const committed = await readFile(new URL('../../rules.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(renderRulesJsonSchema());
  });

  it('describes conditions recursively and forbids unknown keys', () => {
    const schema = JSON.parse(renderRulesJsonSchema()) as {
      additionalProperties: boolean;
      definitions: { condition: { anyOf: unknown[] } };
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.definitions.condition.anyOf).toHaveLength(5);
  });
});
