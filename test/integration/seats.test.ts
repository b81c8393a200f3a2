/**
 * `ems-licensing seats` on the sample tenant, end to end: HR hires scheduled through the real
 * hr-webhook handler are remembered; the CLI forecasts from a dry-run plan, the app's outcome
 * records and those hires; the daily summary written by the cleanup carries the same figures;
 * `validate` warns when the rules want more seats than exist.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../../lib/cli/main.js';
import type { SkuForecast } from '../../lib/licensing/seat-forecast.js';
import type { OutcomeRecord } from '../../lib/licensing/types.js';
import { createLogger } from '../../lib/log.js';
import { cleanupSeatForecast, type SeatReport } from '../../lib/reports/seat-report.js';
import { loadSampleTenant } from '@ems-licensing/graph-simulator';
import { recordingIo } from '../support/engine-harness.js';
import { startFunctionsHarness, type FunctionsHarness } from '../support/functions-harness.js';

const DAY_MS = 24 * 60 * 60_000;
let h: FunctionsHarness;
let env: Record<string, string>;

beforeAll(async () => {
  h = await startFunctionsHarness({
    storageConnectionString: inject('storageConnectionString'),
    tenant: await loadSampleTenant(),
  });
  env = {
    GRAPH_BASE_URL: h.sim.url,
    STORAGE_CONNECTION_STRING: h.env['STORAGE_CONNECTION_STRING'] ?? '',
    STORAGE_TABLE_PREFIX: h.env['STORAGE_TABLE_PREFIX'] ?? '',
    RULES_PATH: h.env['RULES_PATH'] ?? '',
    LOG_LEVEL: 'silent',
  };
}, 60_000);

afterAll(async () => {
  await h.close();
});

async function cli(...argv: string[]) {
  const io = recordingIo();
  const code = await main(argv, env, io);
  return { code, io };
}

async function seatsJson(): Promise<SeatReport> {
  const { code, io } = await cli('seats', '--json');
  expect(code, io.stderrText()).toBe(0);
  return JSON.parse(io.stdoutText()) as SeatReport;
}

const ems = (report: SeatReport): SkuForecast => {
  const f = report.skus.find((s) => s.sku === 'EMS');
  if (!f) throw new Error('no EMS in the report');
  return f;
};

const day = (d: Date) => d.toISOString().slice(0, 10);

async function hire(upn: string, effectiveAt: Date) {
  const res = await h.postHr({
    body: {
      type: 'hire',
      user: { userPrincipalName: upn },
      attributes: { department: 'Engineering', employeeType: 'Employee' },
      effectiveAt: effectiveAt.toISOString(),
    },
  });
  expect(res.status).toBe(202);
}

describe('seats', () => {
  // Filled by the first test, read by the later ones (they run in order).
  let wanted = 0;
  const first = new Date(Date.now() + 10 * DAY_MS);
  const second = new Date(Date.now() + 20 * DAY_MS);

  it('reports prepaid, consumed, free and what the rules want, with nothing scheduled', async () => {
    const report = await seatsJson();
    const f = ems(report);
    // The sample tenant as shipped: 325 EMS seats, 59 taken; examples/rules.yaml wants EMS for
    // every synced member (and leaves the 3 unmatched holders theirs).
    expect(report.users).toBe(300);
    expect(f).toMatchObject({
      prepaid: 325,
      consumed: 59,
      free: 266,
      wanted: 238,
      short: 0,
      waiting: 0,
      scheduledHires: 0,
    });
    expect(f.runsOutOn).toBeNull();
    wanted = f.wanted;
    // A plan writes nothing.
    expect(h.sim.counters.writes()).toBe(0);
  });

  it('counts hires HR scheduled and dates the day the seats run out', async () => {
    // One seat left once the plan is through; two hires not yet in the directory are scheduled,
    // one for someone who already has an account (counted with the plan, not again).
    h.sim.tenant.setPrepaidUnits('EMS', wanted + 1);
    await hire('new.starter1@contoso.com', first);
    await hire('new.starter2@contoso.com', second);
    await hire('theo.dubois@contoso.com', first);
    // Someone whose last job waits for a seat.
    const storage = await h.parts.storage();
    const waitingRecord: OutcomeRecord = {
      userId: 'a1111111-0000-4000-8000-000000000001',
      userPrincipalName: null,
      jobId: 'job-waiting',
      correlationId: 'c',
      source: 'graph',
      eventId: null,
      rule: 'synced-staff',
      phase: 'final',
      attempt: 0,
      outcome: 'DEFERRED',
      skus: ['EMS'],
      licensesBefore: [],
      licensesAfter: [],
      actions: [],
      conflicts: [],
      error: { code: 'NoFreeSeats', message: 'No free EMS seat.', fix: 'Buy more.' },
      retryAt: null,
      dryRun: false,
      durationMs: 1,
      writes: 0,
      recovered: false,
      recordedAt: new Date().toISOString(),
      acceptedAt: new Date().toISOString(),
    };
    await storage.outcomes.record(waitingRecord);

    const report = await seatsJson();
    expect(report.hires).toEqual({ upcoming: 3, alreadyInDirectory: 1, unlicensed: 0 });
    expect(ems(report)).toMatchObject({
      prepaid: wanted + 1,
      wanted,
      short: 0,
      waiting: 1,
      scheduledHires: 2,
      leftAfterHires: -1,
      // The first hire takes the last seat.
      runsOutOn: day(first),
      runsOutBasis: 'scheduled',
    });
  });

  it('forgets a hire HR withdrew (a leave), and the run-out date moves', async () => {
    const res = await h.postHr({
      body: { type: 'leave', user: { userPrincipalName: 'new.starter1@contoso.com' } },
    });
    expect(res.status).toBe(202);

    const report = await seatsJson();
    expect(ems(report)).toMatchObject({ scheduledHires: 1, leftAfterHires: 0, runsOutOn: day(second) });

    const table = await cli('seats');
    expect(table.code).toBe(0);
    expect(table.io.stdoutText()).toMatch(
      new RegExp(
        `^EMS\\s+${String(wanted + 1)}\\s+59\\s+${String(wanted - 58)}\\s+${String(wanted)}\\s+0\\s+1\\s+1\\s+${day(second)} \\(scheduled hires\\)$`,
        'm',
      ),
    );
  });

  it('gives the daily summary the same figures', async () => {
    const cli = await seatsJson();
    const report = await h.cleanup();
    expect(report.summary.jsonBlob).toMatch(/daily\/\d{4}-\d{2}-\d{2}\.json$/);
    const date = /daily\/(\d{4}-\d{2}-\d{2})\.json$/.exec(report.summary.jsonBlob)?.[1] ?? '';
    const summary = JSON.parse(await h.readBlob(`daily/${date}.json`)) as { seatForecast: SkuForecast[] };
    expect(summary.seatForecast).toEqual(cli.skus);
    const markdown = await h.readBlob(`daily/${date}.md`);
    expect(markdown).toContain('## Seat forecast (managed SKUs)');
    expect(markdown).toContain(`| EMS | ${String(wanted + 1)} | 59 | `);
  });

  it('leaves the forecast out of the summary, and the cleanup going, when it cannot be made', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (l: string) => void lines.push(l) } });
    const gateway = {
      ...(await h.parts.gateway()),
      listUsers: () => {
        throw new Error('Graph is down');
      },
    };
    const forecast = cleanupSeatForecast({ gateway, logger, outcomes: null, hires: null });
    const context = await (await h.parts.contexts()).get();
    expect(await forecast(context, new Date())).toBeNull();
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      'seat forecast could not be made; the summary goes without it',
    ]);
  });
});

describe('validate', () => {
  it('warns, and exits 0, when the rules want more users on a SKU than it has seats', async () => {
    h.sim.tenant.setPrepaidUnits('EMS', 200);
    const { code, io } = await cli('validate');
    expect(code).toBe(0);
    expect(io.stdoutText()).toContain(
      `warning: the rules want EMS on 238 users, but the tenant has 200 seats (38 short): buy 38 more or narrow the rules; until then the users beyond the seats are DEFERRED.`,
    );
    const json = await cli('validate', '--json');
    expect((JSON.parse(json.io.stdoutText()) as { warnings: string[] }).warnings).toHaveLength(1);
  });
});
