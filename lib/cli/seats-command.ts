/**
 * `ems-licensing seats`: per managed SKU, prepaid / consumed / free seats, how many users the rules
 * want on it (a dry-run plan over every user), how many wait for a seat (their latest outcome),
 * the scheduled HR hires it will need, and the day it runs out. Reads the app's storage for the
 * last two when it is configured (and says it counted neither when not). Writes nothing. Exit 0.
 */
import type { LicensingContext } from '../engine/licensing-context.js';
import { shortfallWarnings } from '../licensing/seat-forecast.js';
import { buildSeatReport } from '../reports/seat-report.js';
import { SEAT_COLUMNS, SEAT_LEGEND, seatRows } from '../licensing/seat-forecast-text.js';
import { loadContext, type CommandContext } from './command-context.js';
import { EXIT } from './exit-codes.js';
import { ProgressBar } from './output.js';

/** A plain text table: numbers right-aligned, text left-aligned. */
export function textTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^-?\d+$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export async function runSeats(c: CommandContext): Promise<number> {
  const { args, runtime, io } = c;
  const context = await loadContext(runtime);
  // The app's storage, when configured, says who waits for a seat and which hires are scheduled;
  // the CLI's own local Azurite would know neither, so it is not started for this.
  const stores = runtime.storageConfigured ? await runtime.stores() : null;
  if (!stores) {
    io.stderr.write(
      "No storage configured (STORAGE_TABLE_ENDPOINT or STORAGE_CONNECTION_STRING): nobody is counted as waiting for a seat, and no scheduled hire. Point it at the app's storage to count them.\n",
    );
  }
  const bar = new ProgressBar(io.stderr, io.progress && !args.json, io.now);
  const report = await buildSeatReport({
    gateway: runtime.gateway,
    context,
    logger: c.logger,
    outcomes: stores?.outcomes ?? null,
    hires: stores?.scheduledHires ?? null,
    ...(stores ? { leavers: stores.leavers } : {}),
    concurrency: args.concurrency ?? runtime.config.concurrency,
    onUsersRead: (n) => bar.setTotal(n),
    onUser: () => bar.tick(),
  });
  bar.finish();
  if (args.json) {
    io.stdout.write(`${JSON.stringify(report)}\n`);
    return EXIT.ok;
  }
  const h = report.hires;
  io.stdout.write(
    [
      textTable(SEAT_COLUMNS, seatRows(report.skus)),
      '',
      `${String(report.users)} users planned; ${String(h.upcoming)} scheduled hire(s) (${String(h.alreadyInDirectory)} already in the directory, ${String(h.unlicensed)} no rule licenses).`,
      SEAT_LEGEND,
      ...shortfallWarnings(report.skus).map((w) => `warning: ${w}`),
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

/**
 * `validate`'s seat check: the SKUs the rules want on more users than they have seats. Reads the
 * app's storage only when it is configured (validate starts no local emulator).
 */
export async function seatShortfallWarnings(c: CommandContext, context: LicensingContext): Promise<string[]> {
  const stores = c.runtime.storageConfigured ? await c.runtime.stores() : null;
  const report = await buildSeatReport({
    gateway: c.runtime.gateway,
    context,
    logger: c.logger,
    outcomes: stores?.outcomes ?? null,
    hires: stores?.scheduledHires ?? null,
    ...(stores ? { leavers: stores.leavers } : {}),
    concurrency: c.args.concurrency ?? c.runtime.config.concurrency,
  });
  return shortfallWarnings(report.skus);
}
