/**
 * Retry delays for scheduled copies of a job: exponential from a base, capped, with "full jitter"
 * so many users deferred at once (a throttled tenant) do not come back at the same instant.
 */
export const MAX_BACKOFF_MS = 6 * 60 * 60 * 1000;

export function backoffMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.min(attempt, 20));
  // Never less than half the ceiling, so the delay still grows with the attempt.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
