import { describe, expect, it } from 'vitest';
import { leaverPolicy, type LeaverFacts } from '../../lib/engine/leaver-policy.js';
import type { LeaverMark } from '../../lib/store/ports.js';

const t = (iso: string) => new Date(iso);
const job = (
  source: LeaverFacts['source'],
  action: LeaverFacts['action'],
  at: string,
  statedAt = at,
): LeaverFacts => ({
  source,
  action,
  eventAt: t(at),
  statedAt: t(statedAt),
});
const mark = (state: LeaverMark['state'], at: string, statedAt = at): LeaverMark => ({
  state,
  at: t(at),
  statedAt: t(statedAt),
});

describe('leaverPolicy', () => {
  it('writes the leave mark first, with the event’s own time', () => {
    expect(leaverPolicy(job('hr', 'leave', '2026-03-01T00:00:00Z'), null)).toEqual({
      kind: 'proceed',
      action: 'leave',
      policy: null,
      mark: mark('left', '2026-03-01T00:00:00Z'),
    });
  });

  it('turns any non-HR reconcile of someone who left into a leave', () => {
    for (const source of ['graph', 'delta', 'cli', 'cleanup'] as const) {
      expect(
        leaverPolicy(job(source, 'reconcile', '2030-01-01T00:00:00Z'), mark('left', '2026-03-01T00:00:00Z')),
      ).toEqual({
        kind: 'proceed',
        action: 'leave',
        policy: 'leaver',
        mark: null,
      });
    }
    expect(
      leaverPolicy(
        job('graph', 'reconcile', '2026-01-01T00:00:00Z'),
        mark('rehired', '2026-03-01T00:00:00Z'),
      ),
    ).toMatchObject({
      action: 'reconcile',
      policy: null,
    });
  });

  it('lets a hire older than the leave change nothing (a hire retried for days while seats ran out)', () => {
    const late = leaverPolicy(
      job('hr', 'reconcile', '2026-02-20T00:00:00Z', '2026-02-20T00:00:00Z'),
      mark('left', '2026-03-01T00:00:00Z'),
    );
    expect(late).toEqual({ kind: 'proceed', action: 'leave', policy: 'leaver', mark: null });
  });

  it('lets a hire newer than the leave bring the person back, and marks them rehired first', () => {
    expect(
      leaverPolicy(job('hr', 'reconcile', '2026-04-01T00:00:00Z'), mark('left', '2026-03-01T00:00:00Z')),
    ).toEqual({
      kind: 'proceed',
      action: 'reconcile',
      policy: null,
      mark: mark('rehired', '2026-04-01T00:00:00Z'),
    });
  });

  it('supersedes a delayed leave when HR said the person is in, effective later', () => {
    const result = leaverPolicy(
      job('hr', 'leave', '2026-03-01T00:00:00Z'),
      mark('rehired', '2026-03-02T00:00:00Z'),
    );
    expect(result.kind).toBe('superseded');
  });

  it('orders events effective at the same time by when they were stated; a full tie goes to the leave', () => {
    const leave = job('hr', 'leave', '2026-03-01T00:00:00Z', '2026-02-01T00:00:00Z');
    expect(leaverPolicy(leave, mark('rehired', '2026-03-01T00:00:00Z', '2026-02-10T00:00:00Z')).kind).toBe(
      'superseded',
    );
    expect(leaverPolicy(leave, mark('rehired', '2026-03-01T00:00:00Z', '2026-01-10T00:00:00Z')).kind).toBe(
      'proceed',
    );
    const tie = job('hr', 'reconcile', '2026-03-01T00:00:00Z');
    expect(leaverPolicy(tie, mark('left', '2026-03-01T00:00:00Z'))).toMatchObject({
      action: 'leave',
      policy: 'leaver',
    });
  });

  it('leaves a reclaim alone (the cleanup decided it from the account state)', () => {
    expect(leaverPolicy(job('cleanup', 'reclaim', '2026-03-01T00:00:00Z'), null)).toEqual({
      kind: 'proceed',
      action: 'reclaim',
      policy: null,
      mark: null,
    });
  });
});
