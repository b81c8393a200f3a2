import { describe, expect, it } from 'vitest';
import type { GraphUser } from '../../lib/graph/types.js';
import { explainEvaluation } from '../../lib/licensing/explain.js';
import type { CompiledRule } from '../../lib/licensing/types.js';
import { evaluateRules, type ConditionTrace } from '../../lib/rules/evaluate.js';
import { explainRuleTrace } from '../../lib/rules/explain.js';
import type { Condition } from '../../lib/rules/schema.js';
import { SKU, user } from './license-fixtures.js';

const GROUP = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';

const rule = (name: string, when: Condition, index = 0): CompiledRule => ({
  name,
  index,
  description: null,
  when,
  licenses: [{ skuId: SKU.EMS, skuPartNumber: 'EMS', disabledPlans: [] }],
});

const matches = (when: Condition, u: GraphUser, groups: string[] = []): boolean =>
  evaluateRules({ rules: [rule('r', when)] }, u, new Set(groups)).matched !== null;

const alex = user({
  department: 'Security Operations',
  jobTitle: 'Analyst',
  companyName: 'Contoso',
  country: 'United Kingdom',
  usageLocation: 'GB',
  employeeType: 'Contractor',
  userType: 'Member',
  userPrincipalName: 'alex@Contoso.co.uk',
  onPremisesExtensionAttributes: {
    extensionAttribute7: 'CC-1234',
    extensionAttribute8: '',
    extensionAttribute9: '1234',
  },
});

describe('evaluateRules: operators (string comparison is case-insensitive)', () => {
  it.each<[string, Condition, boolean]>([
    ['equals, other case', { attribute: 'employeeType', equals: 'CONTRACTOR' }, true],
    ['equals, different value', { attribute: 'employeeType', equals: 'Employee' }, false],
    ['equals on an unset attribute', { attribute: 'jobTitle', equals: 'x' }, false],
    ['equals, number against text', { attribute: 'extensionAttribute7', equals: 1234 }, false],
    ['equals, number matches its text', { attribute: 'extensionAttribute9', equals: 1234 }, true],
    ['in, numbers match their text', { attribute: 'extensionAttribute9', in: [99, 1234] }, true],
    ['in, one of several', { attribute: 'employeeType', in: ['Vendor', 'contractor'] }, true],
    ['in, none of them', { attribute: 'employeeType', in: ['Vendor', 'Intern'] }, false],
    ['startsWith', { attribute: 'department', startsWith: 'security' }, true],
    ['startsWith, not at the start', { attribute: 'department', startsWith: 'Operations' }, false],
    ['endsWith', { attribute: 'department', endsWith: 'OPERATIONS' }, true],
    ['endsWith, not at the end', { attribute: 'department', endsWith: 'Security' }, false],
    ['exists: true on a set value', { attribute: 'companyName', exists: true }, true],
    ['exists: true on an unset value', { attribute: 'extensionAttribute15', exists: true }, false],
    ['exists: true on an empty string', { attribute: 'extensionAttribute8', exists: true }, false],
    ['exists: false on an empty string', { attribute: 'extensionAttribute8', exists: false }, true],
    ['exists: false on a set value', { attribute: 'country', exists: false }, false],
    ['upnDomain, other case', { attribute: 'upnDomain', equals: 'contoso.CO.UK' }, true],
    ['extensionAttribute7', { attribute: 'extensionAttribute7', startsWith: 'cc-' }, true],
    ['extensionAttribute15 unset', { attribute: 'extensionAttribute15', exists: false }, true],
    ['boolean equals true', { attribute: 'onPremisesSyncEnabled', equals: true }, true],
    ['boolean equals false on true', { attribute: 'accountEnabled', equals: false }, false],
    ['usageLocation', { attribute: 'usageLocation', in: ['gb', 'IE'] }, true],
    ['userType', { attribute: 'userType', equals: 'member' }, true],
    ['jobTitle', { attribute: 'jobTitle', equals: 'analyst' }, true],
    ['country', { attribute: 'country', endsWith: 'kingdom' }, true],
  ])('%s', (_, when, expected) => {
    expect(matches(when, alex)).toBe(expected);
  });

  it('treats an unset boolean (never synced: null) as neither true nor false', () => {
    const cloudOnly = user({ onPremisesSyncEnabled: null });
    expect(matches({ attribute: 'onPremisesSyncEnabled', equals: true }, cloudOnly)).toBe(false);
    expect(matches({ attribute: 'onPremisesSyncEnabled', equals: false }, cloudOnly)).toBe(false);
    expect(matches({ attribute: 'onPremisesSyncEnabled', exists: false }, cloudOnly)).toBe(true);
    expect(matches({ not: { attribute: 'onPremisesSyncEnabled', equals: true } }, cloudOnly)).toBe(true);
  });

  it('takes the domain after the last "@" of a guest UPN', () => {
    const guest = user({ userPrincipalName: 'sam_fabrikam.com#EXT#@contoso.onmicrosoft.com' });
    expect(matches({ attribute: 'upnDomain', equals: 'contoso.onmicrosoft.com' }, guest)).toBe(true);
  });
});

