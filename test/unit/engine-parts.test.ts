import { describe, expect, it } from 'vitest';
import { backoffMs, MAX_BACKOFF_MS } from '../../lib/engine/backoff.js';
import { forEachConcurrent } from '../../lib/engine/concurrency.js';
import { contextFingerprint } from '../../lib/engine/delta-catchup.js';
import { LicensingContextCache, type LicensingContext } from '../../lib/engine/licensing-context.js';
import { predictLicenses } from '../../lib/engine/predict-licenses.js';
import { renderSummaryMarkdown, type DailySummary } from '../../lib/engine/summary.js';
import { OUTCOME_KINDS } from '../../lib/licensing/types.js';

const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';
const E3 = '6fd2c87f-b296-42f0-b197-1e91e994b900';
const INTUNE_A = 'c1ec4a95-1f05-45b3-a911-aa3fa01094f5';

describe('backoffMs', () => {
  it('grows with the attempt between half and all of the exponential ceiling', () => {
    expect(backoffMs(0, 1_000, () => 0)).toBe(500);
    expect(backoffMs(0, 1_000, () => 1)).toBe(1_000);
    expect(backoffMs(3, 1_000, () => 0)).toBe(4_000);
    expect(backoffMs(3, 1_000, () => 1)).toBe(8_000);
  });

  it('is capped at six hours, however many attempts', () => {
    expect(backoffMs(60, 60_000, () => 1)).toBe(MAX_BACKOFF_MS);
  });
});

describe('forEachConcurrent', () => {
  it('never runs more than the limit at once, and runs everything', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    // An async source, as a reconcile's paged user list is.
    async function* items() {
      for (let i = 0; i < 20; i++) yield await Promise.resolve(i);
    }
    await forEachConcurrent(items(), 3, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      done.push(i);
      inFlight--;
    });
    expect(peak).toBe(3);
    expect(done.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
  });

  it('stops taking new items after a failure and rethrows it', async () => {
    const started: number[] = [];
    await expect(
      forEachConcurrent([1, 2, 3, 4, 5, 6], 1, async (i) => {
        started.push(i);
        if (i === 2) throw new Error('boom');
        await Promise.resolve();
      }),
    ).rejects.toThrow('boom');
    expect(started).toEqual([1, 2]);
  });

  it('refuses a limit below 1', async () => {
    await expect(forEachConcurrent([1], 0, () => Promise.resolve())).rejects.toThrow(RangeError);
  });
});

describe('LicensingContextCache', () => {
  const ctx = (at: Date) => ({ loadedAt: at }) as unknown as LicensingContext;

  it('reuses a fresh context, reloads a stale one, and shares one reload between callers', async () => {
    let now = new Date('2026-11-24T00:00:00Z');
    let loads = 0;
    const cache = new LicensingContextCache(
      async () => {
        loads++;
        await Promise.resolve();
        return ctx(now);
      },
      { maxAgeMs: 60_000, now: () => now },
    );
    await Promise.all([cache.get(), cache.get(), cache.get()]);
    expect(loads).toBe(1);
    now = new Date(now.getTime() + 30_000);
    await cache.get();
    expect(loads).toBe(1);
    now = new Date(now.getTime() + 31_000);
    await cache.get();
    expect(loads).toBe(2);
    cache.invalidate();
    await cache.get();
    expect(loads).toBe(3);
  });

  it('does not keep a failed load', async () => {
    let fail = true;
    const good = ctx(new Date());
    const cache = new LicensingContextCache(() =>
      fail ? Promise.reject(new Error('graph down')) : Promise.resolve(good),
    );
    await expect(cache.get()).rejects.toThrow('graph down');
    fail = false;
    await expect(cache.get()).resolves.toBe(good);
  });
});

describe('predictLicenses', () => {
  it('applies adds, plan changes and removals, leaving other SKUs alone', () => {
    const before = [
      { skuId: E3, disabledPlans: ['p1'] },
      { skuId: EMS, disabledPlans: [] },
    ];
    const after = predictLicenses(before, [
      { kind: 'setUsageLocation', from: null, to: 'GB' },
      { kind: 'updateDisabledPlans', skuId: EMS, skuPartNumber: 'EMS', before: [], after: [INTUNE_A] },
    ]);
    expect(after).toEqual([
      { skuId: E3, disabledPlans: ['p1'] },
      { skuId: EMS, disabledPlans: [INTUNE_A] },
    ]);
    expect(predictLicenses(after, [{ kind: 'removeLicense', skuId: EMS, skuPartNumber: 'EMS' }])).toEqual([
      { skuId: E3, disabledPlans: ['p1'] },
    ]);
    // The input is not modified.
    expect(before[1]?.disabledPlans).toEqual([]);
  });
});

