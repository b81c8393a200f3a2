/**
 * What the CLI prints: colours only where they belong, a progress bar with the time left (on an
 * injected clock), a conflict said once with the group's name, and one license notation.
 */
import { describe, expect, it } from 'vitest';
import { colourEnabled, outcomePainter } from '../../lib/cli/colour.js';
import { GroupNames } from '../../lib/cli/group-names.js';
import { formatDuration, humanLine, ProgressBar, type ResultView } from '../../lib/cli/output.js';
import { Catalog } from '../../lib/licensing/catalog.js';
import { describeAction, describeLicenses } from '../../lib/licensing/planner.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';

const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';
const INTUNE_A = 'c1ec4a95-1f05-45b3-a911-aa3fa01094f5';
const MFA = '8a256a2b-b617-496d-b51b-e76466e88db0';
const GROUP = 'd6b67995-2c87-469f-9780-7e7337d96819';

const catalog = new Catalog([
  {
    skuId: EMS,
    skuPartNumber: 'EMS',
    appliesTo: 'User',
    capabilityStatus: 'Enabled',
    consumedUnits: 1,
    prepaidUnits: { enabled: 10, suspended: 0, warning: 0, lockedOut: 0 },
    servicePlans: [
      {
        servicePlanId: INTUNE_A,
        servicePlanName: 'INTUNE_A',
        appliesTo: 'User',
        provisioningStatus: 'Success',
      },
      {
        servicePlanId: MFA,
        servicePlanName: 'MFA_PREMIUM',
        appliesTo: 'User',
        provisioningStatus: 'Success',
      },
    ],
  },
] as ConstructorParameters<typeof Catalog>[0]);

function result(fields: Partial<OutcomeRecord>): ResultView {
  const record: OutcomeRecord = {
    userId: 'u1',
    userPrincipalName: 'ann@contoso.com',
    jobId: 'j',
    correlationId: 'c',
    source: 'cli',
    eventId: null,
    rule: 'contractors',
    outcome: 'UNCHANGED',
    phase: 'final',
    attempt: 0,
    skus: ['EMS'],
    licensesBefore: [],
    licensesAfter: [],
    actions: [],
    conflicts: [],
    error: null,
    retryAt: null,
    dryRun: true,
    durationMs: 1,
    writes: 0,
    recovered: false,
    acceptedAt: '2026-03-01T00:00:00.000Z',
    recordedAt: '2026-03-01T00:00:00.000Z',
    ...fields,
  };
  return { record };
}

describe('colourEnabled', () => {
  const on = { isTTY: true, env: {}, noColorFlag: false };
  it('colours a terminal', () => expect(colourEnabled(on)).toBe(true));
  it('does not colour a pipe or a file', () => expect(colourEnabled({ ...on, isTTY: false })).toBe(false));
  it('respects NO_COLOR (any non-empty value) and --no-color', () => {
    expect(colourEnabled({ ...on, env: { NO_COLOR: '1' } })).toBe(false);
    expect(colourEnabled({ ...on, env: { NO_COLOR: '' } })).toBe(true);
    expect(colourEnabled({ ...on, noColorFlag: true })).toBe(false);
  });
  it('does not colour a dumb terminal, and FORCE_COLOR colours a pipe', () => {
    expect(colourEnabled({ ...on, env: { TERM: 'dumb' } })).toBe(false);
    expect(colourEnabled({ ...on, isTTY: false, env: { FORCE_COLOR: '1' } })).toBe(true);
    expect(colourEnabled({ ...on, isTTY: false, env: { FORCE_COLOR: '0' } })).toBe(false);
    expect(colourEnabled({ ...on, env: { FORCE_COLOR: '1', NO_COLOR: 'x' } })).toBe(false);
  });
});

