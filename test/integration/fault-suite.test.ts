/**
 * The fault suite at a small size (test/support/fault-suite.ts says what it does and checks):
 * `ems-licensing apply` in child processes through a proxy answering 20 % of requests with
 * throttling, server errors or dropped connections and losing the answer of 10 % of writes, three
 * of the runs killed with SIGKILL in the middle of their writes. bench/fault-suite.bench.ts runs the
 * same at 3,000 users.
 */
import { describe, expect, inject, it } from 'vitest';
import { runCliFaultSuite, runWorkerFaultSuite } from '../support/fault-suite.js';

describe('apply under faults, lost answers and kills', () => {
  it(
    'ends with every user as the rules want, every change recorded once, no leaver licensed',
    { timeout: 240_000 },
    async () => {
      const report = await runCliFaultSuite({
        users: 150,
        storageConnectionString: inject('storageConnectionString'),
        faultRate: 0.2,
        lostWriteRate: 0.1,
        killsAfterWrites: [6, 12, 12],
        leavers: 5,
        concurrency: 8,
        seed: 4242,
      });

      expect(report.runs.filter((r) => r.killed)).toHaveLength(3);
      // The faults really happened: lost answers and every kind of error.
      expect(report.proxy.lostAnswer).toBeGreaterThan(0);
      expect(report.proxy.error429 + report.proxy.error503 + report.proxy.dropped).toBeGreaterThan(0);
      expect(report.usersDifferingFromRules).toBe(0);
      expect(report.changedUsers).toBeGreaterThan(20);
      expect(report.changesWithoutRecord).toBe(0);
      expect(report.jobsWithSeveralFinals).toBe(0);
      expect(report.pendingLeft).toBe(0);
      expect(report.leaversLicensed).toBe(0);
      expect(report.dishonestRuns).toBe(0);
      // No change was made twice: one applied license write per changed user.
      expect(report.appliedLicenseWrites).toBe(report.changedUsers);
    },
  );
});

describe('the worker under faults, lost answers, crashed and repeated deliveries', () => {
  it(
    'ends every job with exactly one final record, every change made once and recorded',
    { timeout: 240_000 },
    async () => {
      const report = await runWorkerFaultSuite({
        storageConnectionString: inject('storageConnectionString'),
        jobs: 30,
        leaves: 10,
        crashes: 12,
        duplicates: 12,
        faultRate: 0.2,
        lostWriteRate: 0.1,
        seed: 777,
      });

      expect(report.jobs).toBe(40);
      expect(report.errors).toEqual([]);
      expect(report.crashesInjected).toBe(12);
      expect(report.duplicatesDelivered).toBe(12);
      expect(report.proxy.lostAnswer + report.proxy.error503 + report.proxy.dropped).toBeGreaterThan(0);
      expect(report.jobsWithoutOneFinal).toBe(0);
      expect(report.usersDifferingFromRules).toBe(0);
      expect(report.changesWithoutRecord).toBe(0);
      expect(report.pendingLeft).toBe(0);
      expect(report.leaversLicensed).toBe(0);
      expect(report.appliedLicenseWrites).toBe(report.changedUsers);
    },
  );
});
