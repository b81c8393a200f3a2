/**
 * `Retry-After` parsing shared by the retry middleware and the error mapping.
 */

/**
 * Milliseconds to wait according to a `Retry-After` header, or `undefined` when absent or
 * unreadable. Graph sends delay-seconds (learn.microsoft.com/graph/throttling: "wait the number of
 * seconds specified in the Retry-After header"); RFC 9110 §10.2.3 also allows an HTTP-date, which
 * is accepted for tolerance. Negative results (a date in the past) become 0.
 */
export function parseRetryAfterMs(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
