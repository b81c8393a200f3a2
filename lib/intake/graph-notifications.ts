/**
 * Intake for Microsoft Graph change notifications on `/users`: the validation handshake, then
 * batches of basic notifications turned into one `reconcile` job per user.
 * Source: learn.microsoft.com/graph/change-notifications-delivery-webhooks and
 * /graph/change-notifications-lifecycle-events; the facts used are in shared GRAPH-FACTS.md.
 */
import { createHash } from 'node:crypto';
import type { LicenseJob } from '../queue/job.js';
import { acceptAndPublish, type Candidate } from './accept-and-publish.js';
import { clientStateChecker } from './client-state.js';
import { MAX_NOTIFICATION_ITEMS, notificationItems } from './graph-notification-schema.js';
import {
  screenItems,
  sortItems,
  subscriptionIdsOf,
  type LifecycleEvent,
  type Screened,
  type Sorted,
  type UserChange,
} from './graph-notification-sort.js';
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
import { answerValidation } from './validation-token.js';

export type { LifecycleEvent } from './graph-notification-sort.js';

/**
 * The largest notification body read (1 MiB). A basic user notification is about 450 bytes, so a
 * batch of 1,000 is under half of it.
 */
export const GRAPH_MAX_BODY_BYTES = 1_048_576;

/**
 * How long an identical notification counts as a duplicate. Basic user notifications carry no
 * unique id, so the same (subscription, user, changeType) later is a real new change; only close
 * repeats are Graph's at-least-once duplicates. The costs are lopsided: a duplicate let through is
 * one more idempotent reconcile, a real change swallowed waits for the delta timer. Hence a short
 * window.
 */
export const GRAPH_REACCEPT_AFTER_MS = 2 * 60_000;

/** The job source of Graph notifications (and the prefix of their inbox partitions). */
export const GRAPH_SOURCE = 'graph';