describe('humanLine', () => {
  it('paints the outcome word only, and only when asked', () => {
    const failed = result({ outcome: 'FAILED', error: { code: 'X', message: 'Broke.', fix: 'Mend it.' } });
    expect(humanLine(failed, catalog)).toBe('FAILED    ann@contoso.com [contractors] — Broke. Fix: Mend it.');
    expect(humanLine(failed, catalog, { paint: outcomePainter(true) })).toBe(
      '\x1b[1;31mFAILED   \x1b[0m ann@contoso.com [contractors] — Broke. Fix: Mend it.',
    );
  });

  it('says a conflict once, naming the group where its name is known', async () => {
    const reason = `EMS is inherited from group(s) ${GROUP} with other disabled plans than the rule wants, and cannot be changed per user; change the group’s license options or take the user out of the group`;
    const conflict = result({
      outcome: 'CONFLICT',
      conflicts: [{ skuId: EMS, skuPartNumber: 'EMS', groupIds: [GROUP], reason }],
      error: {
        code: 'GroupInheritedLicense',
        message: reason,
        fix: "A license inherited from a group cannot be changed per user. Change the group's license settings.",
      },
    });
    const groups = new GroupNames({
      getGroupName: (id) => Promise.resolve(id === GROUP ? 'SG-EMS-Pilot' : null),
    });
    await groups.load([GROUP]);

    const line = humanLine(conflict, catalog, { groups }) ?? '';

    expect(line).toBe(
      `CONFLICT  ann@contoso.com [contractors] — ${reason.replace(GROUP, `SG-EMS-Pilot (${GROUP})`)}`,
    );
    expect(line).not.toContain('Fix:');
    expect(line.match(/take the user out of the group/g)).toHaveLength(1);
  });

  it('keeps the id of a group that cannot be read', async () => {
    const groups = new GroupNames({ getGroupName: () => Promise.reject(new Error('403')) });
    await groups.load([GROUP]);
    expect(groups.label(GROUP)).toBe(GROUP);
  });

  it('prints nothing for users that need no attention', () => {
    expect(humanLine(result({ outcome: 'UNCHANGED' }), catalog)).toBeNull();
    expect(humanLine(result({ outcome: 'NO_RULE', rule: null }), catalog)).toBeNull();
  });
});

describe('one license notation', () => {
  it('writes held licenses and planned actions alike: SKU (disabled: plans)', () => {
    expect(describeLicenses([{ skuId: EMS, disabledPlans: [MFA, INTUNE_A] }], catalog)).toEqual([
      'EMS (disabled: MFA_PREMIUM, INTUNE_A)',
    ]);
    expect(describeLicenses([{ skuId: EMS, disabledPlans: [] }], catalog)).toEqual(['EMS']);
    expect(
      describeAction(
        { kind: 'addLicense', skuId: EMS, skuPartNumber: 'EMS', disabledPlans: [INTUNE_A] },
        catalog,
      ),
    ).toBe('add EMS (disabled: INTUNE_A)');
    expect(
      describeAction(
        { kind: 'updateDisabledPlans', skuId: EMS, skuPartNumber: 'EMS', before: [INTUNE_A], after: [] },
        catalog,
      ),
    ).toBe('update EMS (disabled: INTUNE_A → none)');
  });
});

describe('ProgressBar', () => {
  it('shows the time left at the pace so far, once the pace is known', () => {
    let now = 0;
    const drawn: string[] = [];
    const bar = new ProgressBar({ write: (t) => void drawn.push(t) }, true, () => now);
    bar.setTotal(100);
    for (let i = 0; i < 4; i++) bar.tick();
    now = 2_000;
    expect(bar.text()).toBe('[#.............................] 4/100 users'); // fewer than 5 users: no pace yet
    bar.tick();
    bar.tick(); // 6 users in 2 s: 94 left take 31 s
    expect(bar.text()).toBe('[##............................] 6/100 users · 31s left');
    now = 60_000;
    for (let i = 0; i < 13; i++) bar.tick();
    now = 60_100; // redrawn at most every 50 ms
    bar.tick(); // 20 users in 60 s: 80 left take 4 minutes
    expect(bar.text()).toBe('[######........................] 20/100 users · 4:00 left');
    expect(drawn.at(-1)).toBe(`\r\x1b[2K${bar.text()}`);
  });

  it('draws nothing when stderr is not a terminal', () => {
    const drawn: string[] = [];
    const bar = new ProgressBar({ write: (t) => void drawn.push(t) }, false, () => 0);
    bar.setTotal(3);
    bar.tick();
    bar.finish();
    expect(drawn).toEqual([]);
  });

  it('formats durations', () => {
    expect([
      formatDuration(0),
      formatDuration(45_400),
      formatDuration(125_000),
      formatDuration(3_725_000),
    ]).toEqual(['0s', '45s', '2:05', '1:02:05']);
  });
});
