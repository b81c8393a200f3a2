/**
 * The leaver rule, in one place. HR's word on who left outranks the rules: someone HR said left
 * keeps no managed license, whatever a notification, a delta round, a rules change or a bulk run
 * says, until HR says they are back. HR events can arrive out of order (a hire retried for days
 * while seats ran out, a leave delayed by its grace period), so each carries the time it says it
 * happened, and only a newer event replaces an older one's mark. Pure.
 */
import type { JobAction, JobSource } from '../queue/job.js';
import { isNewerMark } from '../store/leaver-order.js';
import type { LeaverMark } from '../store/ports.js';

/** The facts of a job the rule looks at. */
export interface LeaverFacts {
  source: JobSource;
  action: JobAction;
  /** When the event says it happens (HR: effectiveAt, else webhook-timestamp). */
  eventAt: Date;
  /** When the event was accepted (breaks ties between events effective at the same time). */
  statedAt: Date;
}

export type LeaverDecision =
  | {
      kind: 'proceed';
      /** The action to carry out: a reconcile of someone who left becomes a leave. */
      action: JobAction;
      /** Why the action differs from the job's, for the record; null when it does not. */
      policy: 'leaver' | null;
      /**
       * The mark to write before any license change (a leave's mark goes first, so a reconcile
       * running in the gap between the removal and the mark cannot license the person again).
       */
      mark: LeaverMark | null;
    }
  | { kind: 'superseded'; reason: string };

/** Decides what a job does about HR's marks for its user. */
export function leaverPolicy(job: LeaverFacts, mark: LeaverMark | null): LeaverDecision {
  if (job.source === 'hr') {
    const own: LeaverMark = {
      state: job.action === 'leave' ? 'left' : 'rehired',
      at: job.eventAt,
      statedAt: job.statedAt,
    };
    // HR said something newer about this person than this event: the newer statement stands.
    const overruled = mark !== null && mark.state !== own.state && isNewerMark(mark, own);
    if (job.action === 'leave') {
      if (overruled) {
        return {
          kind: 'superseded',
          reason: `HR said the person is in (effective ${mark.at.toISOString()}), after this leave (effective ${job.eventAt.toISOString()}); the leave no longer applies.`,
        };
      }
      return { kind: 'proceed', action: 'leave', policy: null, mark: own };
    }
    // A hire or update brings the person back only if it is newer than their leave.
    if (overruled) return { kind: 'proceed', action: 'leave', policy: 'leaver', mark: null };
    return { kind: 'proceed', action: job.action, policy: null, mark: own };
  }
  if (mark?.state === 'left') return { kind: 'proceed', action: 'leave', policy: 'leaver', mark: null };
  return { kind: 'proceed', action: job.action, policy: null, mark: null };
}
