/**
 * The Service Bus trigger's adapter: the delivery facts from the trigger metadata, then the
 * worker use case. A throw (a poison message) makes the host abandon the message.
 */
import type { InvocationContext } from '@azure/functions';
import type { AppParts } from '../app.js';
import type { DeliveryInfo, WorkerResult } from '../engine/worker.js';
import { invocationLogger } from './invocation.js';

/** The trigger metadata's `enqueuedTimeUtc` (an ISO string from the Service Bus extension). */
function enqueuedTimeOf(value: unknown): Date | undefined {
  if (typeof value !== 'string' && !(value instanceof Date)) return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

export function deliveryOf(context: InvocationContext): DeliveryInfo {
  const meta = context.triggerMetadata ?? {};
  return {
    messageId: typeof meta.messageId === 'string' ? meta.messageId : undefined,
    deliveryCount: typeof meta.deliveryCount === 'number' ? meta.deliveryCount : undefined,
    enqueuedTime: enqueuedTimeOf(meta.enqueuedTimeUtc),
  };
}

export function licenseWorkerHandler(getParts: () => AppParts) {
  return async (message: unknown, context: InvocationContext): Promise<WorkerResult> => {
    const parts = getParts();
    const useCases = await parts.useCases();
    return useCases.runLicenseJob(message, deliveryOf(context), invocationLogger(parts, context));
  };
}
