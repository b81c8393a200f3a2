/**
 * The license job: one per user per event, carried on the Service Bus queue. Parsed with this
 * schema by the worker; a message that does not parse is dead-lettered with a reason.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const JOB_SOURCES = ['graph', 'delta', 'hr', 'cleanup', 'cli'] as const;
export type JobSource = (typeof JOB_SOURCES)[number];

/**
 * - `reconcile`: make the user's managed licenses match the rules.
 * - `leave`: the person left; remove managed SKUs (never other licenses).
 * - `reclaim`: cleanup found the account disabled past the grace period; remove managed SKUs.
 */
export const JOB_ACTIONS = ['reconcile', 'leave', 'reclaim'] as const;
export type JobAction = (typeof JOB_ACTIONS)[number];

export const jobUserSchema = z
  .object({
    id: z.string().min(1).max(256).optional(),
    userPrincipalName: z.string().min(3).max(1024).optional(),
    employeeId: z.string().min(1).max(256).optional(),
  })
  .refine((u) => u.id ?? u.userPrincipalName ?? u.employeeId, {
    message: 'a job needs the user id, userPrincipalName or employeeId',
  });

/**
 * The blast-radius guard's word on a job (lib/engine/blast-guard.ts): its producer counted it in a
 * round (a delta round, a day of cleanup reclaims) and `allowed` or `held` its reductions, or an
 * admin `released` the round it was held in. Jobs without it are counted by the worker (a day of
 * HR leaves or of notification-driven changes).
 */
export const jobGuardMarkerSchema = z.object({
  round: z.string().min(1).max(256),
  verdict: z.enum(['allowed', 'held', 'released']),
});
export type JobGuardMarker = z.infer<typeof jobGuardMarkerSchema>;

export const licenseJobSchema = z.object({
  version: z.literal(1),
  jobId: z.string().min(1),
  correlationId: z.string().min(1),
  source: z.enum(JOB_SOURCES),
  /** The source event's id (Graph notification, HR webhook-id, delta round); dedupe key. */
  eventId: z.string().min(1).max(512),
  action: z.enum(JOB_ACTIONS),
  user: jobUserSchema,
  /** How many times this job has been tried before (scheduled copies increment it). */
  attempt: z.number().int().min(0).default(0),
  /** When the source event was first accepted (ISO). */
  acceptedAt: z.string(),
  /**
   * When the event says it happened (ISO): for HR, its `effectiveAt` or else its
   * `webhook-timestamp`. Orders HR events that arrive out of order (a hire retried for days
   * against a later leave); defaults to `acceptedAt`.
   */
  eventAt: z.string().optional(),
  /** Do not act before this time (HR leave with a grace period). */
  notBefore: z.string().optional(),
  /** Why the previous attempt was put off (for the record). */
  lastDeferral: z.string().optional(),
  /** The blast-radius guard's word on the job, when its producer or a release gave one. */
  guard: jobGuardMarkerSchema.optional(),
});
export type LicenseJob = z.infer<typeof licenseJobSchema>;
export type LicenseJobInput = z.input<typeof licenseJobSchema>;

/**
 * The key the queue sessions on: one user's jobs never run concurrently. A user known only by UPN
 * or employeeId (an HR event before the account is found) gets a digest of it, not the value:
 * the Functions host logs session ids, and UPNs are personal data. Once the worker has found the
 * user, retries carry the object id and session with the user's other jobs.
 */
export function jobSessionId(job: Pick<LicenseJob, 'user'>): string {
  const u = job.user;
  if (u.id) return u.id.slice(0, 128);
  const digest = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 40);
  return u.userPrincipalName
    ? `upn-${digest(u.userPrincipalName.toLowerCase())}`
    : `emp-${digest(u.employeeId ?? '')}`;
}

/**
 * MessageId for Service Bus duplicate detection: derived from the source event and the user, so
 * the same event published twice is dropped by the broker. Retries add the attempt number, so a
 * scheduled copy is a new message. Max 128 characters.
 */
export function jobMessageId(
  job: Pick<LicenseJob, 'source' | 'eventId' | 'user' | 'action' | 'attempt' | 'guard'>,
): string {
  // A released job is the same event sent again on purpose: its own id, stable per round.
  const released = job.guard?.verdict === 'released' ? `\nreleased:${job.guard.round}` : '';
  const digest = createHash('sha256')
    .update(`${job.source}\n${job.eventId}\n${jobSessionId(job)}\n${job.action}${released}`)
    .digest('hex')
    .slice(0, 40);
  return `${job.source}-${digest}-${job.attempt}`;
}

/** The port intake and the worker publish through. The real adapter is on @azure/service-bus. */
export interface JobPublisher {
  /** Sends jobs now. Throws if they could not be persisted (intake answers 5xx then). */
  publish(jobs: LicenseJob[]): Promise<void>;
  /** Schedules a job to become visible at `at` (delayed retry). */
  schedule(job: LicenseJob, at: Date): Promise<void>;
  close(): Promise<void>;
}
