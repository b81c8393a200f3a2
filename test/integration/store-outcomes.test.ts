/**
 * TableOutcomeStore on Azurite: exact round-trip, ordering, ranges, pruning and size limits.
 */
import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { OutcomeRecord } from '../../lib/licensing/types.js';
import { createStorage, type Storage } from '../../lib/store/table-clients.js';

const connectionString = inject('storageConnectionString');

/** A fresh set of tables: no other test file (or test) can see or count these rows. */
async function freshStorage(): Promise<Storage> {
  const storage = createStorage({
    connectionString,
    tablePrefix: `o${randomBytes(6).toString('hex')}`,
  });
  await storage.ensureTables();
  return storage;
}

function outcome(overrides: Partial<OutcomeRecord> = {}): OutcomeRecord {
  const recordedAt = overrides.recordedAt ?? '2024-03-01T10:00:00.000Z';
  return {
    phase: 'final',
    attempt: 0,
    acceptedAt: recordedAt,
    writes: 0,
    recovered: false,
    userId: 'a1b2c3d4-0000-4000-8000-000000000001',
    userPrincipalName: null,
    jobId: `job-${randomBytes(4).toString('hex')}`,
    correlationId: 'corr-1',
    source: 'graph',
    eventId: null,
    rule: null,
    outcome: 'UNCHANGED',
    skus: [],
    licensesBefore: [],
    licensesAfter: [],
    actions: [],
    conflicts: [],
    error: null,
    retryAt: null,
    dryRun: false,
    durationMs: 0,
    recordedAt: '2024-03-01T10:00:00.000Z',
    ...overrides,
  };
}

const at = (iso: string) => new Date(iso);