/** What the Graph handler needs beyond the common ports. */
export interface GraphNotificationDeps extends IntakeDeps {
  /** The clientState our subscriptions were created with. */
  clientState: string;
  /** The app's tenant (`AZURE_TENANT_ID`), when set: items of other tenants are dropped. */
  tenantId?: string;
  /**
   * Which of these subscription ids the app owns (its subscriptions table, cached: see
   * `OwnedSubscriptions`). Throws when that cannot be known; the request is then answered 503.
   */
  ownedSubscriptions: (ids: ReadonlySet<string>) => Promise<ReadonlySet<string>>;
  /**
   * Reacts to a lifecycle event (reauthorize the subscription or extend it). Started but not
   * awaited: see {@link handleGraphNotification}. Called at most once per subscription per request,
   * and only for subscriptions the app owns.
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

/** One inbox candidate (event and job) per user change. */
function candidatesOf(deps: IntakeDeps, changes: readonly UserChange[], correlationId: string): Candidate[] {
  const acceptedAt = deps.now();
  return changes.map(({ subscriptionId, userId, changeType }) => {
    const eventId = graphEventId(subscriptionId, userId, changeType);
    return {
      eventId,
      job: toJob(deps, userId, eventId, correlationId, acceptedAt),
      detail: { subscriptionId, userId, changeType },
    };
  });
}

/**
 * The refusals that come before any item is looked at, each a fixed answer (a reason, at most a
 * count): nothing the sender wrote is echoed or logged, and none costs more than reading the body.
 * Returns the items when the body is a notification collection.
 */
function readItems(req: IntakeRequest, log: IntakeDeps['logger']): { items: unknown[] } | IntakeResponse {
  if (req.bodyTooLarge) {
    log.warn({ maxBytes: GRAPH_MAX_BODY_BYTES }, 'notification body over the size cap');
    return jsonResponse(413, { error: 'the body is too large', maxBytes: GRAPH_MAX_BODY_BYTES });
  }
  // Graph sends application/json; a declared other type is refused (a missing one is tolerated).
  const contentType = headerOf(req.headers, 'content-type');
  if (contentType !== undefined && !isJsonContentType(contentType)) {
    log.warn('notification body refused: not JSON by its Content-Type');
    return jsonResponse(415, { error: 'Content-Type must be application/json' });
  }
  const json = parseJsonBytes(req.body);
  if (!json.ok) {
    log.warn({ reason: json.error }, 'malformed notification body');
    return jsonResponse(400, { error: json.error });
  }
  const items = notificationItems(json.value);
  if (items === null) {
    log.warn('malformed notification body: not a change notification collection');
    return jsonResponse(400, {
      error: 'the body is not a change notification collection (an object with a value array)',
    });
  }
  if (items.length > MAX_NOTIFICATION_ITEMS) {
    log.warn(
      { items: items.length, limit: MAX_NOTIFICATION_ITEMS },
      'notification body refused: too many items',
    );
    return jsonResponse(413, {
      error: 'too many notifications in one request',
      items: items.length,
      limit: MAX_NOTIFICATION_ITEMS,
    });
  }
  return { items };
}

/** Counts of what was dropped, for the log; all numbers, never the sender's text. */
function dropped(screened: Screened, sorted: Sorted | undefined): Record<string, number> {
  const counts: Record<string, number> = {
    wrongClientState: screened.wrongClientState,
    malformed: screened.malformed,
    foreignTenant: screened.foreignTenant,
    unknownSubscription: sorted?.unknownSubscription ?? 0,
    notUser: sorted?.notUser ?? 0,
  };
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

/**
 * Handles one POST to the notification URL.
 *
 * - `?validationToken=` → 200 echo (see `answerValidation`), with no I/O.
 * - Before any item is read: 413 (body over {@link GRAPH_MAX_BODY_BYTES}, or more than
 *   `MAX_NOTIFICATION_ITEMS` items), 415 (a Content-Type that is not JSON), 400 (not JSON, or not
 *   an object with a `value` array); each answer and log line is fixed, with at most a count.
 * - Then each item: clientState checked first (mismatches dropped and counted, nothing else read
 *   from them), then its shape, its tenant (when `AZURE_TENANT_ID` is set) and its subscription
 *   (one the app owns); `deleted` and anything but a `Users/{id}` user change is counted and
 *   skipped; one job per user, deduplicated through the inbox (checked before publishing,
 *   recorded after); lifecycle events start once per owned subscription.
 * - 202 once published (the body says how many jobs), 503 if the subscriptions table, the inbox
 *   check or the queue failed (nothing is recorded then, so Graph's retry is processed).
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
  const read = readItems(req, log);
  if (!('items' in read)) return read;

  const screened = screenItems(read.items, clientStateChecker(deps.clientState), deps.tenantId);
  let sorted: Sorted | undefined;
  if (screened.accepted.length > 0) {
    try {
      sorted = sortItems(
        screened.accepted,
        await deps.ownedSubscriptions(subscriptionIdsOf(screened.accepted)),
      );
    } catch (error) {
      log.error({ items: read.items.length, err: error }, 'notifications not checked; Graph will retry');
      return jsonResponse(503, { error: 'the notifications could not be checked; retry later' });
    }
  }
  const drops = dropped(screened, sorted);
  if (Object.keys(drops).length > 0) {
    // Counts only: the received values could be someone probing for the secret.
    log.warn(
      {
        items: read.items.length,
        ...drops,
        ...(screened.firstProblem ? { firstProblem: screened.firstProblem } : {}),
      },
      'notification items dropped',
    );
  }
  if (sorted) startLifecycle(deps, sorted.lifecycle);

  const candidates = candidatesOf(deps, sorted?.changes ?? [], correlationId);
  const counts = {
    items: read.items.length,
    users: candidates.length,
    deleted: sorted?.deleted ?? 0,
    lifecycle: sorted?.lifecycle.length ?? 0,
  };
  if (candidates.length === 0) {
    log.info({ ...counts, published: 0 }, 'notifications accepted');
    return jsonResponse(202, { status: 'accepted', jobs: 0 });
  }

  const outcome = await acceptAndPublish(deps, GRAPH_SOURCE, candidates, {
    reacceptAfterMs: GRAPH_REACCEPT_AFTER_MS,
  });
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
