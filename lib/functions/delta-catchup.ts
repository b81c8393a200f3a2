/** The delta-catchup timer's adapter: the use case with the invocation's logger. */
import type { InvocationContext, Timer } from '@azure/functions';
import type { AppParts } from '../app.js';
import type { DeltaCatchUpResult } from '../engine/delta-catchup.js';
import { invocationLogger } from './invocation.js';

export function deltaCatchupHandler(getParts: () => AppParts) {
  return async (_timer: Timer, context: InvocationContext): Promise<DeltaCatchUpResult> => {
    const parts = getParts();
    const useCases = await parts.useCases();
    return useCases.catchUpDelta(invocationLogger(parts, context));
  };
}