describe('TableOutcomeStore', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await freshStorage();
  });

  it('round-trips every field of a full record exactly', async () => {
    const full: OutcomeRecord = {
      userId: 'b7e3c1a0-1111-4222-8333-444455556666',
      userPrincipalName: 'zoë.ßmith@contoso.example',
      jobId: 'job-full-1',
      correlationId: 'f0e1d2c3-invocation',
      source: 'hr',
      eventId: 'msg_2Lh9 ünïcode 😀',
      rule: 'Sales get EMS without Intune',
      outcome: 'FAILED',
      skus: ['EMS', 'EMSPREMIUM'],
      licensesBefore: ['EMS:INTUNE_A'],
      licensesAfter: ['EMS:', 'EMSPREMIUM:INTUNE_A,AAD_PREMIUM_P2'],
      actions: [
        { kind: 'setUsageLocation', from: null, to: 'DE' },
        {
          kind: 'addLicense',
          skuId: 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e',
          skuPartNumber: 'EMS',
          disabledPlans: ['c1ec4a95-1f05-45b3-a911-aa3fa01094f5'],
        },
        {
          kind: 'updateDisabledPlans',
          skuId: 'b05e124f-c7cc-45a0-a6aa-8cf78c946968',
          skuPartNumber: 'EMSPREMIUM',
          before: [],
          after: ['c1ec4a95-1f05-45b3-a911-aa3fa01094f5'],
        },
        { kind: 'removeLicense', skuId: '061f9ace-7d42-4136-88ac-31dc755f143f', skuPartNumber: 'INTUNE_A' },
      ],
      conflicts: [
        {
          skuId: 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e',
          skuPartNumber: 'EMS',
          groupIds: ['g-1', 'g-2'],
          reason: 'inherited from a group',
        },
      ],
      error: {
        code: 'Request_BadRequest',
        message: 'License assignment cannot be done for user with invalid usage location.',
        fix: "Set defaults.usageLocation or the user's usageLocation",
      },
      retryAt: '2024-03-01T11:00:00.000Z',
      dryRun: true,
      durationMs: 1234.5,
      recordedAt: '2024-03-01T10:15:30.123Z',
      phase: 'final',
      attempt: 3,
      acceptedAt: '2024-03-01T09:00:00.000Z',
      writes: 2,
      recovered: true,
      payload: '{"raw":"body with \'quotes\' and \\n newline"}',
      assignedBefore: [
        {
          skuId: 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e',
          disabledPlans: ['c1ec4a95-1f05-45b3-a911-aa3fa01094f5'],
        },
        { skuId: '6fd2c87f-b296-42f0-b197-1e91e994b900', disabledPlans: [] },
      ],
      policy: 'leaver',
      held: {
        roundId: 'hr-2024-03-01',
        actions: [
          { kind: 'removeLicense', skuId: 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e', skuPartNumber: 'EMS' },
        ],
      },
    };
    await storage.outcomes.record(full);
    const [read] = await storage.outcomes.listByUser(full.userId);
    expect(read).toStrictEqual(full);
  });

  it('round-trips nulls, empty arrays, false and a whole large duration, with no payload key', async () => {
    const sparse = outcome({
      userId: 'sparse-user',
      source: 'queue',
      durationMs: 5_000_000_000,
      recordedAt: '2024-03-01T10:00:00Z',
    });
    await storage.outcomes.record(sparse);
    const [read] = await storage.outcomes.listByUser('sparse-user');
    expect(read).toStrictEqual(sparse);
    expect(read && 'payload' in read).toBe(false);
  });

  it('lists a user newest first, and honours the limit', async () => {
    const userId = 'ordering-user';
    const times = [
      '2024-04-01T00:00:02.000Z',
      '2024-04-01T00:00:00.000Z',
      '2024-04-03T00:00:00.000Z',
      '2024-04-01T00:00:01.000Z',
    ];
    for (const [i, recordedAt] of times.entries()) {
      await storage.outcomes.record(outcome({ userId, jobId: `job-${i}`, recordedAt }));
    }
    const all = await storage.outcomes.listByUser(userId);
    expect(all.map((r) => r.recordedAt)).toEqual([
      '2024-04-03T00:00:00.000Z',
      '2024-04-01T00:00:02.000Z',
      '2024-04-01T00:00:01.000Z',
      '2024-04-01T00:00:00.000Z',
    ]);
    const two = await storage.outcomes.listByUser(userId, { limit: 2 });
    expect(two.map((r) => r.jobId)).toEqual(['job-2', 'job-0']);
    expect(await storage.outcomes.listByUser(userId, { limit: 0 })).toEqual([]);
    expect(await storage.outcomes.listByUser('nobody')).toEqual([]);
  });

  it('keeps two records of the same user and millisecond apart', async () => {
    const userId = 'same-ms-user';
    const recordedAt = '2024-05-05T05:05:05.555Z';
    await storage.outcomes.record(outcome({ userId, jobId: 'job-a', recordedAt, outcome: 'ASSIGNED' }));
    await storage.outcomes.record(outcome({ userId, jobId: 'job-b', recordedAt, outcome: 'UPDATED' }));
    const rows = await storage.outcomes.listByUser(userId);
    expect(rows.map((r) => r.jobId).sort()).toEqual(['job-a', 'job-b']);
  });

  it('treats recording the very same row twice (an SDK retry) as recorded once', async () => {
    const record = outcome({ userId: 'retry-user', jobId: 'job-retry' });
    await storage.outcomes.record(record);
    await expect(storage.outcomes.record(record)).resolves.toBeUndefined();
    expect(await storage.outcomes.listByUser('retry-user')).toHaveLength(1);
  });

  it('keeps one row per job: a pending record is completed in place, whenever the final is written', async () => {
    const userId = 'journal-user';
    const acceptedAt = '2024-06-01T08:00:00.000Z';
    const pending = outcome({
      userId,
      jobId: 'job-j',
      acceptedAt,
      phase: 'pending',
      outcome: 'ASSIGNED',
      recordedAt: '2024-06-01T08:00:01.000Z',
    });
    await storage.outcomes.record(pending);
    expect((await storage.outcomes.findJob(userId, acceptedAt, 'job-j'))?.phase).toBe('pending');
    // A duplicate delivery writes the same intent again: still one row.
    await storage.outcomes.record({ ...pending, recordedAt: '2024-06-01T08:05:00.000Z' });
    const final = { ...pending, phase: 'final' as const, writes: 1, recordedAt: '2024-06-01T08:10:00.000Z' };
    await storage.outcomes.record(final, { clearPending: true });
    const rows = await storage.outcomes.listByUser(userId);
    expect(rows).toEqual([final]);
    expect(await storage.outcomes.findJob(userId, acceptedAt, 'job-j')).toEqual(final);
    expect(await storage.outcomes.findJob(userId, acceptedAt, 'job-other')).toBeNull();
  });

  it('files each put-off attempt apart from the job’s final row, newest job first', async () => {
    const userId = 'attempts-user';
    const older = '2024-06-02T08:00:00.000Z';
    const newer = '2024-06-03T08:00:00.000Z';
    const attempt = (n: number) =>
      outcome({
        userId,
        jobId: 'job-a',
        acceptedAt: older,
        phase: 'attempt',
        attempt: n,
        outcome: 'DEFERRED',
        retryAt: '2024-06-02T09:00:00.000Z',
      });
    await storage.outcomes.record(attempt(0));
    await storage.outcomes.record(attempt(1));
    await storage.outcomes.record(attempt(1)); // a repeat of the same attempt: the same row
    await storage.outcomes.record(
      outcome({ userId, jobId: 'job-a', acceptedAt: older, attempt: 2, outcome: 'ASSIGNED' }),
    );
    await storage.outcomes.record(
      outcome({ userId, jobId: 'job-b', acceptedAt: newer, outcome: 'UNCHANGED' }),
    );
    const rows = await storage.outcomes.listByUser(userId);
    expect(rows.map((r) => [r.jobId, r.phase, r.attempt])).toEqual([
      ['job-b', 'final', 0],
      ['job-a', 'final', 2],
      ['job-a', 'attempt', 0],
      ['job-a', 'attempt', 1],
    ]);
    expect(rows.filter((r) => r.phase === 'final')).toHaveLength(2);
  });

  it('lists pending records oldest first until they are completed, by source and age', async () => {
    const own = await freshStorage();
    const p1 = outcome({
      userId: 'p-1',
      jobId: 'job-p1',
      source: 'cli',
      phase: 'pending',
      recordedAt: '2024-07-01T00:00:02.000Z',
    });
    const p2 = outcome({
      userId: 'p-2',
      jobId: 'job-p2',
      source: 'cli',
      phase: 'pending',
      recordedAt: '2024-07-01T00:00:01.000Z',
    });
    const p3 = outcome({
      userId: 'p-3',
      jobId: 'job-p3',
      source: 'graph',
      phase: 'pending',
      recordedAt: '2024-07-01T00:00:00.000Z',
    });
    for (const p of [p1, p2, p3]) await own.outcomes.record(p);
    const list = async (filter: { source?: string; before?: Date } = {}) => {
      const out: string[] = [];
      for await (const r of own.outcomes.listPending(filter)) out.push(r.jobId);
      return out;
    };
    expect(await list()).toEqual(['job-p3', 'job-p2', 'job-p1']);
    expect(await list({ source: 'cli' })).toEqual(['job-p2', 'job-p1']);
    expect(await list({ before: new Date('2024-07-01T00:00:01.500Z') })).toEqual(['job-p3', 'job-p2']);
    await own.outcomes.record({ ...p2, phase: 'final' }, { clearPending: true });
    // Completed without clearing its entry (a crash in between): the listing drops it anyway.
    await own.outcomes.record({ ...p1, phase: 'final' });
    expect(await list({ source: 'cli' })).toEqual([]);
    // Pending rows and their index never show up as outcomes in time ranges as final records.
    const finals: string[] = [];
    for await (const r of own.outcomes.listBetween(new Date('2024-01-01T00:00:00Z')))
      finals.push(`${r.jobId}:${r.phase}`);
    expect(finals.sort()).toEqual(['job-p1:final', 'job-p2:final', 'job-p3:pending']);
  });

  it('accepts user and job ids with characters Table keys refuse', async () => {
    const userId = 'dept/sales#1?x\\y\tz';
    const jobId = 'job/with#odd?chars';
    await storage.outcomes.record(outcome({ userId, jobId }));
    await storage.outcomes.record(outcome({ userId: 'dept/sales#1?x\\y\tZ', jobId }));
    const rows = await storage.outcomes.listByUser(userId);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.userId).toBe(userId);
    expect(rows[0]?.jobId).toBe(jobId);
  });

  it('lists by recordedAt across users: from inclusive, to exclusive', async () => {
    const base = '2019-07-0';
    const records = [
      outcome({ userId: 'range-1', jobId: 'r-before', recordedAt: `${base}1T00:00:00.000Z` }),
      outcome({ userId: 'range-2', jobId: 'r-from', recordedAt: `${base}2T00:00:00.000Z` }),
      outcome({ userId: 'range-3', jobId: 'r-inside', recordedAt: `${base}2T12:00:00.000Z` }),
      outcome({ userId: 'range-1', jobId: 'r-to', recordedAt: `${base}3T00:00:00.000Z` }),
    ];
    for (const r of records) await storage.outcomes.record(r);

    const between: string[] = [];
    for await (const r of storage.outcomes.listBetween(at(`${base}2T00:00:00Z`), at(`${base}3T00:00:00Z`))) {
      between.push(r.jobId);
    }
    expect(between.sort()).toEqual(['r-from', 'r-inside']);

    const open: string[] = [];
    for await (const r of storage.outcomes.listBetween(at(`${base}2T12:00:00Z`))) {
      if (r.jobId.startsWith('r-')) open.push(r.jobId);
    }
    expect(open.sort()).toEqual(['r-inside', 'r-to']);
  });

  it('truncates a 100 KB payload with a marker and still records the outcome', async () => {
    const payload = 'x'.repeat(100_000);
    const record = outcome({ userId: 'big-payload', outcome: 'FAILED', payload });
    await storage.outcomes.record(record);
    const [read] = await storage.outcomes.listByUser('big-payload');
    expect(read?.outcome).toBe('FAILED');
    expect(read?.payload?.length).toBeLessThanOrEqual(32_768);
    expect(read?.payload?.startsWith('xxxx')).toBe(true);
    expect(read?.payload?.endsWith('[truncated: 100000 chars]')).toBe(true);
  });

  it('never splits a surrogate pair when truncating', async () => {
    await storage.outcomes.record(outcome({ userId: 'emoji-payload', payload: '😀'.repeat(40_000) }));
    const [read] = await storage.outcomes.listByUser('emoji-payload');
    const kept = read?.payload?.split('…[truncated')[0] ?? '';
    expect(kept.length).toBeGreaterThan(30_000);
    expect(kept).toBe('😀'.repeat(kept.length / 2));
  });

  it('keeps oversize arrays and error texts valid JSON by dropping elements and truncating texts', async () => {
    const actions = Array.from({ length: 2_000 }, (_, i) => ({
      kind: 'removeLicense' as const,
      skuId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      skuPartNumber: `SKU_${i}`,
    }));
    const record = outcome({
      userId: 'big-json',
      actions,
      error: { code: 'E', message: 'm'.repeat(50_000), fix: 'f'.repeat(50_000) },
    });
    await storage.outcomes.record(record);
    const [read] = await storage.outcomes.listByUser('big-json');
    expect(read?.userId).toBe('big-json');
    expect(read!.actions.length).toBeGreaterThan(0);
    expect(read!.actions.length).toBeLessThan(actions.length);
    expect(read!.actions).toEqual(actions.slice(0, read!.actions.length));
    expect(read!.error?.code).toBe('E');
    expect(read!.error?.message.endsWith('[truncated: 50000 chars]')).toBe(true);
    expect(JSON.stringify(read!.error).length).toBeLessThanOrEqual(32_000);
  });

  it('records a record that is oversize in every field at once (entity stays under 1 MiB)', async () => {
    const huge = (c: string) => c.repeat(40_000);
    const record = outcome({
      userId: 'worst-case-user',
      userPrincipalName: huge('u'),
      jobId: huge('j'),
      correlationId: huge('c'),
      eventId: huge('e'),
      rule: huge('r'),
      retryAt: huge('t'),
      skus: Array.from({ length: 5_000 }, (_, i) => `SKU_${i}`),
      licensesBefore: Array.from({ length: 5_000 }, (_, i) => `BEFORE_${i}:PLAN`),
      licensesAfter: Array.from({ length: 5_000 }, (_, i) => `AFTER_${i}:PLAN`),
      actions: Array.from({ length: 2_000 }, (_, i) => ({
        kind: 'setUsageLocation' as const,
        from: null,
        to: `C${i}`,
      })),
      conflicts: Array.from({ length: 2_000 }, (_, i) => ({
        skuId: `sku-${i}`,
        skuPartNumber: 'EMS',
        groupIds: ['g'],
        reason: 'group',
      })),
      error: { code: huge('x'), message: huge('\u0001'), fix: huge('f') },
      payload: huge('p'),
    });
    await storage.outcomes.record(record);
    const [read] = await storage.outcomes.listByUser('worst-case-user');
    expect(read?.jobId.endsWith('[truncated: 40000 chars]')).toBe(true);
    expect(read?.skus.length).toBeGreaterThan(0);
    expect(read?.conflicts.length).toBeGreaterThan(0);
  });

  it('stores the omitted count beside a shortened array', async () => {
    const client = TableClient.fromConnectionString(connectionString, storage.tableNames.outcomes, {
      allowInsecureConnection: true,
    });
    const skus = Array.from({ length: 10_000 }, (_, i) => `SKU_NUMBER_${i}`);
    await storage.outcomes.record(outcome({ userId: 'omitted-count', skus }));
    const rows: Record<string, unknown>[] = [];
    for await (const row of client.listEntities({
      queryOptions: { filter: "PartitionKey eq 'omitted-count'" },
    })) {
      rows.push(row);
    }
    expect(rows).toHaveLength(1);
    const [row] = rows;
    const [read] = await storage.outcomes.listByUser('omitted-count');
    expect(row?.['skusOmitted']).toBe(skus.length - (read?.skus.length ?? 0));
  });
});

