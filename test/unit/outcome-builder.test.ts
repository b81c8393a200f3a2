import { describe, expect, it } from 'vitest';
import {
  asAttempt,
  asGivenUp,
  contextUnavailableRecord,
  interruptedRecord,
  notFoundRecord,
  recoveredRecord,
  type JobFacts,
} from '../../lib/engine/outcome-builder.js';
import { GraphError } from '../../lib/graph/graph-error.js';
import type { GraphUser } from '../../lib/graph/types.js';
import type { LicenseNames } from '../../lib/licensing/catalog.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';

const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';
const names: LicenseNames = {
  skuPartNumber: (id) => (id.toLowerCase() === EMS ? 'EMS' : id),
  planName: (id) => id,
};
const now = new Date('2026-05-01T10:00:05Z');
const facts: JobFacts = {
  jobId: 'job-1',
  correlationId: 'c-1',
  source: 'hr',
  eventId: 'evt',
  acceptedAt: '2026-05-01T10:00:00.000Z',
  attempt: 2,
  dryRun: false,
  userRef: { userPrincipalName: 'ann@contoso.com' },
  startedAt: new Date('2026-05-01T10:00:01Z'),
};

describe('outcome builder', () => {
  it('files a user never found under the reference digest, never the UPN, and keeps the job key', () => {
    const r = notFoundRecord(facts, now);
    expect(r.userId).toMatch(/^upn-[0-9a-f]{40}$/);
    expect(r).toMatchObject({
      outcome: 'DEFERRED',
      phase: 'final',
      attempt: 2,
      acceptedAt: facts.acceptedAt,
      durationMs: 4_000,
    });
    expect(r.error?.code).toBe('UserNotFound');
  });

  it('names the missing permission when Graph refuses the catalog, rather than blaming the rules', () => {
    const forbidden = new GraphError({
      kind: 'forbidden',
      status: 403,
      code: 'Authorization_RequestDenied',
      message: 'Insufficient privileges to complete the operation.',
      fix: 'The app lacks the application permission LicenseAssignment.Read.All for listSubscribedSkus.',
    });
    const r = contextUnavailableRecord(facts, forbidden, false, now);
    expect(r.error?.code).toBe('Authorization_RequestDenied');
    expect(r.error?.fix).toMatch(/LicenseAssignment\.Read\.All/);
    const rules = contextUnavailableRecord(
      facts,
      new Error('EMS has capabilityStatus Suspended'),
      false,
      now,
    );
    expect(rules.error?.code).toBe('RulesDoNotFitTenant');
  });

  it('turns a record into an attempt, and ends a job that ran out of tries in the way it should', () => {
    const base = notFoundRecord(facts, now);
    const attempt = asAttempt(base, new Date('2026-05-01T11:00:00Z'));
    expect(attempt).toMatchObject({
      phase: 'attempt',
      outcome: 'DEFERRED',
      retryAt: '2026-05-01T11:00:00.000Z',
    });
    expect(asGivenUp(base, 'gone', 3, 'userNotFound')).toMatchObject({
      phase: 'final',
      outcome: 'UNCHANGED',
      retryAt: null,
    });
    expect(asGivenUp(base, 'failed', 3, 'userNotFound').error?.message).toBe(
      'The user did not appear in Entra ID after 3 attempts.',
    );
    expect(asGivenUp(base, 'parked', 25, 'noSeats')).toMatchObject({ outcome: 'DEFERRED', phase: 'final' });
    expect(asGivenUp(base, 'notDone', 4, 'transient').error?.message).toMatch(
      /^Not done in this run after 4 attempt/,
    );
  });

  it('completes a pending record as planned when Graph shows the change, as interrupted when it does not', () => {
    const pending: OutcomeRecord = {
      ...notFoundRecord(facts, now),
      userId: 'u-1',
      phase: 'pending',
      outcome: 'ASSIGNED',
      error: null,
      actions: [
        { kind: 'setUsageLocation', from: null, to: 'GB' },
        { kind: 'addLicense', skuId: EMS, skuPartNumber: 'EMS', disabledPlans: [] },
      ],
    };
    const user: GraphUser = {
      id: 'u-1',
      userPrincipalName: 'ann@contoso.com',
      usageLocation: 'GB',
      assignedLicenses: [{ skuId: EMS, disabledPlans: [] }],
      licenseAssignmentStates: [],
    };
    expect(recoveredRecord(pending, user, names, now)).toMatchObject({
      phase: 'final',
      outcome: 'ASSIGNED',
      recovered: true,
      licensesAfter: ['EMS'],
      error: null,
    });
    const partly = interruptedRecord(
      pending,
      { ...user, assignedLicenses: [] },
      [pending.actions[0]!],
      names,
      now,
    );
    expect(partly).toMatchObject({
      phase: 'final',
      outcome: 'DEFERRED',
      recovered: true,
      actions: [pending.actions[0]],
    });
    expect(partly.error).toMatchObject({
      code: 'Interrupted',
      message: 'The run was stopped part way: 1 of 2 planned action(s) took effect.',
    });
  });
});
