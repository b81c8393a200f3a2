import { describe, expect, it } from 'vitest';
import { withinBudget, type BudgetTimer } from '../../lib/intake/budget.js';
import { manualTimer } from '../support/manual-timer.js';

describe('withinBudget', () => {
  it('settles like the work when it finishes in time, and clears the timer', async () => {
    const timer = manualTimer();
    await expect(withinBudget(Promise.resolve('done'), 2_500, () => 'late', { timer })).resolves.toBe('done');
    expect(timer.armed()).toBe(0);
    await expect(
      withinBudget(Promise.reject(new Error('boom')), 2_500, () => 'late', { timer }),
    ).rejects.toThrow('boom');
    expect(timer.armed()).toBe(0);
  });

  it('answers the fallback when the budget passes first, with the budget it was given', async () => {
    const asked: number[] = [];
    const timer = manualTimer();
    const spy: BudgetTimer = {
      set: (callback, ms) => {
        asked.push(ms);
        return timer.set(callback, ms);
      },
      clear: (handle) => timer.clear(handle),
    };
    const answer = withinBudget(new Promise<string>(() => undefined), 2_500, () => 'late', { timer: spy });
    timer.fire();
    await expect(answer).resolves.toBe('late');
    expect(asked).toEqual([2_500]);
  });

  it('ignores work finishing after the budget, and reports a late failure instead of leaving it unhandled', async () => {
    const timer = manualTimer();
    let fail!: (error: Error) => void;
    const work = new Promise<string>((_resolve, reject) => (fail = reject));
    const late: unknown[] = [];
    const answer = withinBudget(work, 10, () => 'late', { timer, onLateFailure: (e) => late.push(e) });
    timer.fire();
    await expect(answer).resolves.toBe('late');
    fail(new Error('publish failed after all'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(late).toEqual([new Error('publish failed after all')]);
  });

  it('uses the system timer by default', async () => {
    const answer = withinBudget(new Promise<string>(() => undefined), 1, () => 'late');
    await expect(answer).resolves.toBe('late');
  });
});
