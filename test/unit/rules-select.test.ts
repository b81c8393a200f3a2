import { describe, expect, it } from 'vitest';
import { BASE_USER_SELECT } from '../../lib/graph/types.js';
import { parseRules } from '../../lib/rules/load.js';
import { groupIdsUsed, userSelectFor } from '../../lib/rules/select.js';

const GROUP_A = '6F1C2B3A-4D5E-4F60-8A7B-9C0D1E2F3A4B';
const GROUP_B = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

const rules = parseRules(
  `version: 1
rules:
  - name: a
    when:
      any:
        - { memberOf: ${GROUP_A} }
        - all:
            - { attribute: upnDomain, endsWith: contoso.com }
            - not: { attribute: extensionAttribute3, exists: true }
            - { memberOf: ${GROUP_B} }
    license: none
  - name: b
    when: { attribute: department, equals: IT }
    licenses: [ { sku: EMS }, { sku: EMSPREMIUM } ]
  - name: c
    when: { memberOf: ${GROUP_A.toLowerCase()} }
    license: none
`,
  'rules.yaml',
);

describe('userSelectFor', () => {
  it('selects the base properties, onPremisesSyncEnabled, and only what the rules test', () => {
    const select = userSelectFor(rules);
    expect(select.slice(0, BASE_USER_SELECT.length)).toEqual([...BASE_USER_SELECT]);
    expect(new Set(select)).toEqual(
      new Set([...BASE_USER_SELECT, 'onPremisesSyncEnabled', 'onPremisesExtensionAttributes', 'department']),
    );
    expect(select).not.toContain('employeeType');
    expect(select).not.toContain('upnDomain');
    expect(select.filter((s) => s === 'userPrincipalName')).toHaveLength(1);
  });

  it('needs nothing beyond the base for rules that test nothing extra', () => {
    const plain = parseRules('version: 1\nrules: []\n', 'x.yaml');
    expect(userSelectFor(plain)).toEqual([...BASE_USER_SELECT, 'onPremisesSyncEnabled']);
  });
});

describe('groupIdsUsed', () => {
  it('lists each memberOf group once, lower-case, however deep', () => {
    expect(groupIdsUsed(rules)).toEqual([GROUP_A.toLowerCase(), GROUP_B]);
  });
});
