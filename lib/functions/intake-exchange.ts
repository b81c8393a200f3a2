/**
 * What the two HTTP intake adapters (graph-notifications.ts, hr-webhook.ts) share: the time budget
 * of one exchange and the invocation's logger.
 */
import type { HttpResponseInit, InvocationContext } from '@azure/functions';
import type { AppParts } from '../app.js';
import { jsonResponse, withinBudget, type BudgetTimer, type IntakeResponse } from '../intake/index.js';
import type { Logger } from '../log.js';
import { toHttpResponse } from './http-adapter.js';

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

/** The app's logger with the invocation's id and function name. */
export function intakeLogger(parts: AppParts, context: InvocationContext): Logger {
  return parts.logger.child({ invocationId: context.invocationId, function: context.functionName });
}

/** Runs one intake exchange within the budget; past it, answers 503. */
export async function withinIntakeBudget(
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
