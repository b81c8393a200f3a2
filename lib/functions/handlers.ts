/**
 * Handler factories for the worker and timer trigger files in functions/ (the two HTTP intake
 * triggers have theirs in graph-notifications.ts and hr-webhook.ts). Each takes the app's parts
 * (the composition root), so tests build parts against Azurite, the Graph simulator and the AMQP
 * test broker, and call the handlers the way the Functions host does.
 */
import type { InvocationContext, Timer } from '@azure/functions';
import type { AppParts } from '../app.js';
import { runCleanup, type CleanupReport } from '../engine/cleanup.js';
import { deltaCatchUp, type DeltaCatchUpResult } from '../engine/delta-catchup.js';
import {
  keepSubscription,
  type KeeperResult,
  type SubscriptionKeeperDeps,
} from '../engine/subscription-keeper.js';
import { runLicenseJob, type WorkerResult } from '../engine/worker.js';
import type { Logger } from '../log.js';

/** Setting name that holds the clientState; stored with the subscription instead of the secret. */
export const CLIENT_STATE_SETTING = 'GRAPH_CLIENT_STATE';
/** Retry limits not exposed as settings (see docs/operations.md). */
export const TRANSIENT_RETRY_LIMIT = 8;
export const SEAT_RETRY_LIMIT = 24;
export const INBOX_RETENTION_DAYS = 2;
/** How far back cleanup looks for jobs parked for lack of seats (outcomes are kept 180 days by default). */
export const REDRIVE_LOOKBACK_DAYS = 90;

/** The parts the worker and the timers share, built (once per instance) in parallel. */
async function engineParts(parts: AppParts) {
  const [gateway, storage, publisher, contexts] = await Promise.all([
    parts.gateway(),
    parts.storage(),
    parts.publisher(),
    parts.contexts(),
  ]);
  return { gateway, storage, publisher, contexts };
}

function invocationLogger(parts: AppParts, context: InvocationContext): Logger {
  return parts.logger.child({ invocationId: context.invocationId, function: context.functionName });
}

/** The subscription keeper's parts (the keeper timer, and the intake's reauthorizations). */
export async function keeperDeps(parts: AppParts, logger: Logger): Promise<SubscriptionKeeperDeps> {
  const [gateway, storage] = await Promise.all([parts.gateway(), parts.storage()]);
  return {
    gateway,
    store: storage.subscriptions,
    notificationUrl: parts.config.notificationUrl,
    clientState: parts.config.clientState,
    clientStateRef: CLIENT_STATE_SETTING,
    logger,
    now: parts.now,
  };
}

/** The trigger metadata's `enqueuedTimeUtc` (an ISO string from the Service Bus extension). */
function enqueuedTimeOf(value: unknown): Date | undefined {
  if (typeof value !== 'string' && !(value instanceof Date)) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

export function licenseWorkerHandler(getParts: () => AppParts) {
  return async (message: unknown, context: InvocationContext): Promise<WorkerResult> => {
    const parts = getParts();
    const logger = invocationLogger(parts, context);
    const meta = context.triggerMetadata ?? {};
    const { gateway, storage, publisher, contexts } = await engineParts(parts);
    return runLicenseJob(
      message,
      {
        messageId: typeof meta.messageId === 'string' ? meta.messageId : undefined,
        deliveryCount: typeof meta.deliveryCount === 'number' ? meta.deliveryCount : undefined,
        enqueuedTime: enqueuedTimeOf(meta.enqueuedTimeUtc),
      },
      {
        gateway,
        contexts,
        outcomes: storage.outcomes,
        leavers: storage.leavers,
        publisher,
        logger,
        now: parts.now,
        settings: {
          hireRetryLimit: parts.config.hireRetryLimit,
          transientRetryLimit: TRANSIENT_RETRY_LIMIT,
          seatRetryLimit: SEAT_RETRY_LIMIT,
          retryBaseSeconds: parts.config.retryBaseSeconds,
          deferredRetryMinutes: parts.config.deferredRetryMinutes,
        },
      },
    );
  };
}

export function subscriptionKeeperHandler(getParts: () => AppParts) {
  return async (_timer: Timer, context: InvocationContext): Promise<KeeperResult> => {
    const parts = getParts();
    return keepSubscription(await keeperDeps(parts, invocationLogger(parts, context)));
  };
}

export function deltaCatchupHandler(getParts: () => AppParts) {
  return async (_timer: Timer, context: InvocationContext): Promise<DeltaCatchUpResult> => {
    const parts = getParts();
    const { gateway, storage, publisher, contexts } = await engineParts(parts);
    return deltaCatchUp({
      gateway,
      checkpoints: storage.checkpoints,
      publisher,
      contexts,
      logger: invocationLogger(parts, context),
      now: parts.now,
    });
  };
}

export function cleanupHandler(getParts: () => AppParts) {
  return async (_timer: Timer, context: InvocationContext): Promise<CleanupReport> => {
    const parts = getParts();
    const { gateway, storage, publisher, contexts } = await engineParts(parts);
    return runCleanup({
      gateway,
      contexts,
      outcomes: storage.outcomes,
      inbox: storage.inbox,
      disabled: storage.disabledAccounts,
      publisher,
      summaries: storage.summaries,
      logger: invocationLogger(parts, context),
      now: parts.now,
      settings: {
        disabledReclaimDays: parts.config.disabledReclaimDays,
        outcomeRetentionDays: parts.config.outcomeRetentionDays,
        inboxRetentionDays: INBOX_RETENTION_DAYS,
        redriveLookbackDays: REDRIVE_LOOKBACK_DAYS,
      },
    });
  };
}
