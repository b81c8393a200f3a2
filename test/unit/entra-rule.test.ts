/**
 * The Entra membership-rule grammar against the examples of "Dynamic membership rules for groups
 * in Microsoft Entra ID" (learn.microsoft.com/entra/identity/users/groups-dynamic-membership) and
 * "Create simpler, more efficient rules" (…/groups-dynamic-rule-more-efficient): each documented
 * rule parses, and evaluates for sample users as the documentation says Entra does.
 */
import { describe, expect, it } from 'vitest';
import type { GraphUser } from '../../lib/graph/types.js';
import { evaluateEntraRule } from '../../lib/rules/entra/evaluate.js';
import { entraTraceLines } from '../../lib/rules/entra/explain.js';
import { parseEntraRule } from '../../lib/rules/entra/parse.js';
import { user } from './license-fixtures.js';

const holds = (rule: string, u: GraphUser): boolean => evaluateEntraRule(parseEntraRule(rule), u).result;

const EXCHANGE_PLAN_2 = 'efb87545-963c-4e0d-99df-69c6916d9eb0';

describe('documented examples parse and evaluate as Entra does', () => {
  it('user.department -eq "Sales" (single expression, parentheses optional, any case)', () => {
    expect(holds('user.department -eq "Sales"', user({ department: 'Sales' }))).toBe(true);
    expect(holds('(user.department -eq "Sales")', user({ department: 'SALES' }))).toBe(true);
    expect(holds('user.department -eq "Sales"', user({ department: 'Marketing' }))).toBe(false);
  });

  it('-in with a bracketed list (the documented department codes)', () => {
    const rule =
      'user.department -in ["50001","50002","50003","50005","50006","50007","50008","50016","50020","50024","50038","50039","51100"]';
    expect(holds(rule, user({ department: '50038' }))).toBe(true);
    expect(holds(rule, user({ department: '50004' }))).toBe(false);
  });

  it('-match is a case-insensitive regular-expression search: "^Da.*" and ".*vid"', () => {
    const startsDa = 'user.displayName -match "^Da.*"';
    for (const name of ['Da', 'Dav', 'David'])
      expect(holds(startsDa, user({ displayName: name }))).toBe(true);
    expect(holds(startsDa, user({ displayName: 'aDa' }))).toBe(false);
    expect(holds('user.displayName -match ".*vid"', user({ displayName: 'David' }))).toBe(true);
    expect(holds('user.displayName -match ".*vid"', user({ displayName: 'Da' }))).toBe(false);
  });

  it('null checks: user.department -eq null, and user.mail –ne null written with the en dash of the docs', () => {
    expect(holds('user.department -eq null', user({ department: null }))).toBe(true);
    expect(holds('user.department -eq null', user({ department: 'Sales' }))).toBe(false);
    expect(holds('user.mail \u2013ne null', user({ mail: 'ann@contoso.com' }))).toBe(true);
    expect(holds('user.mail \u2013ne null', user({ mail: null }))).toBe(false);
    // Quoted, null is just text.
    expect(holds('user.department -eq "null"', user({ department: null }))).toBe(false);
    expect(holds('user.department -eq "null"', user({ department: 'Null' }))).toBe(true);
  });

  it('(user.department -eq "Sales") -or (user.department -eq "Marketing")', () => {
    const rule = '(user.department -eq "Sales") -or (user.department -eq "Marketing")';
    expect(holds(rule, user({ department: 'Marketing' }))).toBe(true);
    expect(holds(rule, user({ department: 'Finance' }))).toBe(false);
  });

  it('(user.department -eq "Sales") -and -not (user.jobTitle -startsWith "SDE")', () => {
    const rule = '(user.department -eq "Sales") -and -not (user.jobTitle -startsWith "SDE")';
    expect(holds(rule, user({ department: 'Sales', jobTitle: 'Account Manager' }))).toBe(true);
    expect(holds(rule, user({ department: 'Sales', jobTitle: 'SDE II' }))).toBe(false);
    expect(holds(rule, user({ department: 'Sales', jobTitle: null }))).toBe(true);
  });

  it('precedence: -and binds tighter than -or, and parentheses override it (the documented pair)', () => {
    const plain = 'user.department \u2013eq "Marketing" \u2013and user.country \u2013eq "US"';
    expect(holds(plain, user({ department: 'Marketing', country: 'US' }))).toBe(true);
    expect(holds(plain, user({ department: 'Marketing', country: 'GB' }))).toBe(false);

    const grouped =
      'user.country \u2013eq "US" \u2013and (user.department \u2013eq "Marketing" \u2013or user.department \u2013eq "Sales")';
    const ungrouped =
      'user.country -eq "US" -and user.department -eq "Marketing" -or user.department -eq "Sales"';
    const ukSales = user({ country: 'GB', department: 'Sales' });
    expect(holds(grouped, ukSales)).toBe(false);
    // Without the parentheses: (US and Marketing) or Sales, so a UK Sales user is in.
    expect(holds(ungrouped, ukSales)).toBe(true);
  });

  it('-not binds tighter than -and: -not a -and b is (-not a) -and b', () => {
    const rule = '-not user.department -eq "Sales" -and user.country -eq "US"';
    expect(holds(rule, user({ department: 'Finance', country: 'US' }))).toBe(true);
    expect(holds(rule, user({ department: 'Finance', country: 'GB' }))).toBe(false);
    expect(holds(rule, user({ department: 'Sales', country: 'GB' }))).toBe(false);
  });

  it('user.assignedPlans -any (…servicePlanId… -and …capabilityStatus -eq "Enabled") (Example 1)', () => {
    const rule = `user.assignedPlans -any (assignedPlan.servicePlanId -eq "${EXCHANGE_PLAN_2}" -and assignedPlan.capabilityStatus -eq "Enabled")`;
    const enabled = user({
      assignedPlans: [
        { servicePlanId: 'aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e', capabilityStatus: 'Enabled', service: 'x' },
        { servicePlanId: EXCHANGE_PLAN_2.toUpperCase(), capabilityStatus: 'Enabled', service: 'exchange' },
      ],
    });
    const suspended = user({
      assignedPlans: [{ servicePlanId: EXCHANGE_PLAN_2, capabilityStatus: 'Suspended', service: 'exchange' }],
    });
    expect(holds(rule, enabled)).toBe(true);
    expect(holds(rule, suspended)).toBe(false);
    expect(holds(rule, user({ assignedPlans: [] }))).toBe(false);
  });

  it('user.assignedPlans -any (assignedPlan.service -eq "SCO" …) selects Intune users (Example 2)', () => {
    const rule =
      'user.assignedPlans -any (assignedPlan.service -eq "SCO" -and assignedPlan.capabilityStatus -eq "Enabled")';
    expect(
      holds(
        rule,
        user({ assignedPlans: [{ service: 'SCO', capabilityStatus: 'Enabled', servicePlanId: 'x' }] }),
      ),
    ).toBe(true);
    expect(
      holds(
        rule,
        user({ assignedPlans: [{ service: 'exchange', capabilityStatus: 'Enabled', servicePlanId: 'x' }] }),
      ),
    ).toBe(false);
  });

  it('user.assignedPlans -all (assignedPlan.servicePlanId -eq null) selects users with no plan (Example 3)', () => {
    const rule = 'user.assignedPlans -all (assignedPlan.servicePlanId -eq null)';
    expect(holds(rule, user({ assignedPlans: [] }))).toBe(true);
    expect(holds(rule, user({}))).toBe(true);
    expect(
      holds(rule, user({ assignedPlans: [{ servicePlanId: EXCHANGE_PLAN_2, capabilityStatus: 'Enabled' }] })),
    ).toBe(false);
  });

  it('(user.proxyAddresses -any (_ -startsWith "contoso")), and the same without parentheses', () => {
    const u = user({ proxyAddresses: ['smtp:ann@fabrikam.com', 'contoso:ann'] });
    expect(holds('(user.proxyAddresses -any (_ -startsWith "contoso"))', u)).toBe(true);
    expect(holds('user.proxyAddresses -any _ -startsWith "CONTOSO"', u)).toBe(true);
    expect(holds('user.proxyAddresses -any (_ -startsWith "contoso")', user({ proxyAddresses: [] }))).toBe(
      false,
    );
    expect(holds('user.proxyAddresses -all (_ -startsWith "smtp:")', u)).toBe(false);
  });

  it('the "All users" rules: user.objectId -ne null, and members only', () => {
    expect(holds('user.objectId -ne null', user({}))).toBe(true);
    const members = '(user.objectId -ne null) -and (user.userType -eq "Member")';
    expect(holds(members, user({ userType: 'Member' }))).toBe(true);
    expect(holds(members, user({ userType: 'Guest' }))).toBe(false);
  });

  it('extension attributes: (user.extensionAttribute15 -eq "Marketing"), also in the Graph spelling', () => {
    const u = user({ onPremisesExtensionAttributes: { extensionAttribute15: 'Marketing' } });
    expect(holds('(user.extensionAttribute15 -eq "Marketing")', u)).toBe(true);
    expect(holds('user.onPremisesExtensionAttributes.extensionAttribute15 -eq "marketing"', u)).toBe(true);
    expect(holds('user.extensionAttribute14 -eq null', u)).toBe(true);
  });

  it('booleans: user.accountEnabled -eq true, user.dirSyncEnabled -eq true (onPremisesSyncEnabled)', () => {
    expect(holds('user.accountEnabled -eq true', user({ accountEnabled: true }))).toBe(true);
    expect(holds('user.accountEnabled -eq true', user({ accountEnabled: false }))).toBe(false);
    expect(holds('user.dirSyncEnabled -eq true', user({ onPremisesSyncEnabled: true }))).toBe(true);
    // A cloud-only account was never synced: null is neither true nor false.
    const cloudOnly = user({ onPremisesSyncEnabled: null });
    expect(holds('user.dirSyncEnabled -eq false', cloudOnly)).toBe(false);
    expect(holds('user.dirSyncEnabled -ne true', cloudOnly)).toBe(true);
    expect(holds('user.dirSyncEnabled -eq null', cloudOnly)).toBe(true);
  });

  it('a double quote inside a value is escaped with a backtick: user.department -eq `"Sales`"', () => {
    expect(holds('user.department -eq `"Sales`"', user({ department: '"Sales"' }))).toBe(true);
    expect(holds('user.department -eq `"Sales`"', user({ department: 'Sales' }))).toBe(false);
    expect(holds('user.jobTitle -eq "The `"Boss`""', user({ jobTitle: 'The "Boss"' }))).toBe(true);
  });

  it('a single quote is written twice, and single-quoted text works as in the memberOf example', () => {
    expect(holds('user.surname -eq "O\'\'Brien"', user({ surname: "O'Brien" }))).toBe(true);
    expect(holds("user.surname -in ['O''Brien', 'Smith']", user({ surname: "o'brien" }))).toBe(true);
  });

  it('the efficient-rules examples: -in / -notin lists, -startswith in lower case', () => {
    const inCities =
      'user.department -eq "Accounts" -and user.city -in ["Lagos", "Ibadan", "Kaduna", "Abuja", "Port Harcourt"]';
    expect(holds(inCities, user({ department: 'Accounts', city: 'Port Harcourt' }))).toBe(true);
    expect(holds(inCities, user({ department: 'Accounts', city: 'Accra' }))).toBe(false);
    const notIn = 'user.city -notin ["Lagos", "Ibadan", "Kaduna", "Abuja", "Port Harcourt"]';
    expect(holds(notIn, user({ city: 'Accra' }))).toBe(true);
    expect(holds(notIn, user({ city: 'lagos' }))).toBe(false);
    expect(holds('user.city -startswith "Lag"', user({ city: 'Lagos' }))).toBe(true);
  });

  it('-endsWith / -notEndsWith, and string collections compared directly (otherMails, proxyAddresses)', () => {
    expect(holds('user.mail -notEndsWith "@Contoso.com"', user({ mail: 'ann@contoso.com' }))).toBe(false);
    expect(holds('user.mail -notEndsWith "@Contoso.com"', user({ mail: 'ann@fabrikam.com' }))).toBe(true);
    expect(holds('user.mailNickname -endsWith "-vendor"', user({ mailNickname: 'ann-vendor' }))).toBe(true);
    const u = user({ otherMails: ['alias@domain.com'], proxyAddresses: ['SMTP:ann@contoso.com'] });
    expect(holds('user.otherMails -startsWith "alias@domain"', u)).toBe(true);
    expect(holds('user.otherMails -endsWith "@contoso.com"', u)).toBe(false);
    expect(holds('user.proxyAddresses -notEndsWith "@outlook.com"', u)).toBe(true);
    expect(holds('user.proxyAddresses -notEndsWith "@contoso.com"', u)).toBe(false);
    expect(holds('user.otherMails -eq null', user({ otherMails: [] }))).toBe(true);
  });

  it('the issue example: (user.department -eq "Sales") -and (user.employeeType -ne "Contractor")', () => {
    const rule = '(user.department -eq "Sales") -and (user.employeeType -ne "Contractor")';
    expect(holds(rule, user({ department: 'Sales', employeeType: 'Employee' }))).toBe(true);
    expect(holds(rule, user({ department: 'Sales', employeeType: 'contractor' }))).toBe(false);
    // -ne on an unset value holds: it is not "Contractor".
    expect(holds(rule, user({ department: 'Sales', employeeType: null }))).toBe(true);
  });
});

