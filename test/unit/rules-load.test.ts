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

describe('parseRules: numbers in conditions that YAML would change', () => {
  const cc = (operator: string, value: string): string =>
    `{ attribute: extensionAttribute7, ${operator}: ${value} }`;
  // `    when: { attribute: extensionAttribute7, ` is 44 characters; `<operator>: ` follows.
  const col = (operator: string): number => 45 + operator.length + 2;

  it.each([
    // [what, when, column, as written, read as]
    ['a leading zero', cc('equals', '0042'), col('equals'), '0042', '42'],
    ['a trailing zero', cc('equals', '1.10'), col('equals'), '1.10', '1.1'],
    ['a whole number with a decimal point', cc('equals', '1.0'), col('equals'), '1.0', '1'],
    ['an exponent', cc('equals', '1e3'), col('equals'), '1e3', '1000'],
    ['hexadecimal', cc('equals', '0x1F'), col('equals'), '0x1F', '31'],
    ['octal', cc('equals', '0o17'), col('equals'), '0o17', '15'],
    ['a plus sign', cc('equals', '+5'), col('equals'), '+5', '5'],
    ['a negative zero', cc('equals', '-0'), col('equals'), '-0', '0'],
    ['infinity', cc('equals', '.inf'), col('equals'), '.inf', 'Infinity'],
    [
      'more digits than a number holds',
      cc('equals', '12345678901234567890'),
      col('equals'),
      '12345678901234567890',
      '12345678901234567000',
    ],
    ['startsWith with a leading zero', cc('startsWith', '0042'), col('startsWith'), '0042', '42'],
    ['endsWith with a trailing zero', cc('endsWith', '1.50'), col('endsWith'), '1.50', '1.5'],
    ['an in item with a leading zero', cc('in', '[ 42, 007 ]'), col('in') + 6, '007', '7'],
  ])(
    'refuses %s at its line:column, saying what was read and how to quote it',
    (_, when, column, written, read) => {
      const { error, problems } = problemsOf(rulesWith(when));
      expect(problems).toEqual([
        {
          line: 4,
          column,
          path: expect.stringMatching(/^rules\[0\]\.when\.(equals|startsWith|endsWith|in\[1\])$/) as unknown,
          rule: 'r1',
          message: `${written} is read as the number ${read}, which only matches the text "${read}"; you probably meant the text "${written}"`,
          fix: `quote it: '${written}'`,
        },
      ]);
      expect(error.message).toContain(
        `rules.yaml:4:${column}: rule "r1": ${written} is read as the number ${read}`,
      );
    },
  );

  it('reports every changed item of an in list, each at its own column', () => {
    const { problems } = problemsOf(rulesWith('{ attribute: extensionAttribute7, in: [1.10, 42, 007] }'));
    expect(problems.map((p) => [p.line, p.column, p.path, p.fix])).toEqual([
      [4, 50, 'rules[0].when.in[0]', "quote it: '1.10'"],
      [4, 60, 'rules[0].when.in[2]', "quote it: '007'"],
    ]);
  });

  it('finds them in block-style conditions nested in all / any / not, at their own lines', () => {
    const text = [
      'version: 1',
      'rules:',
      '  - name: staff',
      '    when: { attribute: department, equals: IT }',
      '    license: none',
      '  - name: cost-centres',
      '    when:',
      '      all:',
      '        - attribute: extensionAttribute7',
      '          equals: 0042',
      '        - any:',
      '            - not: { attribute: extensionAttribute9, in: [ "0001", 0002 ] }',
      '            - attribute: department',
      '              endsWith: 1.10',
      '    license: { sku: EMS }',
      '',
    ].join('\n');
    const { problems } = problemsOf(text);
    expect(problems.map((p) => [p.line, p.column, p.rule, p.path])).toEqual([
      [10, 19, 'cost-centres', 'rules[1].when.all[0].equals'],
      [12, 68, 'cost-centres', 'rules[1].when.all[1].any[0].not.in[1]'],
      [14, 25, 'cost-centres', 'rules[1].when.all[1].any[1].endsWith'],
    ]);
  });

  it('says to remove an explicit number tag as well as quote', () => {
    const { problems } = problemsOf(rulesWith(cc('equals', "!!int '0042'")));
    expect(problems[0]).toMatchObject({
      line: 4,
      column: 59,
      fix: "remove the !!int tag and quote it: '0042'",
    });
  });

  it('reports a value behind an anchor once, where it is written', () => {
    const text =
      'version: 1\nrules:\n  - name: a\n    when: { attribute: extensionAttribute7, equals: &cc 0042 }\n    license: none\n' +
      '  - name: b\n    when: { attribute: extensionAttribute8, equals: *cc }\n    license: none\n';
    const { problems } = problemsOf(text);
    expect(problems.map((p) => [p.line, p.column, p.rule])).toEqual([[4, 57, 'a']]);
  });

  it('lists them with the schema problems of the same file, in line order', () => {
    const text =
      'version: 1\nrules:\n  - name: a\n    when: { attribute: extensionAttribute7, equals: 0042 }\n    licence: none\n';
    const { problems } = problemsOf(text);
    expect(problems.map((p) => [p.line, p.message.split(',')[0]])).toEqual([
      [3, 'the rule has neither license nor licenses'],
      [4, '0042 is read as the number 42'],
      [5, 'unknown key "licence"'],
    ]);
  });

  it('leaves true/false attributes to the schema, whose fix is not to quote', () => {
    const { problems } = problemsOf(rulesWith('{ attribute: accountEnabled, equals: 01 }'));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toBe('"accountEnabled" is true or false, not 1');
  });

  it('says "quote it" in JSON terms for a JSON file', () => {
    const json =
      '{\n  "version": 1,\n  "rules": [\n    { "name": "j", "when": { "attribute": "department", "equals": 1.10 }, "license": "none" }\n  ]\n}\n';
    const { error, problems } = problemsOf(json, 'rules.json');
    expect(problems).toMatchObject([{ line: 4, column: 67, rule: 'j', fix: 'quote it: "1.10"' }]);
    expect(error.message).toContain('rules.json:4:67: rule "j": 1.10 is read as the number 1.1');
  });

  it.each<[string, string, unknown]>([
    ['a plain whole number', cc('equals', '42'), { equals: 42 }],
    ['a plain decimal', cc('equals', '1.5'), { equals: 1.5 }],
    ['a plain negative number', cc('equals', '-3'), { equals: -3 }],
    ['zero', cc('equals', '0'), { equals: 0 }],
    ['plain numbers in a list', cc('in', '[ 42, 1.5, -3 ]'), { in: [42, 1.5, -3] }],
    ['a single-quoted leading zero', cc('equals', "'0042'"), { equals: '0042' }],
    ['a double-quoted leading zero', cc('equals', '"0042"'), { equals: '0042' }],
    ['quoted list items', cc('in', `[ '007', "1.10", 1e3x ]`), { in: ['007', '1.10', '1e3x'] }],
    ['quoted startsWith', cc('startsWith', "'0042'"), { startsWith: '0042' }],
    ['text that only looks numeric', cc('equals', '0042-A'), { equals: '0042-A' }],
    ['an explicit string tag', cc('equals', '!!str 0042'), { equals: '0042' }],
    ['a number written as itself under a tag', cc('equals', '!!int 42'), { equals: 42 }],
  ])('accepts %s', (_, when, expected) => {
    const rules = parseRules(rulesWith(when), 'rules.yaml');
    expect(rules.rules[0]?.when).toEqual({ attribute: 'extensionAttribute7', ...(expected as object) });
  });

  it('accepts plain JSON numbers and quoted ones in a JSON file', () => {
    const json =
      '{ "version": 1, "rules": [ { "name": "j", "when": { "attribute": "department", "in": [42, 1.5, "0042", "1.10"] }, "license": "none" } ] }';
    expect(parseRules(json, 'rules.json').rules[0]?.when).toEqual({
      attribute: 'department',
      in: [42, 1.5, '0042', '1.10'],
    });
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
    expect(schema.definitions.condition.anyOf).toHaveLength(6);
  });
});