describe('TableOutcomeStore.listRun (the index revert reads)', () => {
  const remove = {
    kind: 'removeLicense' as const,
    skuId: 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e',
    skuPartNumber: 'EMS',
  };

  it('lists the final records of the users a CLI run changed, and only those', async () => {
    const storage = await freshStorage();
    const run = 'run-7f3a';
    const changed = (userId: string, extra: Partial<OutcomeRecord> = {}) =>
      outcome({ userId, source: 'cli', eventId: run, outcome: 'REMOVED', actions: [remove], ...extra });
    await storage.outcomes.record(changed('u-changed-1'));
    await storage.outcomes.record(changed('u/changed#2'));
    // Not a change of this run: nothing done, a dry run, another run, a worker job, a pending intent.
    await storage.outcomes.record(changed('u-unchanged', { outcome: 'UNCHANGED', actions: [] }));
    await storage.outcomes.record(changed('u-dry', { dryRun: true }));
    await storage.outcomes.record(changed('u-other-run', { eventId: 'run-other' }));
    await storage.outcomes.record(changed('u-worker', { source: 'delta' }));
    await storage.outcomes.record(changed('u-pending', { phase: 'pending' }));

    const listed: OutcomeRecord[] = [];
    for await (const r of storage.outcomes.listRun(run)) listed.push(r);

    expect(listed.map((r) => r.userId).sort()).toEqual(['u-changed-1', 'u/changed#2']);
    expect(listed.every((r) => r.actions.length === 1 && r.eventId === run)).toBe(true);
    const none: OutcomeRecord[] = [];
    for await (const r of storage.outcomes.listRun('run-unknown')) none.push(r);
    expect(none).toEqual([]);
  });

  it('is pruned with the records it points at', async () => {
    const storage = await freshStorage();
    await storage.outcomes.record(
      outcome({
        userId: 'u-old',
        source: 'cli',
        eventId: 'run-old',
        outcome: 'REMOVED',
        actions: [remove],
        recordedAt: '2020-01-01T00:00:00.000Z',
      }),
    );
    // The record and its index entry.
    expect(await storage.outcomes.prune(new Date('2021-01-01T00:00:00.000Z'))).toBe(2);
    const left: OutcomeRecord[] = [];
    for await (const r of storage.outcomes.listRun('run-old')) left.push(r);
    expect(left).toEqual([]);
  });
});

