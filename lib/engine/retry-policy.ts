/**
 * What happens to a job that could not finish now: tried again at a time, or ended, and how. Pure:
 * the worker carries it out with scheduled copies of the message, the CLI within its run. The
 * limits and delays are settings (lib/config.ts, docs/operations.md).
 */
import type { RetryConfig } from '../config.js';
import type { JobSource } from '../queue/job.js';
import { backoffMs } from './backoff.js';
import type { GiveUp } from './outcome-builder.js';

/** Why a job should be tried again. */
export type RetryHint =
  /** No user matches the job's reference yet (an HR hire before AD sync), or any more. */
  | { reason: 'userNotFound' }
  /** No free seat of a SKU the rules want. */
  | { reason: 'noSeats'; skuPartNumber: string }
  /** Graph throttled or was unavailable (`afterMs`: its Retry-After). */
  | { reason: 'transient'; afterMs: number | null }
  /** The outcome journal (Table storage) could not be read or written. */
  | { reason: 'storage' }
  /** The rules could not be compiled against the tenant: Graph down at a cold start (transient) or a SKU gone. */
  | { reason: 'context'; transient: boolean };

/** The limits and delays (settings: lib/config.ts, docs/operations.md). */
export type RetrySettings = RetryConfig;

/**
 * Attempts for a job that names a user by object id (a notification, delta or cleanup job) when
 * Graph no longer finds the user: only directory replication lag is worth waiting for; after
 * that the user was deleted, and there is nothing to license.
 */
export const GONE_USER_RETRY_LIMIT = 2;

export type NextStep = { kind: 'done' } | { kind: 'retry'; at: Date } | { kind: 'giveUp'; how: GiveUp };

/** The job facts the policy reads. */
export interface RetryJob {
  source: JobSource;
  attempt: number;
  /** Whether the job names its user by object id (Graph gave the id: only replication lag is worth waiting for). */
  namedById: boolean;
}

/** Decides the next step of a job that ended an attempt with `hint` (null: it finished). */
export function nextStep(
  job: RetryJob,
  hint: RetryHint | null,
  settings: RetrySettings,
  now: Date,
  random: () => number,
): NextStep {
  if (hint === null) return { kind: 'done' };
  const base = settings.retryBaseSeconds * 1000;
  const backoff = () => backoffMs(job.attempt, base, random);
  let limit: number;
  let delay: number;
  let giveUp: GiveUp = 'failed';
  switch (hint.reason) {
    case 'userNotFound':
      // An HR event may come before AD sync; an id from Graph itself only needs replication.
      limit = job.source === 'hr' || !job.namedById ? settings.hireRetryLimit : GONE_USER_RETRY_LIMIT;
      delay = backoff();
      if (job.source !== 'hr' && job.namedById) giveUp = 'gone';
      break;
    case 'noSeats':
      limit = settings.seatRetryLimit;
      delay = settings.deferredRetryMinutes * 60_000;
      giveUp = 'parked';
      break;
    case 'transient':
      limit = settings.transientRetryLimit;
      delay = Math.max(hint.afterMs ?? 0, backoff());
      break;
    case 'storage':
      limit = settings.storageRetryLimit;
      delay = backoff();
      break;
    case 'context':
      // The fix is an operator's or Graph's, not seconds away: the seat budget and delay.
      limit = settings.seatRetryLimit;
      delay = hint.transient ? backoff() : settings.deferredRetryMinutes * 60_000;
      break;
  }
  if (job.attempt < limit) return { kind: 'retry', at: new Date(now.getTime() + delay) };
  return { kind: 'giveUp', how: giveUp };
}
