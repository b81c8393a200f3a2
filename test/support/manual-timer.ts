/** An intake budget timer a test fires by hand, so no test waits on the wall clock. */
import type { BudgetTimer } from '../../lib/intake/budget.js';

export function manualTimer(): BudgetTimer & { fire(): void; armed(): number } {
  const pending = new Map<number, () => void>();
  let next = 0;
  return {
    set(callback) {
      pending.set(++next, callback);
      return next;
    },
    clear(handle) {
      pending.delete(handle as number);
    },
    fire() {
      const callbacks = [...pending.values()];
      pending.clear();
      for (const callback of callbacks) callback();
    },
    armed: () => pending.size,
  };
}
