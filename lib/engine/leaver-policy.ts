/**
 * The leaver rule, in one place. HR's word on who left outranks the rules: someone HR said left
 * keeps no managed license, whatever a notification, a delta round, a rules change or a bulk run
 * says, until HR says they are back. HR events can arrive out of order (a hire retried for days
 * while seats ran out, a leave delayed by its grace period), so each carries the time it says it
 * happened, and only a newer event replaces an older one's mark. Pure.
 */
import type { JobAction, JobSource } from '../queue/job.js';
import type { LeaverMark } from '../store/ports.js';

/** The facts of a job the rule looks at. */
export interface LeaverFacts {
  source: JobSource;
  action: JobAction;
  /** When the event says it happened (HR: effectiveAt or webhook-timestamp). */
  eventAt: Date;
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
  const newer = (m: LeaverMark | null) => m !== null && m.at.getTime() > job.eventAt.getTime();
  if (job.source === 'hr' && job.action === 'leave') {
    if (mark?.state === 'rehired' && newer(mark)) {
      return {
        kind: 'superseded',
        reason: `HR said the person is in at ${mark.at.toISOString()}, after this leave (${job.eventAt.toISOString()}); the leave no longer applies.`,
      };
    }
    return { kind: 'proceed', action: 'leave', policy: null, mark: { state: 'left', at: job.eventAt } };
  }
  if (job.source === 'hr') {
    // A hire or update: it brings the person back only if it is newer than their leave.
    // At the same instant the leave wins (the safer reading, as the store's newerMark).
    if (mark?.state === 'left' && mark.at.getTime() >= job.eventAt.getTime()) {
      return { kind: 'proceed', action: 'leave', policy: 'leaver', mark: null };
    }
    return { kind: 'proceed', action: job.action, policy: null, mark: { state: 'rehired', at: job.eventAt } };
  }
  if (mark?.state === 'left') return { kind: 'proceed', action: 'leave', policy: 'leaver', mark: null };
  return { kind: 'proceed', action: job.action, policy: null, mark: null };
}