describe('syntax variations the documentation allows', () => {
  it('operators without the hyphen and in any case; logical words without the hyphen (common in tenants)', () => {
    const u = user({ department: 'Sales', country: 'US' });
    expect(holds('user.department eq "Sales"', u)).toBe(true);
    expect(holds('user.department -EQ "sales" AND user.country -Eq "us"', u)).toBe(true);
    expect(holds('(user.department -eq "x") or (user.country -eq "US")', u)).toBe(true);
    expect(holds('not (user.department -eq "x")', u)).toBe(true);
  });

  it('property names in any case, as the documentation itself writes them (user.employeehiredate, mailNickname)', () => {
    expect(holds('user.DEPARTMENT -eq "Sales"', user({ department: 'Sales' }))).toBe(true);
    expect(holds('user.mailnickname -eq "ann"', user({ mailNickname: 'ANN' }))).toBe(true);
  });

  it('numbers compare as the text they were written as', () => {
    const u = user({ onPremisesExtensionAttributes: { extensionAttribute1: '42' } });
    expect(holds('user.extensionAttribute1 -eq 42', u)).toBe(true);
    expect(holds('user.extensionAttribute1 -eq 42.0', u)).toBe(false);
  });

  it('rules spanning several lines', () => {
    const rule = '(user.department -eq "Sales")\n  -and\n  (user.country -eq "US")';
    expect(holds(rule, user({ department: 'Sales', country: 'US' }))).toBe(true);
  });

  it('renamed properties read their Graph counterparts', () => {
    const u = user({
      officeLocation: 'Building 4',
      mobilePhone: '+44 7700 900000',
      businessPhones: ['+44 20 7946 0000'],
      faxNumber: '+44 20 7946 0001',
    });
    expect(holds('user.physicalDeliveryOfficeName -eq "building 4"', u)).toBe(true);
    expect(holds('user.mobile -startsWith "+44 7700"', u)).toBe(true);
    expect(holds('user.telephoneNumber -eq "+44 20 7946 0000"', u)).toBe(true);
    expect(holds('user.facsimileTelephoneNumber -endsWith "0001"', u)).toBe(true);
  });

  it('lists the Graph properties a rule reads (for $select), each once', () => {
    const rule = parseEntraRule(
      'user.dirSyncEnabled -eq true -and user.extensionAttribute3 -eq "x" -and user.extensionAttribute4 -eq "y" -and user.objectId -ne null -and user.assignedPlans -any (assignedPlan.service -eq "SCO")',
    );
    expect(rule.graphProperties).toEqual([
      'onPremisesSyncEnabled',
      'onPremisesExtensionAttributes',
      'id',
      'assignedPlans',
    ]);
  });
});

