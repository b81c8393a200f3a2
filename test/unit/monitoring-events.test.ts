/**
 * The small pieces that feed Azure Monitor and the seat forecast: the outcome log (levels, no
 * addresses), the seats line per managed SKU, and the HR intake's note of a scheduled hire (which
 * never fails a delivery).
 */
import { describe, expect, it } from 'vitest';
import type { HrEvent } from '../../lib/intake/hr-payload.js';
import { noteScheduledHire } from '../../lib/intake/scheduled-hires.js';
import { Catalog } from '../../lib/licensing/catalog.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';
import { createLogger } from '../../lib/log.js';
import type { LicenseJob } from '../../lib/queue/job.js';
import { logSeats } from '../../lib/reports/seat-log.js';
import { withOutcomeLog } from '../../lib/store/logged-outcome-store.js';
import type { OutcomeStore, ScheduledHire, ScheduledHireStore } from '../../lib/store/ports.js';

const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
  });
  return { lines, logger };
}

const record = (fields: Partial<OutcomeRecord>): OutcomeRecord => ({
  userId: 'u1',
  userPrincipalName: 'ann@contoso.com',
  jobId: 'j1',
  correlationId: 'c1',
  source: 'graph',
  eventId: 'e1',
  rule: 'staff',
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
  dryRun: false,
  durationMs: 12,
  writes: 0,
  recovered: false,
  acceptedAt: '2026-03-01T00:00:00.000Z',
  recordedAt: '2026-03-01T00:00:00.000Z',
  ...fields,
});

const unusedReads: Omit<OutcomeStore, 'record'> = {
  recordQuiet: () => Promise.reject(new Error('not used here')),
  findJob: () => Promise.resolve(null),
  withdrawPending: () => Promise.resolve(),
  listPending: async function* () {},
  listByUser: () => Promise.resolve([]),
  listBetween: async function* () {},
  listRun: async function* () {},
  prune: () => Promise.resolve(0),
};

describe('withOutcomeLog', () => {
  it('records first, then logs the outcome; FAILED at warn, without the address in the message', async () => {
    const stored: OutcomeRecord[] = [];
    const inner: OutcomeStore = {
      record: (r) => {
        stored.push(r);
        return Promise.resolve();
      },
      ...unusedReads,
    };
    const { lines, logger } = capture();
    const store = withOutcomeLog(inner, logger);

    await store.record(
      record({
        outcome: 'FAILED',
        error: { code: 'NoUsageLocation', message: 'ann@contoso.com has no usageLocation', fix: 'Set it.' },
      }),
    );

    expect(stored).toHaveLength(1);
    expect(lines).toEqual([
      {
        level: 40,
        time: expect.any(Number) as unknown,
        app: 'ems-licensing',
        msg: 'outcome recorded',
        outcome: 'FAILED',
        phase: 'final',
        source: 'graph',
        rule: 'staff',
        skus: ['EMS'],
        code: 'NoUsageLocation',
        detail: '[redacted] has no usageLocation',
        fix: 'Set it.',
        retryAt: null,
        attempt: 0,
        writes: 0,
        userId: 'u1',
        jobId: 'j1',
        correlationId: 'c1',
        eventId: 'e1',
        heldIn: null,
        durationMs: 12,
      },
    ]);
  });

  it("logs a try put off with its phase, and not a job's pending intent", async () => {
    const stored: OutcomeRecord[] = [];
    const inner: OutcomeStore = {
      record: (r) => {
        stored.push(r);
        return Promise.resolve();
      },
      ...unusedReads,
    };
    const { lines, logger } = capture();
    const store = withOutcomeLog(inner, logger);

    await store.record(record({ phase: 'pending', outcome: 'DEFERRED' }));
    await store.record(
      record({
        phase: 'attempt',
        attempt: 1,
        outcome: 'DEFERRED',
        retryAt: '2026-03-01T00:05:00.000Z',
        error: { code: 'Throttled', message: 'Too many requests', fix: 'None: it is retried.' },
      }),
    );

    expect(stored.map((r) => r.phase)).toEqual(['pending', 'attempt']);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      outcome: 'DEFERRED',
      phase: 'attempt',
      attempt: 1,
      retryAt: '2026-03-01T00:05:00.000Z',
    });
  });

  it('logs nothing when the record could not be written (the error goes to the caller)', async () => {
    const { lines, logger } = capture();
    const failing: OutcomeStore = {
      record: () => Promise.reject(new Error('table down')),
      ...unusedReads,
    };
    await expect(withOutcomeLog(failing, logger).record(record({}))).rejects.toThrow('table down');
    expect(lines).toEqual([]);
  });
});

