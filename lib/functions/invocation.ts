/**
 * What every trigger adapter shares: the invocation's logger (its id and the function's name ride
 * in every line, so one invocation's story can be read back in Application Insights).
 */
import type { InvocationContext } from '@azure/functions';
import type { AppParts } from '../app.js';
import type { Logger } from '../log.js';

export function invocationLogger(parts: Pick<AppParts, 'logger'>, context: InvocationContext): Logger {
  return parts.logger.child({ invocationId: context.invocationId, function: context.functionName });
}