describe('explanation: each clause with the value it saw', () => {
  it('shows every clause of a failed -or, and only the failed clauses of a failed -and', () => {
    const rule = parseEntraRule(
      '(user.department -eq "Sales") -and (user.employeeType -ne "Contractor") -and (user.country -in ["US","GB"])',
    );
    const u = user({ department: 'Sales', employeeType: 'Contractor', country: null });
    const trace = evaluateEntraRule(rule, u);
    expect(trace.result).toBe(false);
    expect(entraTraceLines(trace, '', false)).toEqual([
      '✗ all of (-and):',
      '    ✓ user.department -eq "Sales" (value: "Sales")',
      '    ✗ user.employeeType -ne "Contractor" (value: "Contractor")',
      '    ✗ user.country -in ["US","GB"] (value: unset)',
    ]);
    expect(entraTraceLines(trace, '', true)).toEqual([
      '✗ all of (-and) (failed 2 of 3):',
      '    ✗ user.employeeType -ne "Contractor" (value: "Contractor")',
      '    ✗ user.country -in ["US","GB"] (value: unset)',
    ]);
  });

  it('summarises collections: how many items, how many matched, and the one that decided', () => {
    const trace = evaluateEntraRule(
      parseEntraRule('user.proxyAddresses -any (_ -startsWith "smtp:")'),
      user({ proxyAddresses: ['X500:/o=Contoso', 'smtp:ann@contoso.com', 'SMTP:ann@fabrikam.com'] }),
    );
    expect(entraTraceLines(trace, '  ', false)).toEqual([
      '  ✓ user.proxyAddresses -any (_ -startsWith "smtp:") (3 items, 2 matching; first match: "smtp:ann@contoso.com")',
    ]);
    const not = evaluateEntraRule(
      parseEntraRule('-not (user.otherMails -endsWith "@x.com")'),
      user({ otherMails: [] }),
    );
    expect(entraTraceLines(not, '', false)).toEqual([
      '✓ -not:',
      '    ✗ user.otherMails -endsWith "@x.com" (value: none)',
    ]);
  });
});
