/**
 * The log lines Azure Monitor reads come out of the running app, wired as deployed (createAppParts):
 * `outcome recorded` for every outcome the worker records, `seats read` at each catalog read, with
 * the fields lib/log-events.ts defines and no personal data.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../lib/log.js';
import type { OutcomeRecordedLogFields, SeatsReadLogFields } from '../../lib/log-events.js';
import { IDS } from '@ems-licensing/graph-simulator/test-support';
import { startFunctionsHarness, type FunctionsHarness } from '../support/functions-harness.js';

type Line = Record<string, unknown> & { msg: string; level: number };
const lines: Line[] = [];
let h: FunctionsHarness;

beforeAll(async () => {
  h = await startFunctionsHarness({
    storageConnectionString: inject('storageConnectionString'),
    logger: createLogger({
      level: 'info',
      destination: { write: (l: string) => void lines.push(JSON.parse(l) as Line) },
    }),
  });
  h.sim.tenant.setPrepaidUnits('EMS', 20);
});

afterAll(async () => {
  await h.close();
});

describe('the app logs what the workbook and alerts read', () => {
  it('logs each recorded outcome and the seats of each catalog read', async () => {
    const res = await h.postHr({ body: { type: 'update', user: { userPrincipalName: 'bob@fabrikam.com' } } });
    expect(res.status).toBe(202);
    await h.drain();

    // One line for where the job ended: its pending intent (written before the first write) is
    // not logged.
    const outcomes = lines.filter((l) => l.msg === 'outcome recorded');
    expect(outcomes).toHaveLength(1);
    const expected: Omit<OutcomeRecordedLogFields, 'jobId' | 'correlationId' | 'eventId' | 'durationMs'> = {
      outcome: 'ASSIGNED',
      phase: 'final',
      source: 'hr',
      rule: 'contractors',
      skus: ['EMS'],
      code: null,
      detail: null,
      fix: null,
      retryAt: null,
      attempt: 0,
      writes: 2, // bob has no usage location: it is set, then the license assigned
      userId: IDS.bob,
      heldIn: null,
    };
    expect(outcomes[0]).toMatchObject({ ...expected, app: 'ems-licensing', level: 30 });
    for (const key of ['jobId', 'correlationId', 'eventId'])
      expect(typeof outcomes[0]?.[key], key).toBe('string');
    expect(typeof outcomes[0]?.['durationMs']).toBe('number');
    // No personal data in the line.
    expect(JSON.stringify(outcomes[0])).not.toContain('bob@fabrikam.com');

    const seats = lines.filter((l) => l.msg === 'seats read');
    const ems: SeatsReadLogFields = { sku: 'EMS', skuId: IDS.EMS, prepaid: 20, consumed: 2, free: 18 }; // read before bob's seat
    expect(
      seats.map((l) => ({
        sku: l['sku'],
        skuId: l['skuId'],
        prepaid: l['prepaid'],
        consumed: l['consumed'],
        free: l['free'],
      })),
    ).toContainEqual(ems);
  });
});
