/**
 * The HR intake's note for the seat forecast: a hire that starts later (`effectiveAt` in the
 * future) is remembered, so `ems-licensing seats` and the daily summary can count the seats it
 * will need; a leave, or a hire that starts now, forgets any earlier note for the person. The job
 * itself is published as before; a note that cannot be written is logged and does not fail the
 * delivery (the forecast misses one hire; nothing is lost for licensing).
 */
import type { Logger } from '../log.js';
import { jobSessionId, type LicenseJob } from '../queue/job.js';
import type { ScheduledHireStore } from '../store/ports.js';
import type { HrEvent } from './hr-payload.js';

export async function noteScheduledHire(
  store: ScheduledHireStore | undefined,
  event: HrEvent,
  job: LicenseJob,
  now: Date,
  log: Logger,
): Promise<void> {
  if (store === undefined || event.kind === 'update') return;
  const personKey = jobSessionId(job);
  try {
    if (event.kind === 'hire' && event.effectiveAt !== undefined && event.effectiveAt > now) {
      await store.record({
        personKey,
        userPrincipalName: event.user.userPrincipalName ?? null,
        employeeId: event.user.employeeId ?? null,
        effectiveAt: event.effectiveAt,
        attributes: event.attributes,
        eventId: job.eventId,
        recordedAt: now,
      });
      log.info({ personKey, effectiveAt: event.effectiveAt.toISOString() }, 'scheduled hire recorded');
    } else {
      await store.forget(personKey);
    }
  } catch (err) {
    log.warn({ personKey, err }, 'scheduled hire not recorded; the seat forecast will miss it');
  }
}
