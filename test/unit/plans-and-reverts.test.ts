/**
 * Plans as artifacts and reverts, the pure parts: a planned change fitted to the user as read now
 * (planned-change.ts), the artifact's id, parsing and rendering (plan-artifact.ts, plan-render.ts),
 * and the plan that undoes a run (revert-plan.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../lib/engine/decide.js';
import {
  buildPlanArtifact,
  countsBySkuAndAction,
  parsePlanArtifact,
  planEntry,
  tenantIdOf,
  type PlanArtifactInput,
} from '../../lib/engine/plan-artifact.js';
import { fitPlanned, type PlannedChange } from '../../lib/engine/planned-change.js';
import { revertPlan, undoActions } from '../../lib/engine/revert-plan.js';
import { csvField, planCsv, planMarkdown } from '../../lib/cli/plan-render.js';
import type { GraphUser } from '../../lib/graph/types.js';
import { Catalog } from '../../lib/licensing/catalog.js';
import type { OutcomeRecord, PlanAction } from '../../lib/licensing/types.js';
import { tenantSkus, PLAN, SKU } from './license-fixtures.js';

const names = new Catalog(tenantSkus());
const ems = (disabledPlans: string[] = []) => ({ skuId: SKU.EMS, disabledPlans });
const removeEms: PlanAction = { kind: 'removeLicense', skuId: SKU.EMS, skuPartNumber: 'EMS' };
const addPremium: PlanAction = {
  kind: 'addLicense',
  skuId: SKU.EMSPREMIUM,
  skuPartNumber: 'EMSPREMIUM',
  disabledPlans: [],
};

function user(
  licenses: { skuId: string; disabledPlans: string[] }[],
  extra: Partial<GraphUser> = {},
): GraphUser {
  return {
    id: 'u-1',
    userPrincipalName: 'ana@contoso.com',
    accountEnabled: true,
    assignedLicenses: licenses,
    licenseAssignmentStates: [],
    ...extra,
  };
}

function fresh(actions: PlanAction[], extra: Partial<Decision> = {}): Decision {
  return {
    evaluation: { matched: null, trace: [] },
    action: 'reconcile',
    desired: {
      kind: 'removeManaged',
      rule: null,
      reason: 'no rule matched and defaults.unmatched is remove',
    },
    plan: {
      actions,
      conflicts: [],
      deferred: null,
      blocked: null,
      outcome: actions.length ? 'REMOVED' : 'UNCHANGED',
    },
    policy: null,
    ...extra,
  };
}

const planned = (extra: Partial<PlannedChange> = {}): PlannedChange => ({
  before: [ems()],
  skus: [SKU.EMS],
  actions: [removeEms],
  checkRules: true,
  label: null,
  ...extra,
});

describe('fitPlanned', () => {
  it('carries out the planned actions when the user and the rules are as the plan saw them', () => {
    const fit = fitPlanned(planned(), user([ems()]), fresh([removeEms]));
    expect(fit).toMatchObject({
      ok: true,
      decision: { plan: { actions: [removeEms] }, planned: { label: null } },
    });
  });

  it('skips a user whose licenses of the plan’s SKUs changed since; ignores SKUs the plan does not concern', () => {
    expect(fitPlanned(planned(), user([ems([PLAN.INTUNE_A])]), fresh([removeEms]))).toMatchObject({
      ok: false,
      code: 'ChangedSincePlan',
    });
    expect(fitPlanned(planned(), user([]), fresh([]))).toMatchObject({ ok: false, code: 'ChangedSincePlan' });
    const officeAdded = user([ems(), { skuId: SKU.SPE_E3, disabledPlans: [] }]);
    expect(fitPlanned(planned(), officeAdded, fresh([removeEms])).ok).toBe(true);
  });

  it('skips a user the rules now treat otherwise (an attribute changed), when the plan came from rules', () => {
    expect(fitPlanned(planned(), user([ems()]), fresh([]))).toMatchObject({
      ok: false,
      code: 'RulesNowDiffer',
    });
    // A revert has no rules to agree with: its own actions go.
    const revert = planned({ checkRules: false, label: 'revert run-1' });
    expect(fitPlanned(revert, user([ems()]), fresh([]))).toMatchObject({
      ok: true,
      decision: { plan: { actions: [removeEms], outcome: 'REMOVED' }, planned: { label: 'revert run-1' } },
    });
  });

  it('adds no license back to someone HR said left; a revert restores a disabled account’s', () => {
    const readd = planned({ before: [], actions: [addPremium], skus: [SKU.EMSPREMIUM], checkRules: false });
    expect(fitPlanned(readd, user([]), fresh([], { action: 'leave' }))).toMatchObject({
      ok: false,
      code: 'Policy',
      decision: { policy: 'leaver', plan: { actions: [] } },
    });
    expect(fitPlanned(readd, user([], { accountEnabled: false }), fresh([]))).toMatchObject({
      ok: true,
      decision: { plan: { actions: [addPremium] } },
    });
  });
});

function input(extra: Partial<PlanArtifactInput> = {}): PlanArtifactInput {
  return {
    kind: 'rules',
    createdAt: new Date('2026-05-01T10:00:00.000Z'),
    tenantId: '7a3c1e52-9b4d-4f0e-8a61-2c5d9e0f4b17',
    graphBaseUrl: 'https://graph.microsoft.com',
    rules: { path: 'rules.yaml', sha256: 'a'.repeat(64) },
    revertOf: null,
    skus: [{ skuId: SKU.EMS, skuPartNumber: 'EMS' }],
    users: 3,
    byOutcome: { REMOVED: 2, CONFLICT: 1 },
    warnings: [],
    entries: [
      planEntry(
        { id: 'u-2', userPrincipalName: '=HYPERLINK("x")@contoso.com', assignedLicenses: [ems()] },
        { rule: null, outcome: 'REMOVED', actions: [removeEms] },
        names,
      ),
      planEntry(
        { id: 'u-1', userPrincipalName: 'ana@contoso.com', assignedLicenses: [ems([PLAN.INTUNE_A])] },
        { rule: 'staff', outcome: 'UPDATED', actions: [removeEms, addPremium] },
        names,
      ),
    ],
    ...extra,
  };
}

describe('plan artifacts', () => {
  it('keeps per user the licenses before, the actions and the licenses after, in words and GUIDs', () => {
    const plan = buildPlanArtifact(input());
    const ana = plan.users.find((u) => u.id === 'u-1');
    expect(ana).toMatchObject({
      before: [ems([PLAN.INTUNE_A])],
      after: [{ skuId: SKU.EMSPREMIUM, disabledPlans: [] }],
      beforeText: ['EMS:-INTUNE_A'],
      actionsText: ['remove EMS', 'add EMSPREMIUM'],
      afterText: ['EMSPREMIUM'],
    });
    expect(plan.summary).toMatchObject({ users: 3, changes: 2, notChanged: { CONFLICT: 1 } });
    expect(countsBySkuAndAction(plan.users)).toEqual([
      { sku: 'EMS', action: 'remove', users: 2 },
      { sku: 'EMSPREMIUM', action: 'add', users: 1 },
    ]);
  });

  it('gets the same id for the same plan, another id for another plan, whenever it is made', () => {
    const a = buildPlanArtifact(input());
    expect(buildPlanArtifact(input({ createdAt: new Date('2027-01-01T00:00:00Z') })).id).toBe(a.id);
    expect(buildPlanArtifact(input({ entries: input().entries.slice(1) })).id).not.toBe(a.id);
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('reads its own file back, and refuses an edited, foreign or non-JSON file with the reason', () => {
    const plan = buildPlanArtifact(input());
    const text = JSON.stringify(plan, null, 2);
    expect(parsePlanArtifact(text, 'plan.json')).toEqual(plan);
    const edited = JSON.stringify({ ...plan, users: plan.users.slice(1) });
    expect(() => parsePlanArtifact(edited, 'plan.json')).toThrow(/was changed after it was written/);
    expect(() => parsePlanArtifact('# ems-licensing plan', 'plan.md')).toThrow(/is not JSON/);
    expect(() => parsePlanArtifact('{"format":"other"}', 'x.json')).toThrow(/not a plan written by/);
  });

  it('names its tenant from the catalog (subscribedSku ids are {tenantId}_{skuId})', () => {
    expect(tenantIdOf([{ id: null }, { id: `7A3C1E52-9B4D-4F0E-8A61-2C5D9E0F4B17_${SKU.EMS}` }])).toBe(
      '7a3c1e52-9b4d-4f0e-8a61-2c5d9e0f4b17',
    );
    expect(tenantIdOf([{}])).toBeNull();
  });

  it('renders Markdown for a change board: counts per SKU and action first, then the users', () => {
    const md = planMarkdown(buildPlanArtifact(input()), ['The guard would hold this plan.']);
    const counts = md.indexOf('## Changes per SKU and action');
    const users = md.indexOf('## Users');
    expect(counts).toBeGreaterThan(0);
    expect(users).toBeGreaterThan(counts);
    expect(md).toContain('| EMS | remove | 2 |');
    expect(md).toContain('> The guard would hold this plan.');
    expect(md).toContain(
      '| ana@contoso.com | staff | EMS:-INTUNE_A | remove EMS; add EMSPREMIUM | EMSPREMIUM |',
    );
    expect(md).toContain('| CONFLICT | 1 |');
  });

  it('renders CSV with the counts before the users, quoted as RFC 4180 says, no formula a spreadsheet runs', () => {
    const lines = planCsv(buildPlanArtifact(input())).trimEnd().split('\r\n');
    expect(lines[0]).toBe('section,sku,action,users,user,id,rule,outcome,before,changes,after');
    expect(lines[1]).toBe('count,EMS,remove,2,,,,,,,');
    expect(lines[2]).toBe('count,EMSPREMIUM,add,1,,,,,,,');
    expect(lines.slice(3).sort()).toEqual([
      'user,,,,"\'=HYPERLINK(""x"")@contoso.com",u-2,,REMOVED,EMS,remove EMS,',
      'user,,,,ana@contoso.com,u-1,staff,UPDATED,EMS:-INTUNE_A,remove EMS; add EMSPREMIUM,EMSPREMIUM',
    ]);
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-x')).toBe("'-x");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
  });
});

function record(extra: Partial<OutcomeRecord>): OutcomeRecord {
  return {
    userId: 'u-1',
    userPrincipalName: 'ana@contoso.com',
    jobId: 'j',
    correlationId: 'c',
    source: 'cli',
    eventId: 'run-1',
    rule: 'staff',
    outcome: 'REMOVED',
    skus: ['EMS'],
    licensesBefore: [],
    licensesAfter: [],
    actions: [],
    conflicts: [],
    error: null,
    retryAt: null,
    dryRun: false,
    durationMs: 0,
    recordedAt: '2026-05-01T10:00:00.000Z',
    phase: 'final',
    attempt: 0,
    acceptedAt: '2026-05-01T10:00:00.000Z',
    writes: 1,
    recovered: false,
    ...extra,
  };
}

describe('reverting a run', () => {
  it('undoes each applied action against the licenses before', () => {
    const before = [ems([PLAN.INTUNE_A])];
    expect(undoActions([removeEms], before)).toEqual([
      { kind: 'addLicense', skuId: SKU.EMS, skuPartNumber: 'EMS', disabledPlans: [PLAN.INTUNE_A] },
    ]);
    expect(undoActions([addPremium], before)).toEqual([
      { kind: 'removeLicense', skuId: SKU.EMSPREMIUM, skuPartNumber: 'EMSPREMIUM' },
    ]);
    const update: PlanAction = {
      kind: 'updateDisabledPlans',
      skuId: SKU.EMS,
      skuPartNumber: 'EMS',
      before: [PLAN.INTUNE_A],
      after: [],
    };
    expect(undoActions([update], before)).toEqual([{ ...update, before: [], after: [PLAN.INTUNE_A] }]);
    expect(undoActions([{ kind: 'setUsageLocation', from: null, to: 'GB' }], before)).toEqual([]);
  });

  it('expects the user as the run left them and puts them back as they were', () => {
    const { entries, unrevertable } = revertPlan(
      'run-1',
      [
        record({
          actions: [removeEms, addPremium],
          assignedBefore: [ems([PLAN.INTUNE_A])],
          outcome: 'UPDATED',
        }),
      ],
      names,
    );
    expect(unrevertable).toEqual([]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      rule: 'revert run-1',
      outcome: 'UPDATED',
      before: [{ skuId: SKU.EMSPREMIUM, disabledPlans: [] }],
      after: [ems([PLAN.INTUNE_A])],
    });
  });

  it('says which users cannot be reverted, and why', () => {
    const { entries, unrevertable } = revertPlan(
      'run-1',
      [
        record({ userId: 'old', actions: [removeEms] }),
        record({
          userId: 'loc',
          actions: [{ kind: 'setUsageLocation', from: null, to: 'GB' }],
          assignedBefore: [],
        }),
        record({ userId: 'none', actions: [], assignedBefore: [] }),
      ],
      names,
    );
    expect(entries).toEqual([]);
    expect(unrevertable.map((u) => [u.userId, u.reason])).toEqual([
      ['old', 'its record keeps no licenses-before as Graph gave them (written by an older version)'],
      ['loc', 'the run only set a usage location, which a revert leaves'],
    ]);
  });
});
