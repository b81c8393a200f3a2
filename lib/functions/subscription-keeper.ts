/** The subscription-keeper timer's adapter: the use case with the invocation's logger. */
import type { InvocationContext, Timer } from '@azure/functions';
import type { AppParts } from '../app.js';
import type { KeeperResult } from '../engine/subscription-keeper.js';
import { invocationLogger } from './invocation.js';

export function subscriptionKeeperHandler(getParts: () => AppParts) {
  return async (_timer: Timer, context: InvocationContext): Promise<KeeperResult> => {
    const parts = getParts();
    const useCases = await parts.useCases();
    return useCases.keepSubscription(invocationLogger(parts, context));
  };
}
