/**
 * The scheduled-hire store on Azurite (checkpoints table, partition `hires`): one entry per
 * person, forgotten on request, listed soonest first from a date, pruned once long started, and
 * apart from the other marks that share the table.
 */
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { ScheduledHire } from '../../lib/store/ports.js';
import { createStorage, type Storage } from '../../lib/store/table-clients.js';

const connectionString = inject('storageConnectionString');
let storage: Storage;

beforeAll(async () => {
  storage = createStorage({ connectionString, tablePrefix: `h${randomBytes(6).toString('hex')}` });
  await storage.ensureTables();
});

const hire = (personKey: string, effectiveAt: string, extra: Partial<ScheduledHire> = {}): ScheduledHire => ({
  personKey,
  userPrincipalName: `${personKey}@contoso.com`,
  employeeId: null,
  effectiveAt: new Date(effectiveAt),
  attributes: { department: 'Sales' },
  eventId: `evt-${personKey}`,
  recordedAt: new Date('2026-02-01T00:00:00Z'),
  ...extra,
});

describe('TableScheduledHireStore', () => {
  it('lists hires after a date, soonest first, with what was recorded', async () => {
    await storage.scheduledHires.record(hire('upn-b', '2026-04-01T08:00:00Z'));
    await storage.scheduledHires.record(
      hire('upn-a', '2026-03-15T08:00:00Z', { employeeId: '1007', userPrincipalName: null }),
    );
    await storage.scheduledHires.record(hire('upn-old', '2026-01-10T08:00:00Z'));
    // A leaver mark in the same table is not a hire.
    const left = new Date('2026-02-01T00:00:00Z');
    await storage.leavers.set('someone', { state: 'left', at: left, statedAt: left });

    const upcoming = await storage.scheduledHires.listUpcoming(new Date('2026-03-01T00:00:00Z'));

    expect(upcoming).toEqual([
      hire('upn-a', '2026-03-15T08:00:00Z', { employeeId: '1007', userPrincipalName: null }),
      hire('upn-b', '2026-04-01T08:00:00Z'),
    ]);
  });

  it('keeps one entry per person: a hire sent again replaces the first', async () => {
    await storage.scheduledHires.record(hire('upn-c', '2026-05-01T08:00:00Z'));
    await storage.scheduledHires.record(hire('upn-c', '2026-05-08T08:00:00Z', { eventId: 'evt-again' }));

    const mine = (await storage.scheduledHires.listUpcoming(new Date('2026-03-01T00:00:00Z'))).filter(
      (h) => h.personKey === 'upn-c',
    );
    expect(mine.map((h) => [h.effectiveAt.toISOString(), h.eventId])).toEqual([
      ['2026-05-08T08:00:00.000Z', 'evt-again'],
    ]);
  });

  it('forgets a person (and forgetting nobody is not an error)', async () => {
    await storage.scheduledHires.record(hire('upn-d', '2026-06-01T08:00:00Z'));
    await storage.scheduledHires.forget('upn-d');
    await storage.scheduledHires.forget('upn-never-scheduled');
    const keys = (await storage.scheduledHires.listUpcoming(new Date('2026-03-01T00:00:00Z'))).map(
      (h) => h.personKey,
    );
    expect(keys).not.toContain('upn-d');
  });

  it('prunes hires that started before a date, and nothing else', async () => {
    const pruned = await storage.scheduledHires.prune(new Date('2026-02-15T00:00:00Z'));
    expect(pruned).toBe(1); // upn-old
    expect((await storage.leavers.get('someone'))?.state).toBe('left');
    const all = await storage.scheduledHires.listUpcoming(new Date('2000-01-01T00:00:00Z'));
    expect(all.map((h) => h.personKey)).toEqual(['upn-a', 'upn-b', 'upn-c']);
  });
});
