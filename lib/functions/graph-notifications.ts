/**
 * The graph-notifications trigger's adapter: answers the validation handshake at once, otherwise
 * reads the request (with the body cap), calls the Graph intake use case with the app's parts and
 * maps its answer back, within the intake's time budget. It holds what must outlive one request:
 * the cache of the subscriptions the app owns, and the reauthorizations under way.
 */
import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { AppParts } from '../app.js';
import {
  answerValidation,
  GRAPH_MAX_BODY_BYTES,
  handleGraphNotification,
  methodNotAllowed,
  OneAtATime,
  OwnedSubscriptions,
  type LifecycleEvent,
} from '../intake/index.js';
import type { Logger } from '../log.js';
import { toHttpResponse, toIntakeRequest } from './http-adapter.js';
import { intakeLogger, withinIntakeBudget, type IntakeHandlerOptions } from './intake-exchange.js';

/**
 * Reacts to lifecycle events of owned subscriptions (the use case calls this at most once per
 * subscription per request). Users only get `reauthorizationRequired`
 * (learn.microsoft.com/graph/change-notifications-lifecycle-events); a reauthorization already
 * under way for the subscription in this process is not started again.
 */
function lifecycleHandler(parts: AppParts, logger: Logger, underway: OneAtATime) {
  return async (event: LifecycleEvent): Promise<void> => {
    if (event.lifecycleEvent !== 'reauthorizationRequired') {
      logger.warn({ lifecycleEvent: event.lifecycleEvent }, 'lifecycle event not handled for users');
      return;
    }
    const started = underway.run(event.subscriptionId, async () => {
      await (await parts.keeper()).reauthorize(event.subscriptionId, logger);
    });
    if (started === null) {
      logger.info({ subscriptionId: event.subscriptionId }, 'reauthorization already under way');
      return;
    }
    await started;
  };
}

/** The handler `functions/graph-notifications.ts` registers. */
export function graphNotificationsHandler(getParts: () => AppParts, options: IntakeHandlerOptions = {}) {
  let owned: OwnedSubscriptions | undefined;
  const underway = new OneAtATime();
  return async (req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    if (req.method !== 'POST') return toHttpResponse(methodNotAllowed());
    // The validation handshake must be answered within 10 s: no I/O, not even building clients.
    const token = req.query.get('validationToken');
    if (token !== null) return toHttpResponse(answerValidation(token));
    const parts = getParts();
    const logger = intakeLogger(parts, context);
    owned ??= new OwnedSubscriptions({
      list: async () => (await parts.intakeStorage()).subscriptions.list(),
      now: parts.now,
      onStaleList: (error) =>
        parts.logger.warn(
          { err: error },
          'subscriptions table unreadable; using the subscriptions read before',
        ),
    });
    const cache = owned;
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
        ...(parts.config.tenantId === undefined ? {} : { tenantId: parts.config.tenantId }),
        ownedSubscriptions: (ids) => cache.owned(ids),
        lifecycle: lifecycleHandler(parts, logger, underway),
      });
    });
  };
}