describe('TableOutcomeStore.prune', () => {
  it('deletes only rows recorded before the cutoff, across partitions and beyond 100 per partition', async () => {
    const storage = await freshStorage();
    const old = (userId: string, i: number) =>
      outcome({
        userId,
        jobId: `old-${i}`,
        recordedAt: new Date(Date.UTC(2020, 0, 1, 0, 0, i)).toISOString(),
      });
    const oldRows = [
      ...Array.from({ length: 105 }, (_, i) => old('busy-user', i)),
      ...Array.from({ length: 3 }, (_, i) => old('quiet/user#?', i)),
    ];
    await Promise.all(oldRows.map((r) => storage.outcomes.record(r)));
    await storage.outcomes.record(
      outcome({ userId: 'busy-user', jobId: 'new-1', recordedAt: '2021-01-01T00:00:00.000Z' }),
    );
    await storage.outcomes.record(
      outcome({ userId: 'quiet/user#?', jobId: 'new-2', recordedAt: '2021-01-01T00:00:00.000Z' }),
    );

    const pruned = await storage.outcomes.prune(new Date('2021-01-01T00:00:00.000Z'));

    expect(pruned).toBe(108);
    expect((await storage.outcomes.listByUser('busy-user')).map((r) => r.jobId)).toEqual(['new-1']);
    expect((await storage.outcomes.listByUser('quiet/user#?')).map((r) => r.jobId)).toEqual(['new-2']);
    expect(await storage.outcomes.prune(new Date('2021-01-01T00:00:00.000Z'))).toBe(0);
  });

  it('counts every row once when two prunes run at the same time', async () => {
    const storage = await freshStorage();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        storage.outcomes.record(
          outcome({ userId: `u${i % 3}`, jobId: `j${i}`, recordedAt: '2020-06-01T00:00:00.000Z' }),
        ),
      ),
    );
    const counts = await Promise.all([
      storage.outcomes.prune(new Date('2020-07-01T00:00:00Z')),
      storage.outcomes.prune(new Date('2020-07-01T00:00:00Z')),
    ]);
    expect(counts[0] + counts[1]).toBe(30);
  });
});

