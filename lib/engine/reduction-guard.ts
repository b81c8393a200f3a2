/**
 * The port through which a job asks the blast-radius guard whether it may make its reductions (see
 * blast-guard.ts for the decision itself). A CLI run answers from its own plan (run-guard.ts); the
 * Functions worker answers from the held rounds and daily scopes in Table storage (worker-guard.ts).
 * A job asks only when its plan removes a SKU or switches a plan off, and never for a dry run.
 */
import type { GraphUser } from '../graph/types.js';
import type { JobAction, JobGuardMarker } from '../queue/job.js';
import type { Reduction } from './blast-guard.js';
import type { Decision } from './decide.js';
import type { JobFacts } from './outcome-builder.js';

export interface GuardCheck {
  facts: JobFacts;
  /** The job's own action (before the leaver rule): what a release sends again. */
  action: JobAction;
  /** When the job's event says it happened (HR ordering): kept for a release. */
  eventAt: Date;
  user: GraphUser;
  decision: Decision;
  /** The plan's reductions (never empty). */
  reductions: Reduction[];
  /** Current holders of a SKU (the catalog's consumedUnits). */
  holders: (skuId: string) => number;
  /** What the job's producer or a release said about it (queue jobs only). */
  marker: JobGuardMarker | undefined;
}

export type GuardAnswer =
  | { kind: 'allow' }
  /** Withhold the reductions: they wait in `roundId`; `reason` and `release` go in the record. */
  | { kind: 'hold'; roundId: string; reason: string; release: string };

export interface ReductionGuard {
  /** Throws only when its storage fails (the job is then kept and tried again). */
  check(check: GuardCheck): Promise<GuardAnswer>;
}

export const ALLOW: GuardAnswer = { kind: 'allow' };
