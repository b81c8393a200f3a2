/**
 * Intake for Microsoft Graph change notifications on `/users`: the validation handshake, then
 * batches of basic notifications turned into one `reconcile` job per user.
 * Source: learn.microsoft.com/graph/change-notifications-delivery-webhooks and
 * /graph/change-notifications-lifecycle-events; the facts used are in shared GRAPH-FACTS.md.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { LicenseJob } from '../queue/job.js';
import { acceptAndPublish, type Candidate } from './accept-and-publish.js';
import { clientStateMatches } from './client-state.js';
import {
  changeNotificationCollectionSchema,
  userIdOf,
  type ChangeNotification,
} from './graph-notification-schema.js';
import {
  jsonResponse,
  methodNotAllowed,
  parseJsonBytes,
  type IntakeDeps,
  type IntakeRequest,
  type IntakeResponse,
} from './http.js';
import { answerValidation } from './validation-token.js';

/**
 * How long an identical notification counts as a duplicate. Basic user notifications carry no
 * unique id, so the same (subscription, user, changeType) later is a real new change; only close
 * repeats are Graph's at-least-once duplicates. The costs are lopsided: a duplicate let through is
 * one more idempotent reconcile, a real change swallowed waits for the delta timer. Hence a short
 * window.
 */
export const GRAPH_REACCEPT_AFTER_MS = 2 * 60_000;

/** The inbox partition (and job source) for Graph notifications. */
export const GRAPH_SOURCE = 'graph';

/** A lifecycle notification, handed to the subscription side. */
export interface LifecycleEvent {
  subscriptionId: string;
  /** For users only `reauthorizationRequired` is sent; others are passed on as they come. */
  lifecycleEvent: string;
  subscriptionExpirationDateTime?: string;
}

/** What the Graph handler needs beyond the common ports. */
export interface GraphNotificationDeps extends IntakeDeps {
  /** The clientState our subscriptions were created with. */
  clientState: string;
  /**
   * Reacts to a lifecycle event (reauthorize the subscription or extend it). Started but not
   * awaited: see {@link handleGraphNotification}.
   */
  lifecycle: (event: LifecycleEvent) => Promise<void>;
}

/**
 * The inbox key of a change: Graph gives basic notifications no id, so it is the content.
 * Hex SHA-256, safe as a table row key.
 */
export function graphEventId(subscriptionId: string, userId: string, changeType: string): string {
  return createHash('sha256')
    .update(`${subscriptionId}\n${userId.toLowerCase()}\n${changeType}`)
    .digest('hex');
}

interface Sorted {
  changes: Map<string, { item: ChangeNotification; userId: string; changeType: string }>;
  lifecycle: LifecycleEvent[];
  rejectedClientState: number;
  deleted: number;
  notUser: number;
}

function sort(items: readonly ChangeNotification[], clientState: string): Sorted {
  const sorted: Sorted = {
    changes: new Map(),
    lifecycle: [],
    rejectedClientState: 0,
    deleted: 0,
    notUser: 0,
  };
  const seenLifecycle = new Set<string>();
  for (const item of items) {
    // Every item, lifecycle ones included: one batch can mix subscriptions (and senders).
    if (!clientStateMatches(clientState, item.clientState)) {
      sorted.rejectedClientState += 1;
      continue;
    }
    if (item.lifecycleEvent !== undefined) {
      const key = `${item.subscriptionId}\n${item.lifecycleEvent}`;
      if (!seenLifecycle.has(key)) {
        seenLifecycle.add(key);
        sorted.lifecycle.push({
          subscriptionId: item.subscriptionId,
          lifecycleEvent: item.lifecycleEvent,
          ...(item.subscriptionExpirationDateTime === undefined
            ? {}
            : { subscriptionExpirationDateTime: item.subscriptionExpirationDateTime }),
        });
      }
      continue;
    }
    // The schema guarantees changeType on non-lifecycle items.
    const changeType = item.changeType ?? '';
    // A deleted user holds nothing we could license; the record is cleanup's business.
    if (changeType === 'deleted') {
      sorted.deleted += 1;
      continue;
    }
    // `updated` covers creation and soft deletion: users have no `created` change type.
    const userId = userIdOf(item);
    if (userId === null) {
      sorted.notUser += 1;
      continue;
    }
    const key = userId.toLowerCase();
    if (!sorted.changes.has(key)) sorted.changes.set(key, { item, userId, changeType });
  }
  return sorted;
}

/**
 * Lifecycle work is started and not awaited. Graph wants the 202 first (reauthorization means a
 * Graph call that may be throttled), and losing one call costs little: the renewal timer extends
 * subscriptions on its own schedule. On a plan that freezes the instance after the response the
 * call may be delayed or cut short, which the timer covers. Failures are logged, not thrown.
 */
