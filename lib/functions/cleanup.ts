/** The cleanup timer's adapter: the use case with the invocation's logger. */
import type { InvocationContext, Timer } from '@azure/functions';
import type { AppParts } from '../app.js';
import type { CleanupReport } from '../engine/cleanup.js';
import { invocationLogger } from './invocation.js';

export function cleanupHandler(getParts: () => AppParts) {
  return async (_timer: Timer, context: InvocationContext): Promise<CleanupReport> => {
    const parts = getParts();
    const useCases = await parts.useCases();
    return useCases.cleanUp(invocationLogger(parts, context));
  };
}