describe('TableOutcomeStore.recordQuiet (unchanged decisions of a bulk run, many to a row)', () => {
  const RUN = 'run-quiet-1';
  const quiet = (i: number, overrides: Partial<OutcomeRecord> = {}) =>
    outcome({
      userId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      jobId: `cli-${RUN}-${String(i)}`,
      source: 'cli',
      eventId: RUN,
      rule: 'staff',
      skus: ['EMS'],
      licensesBefore: ['EMS'],
      licensesAfter: ['EMS'],
      assignedBefore: [{ skuId: 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e', disabledPlans: [] }],
      recordedAt: new Date(Date.UTC(2025, 5, 1, 12, 0, 0, i)).toISOString(),
      ...overrides,
    });

  async function rowsOf(storage: Storage): Promise<number> {
    const client = TableClient.fromConnectionString(connectionString, storage.tableNames.outcomes, {
      allowInsecureConnection: true,
    });
    let n = 0;
    for await (const _ of client.listEntities()) n++;
    return n;
  }

  it('reads back every decision exactly, by user and by time, from a few rows', async () => {
    const storage = await freshStorage();
    const records = Array.from({ length: 2_000 }, (_, i) => quiet(i));
    records[7] = quiet(7, { outcome: 'SKIPPED', policy: 'disabledAccount', rule: null });
    records[8] = quiet(8, { outcome: 'NO_RULE', rule: null, skus: [], licensesAfter: [] });
    await storage.outcomes.recordQuiet(records);

    // 2,000 decisions in at most 64 rows (one per bucket), not 2,000.
    expect(await rowsOf(storage)).toBeLessThanOrEqual(64);
    for (const i of [0, 7, 8, 1_999]) {
      const mine = records[i] as OutcomeRecord;
      const [read] = await storage.outcomes.listByUser(mine.userId);
      expect(read).toEqual(mine);
    }
    const between: OutcomeRecord[] = [];
    for await (const r of storage.outcomes.listBetween(
      at('2025-06-01T12:00:00.100Z'),
      at('2025-06-01T12:00:00.200Z'),
    )) {
      between.push(r);
    }
    expect(between.map((r) => r.jobId).sort()).toEqual(
      records
        .slice(100, 200)
        .map((r) => r.jobId)
        .sort(),
    );
  });

  it("merges a user's quiet decisions with the rest of the user's records, newest first", async () => {
    const storage = await freshStorage();
    const user = quiet(1).userId;
    await storage.outcomes.record(
      outcome({
        userId: user,
        jobId: 'assigned',
        outcome: 'ASSIGNED',
        recordedAt: '2025-05-01T00:00:00.000Z',
      }),
    );
    await storage.outcomes.recordQuiet([
      quiet(1, { jobId: 'later-run', recordedAt: '2025-06-02T00:00:00.000Z' }),
    ]);
    await storage.outcomes.recordQuiet([
      quiet(1, { jobId: 'first-run', eventId: 'run-quiet-0', recordedAt: '2025-05-15T00:00:00.000Z' }),
      quiet(2),
    ]);
    await storage.outcomes.record(
      outcome({ userId: user, jobId: 'removed', outcome: 'REMOVED', recordedAt: '2025-07-01T00:00:00.000Z' }),
    );

    const all = await storage.outcomes.listByUser(user);
    expect(all.map((r) => r.jobId)).toEqual(['removed', 'later-run', 'first-run', 'assigned']);
    expect(all[2]?.eventId).toBe('run-quiet-0');
    expect((await storage.outcomes.listByUser(user, { limit: 2 })).map((r) => r.jobId)).toEqual([
      'removed',
      'later-run',
    ]);
  });

  it('refuses a decision that changed something, failed or was put off: those keep a row each', async () => {
    const storage = await freshStorage();
    for (const bad of [
      quiet(1, {
        outcome: 'ASSIGNED',
        actions: [{ kind: 'assign', skuId: 'x', disabledPlans: [] }] as never,
      }),
      quiet(2, { outcome: 'FAILED', error: { code: 'c', message: 'm', fix: 'f' } }),
      quiet(3, { phase: 'attempt' }),
      quiet(4, { source: 'graph' }),
      quiet(5, { dryRun: true }),
    ]) {
      await expect(storage.outcomes.recordQuiet([bad])).rejects.toThrow(/Only final decisions/);
    }
    expect(await rowsOf(storage)).toBe(0);
  });

  it('keeps a row of decisions until the last of them is past the cutoff', async () => {
    const storage = await freshStorage();
    const user = quiet(3).userId;
    await storage.outcomes.recordQuiet([
      quiet(3, { jobId: 'old', eventId: 'run-old', recordedAt: '2020-01-01T00:00:00.000Z' }),
      quiet(3, { jobId: 'new', eventId: 'run-new', recordedAt: '2022-01-01T00:00:00.000Z' }),
    ]);
    expect(await storage.outcomes.prune(new Date('2021-01-01T00:00:00.000Z'))).toBe(1);
    expect((await storage.outcomes.listByUser(user)).map((r) => r.jobId)).toEqual(['new']);
  });

  it('splits decisions too large for one property over several, and reads them back whole', async () => {
    const storage = await freshStorage();
    // Long names push one bucket's JSON past a property's 64 KiB.
    const records = Array.from({ length: 600 }, (_, i) =>
      quiet(i, { userPrincipalName: `${'é'.repeat(4_000)}${String(i)}@contoso.com` }),
    );
    await storage.outcomes.recordQuiet(records);
    const client = TableClient.fromConnectionString(connectionString, storage.tableNames.outcomes, {
      allowInsecureConnection: true,
    });
    let mostParts = 0;
    for await (const row of client.listEntities<{ parts: number }>())
      mostParts = Math.max(mostParts, row.parts);
    expect(mostParts).toBeGreaterThan(1);
    const read: OutcomeRecord[] = [];
    for await (const r of storage.outcomes.listBetween(at('2025-06-01T00:00:00Z'))) read.push(r);
    expect(read).toHaveLength(600);
    expect(read.find((r) => r.jobId === records[599]?.jobId)).toEqual(records[599]);
  });
});
