/**
 * Rules the app refuses: bad syntax, and parts it cannot evaluate. Each error names the column
 * (counted from 1 in the rule text), the part, why, and what to write instead.
 */
import { describe, expect, it } from 'vitest';
import { parseEntraRule } from '../../lib/rules/entra/parse.js';
import { EntraRuleError } from '../../lib/rules/entra/rule-error.js';

function refusal(rule: string): EntraRuleError {
  try {
    parseEntraRule(rule);
  } catch (e) {
    expect(e).toBeInstanceOf(EntraRuleError);
    return e as EntraRuleError;
  }
  throw new Error(`expected "${rule}" to be refused`);
}

/** Column (1-based) where `part` first appears in `rule`. */
const columnOf = (rule: string, part: string): number => rule.indexOf(part) + 1;

describe('clauses the app cannot evaluate are refused with their column', () => {
  it('a device property, here after a valid user clause', () => {
    const rule = '(user.department -eq "Sales") -and (device.deviceOSType -eq "iPad")';
    const e = refusal(rule);
    expect(e.column).toBe(columnOf(rule, 'device.'));
    expect(e.column).toBe(37);
    expect(e.part).toBe('device.deviceOSType');
    expect(e.message).toBe(
      'entra rule, column 37 ("device.deviceOSType"): device properties select devices; licenses are assigned to users',
    );
  });

  it('memberOf inside the rule (the documented form), pointing at the memberOf condition instead', () => {
    const rule = 'user.department -eq "IT" -and user.memberOf -any (group.objectId -in [\'a\'])';
    const e = refusal(rule);
    expect([e.column, e.part]).toEqual([columnOf(rule, 'user.memberOf'), 'user.memberOf']);
    expect(e.reason).toMatch(/memberOf inside an Entra rule is not evaluated here/);
    expect(e.fix).toMatch(/memberOf: <group id>/);
  });

  it('the Direct Reports rule', () => {
    const e = refusal('Direct Reports for "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"');
    expect([e.column, e.part]).toEqual([1, 'Direct Reports']);
    expect(e.reason).toMatch(/manager relationship/);
  });

  it('employeeHireDate and date comparisons (they change with the clock, not the user)', () => {
    const e = refusal('user.employeehiredate -ge system.now -plus p1d');
    expect([e.column, e.part]).toEqual([1, 'user.employeehiredate']);
    expect(e.reason).toMatch(/changes with the clock/);
    const le = refusal('user.department -le "x"');
    expect([le.column, le.part]).toEqual([17, '-le']);
  });

  it('a property the app does not read, and a custom directory extension', () => {
    const sip = refusal('user.sipProxyAddress -eq "sip:ann@contoso.com"');
    expect([sip.column, sip.part]).toEqual([1, 'user.sipProxyAddress']);
    expect(sip.reason).toMatch(/does not expose sipProxyAddress/);
    const ext = refusal('user.extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber -eq "123"');
    expect(ext.reason).toMatch(/directory extension properties/);
  });

  it('an unknown property, with a did-you-mean', () => {
    const rule = 'user.country -eq "US" -and user.departmnet -eq "Sales"';
    const e = refusal(rule);
    expect([e.column, e.part]).toEqual([columnOf(rule, 'user.departmnet'), 'user.departmnet']);
    expect(e.fix).toBe('did you mean "department"?');
  });

  it('assignedPlans compared directly, and fields an assigned plan does not have', () => {
    expect(refusal('user.assignedPlans -eq "x"').fix).toMatch(/-any \(assignedPlan.servicePlanId/);
    const rule = 'user.assignedPlans -any (assignedPlan.capabilityStatu -eq "Enabled")';
    const e = refusal(rule);
    expect([e.column, e.part, e.fix]).toEqual([
      columnOf(rule, 'assignedPlan.capabilityStatu'),
      'assignedPlan.capabilityStatu',
      'did you mean "capabilityStatus"?',
    ]);
    expect(refusal('user.assignedPlans -any (assignedPlan.planId -eq "x")').fix).toBe(
      'fields: servicePlanId, capabilityStatus, service',
    );
  });

  it('user properties inside -any (…), and items outside it', () => {
    const inside = 'user.proxyAddresses -any (_ -startsWith "smtp" -and user.country -eq "US")';
    expect(refusal(inside).column).toBe(columnOf(inside, 'user.country'));
    expect(refusal('_ -startsWith "smtp"').reason).toMatch(/only works inside -any/);
    expect(refusal('user.department -any (_ -eq "x")').reason).toMatch(/applies to multi-valued properties/);
  });
});

describe('syntax errors name the column and the fix', () => {
  it.each<[string, string, string, RegExp]>([
    ['user.department -eq "Sales', '"', 'no closing quote', /end the value with "/],
    ['user.department -eqq "Sales"', '-eqq', 'unknown operator -eqq', /did you mean -eq\?/],
    ['user.department -eq Sales', 'Sales', 'a text value must be in double quotes', /write "Sales"/],
    ['(user.department -eq "Sales"', '(', 'this parenthesis is never closed', /add "\)"/],
    [
      'user.department -eq "Sales")',
      ')',
      'unexpected ")" after a complete expression',
      /remove this parenthesis/,
    ],
    ['user.department -eq "a" user.country -eq "b"', 'user.country', 'unexpected', /-and or -or/],
    ['user.department -in "Sales"', '"Sales"', '-in takes a list of values', /\["value1","value2"\]/],
    ['user.department -eq ["a"]', '[', 'only goes with -in or -notIn', /-in \["value1"/],
    ['user.department -in []', '[]', 'the list is empty', /at least one/],
    ['user.department -contains null', 'null', 'null can only be compared with -eq or -ne', /-eq null/],
    ['user.accountEnabled -startsWith "t"', '"t"', 'is true or false', /-eq true/],
    ['user.accountEnabled -eq "yes"', '"yes"', 'is true or false, not "yes"', /-eq true/],
    ['user.department -eq true', 'true', 'is a yes/no value', /quote it/],
    ['user.displayName -match "(Da"', '"(Da"', 'not a valid regular expression', /correct the pattern/],
    [
      'user.department -eq \u201cSales\u201d',
      '\u201c',
      'typographic (curly) quote',
      /straight double quotes/,
    ],
    ['user.department -not "x"', '-not', 'not a comparison operator', /-ne/],
    [
      'user.department -and user.country -eq "x"',
      '-and',
      'expected a comparison operator after user.department',
      /-eq "value" -and/,
    ],
    ['user.department -eq $null', '$null', '$null is not a value here', /-eq null/],
    ['department -eq "Sales"', 'department', 'expected a user property', /user\.<property>/],
    ['user.department', '', 'expected an operator after user.department', /-eq "value"/],
    ['   ', '', 'the rule is empty', /user.department -eq "Sales"/],
  ])('%s', (rule, part, reason, fix) => {
    const e = refusal(rule);
    expect(e.part).toBe(part);
    expect(e.column).toBe(part === '' ? rule.length + 1 : columnOf(rule, part));
    expect(e.reason).toContain(reason);
    expect(e.fix).toMatch(fix);
  });

  it('gives the line too when the rule spans lines', () => {
    const e = refusal('(user.department -eq "Sales")\n  -and (user.country -eqq "US")');
    expect([e.line, e.column, e.part]).toEqual([2, 22, '-eqq']);
    expect(e.message).toMatch(/^entra rule, line 2, column 22 \("-eqq"\): unknown operator -eqq$/);
  });
});
