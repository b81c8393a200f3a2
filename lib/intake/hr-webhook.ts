/**
 * Intake for HR-system webhooks signed per Standard Webhooks: verify the raw bytes, parse the
 * payload, dedupe on `webhook-id`, publish one job. Source: the Standard Webhooks spec
 * (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md).
 */
import type { LicenseJob } from '../queue/job.js';
import type { ScheduledHireStore } from '../store/ports.js';
import { acceptAndPublish } from './accept-and-publish.js';
import {
  headerOf,
  isJsonContentType,
  jsonResponse,
  methodNotAllowed,
  parseJsonBytes,
  type IntakeDeps,
  type IntakeRequest,
  type IntakeResponse,
} from './http.js';
import { parseHrPayload, type HrEvent } from './hr-payload.js';
import { noteScheduledHire } from './scheduled-hires.js';
import { verifyStandardWebhook } from './standard-webhooks.js';

/** The job source of HR webhooks (and the prefix of their inbox partitions). */
export const HR_SOURCE = 'hr';

/** Longest attribute summary kept with the inbox entry (a table property holds far more). */
const MAX_DETAIL_CHARS = 2048;

/** What the HR handler needs beyond the common ports. */
export interface HrWebhookDeps extends IntakeDeps {
  /** `whsec_<base64>` secrets (config `hrSecrets`); any of them may have signed. */
  secrets: readonly string[];
  maxBodyBytes: number;
  /** Hours between a leave and the removal of managed licenses. */
  leaveGraceHours: number;
  toleranceSeconds?: number;
  /** Hours before a future hire's `effectiveAt` at which its license is assigned. */
  hireLeadHours: number;
  /** Hires that start later, for the seat forecast (scheduled-hires.ts). */
  scheduledHires?: ScheduledHireStore;
}

/**
 * A hire that starts later waits on the queue until `leadHours` before its start: the license is
 * in place on the first morning, and no seat is held for weeks by someone who has not started (the
 * seat forecast counts them as demand until then). A hire that starts sooner runs at once.
 */
function hireNotBefore(event: HrEvent, now: Date, leadHours: number): Date | null {
  if (event.effectiveAt === undefined) return null;
  const at = new Date(event.effectiveAt.getTime() - leadHours * 3_600_000);
  return at > now ? at : null;
}

/** A leave waits for the grace period, or for the HR effective date when that is later. */
function leaveNotBefore(event: HrEvent, now: Date, graceHours: number): Date {
  const afterGrace = new Date(now.getTime() + graceHours * 3_600_000);
  return event.effectiveAt && event.effectiveAt > afterGrace ? event.effectiveAt : afterGrace;
}

function toJob(
  deps: HrWebhookDeps,
  event: HrEvent,
  verified: { id: string; timestamp: number },
  correlationId: string,
  now: Date,
): LicenseJob {
  const leave = event.kind === 'leave';
  const webhookId = verified.id;
  const notBefore = leave
    ? leaveNotBefore(event, now, deps.leaveGraceHours)
    : event.kind === 'hire'
      ? hireNotBefore(event, now, deps.hireLeadHours)
      : null;
  // When HR says it happened: orders a hire against a leave that arrive out of order.
  const eventAt = event.effectiveAt ?? new Date(verified.timestamp * 1000);
  return {
    version: 1,
    jobId: deps.newId(),
    correlationId,
    source: HR_SOURCE,
    eventId: webhookId,
    action: leave ? 'leave' : 'reconcile',
    user: event.user,
    attempt: 0,
    acceptedAt: now.toISOString(),
    eventAt: eventAt.toISOString(),
    ...(notBefore === null ? {} : { notBefore: notBefore.toISOString() }),
  };
}

/**
 * Handles one HR delivery. In order: 405 (not POST), 413 (over `maxBodyBytes`), 415 (not JSON),
 * 400 (Standard Webhooks headers missing or malformed), 401 with no detail (stale or future
 * timestamp, no matching signature), 400 with the schema problem (payload), 200 (a `webhook-id`
 * already published: no new job), 503 (inbox check or queue failed; nothing recorded, so the retry
 * works), 202 (job published, then recorded in the inbox).
 *
 * The payload is parsed before the inbox is touched, so a malformed delivery leaves no inbox entry:
 * the sender's corrected resend is processed even under the same `webhook-id`. That resend is
 * signed with our secret, so it is the sender's own correction, not a forgery.
 */
export async function handleHrWebhook(req: IntakeRequest, deps: HrWebhookDeps): Promise<IntakeResponse> {
  if (req.method.toUpperCase() !== 'POST') return methodNotAllowed();
  const correlationId = req.correlationId ?? deps.newId();
  let log = deps.logger.child({ correlationId, source: HR_SOURCE });

  if (req.bodyTooLarge || req.body.byteLength > deps.maxBodyBytes) {
    log.warn({ maxBodyBytes: deps.maxBodyBytes }, 'HR webhook body over the size cap');
    return jsonResponse(413, { error: `the body is larger than ${deps.maxBodyBytes} bytes` });
  }
  if (!isJsonContentType(headerOf(req.headers, 'content-type'))) {
    return jsonResponse(415, { error: 'Content-Type must be application/json' });
  }

  const now = deps.now();
  const verified = verifyStandardWebhook({
    headers: req.headers,
    body: req.body,
    secrets: deps.secrets,
    now,
    ...(deps.toleranceSeconds === undefined ? {} : { toleranceSeconds: deps.toleranceSeconds }),
  });
  if (!verified.ok) {
    // Which check failed goes to the log only; the sender learns nothing from a 401.
    log.warn({ check: verified.failure, setting: 'HR_WEBHOOK_SECRETS' }, 'HR webhook refused');
    return verified.status === 400
      ? jsonResponse(400, {
          error: 'webhook-id, webhook-timestamp and webhook-signature are required and well-formed',
        })
      : jsonResponse(401, { error: 'unauthorized' });
  }
  log = log.child({ eventId: verified.id });

  const json = parseJsonBytes(req.body);
  const payload = json.ok ? parseHrPayload(json.value) : json;
  if (!payload.ok) {
    log.warn({ reason: payload.error }, 'HR payload refused');
    return jsonResponse(400, { error: payload.error });
  }

  const event = payload.event;
  const job = toJob(deps, event, verified, correlationId, now);
  const detail = {
    kind: event.kind,
    format: event.format,
    // Recorded to explain what HR said; decisions read the user's state from Graph.
    attributes: JSON.stringify(event.attributes).slice(0, MAX_DETAIL_CHARS),
  };
  // No re-accept window: webhook-id is unique per event and stays the same across retries.
  const outcome = await acceptAndPublish(deps, HR_SOURCE, [{ eventId: verified.id, job, detail }]);
  switch (outcome.kind) {
    case 'nothing-new':
      log.info('HR webhook already accepted; no new job');
      return jsonResponse(200, { status: 'duplicate' });
    case 'unavailable':
      log.error(
        { stage: outcome.stage, err: outcome.cause },
        'HR webhook not persisted; the sender should retry',
      );
      return jsonResponse(503, { error: 'the event could not be persisted; retry later' });
    case 'published':
      await noteScheduledHire(deps.scheduledHires, event, job, now, log);
      log.info(
        { kind: event.kind, format: event.format, action: job.action, jobId: job.jobId },
        'HR webhook accepted',
      );
      return jsonResponse(202, { status: 'accepted', jobId: job.jobId });
  }
}
