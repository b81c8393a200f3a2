/**
 * Optional per-request latency: how long the simulator holds each answer, for reads and for
 * writes, so a benchmark sees the round trips a real tenant costs (the simulator otherwise answers
 * from memory in well under a millisecond). Off (0) by default so tests stay fast.
 *
 * The request is admitted (throttling) and handled when it arrives; only the answer is held, as
 * Graph's own time is spent between arrival and answer either way.
 */
import { z } from 'zod';
import type { RequestKind } from './types.js';

export const latencySettingsSchema = z.object({
  /** Milliseconds added to every GET (and to POSTs that only read, such as checkMemberGroups). */
  readMs: z.number().int().min(0).max(60_000).default(0),
  /** Milliseconds added to every directory write (PATCH, assignLicense) and subscription change. */
  writeMs: z.number().int().min(0).max(60_000).default(0),
});
export type LatencySettings = z.infer<typeof latencySettingsSchema>;
export type LatencyInput = z.input<typeof latencySettingsSchema>;

/** Request kinds that are POSTs but only read. */
const READ_POSTS: ReadonlySet<RequestKind> = new Set(['checkMemberGroups']);

/** The latency of one request: reads are GETs and read-only POSTs; anything else is a write. */
export function latencyFor(settings: LatencySettings, method: string, kind: RequestKind): number {
  return method === 'GET' || READ_POSTS.has(kind) ? settings.readMs : settings.writeMs;
}

/** Waits `ms` (a real timer: latency is I/O time, not part of the simulated clock). */
export function hold(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