describe('evaluateRules: combinators and groups', () => {
  const contractor: Condition = { attribute: 'employeeType', equals: 'Contractor' };
  const employee: Condition = { attribute: 'employeeType', equals: 'Employee' };
  it.each<[string, Condition, boolean]>([
    ['all true', { all: [contractor, { attribute: 'accountEnabled', equals: true }] }, true],
    ['all with one false', { all: [contractor, employee] }, false],
    ['any with one true', { any: [employee, contractor] }, true],
    ['any all false', { any: [employee, { attribute: 'userType', equals: 'Guest' }] }, false],
    ['not of false', { not: employee }, true],
    ['not of true', { not: contractor }, false],
    ['nested', { any: [employee, { all: [contractor, { not: { any: [employee] } }] }] }, true],
  ])('%s', (_, when, expected) => {
    expect(matches(when, alex)).toBe(expected);
  });

  it('checks transitive membership against the ids the caller supplies, in any case', () => {
    expect(matches({ memberOf: GROUP }, alex, [GROUP.toUpperCase()])).toBe(true);
    expect(matches({ memberOf: GROUP.toUpperCase() }, alex, [GROUP])).toBe(true);
    expect(matches({ memberOf: GROUP }, alex, ['00000000-0000-4000-8000-000000000000'])).toBe(false);
    expect(matches({ memberOf: GROUP }, alex)).toBe(false);
  });
});

describe('evaluateRules: first match wins, with a full trace', () => {
  const rules = {
    rules: [
      rule('guests', { attribute: 'userType', equals: 'Guest' }, 0),
      rule(
        'contractors',
        {
          all: [
            { attribute: 'onPremisesSyncEnabled', equals: true },
            { attribute: 'employeeType', in: ['Contractor', 'Vendor'] },
          ],
        },
        1,
      ),
      rule('synced', { attribute: 'onPremisesSyncEnabled', equals: true }, 2),
    ],
  };

  it('returns the first matching rule and stops trying after it', () => {
    const e = evaluateRules(rules, alex, new Set());
    expect(e.matched?.name).toBe('contractors');
    expect(e.trace.map((t) => [t.rule, t.matched])).toEqual([
      ['guests', false],
      ['contractors', true],
    ]);
  });

  it('falls through to a later rule when an earlier one fails', () => {
    const e = evaluateRules(rules, user({ employeeType: 'Employee' }), new Set());
    expect(e.matched?.name).toBe('synced');
    expect(e.trace).toHaveLength(3);
  });

  it('returns null and traces every rule when none matches', () => {
    const e = evaluateRules(rules, user({ onPremisesSyncEnabled: false }), new Set());
    expect(e.matched).toBeNull();
    expect(e.trace).toHaveLength(3);
  });

  it('traces every child of an all/any even though the decision stopped at the first failing one', () => {
    const e = evaluateRules(rules, user({ onPremisesSyncEnabled: false, employeeType: 'Vendor' }), new Set());
    const all = e.trace[1]?.condition as Extract<ConditionTrace, { kind: 'all' | 'any' }>;
    expect(all.children.map((c) => c.result)).toEqual([false, true]);
    // Built once, on first read.
    expect(e.trace).toBe(e.trace);
  });

  it('records value seen, operator, expected and result of every condition', () => {
    const e = evaluateRules(rules, alex, new Set());
    const all = e.trace[1]?.condition as Extract<ConditionTrace, { kind: 'all' | 'any' }>;
    expect(all.kind).toBe('all');
    expect(all.children[1]).toEqual({
      kind: 'attribute',
      attribute: 'employeeType',
      operator: 'in',
      expected: ['Contractor', 'Vendor'],
      actual: 'Contractor',
      result: true,
    });
  });

  it('explains which rule matched, and on which condition earlier rules failed', () => {
    const e = evaluateRules(rules, user({ employeeType: 'Employee' }), new Set());
    const lines = explainEvaluation(e, user({ employeeType: 'Employee' }), {
      names: { skuPartNumber: () => 'EMS', planName: (p) => p },
    });
    expect(lines[0]).toBe(
      'alex.wilber@contoso.com (11111111-2222-4333-8444-555555555555): rule "synced" matched (rule 3).',
    );
    expect(lines).toContain('  rule 1 "guests": no match');
    expect(lines).toContain('    ✗ userType equals "Guest" (value: "Member")');
    // Only the failed condition of the failed `all` is shown as the reason.
    expect(lines).toContain('    ✗ all of (failed 1 of 2):');
    expect(lines).toContain('        ✗ employeeType is one of ["Contractor", "Vendor"] (value: "Employee")');
    expect(lines.some((l) => l.includes('✓ onPremisesSyncEnabled equals true (value: true)'))).toBe(true);
    expect(lines.at(-1)).toBe('  → wants: EMS');
  });

  it('evaluates and explains rules that carry no licenses, handing back the caller’s own rule', () => {
    // The rules side needs only name, index and when: any richer rule type comes back as the match.
    const tagged = [
      { name: 'guests', index: 0, when: { attribute: 'userType', equals: 'Guest' }, tag: 'g' },
      { name: 'members', index: 1, when: { attribute: 'userType', equals: 'Member' }, tag: 'm' },
    ] as const satisfies readonly { name: string; index: number; when: Condition; tag: string }[];
    const u = user();
    const e = evaluateRules({ rules: tagged }, u, new Set());
    expect(e.matched?.tag).toBe('m');
    expect(explainRuleTrace(e, u)).toEqual([
      'alex.wilber@contoso.com (11111111-2222-4333-8444-555555555555): rule "members" matched (rule 2).',
      '  rule 1 "guests": no match',
      '    ✗ userType equals "Guest" (value: "Member")',
      '  rule 2 "members": MATCH',
      '    ✓ userType equals "Member" (value: "Member")',
    ]);
  });

  it('explains what happens when no rule matches', () => {
    const u = user({ onPremisesSyncEnabled: null });
    const e = evaluateRules(rules, u, new Set());
    expect(explainEvaluation(e, u, { unmatched: 'remove' }).at(-1)).toMatch(/unmatched is remove/);
    expect(explainEvaluation(e, u).at(-1)).toMatch(/unmatched is leave/);
    expect(explainEvaluation(e, u).join('\n')).toContain('onPremisesSyncEnabled equals true (value: unset)');
  });
});
