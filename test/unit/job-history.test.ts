/**
 * A user's records as jobs (lib/engine/job-history.ts) and how `history` prints them.
 */
import { describe, expect, it } from 'vitest';
import { storyLines } from '../../lib/cli/history-command.js';
import { jobStories } from '../../lib/engine/job-history.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';

function record(extra: Partial<OutcomeRecord>): OutcomeRecord {
  return {
    userId: 'u-1',
    userPrincipalName: 'ana@contoso.com',
    jobId: 'job-1',
    correlationId: 'c',
    source: 'hr',
    eventId: 'msg_1',
    rule: 'staff',
    outcome: 'ASSIGNED',
    skus: ['EMS'],
    licensesBefore: [],
    licensesAfter: ['EMS'],
    actions: [],
    conflicts: [],
    error: null,
    retryAt: null,
    dryRun: false,
    durationMs: 0,
    recordedAt: '2026-05-01T10:00:00.000Z',
    phase: 'final',
    attempt: 0,
    acceptedAt: '2026-05-01T09:00:00.000Z',
    writes: 1,
    recovered: false,
    ...extra,
  };
}

const seats = { code: 'NoFreeSeats', message: 'No free EMS seat left.', fix: 'Buy more EMS licenses.' };

describe('jobStories', () => {
  it('folds a job’s attempts under where it ended, newest job first', () => {
    const stories = jobStories([
      record({ jobId: 'old', acceptedAt: '2026-04-01T00:00:00.000Z', outcome: 'REMOVED' }),
      record({
        phase: 'attempt',
        attempt: 1,
        outcome: 'DEFERRED',
        error: seats,
        recordedAt: '2026-05-01T09:30:00.000Z',
      }),
      record({}),
      record({
        phase: 'attempt',
        attempt: 0,
        outcome: 'DEFERRED',
        error: seats,
        recordedAt: '2026-05-01T09:00:00.000Z',
      }),
    ]);
    expect(stories.map((s) => [s.record.jobId, s.record.outcome, s.attempts.map((a) => a.attempt)])).toEqual([
      ['job-1', 'ASSIGNED', [0, 1]],
      ['old', 'REMOVED', []],
    ]);
  });

  it('shows a job still being retried by its last attempt, and one under way by its pending record', () => {
    const retrying = jobStories([
      record({ phase: 'attempt', attempt: 0, outcome: 'DEFERRED', error: seats }),
      record({ phase: 'attempt', attempt: 1, outcome: 'DEFERRED', error: seats }),
    ]);
    expect(retrying.map((s) => [s.record.attempt, s.attempts.length])).toEqual([[1, 1]]);
    const pending = jobStories([record({ phase: 'pending', outcome: 'REMOVED' })]);
    expect(storyLines(pending[0]!)[0]).toContain('PENDING');
  });

  it('prints when, source, rule, outcome, before → after, the attempts, what was held and the fix', () => {
    const [story] = jobStories([
      record({
        outcome: 'HELD',
        licensesBefore: ['EMS'],
        licensesAfter: ['EMS'],
        held: {
          roundId: 'hr-2026-05-01',
          actions: [{ kind: 'removeLicense', skuId: 's', skuPartNumber: 'EMS' }],
        },
        error: { code: 'HeldByGuard', message: 'The guard held it.', fix: 'Release it.' },
      }),
      record({
        phase: 'attempt',
        attempt: 0,
        outcome: 'DEFERRED',
        error: seats,
        recordedAt: '2026-05-01T09:05:00.000Z',
      }),
    ]);
    expect(storyLines(story!)).toEqual([
      '2026-05-01 09:00:00Z  hr      staff            HELD      EMS → EMS',
      '    job job-1, event msg_1',
      '    put off 1 time(s) before: 2026-05-01 09:05:00Z NoFreeSeats',
      '    held in hr-2026-05-01: 1 removal(s) or reduction(s) waiting',
      '    HeldByGuard: The guard held it.',
      '    Fix: Release it.',
    ]);
  });
});
