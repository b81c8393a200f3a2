/** The clientState check every Graph notification item must pass. */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * A check against our clientState, its digest computed once (a batch checks every item). Graph
 * echoes the secret set on the subscription in every item
 * (learn.microsoft.com/graph/change-notifications-delivery-webhooks, "Validate the authenticity of
 * notifications"); comparing SHA-256 digests keeps the buffers the same length for
 * `timingSafeEqual`, so neither content nor length leaks through timing. Anything but a string
 * (missing, null, a number) never matches.
 */
export function clientStateChecker(expected: string): (received: unknown) => boolean {
  const wanted = digest(expected);
  return (received) => typeof received === 'string' && timingSafeEqual(wanted, digest(received));
}

/** True when the notification's clientState equals ours (see {@link clientStateChecker}). */
export function clientStateMatches(expected: string, received: unknown): boolean {
  return clientStateChecker(expected)(received);
}
