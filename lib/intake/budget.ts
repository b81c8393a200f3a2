/**
 * A time budget for an intake exchange. Graph wants a 2xx within 3 s (over 2.9 s counts as slow,
 * and too many slow answers delay or drop notifications); storage and queue clients can take far
 * longer when their endpoint is failing or silent. Past the budget the sender is answered (5xx, so
 * it retries) while the work may go on: that is safe because a published job carries a
 * deterministic MessageId, so a retry that publishes it again is dropped by the broker.
 */

/** The timer a budget runs on; injectable so tests need not wait on the wall clock. */
export interface BudgetTimer {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/** `setTimeout`, unref'd so a pending budget never keeps the process alive. */
export const systemBudgetTimer: BudgetTimer = {
  set: (callback, ms) => setTimeout(callback, ms).unref(),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Settles like `work` when it settles within `budgetMs`; otherwise resolves to `overBudget()`.
 * A failure of `work` after the budget has passed goes to `onLateFailure` (never unhandled).
 */
export function withinBudget<T>(
  work: Promise<T>,
  budgetMs: number,
  overBudget: () => T,
  options: { timer?: BudgetTimer; onLateFailure?: (error: unknown) => void } = {},
): Promise<T> {
  const timer = options.timer ?? systemBudgetTimer;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const handle = timer.set(() => {
      if (settled) return;
      settled = true;
      try {
        resolve(overBudget());
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    }, budgetMs);
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        timer.clear(handle);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) {
          options.onLateFailure?.(error);
          return;
        }
        settled = true;
        timer.clear(handle);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