describe('logSeats', () => {
  it('logs one line per managed SKU', () => {
    const catalog = new Catalog([
      {
        skuId: EMS,
        skuPartNumber: 'EMS',
        appliesTo: 'User',
        capabilityStatus: 'Enabled',
        consumedUnits: 12,
        prepaidUnits: { enabled: 10, suspended: 0, warning: 0, lockedOut: 0 },
        servicePlans: [],
      },
      {
        skuId: '6fd2c87f-b296-42f0-b197-1e91e994b900',
        skuPartNumber: 'ENTERPRISEPACK',
        appliesTo: 'User',
        capabilityStatus: 'Enabled',
        consumedUnits: 1,
        prepaidUnits: { enabled: 5, suspended: 0, warning: 0, lockedOut: 0 },
        servicePlans: [],
      },
    ] as ConstructorParameters<typeof Catalog>[0]);
    const { lines, logger } = capture();
    logSeats(logger, {
      catalog,
      rules: {
        rules: [],
        managedSkuIds: new Set([EMS]),
        defaults: { usageLocation: null, unmatched: 'leave' },
      },
    });
    expect(
      lines.map(({ msg, sku, prepaid, consumed, free }) => ({ msg, sku, prepaid, consumed, free })),
    ).toEqual([{ msg: 'seats read', sku: 'EMS', prepaid: 10, consumed: 12, free: 0 }]);
  });
});

describe('noteScheduledHire', () => {
  const now = new Date('2026-03-01T00:00:00Z');
  const job = { eventId: 'wh-1', user: { userPrincipalName: 'new@contoso.com' } } as LicenseJob;
  const hire = (effectiveAt?: string): HrEvent => ({
    kind: 'hire',
    format: 'event',
    user: { userPrincipalName: 'new@contoso.com' },
    attributes: { department: 'Sales' },
    ...(effectiveAt ? { effectiveAt: new Date(effectiveAt) } : {}),
  });
  function store(fail = false) {
    const calls: string[] = [];
    const recorded: ScheduledHire[] = [];
    const s: ScheduledHireStore = {
      record: (h) => {
        calls.push('record');
        recorded.push(h);
        return fail ? Promise.reject(new Error('table down')) : Promise.resolve();
      },
      forget: (key) => {
        calls.push(`forget ${key}`);
        return Promise.resolve();
      },
      listUpcoming: () => Promise.resolve([]),
      prune: () => Promise.resolve(0),
    };
    return { s, calls, recorded };
  }

  it('remembers a hire that starts later, keyed like the job session (no UPN in the key)', async () => {
    const { s, recorded } = store();
    await noteScheduledHire(s, hire('2026-03-20T08:00:00Z'), job, now, capture().logger);
    expect(recorded).toEqual([
      {
        personKey: expect.stringMatching(/^upn-[0-9a-f]{40}$/) as unknown,
        userPrincipalName: 'new@contoso.com',
        employeeId: null,
        effectiveAt: new Date('2026-03-20T08:00:00Z'),
        attributes: { department: 'Sales' },
        eventId: 'wh-1',
        recordedAt: now,
      },
    ]);
  });

  it('forgets the person on a hire that starts now or a leave; ignores an update', async () => {
    const { s, calls } = store();
    await noteScheduledHire(s, hire(), job, now, capture().logger);
    await noteScheduledHire(s, hire('2026-02-01T00:00:00Z'), job, now, capture().logger);
    await noteScheduledHire(s, { ...hire(), kind: 'leave' }, job, now, capture().logger);
    await noteScheduledHire(
      s,
      { ...hire('2026-03-20T08:00:00Z'), kind: 'update' },
      job,
      now,
      capture().logger,
    );
    expect(calls).toHaveLength(3);
    expect(new Set(calls).size).toBe(1);
    expect(calls[0]).toMatch(/^forget upn-/);
  });

  it('logs, and does not throw, when the note cannot be written', async () => {
    const { s } = store(true);
    const { lines, logger } = capture();
    await expect(
      noteScheduledHire(s, hire('2026-03-20T08:00:00Z'), job, now, logger),
    ).resolves.toBeUndefined();
    expect(lines.map((l) => l['msg'])).toEqual([
      'scheduled hire not recorded; the seat forecast will miss it',
    ]);
  });
});
