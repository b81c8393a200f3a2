/**
 * Handler factories for the trigger files in functions/. Each takes the app's parts (the
 * composition root), so tests build parts against Azurite, the Graph simulator and the AMQP test
 * broker, and call the handlers with real `HttpRequest` and `InvocationContext` objects.
 */
import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import type { AppParts } from '../app.js';
import { runCleanup, type CleanupReport } from '../engine/cleanup.js';
import { deltaCatchUp, type DeltaCatchUpResult } from '../engine/delta-catchup.js';
import {
  handleReauthorization,
  keepSubscription,
  type KeeperResult,
  type SubscriptionKeeperDeps,
} from '../engine/subscription-keeper.js';
import { runLicenseJob, type WorkerResult } from '../engine/worker.js';
import {
  answerValidation,
  handleGraphNotification,
  handleHrWebhook,
  jsonResponse,
  methodNotAllowed,
  withinBudget,
  type BudgetTimer,
  type IntakeResponse,
} from '../intake/index.js';
import type { Logger } from '../log.js';
import { cleanupSeatForecast } from '../reports/seat-report.js';
import { toHttpResponse, toIntakeRequest } from './http-adapter.js';

/** Graph's notification bodies are small (basic notifications, batches of ~100); cap them. */
export const GRAPH_MAX_BODY_BYTES = 1_048_576;
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

async function keeperDeps(parts: AppParts, logger: Logger): Promise<SubscriptionKeeperDeps> {
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

/**
 * The time an intake exchange may take, from the trigger call to the answer (parts, inbox check,
 * publish, inbox record). Graph wants a 2xx within 3 s and counts over 2.9 s as slow; past the
 * budget the answer is 503, so the sender retries (work still running may complete: safe, as a
 * job re-published under its MessageId is dropped by the broker).
 */
export const INTAKE_BUDGET_MS = 2_500;

/** What tests may change about the intake handlers. */
export interface IntakeHandlerOptions {
  /** Default {@link INTAKE_BUDGET_MS}. */
  budgetMs?: number;
  /** Default `setTimeout`. */
  timer?: BudgetTimer;
}

/** Runs one intake exchange within the budget; past it, answers 503. */
async function withinIntakeBudget(
  logger: Logger,
  options: IntakeHandlerOptions,
  work: () => Promise<IntakeResponse>,
): Promise<HttpResponseInit> {
  const budgetMs = options.budgetMs ?? INTAKE_BUDGET_MS;
  const res = await withinBudget(
    work(),
    budgetMs,
    () => {
      logger.error(
        { budgetMs },
        'intake did not finish within its time budget; answered 503 so the sender retries',
      );
      return jsonResponse(503, { error: 'the event could not be persisted in time; retry later' });
    },
    {
      ...(options.timer ? { timer: options.timer } : {}),
      onLateFailure: (error) => logger.error({ err: error }, 'intake failed after its time budget'),
    },
  );
  return toHttpResponse(res);
}

export function graphNotificationsHandler(getParts: () => AppParts, options: IntakeHandlerOptions = {}) {
  return async (req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    if (req.method !== 'POST') return toHttpResponse(methodNotAllowed());
    // The validation handshake must be answered within 10 s: no I/O, not even building clients.
    const token = req.query.get('validationToken');
    if (token !== null) return toHttpResponse(answerValidation(token));
    const parts = getParts();
    const logger = invocationLogger(parts, context);
    return withinIntakeBudget(logger, options, async () => {
      const [storage, publisher] = await Promise.all([parts.intakeStorage(), parts.intakePublisher()]);
      const request = await toIntakeRequest(req, GRAPH_MAX_BODY_BYTES, context.invocationId);
      return handleGraphNotification(request, {
        inbox: storage.inbox,
        publisher,
        logger,
        now: parts.now,
        newId: randomUUID,
        clientState: parts.config.clientState,
        lifecycle: async (event) => {
          if (event.lifecycleEvent !== 'reauthorizationRequired') {
            logger.warn({ lifecycleEvent: event.lifecycleEvent }, 'lifecycle event not handled for users');
            return;
          }
          await handleReauthorization(event.subscriptionId, await keeperDeps(parts, logger));
        },
      });
    });
  };
}

export function hrWebhookHandler(getParts: () => AppParts, options: IntakeHandlerOptions = {}) {
  return async (req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    if (req.method !== 'POST') return toHttpResponse(methodNotAllowed());
    const parts = getParts();
    const logger = invocationLogger(parts, context);
    return withinIntakeBudget(logger, options, async () => {
      const request = await toIntakeRequest(req, parts.config.hrMaxBodyBytes, context.invocationId);
      const [storage, publisher] = await Promise.all([parts.intakeStorage(), parts.intakePublisher()]);
      return handleHrWebhook(request, {
        inbox: storage.inbox,
        publisher,
        logger,
        now: parts.now,
        newId: randomUUID,
        secrets: parts.config.hrSecrets,
        maxBodyBytes: parts.config.hrMaxBodyBytes,
        leaveGraceHours: parts.config.leaveGraceHours,
        scheduledHires: storage.scheduledHires,
      });
    });
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
    const logger = invocationLogger(parts, context);
    return runCleanup({
      gateway,
      contexts,
      outcomes: storage.outcomes,
      inbox: storage.inbox,
      disabled: storage.disabledAccounts,
      publisher,
      summaries: storage.summaries,
      logger,
      now: parts.now,
      seatForecast: cleanupSeatForecast({
        gateway,
        logger,
        outcomes: storage.outcomes,
        hires: storage.scheduledHires,
        leavers: storage.leavers,
      }),
      settings: {
        disabledReclaimDays: parts.config.disabledReclaimDays,
        outcomeRetentionDays: parts.config.outcomeRetentionDays,
        inboxRetentionDays: INBOX_RETENTION_DAYS,
        redriveLookbackDays: REDRIVE_LOOKBACK_DAYS,
      },
    });
  };
}