describe('renderSummaryMarkdown', () => {
  it('lists outcomes, failures by code, seats and housekeeping', () => {
    const outcomes = Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as DailySummary['outcomes'];
    outcomes.ASSIGNED = 12;
    outcomes.FAILED = 2;
    const md = renderSummaryMarkdown({
      date: '2026-11-24',
      generatedAt: '2026-11-24T02:30:00.000Z',
      outcomes,
      retriesScheduled: 7,
      failures: { invalidUsageLocation: 2 },
      seats: [{ sku: 'EMS', managed: true, enabled: 100, consumed: 90, free: 10 }],
      reclaimQueued: 1,
      disabledWithLicense: 3,
      redriveQueued: 4,
      outcomesPruned: 5,
      inboxPruned: 6,
      heldRounds: [
        {
          id: 'cleanup-2026-11-24',
          path: 'cleanup',
          createdAt: '2026-11-24T02:30:00.000Z',
          reason: 'held EMS for 40 user(s) | a pipe',
        },
      ],
    });
    expect(md).toContain('## Held by the blast-radius guard');
    expect(md).toContain(
      '| cleanup-2026-11-24 | cleanup | 2026-11-24T02:30:00.000Z | held EMS for 40 user(s) \\| a pipe |',
    );
    expect(md).toContain('| ASSIGNED | 12 |');
    expect(md).toContain('| invalidUsageLocation | 2 |');
    expect(md).toContain('| EMS | yes | 100 | 90 | 10 |');
    expect(md).toContain('Jobs re-driven after seats freed up: 4');
    expect(md).toContain('Attempts put off and scheduled again: 7.');
  });
});

describe('summaryTable', () => {
  it('draws every line the same width, whatever the title and labels', async () => {
    const { summaryTable } = await import('../../lib/cli/output.js');
    const byOutcome = Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as Record<
      (typeof OUTCOME_KINDS)[number],
      number
    >;
    byOutcome.UNCHANGED = 3;
    for (const dryRun of [true, false]) {
      const summary = {
        runId: 'r',
        users: 3,
        writes: 0,
        byOutcome,
        actions: {},
        recovered: null,
        notDone: [],
        aborted: null,
        recordsNotWritten: 0,
        notVerified: 0,
      };
      const lines = summaryTable(summary, dryRun).split('\n');
      expect(new Set(lines.map((l) => l.length)).size).toBe(1);
      expect(lines.join('\n')).toMatch(dryRun ? /plan \(dry run\)/ : /apply/);
      expect(lines.join('\n')).toMatch(/\| UNCHANGED\s+\| 3 \|/);
    }
  });
});

describe('contextFingerprint (when a delta link stops being enough)', () => {
  const ctx = (select: string[], off: string[], department = 'Sales') =>
    ({
      select,
      rules: {
        rules: [
          {
            name: 'staff',
            when: { attribute: 'department', equals: department },
            licenses: [{ skuId: EMS, skuPartNumber: 'EMS', disabledPlans: off }],
          },
        ],
        defaults: { usageLocation: 'GB', unmatched: 'leave' },
      },
    }) as unknown as Parameters<typeof contextFingerprint>[0];

  it('is stable under ordering and case', () => {
    expect(contextFingerprint(ctx(['id', 'department'], [INTUNE_A, 'p2']))).toBe(
      contextFingerprint(ctx(['Department', 'id'], ['P2', INTUNE_A.toUpperCase()])),
    );
  });

  it('changes with the attributes read and with the plans the rules want (a plan Microsoft added)', () => {
    const base = contextFingerprint(ctx(['id'], [INTUNE_A]));
    expect(contextFingerprint(ctx(['id', 'jobTitle'], [INTUNE_A]))).not.toBe(base);
    expect(contextFingerprint(ctx(['id'], [INTUNE_A, 'new-plan']))).not.toBe(base);
  });

  it('changes with a rule’s condition, even when the attributes read stay the same', () => {
    const base = contextFingerprint(ctx(['id', 'department'], [INTUNE_A], 'Sales'));
    expect(contextFingerprint(ctx(['id', 'department'], [INTUNE_A], 'Marketing'))).not.toBe(base);
  });
});
