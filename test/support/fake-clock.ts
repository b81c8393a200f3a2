/**
 * A clock and a sleep that only move when the test says so: `advance(ms)` fires the sleeps that
 * fall due, in time order, letting the code woken by each one run before the next. No test waits
 * on the wall clock, and a rate measured against this clock is exact.
 */

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

export interface FakeClock {
  /** Milliseconds since the clock's start. */
  now: () => number;
  /** A `Sleep`: resolves when the clock reaches now + ms; rejects when the signal aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Moves time forward by `ms`, firing every sleep that falls due on the way. */
  advance: (ms: number) => Promise<void>;
  /** Sleeps not yet due. */
  pending: () => number;
  /** When the earliest pending sleep falls due; undefined when none is pending. */
  nextDue: () => number | undefined;
}

/** Lets promise chains (and anything queued behind them with setImmediate) run. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function fakeClock(start = 0): FakeClock {
  let now = start;
  let seq = 0;
  let timers: Timer[] = [];
  return {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason as Error);
          return;
        }
        const timer: Timer = { at: now + Math.max(0, ms), seq: seq++, resolve };
        timers.push(timer);
        signal?.addEventListener(
          'abort',
          () => {
            timers = timers.filter((t) => t !== timer);
            reject(signal.reason as Error);
          },
          { once: true },
        );
      }),
    advance: async (ms) => {
      const end = now + ms;
      await settle();
      for (;;) {
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
        if (due === undefined) break;
        timers = timers.filter((t) => t !== due);
        now = Math.max(now, due.at);
        due.resolve();
        await settle();
      }
      now = end;
      await settle();
    },
    pending: () => timers.length,
    nextDue: () => (timers.length === 0 ? undefined : Math.min(...timers.map((t) => t.at))),
  };
}
