/**
 * The hr-webhook trigger's adapter: reads the request (with the body cap), calls the HR intake use
 * case with the app's parts, and maps its answer back, within the intake's time budget.
 */
import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { AppParts } from '../app.js';
import { handleHrWebhook, methodNotAllowed } from '../intake/index.js';
import { toHttpResponse, toIntakeRequest } from './http-adapter.js';
import { intakeLogger, withinIntakeBudget, type IntakeHandlerOptions } from './intake-exchange.js';

/** The handler `functions/hr-webhook.ts` registers. */
export function hrWebhookHandler(getParts: () => AppParts, options: IntakeHandlerOptions = {}) {
  return async (req: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    if (req.method !== 'POST') return toHttpResponse(methodNotAllowed());
    const parts = getParts();
    const logger = intakeLogger(parts, context);
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
        hireLeadHours: parts.config.hireLeadHours,
        scheduledHires: storage.scheduledHires,
      });
    });
  };
}
