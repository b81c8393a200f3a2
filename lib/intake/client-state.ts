/** The clientState check every Graph notification item must pass. */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * True when the notification's clientState equals ours. Graph echoes the secret set on the
 * subscription in every item (learn.microsoft.com/graph/change-notifications-delivery-webhooks,
 * "Validate the authenticity of notifications"); comparing SHA-256 digests keeps the buffers the
 * same length for `timingSafeEqual`, so neither content nor length leaks through timing.
 */
export function clientStateMatches(expected: string, received: string | null | undefined): boolean {
  if (typeof received !== 'string') return false;
  return timingSafeEqual(digest(expected), digest(received));
}