function startLifecycle(deps: GraphNotificationDeps, events: readonly LifecycleEvent[]): void {
  for (const event of events) {
    const log = deps.logger.child({
      subscriptionId: event.subscriptionId,
      lifecycleEvent: event.lifecycleEvent,
    });
    // Called synchronously; a synchronous throw becomes a rejection like any other failure.
    const running = new Promise<void>((resolve) => resolve(deps.lifecycle(event)));
    log.info('lifecycle notification received');
    running.catch((error: unknown) => log.error({ err: error }, 'lifecycle handling failed'));
  }
}

function toJob(
  deps: IntakeDeps,
  userId: string,
  eventId: string,
  correlationId: string,
  acceptedAt: Date,
): LicenseJob {
  return {
    version: 1,
    jobId: deps.newId(),
    correlationId,
    source: GRAPH_SOURCE,
    // Service Bus duplicate detection keys on a MessageId derived from eventId (window PT10M in
    // infra), which would drop a change the inbox re-accepted. Suffixing the re-accept window
    // number fixes that: a re-accept comes at least one window later, so the number differs, while
    // Graph's retry after a 503 (same window, usually) maps to the same MessageId and lets the
    // broker drop jobs a partly failed publish had already sent; likewise two overlapping
    // deliveries of one change (both pass the inbox check, which is only recorded after
    // publishing) publish one job. The inbox key stays the bare hash.
    eventId: `${eventId}:${Math.floor(acceptedAt.getTime() / GRAPH_REACCEPT_AFTER_MS)}`,
    action: 'reconcile',
    user: { id: userId },
    attempt: 0,
    acceptedAt: acceptedAt.toISOString(),
  };
}

/**
 * Handles one POST to the notification URL.
 *
 * - `?validationToken=` → 200 echo (see `answerValidation`), with no I/O.
 * - A notification batch → clientState checked per item (mismatches dropped), `deleted` counted
 *   and skipped, one job per user, deduplicated through the inbox (checked before publishing,
 *   recorded after); 202 once published, 503 if the inbox check or the queue failed (nothing is
 *   recorded then, so Graph's retry is processed), 400 if the body is not a notification
 *   collection, 413 if it was too large to read.
 */
export async function handleGraphNotification(
  req: IntakeRequest,
  deps: GraphNotificationDeps,
): Promise<IntakeResponse> {
  if (req.method.toUpperCase() !== 'POST') return methodNotAllowed();
  // Graph always POSTs, the handshake included; refusing GET keeps the echo off plain links.
  const token = req.query.get('validationToken');
  if (token !== null) return answerValidation(token);

  const correlationId = req.correlationId ?? deps.newId();
  const log = deps.logger.child({ correlationId, source: GRAPH_SOURCE });
  if (req.bodyTooLarge) {
    log.warn('notification body over the size cap');
    return jsonResponse(413, { error: 'the body is too large' });
  }

  const json = parseJsonBytes(req.body);
  if (!json.ok) {
    log.warn({ reason: json.error }, 'malformed notification body');
    return jsonResponse(400, { error: json.error });
  }
  const parsed = changeNotificationCollectionSchema.safeParse(json.value);
  if (!parsed.success) {
    const reason = `not a change notification collection: ${z.prettifyError(parsed.error)}`;
    log.warn({ reason }, 'malformed notification body');
    return jsonResponse(400, { error: reason });
  }

  const items = parsed.data.value;
  const sorted = sort(items, deps.clientState);
  if (sorted.rejectedClientState > 0) {
    // The count only: the received value could be someone probing for the secret.
    log.warn({ dropped: sorted.rejectedClientState }, 'notification items with a wrong clientState dropped');
  }
  startLifecycle(deps, sorted.lifecycle);

  const acceptedAt = deps.now();
  const candidates: Candidate[] = [...sorted.changes.values()].map(({ item, userId, changeType }) => {
    const eventId = graphEventId(item.subscriptionId, userId, changeType);
    return {
      eventId,
      job: toJob(deps, userId, eventId, correlationId, acceptedAt),
      detail: { subscriptionId: item.subscriptionId, userId, changeType },
    };
  });

  const outcome = await acceptAndPublish(deps, GRAPH_SOURCE, candidates, {
    reacceptAfterMs: GRAPH_REACCEPT_AFTER_MS,
  });
  const counts = {
    items: items.length,
    users: candidates.length,
    deleted: sorted.deleted,
    notUser: sorted.notUser,
    lifecycle: sorted.lifecycle.length,
  };
  if (outcome.kind === 'unavailable') {
    log.error(
      { ...counts, stage: outcome.stage, err: outcome.cause },
      'notifications not persisted; Graph will retry',
    );
    return jsonResponse(503, { error: 'the notifications could not be persisted; retry later' });
  }
  const published = outcome.kind === 'published' ? outcome.jobs.length : 0;
  log.info({ ...counts, duplicates: outcome.duplicates, published }, 'notifications accepted');
  return jsonResponse(202, { status: 'accepted', jobs: published });
}
