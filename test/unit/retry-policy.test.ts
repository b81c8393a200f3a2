import { describe, expect, it } from 'vitest';
import { GONE_USER_RETRY_LIMIT, nextStep, type RetrySettings } from '../../lib/engine/retry-policy.js';

const settings: RetrySettings = {
  hireRetryLimit: 12,
  transientRetryLimit: 8,
  seatRetryLimit: 24,
  storageRetryLimit: 100,
  retryBaseSeconds: 60,
  deferredRetryMinutes: 60,
};
const now = new Date('2026-01-01T00:00:00Z');
const half = () => 0.5;
const after = (step: ReturnType<typeof nextStep>) =>
  step.kind === 'retry' ? step.at.getTime() - now.getTime() : null;

describe('nextStep', () => {
  it('is done when the attempt finished', () => {
    expect(nextStep({ source: 'graph', attempt: 0, namedById: true }, null, settings, now, half)).toEqual({
      kind: 'done',
    });
  });

  it('waits at least Graph’s Retry-After, else backs off exponentially', () => {
    const job = { source: 'graph' as const, attempt: 0, namedById: true };
    expect(after(nextStep(job, { reason: 'transient', afterMs: 120_000 }, settings, now, half))).toBe(
      120_000,
    );
    // Equal jitter at 0.5: three quarters of 60 s, then of 120 s.
    expect(after(nextStep(job, { reason: 'transient', afterMs: null }, settings, now, half))).toBe(45_000);
    expect(
      after(nextStep({ ...job, attempt: 1 }, { reason: 'transient', afterMs: null }, settings, now, half)),
    ).toBe(90_000);
    expect(
      nextStep({ ...job, attempt: 8 }, { reason: 'transient', afterMs: null }, settings, now, half),
    ).toEqual({
      kind: 'giveUp',
      how: 'failed',
    });
  });

  it('parks a job waiting for seats once its budget is spent (the cleanup re-drives it)', () => {
    const job = { source: 'hr' as const, attempt: 0, namedById: true };
    expect(after(nextStep(job, { reason: 'noSeats', skuPartNumber: 'EMS' }, settings, now, half))).toBe(
      3_600_000,
    );
    expect(
      nextStep({ ...job, attempt: 24 }, { reason: 'noSeats', skuPartNumber: 'EMS' }, settings, now, half),
    ).toEqual({
      kind: 'giveUp',
      how: 'parked',
    });
  });

  it('gives a user Graph itself named a short wait (replication), an HR user the hire budget', () => {
    const gone = { source: 'graph' as const, attempt: GONE_USER_RETRY_LIMIT, namedById: true };
    expect(nextStep(gone, { reason: 'userNotFound' }, settings, now, half)).toEqual({
      kind: 'giveUp',
      how: 'gone',
    });
    const hire = { source: 'hr' as const, attempt: GONE_USER_RETRY_LIMIT, namedById: false };
    expect(nextStep(hire, { reason: 'userNotFound' }, settings, now, half).kind).toBe('retry');
    expect(nextStep({ ...hire, attempt: 12 }, { reason: 'userNotFound' }, settings, now, half)).toEqual({
      kind: 'giveUp',
      how: 'failed',
    });
  });

  it('keeps a job whose record cannot be written for its whole storage budget', () => {
    const job = { source: 'delta' as const, attempt: 99, namedById: true };
    expect(nextStep(job, { reason: 'storage' }, settings, now, half).kind).toBe('retry');
    expect(nextStep({ ...job, attempt: 100 }, { reason: 'storage' }, settings, now, half).kind).toBe(
      'giveUp',
    );
  });

  it('retries a broken rules context on the seat budget, slowly unless Graph was only unavailable', () => {
    const job = { source: 'graph' as const, attempt: 0, namedById: true };
    expect(after(nextStep(job, { reason: 'context', transient: false }, settings, now, half))).toBe(
      3_600_000,
    );
    expect(after(nextStep(job, { reason: 'context', transient: true }, settings, now, half))).toBe(45_000);
  });
});
