/**
 * The log line of a held round, in one place: Azure Monitor queries read it (`held round`, warn),
 * so its message and fields are a contract (docs/operations.md, "Log lines").
 */
import type { Logger } from '../log.js';

export const HELD_ROUND_EVENT = 'held round';

export interface HeldRoundLogFields {
  /** The run id (CLI), delta round, or day's scope round that was held. */
  runId: string;
  /** Which path held it: `cli`, `delta`, `hr`, `graph` or `cleanup`. */
  path: string;
  /** Users whose licenses it would have removed or reduced (when it was held). */
  held: number;
  /** Current holders of the SKU furthest over its limit. */
  holders: number;
  thresholdPercent: number;
  thresholdCount: number;
  /** How to release it, as the admin types it. */
  release: string;
}

export function logHeldRound(logger: Logger, fields: HeldRoundLogFields): void {
  logger.warn(fields, HELD_ROUND_EVENT);
}
