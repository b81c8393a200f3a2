/**
 * The seat forecast as text: a Markdown section for the daily summary and the rows of the CLI's
 * table, with the same columns and words.
 */
import type { SkuForecast } from './seat-forecast.js';

/** Column headings, in order, shared by the CLI table and the summary. */
export const SEAT_COLUMNS = [
  'SKU',
  'prepaid',
  'consumed',
  'free',
  'wanted',
  'short',
  'waiting',
  'hires',
  'runs out',
] as const;

/** When the SKU runs out, in words: `now`, `2026-03-10 (scheduled hires)`, `—`. */
export function runsOutText(f: SkuForecast): string {
  switch (f.runsOutBasis) {
    case 'now':
      return 'now';
    case 'scheduled':
      return `${f.runsOutOn ?? ''} (scheduled hires)`;
    case 'pace':
      return `${f.runsOutOn ?? ''} (at the hiring pace)`;
    case null:
      return '—';
  }
}

/** One row per SKU, as strings in {@link SEAT_COLUMNS} order. */
export function seatRows(forecast: readonly SkuForecast[]): string[][] {
  return forecast.map((f) => [
    f.sku,
    String(f.prepaid),
    String(f.consumed),
    String(f.free),
    String(f.wanted),
    String(f.short),
    String(f.waiting),
    String(f.scheduledHires),
    runsOutText(f),
  ]);
}

/** What the columns mean, under the table. */
export const SEAT_LEGEND =
  'wanted: users who hold the SKU once the rules are applied (or would, given a seat); short: wanted beyond prepaid; waiting: users whose last job was deferred for a seat; hires: scheduled HR hires not yet in the directory the rules would license; runs out: the day no seat is left.';

/** The daily summary's section (none when the forecast is missing). */
export function renderSeatForecastMarkdown(forecast: readonly SkuForecast[] | null): string[] {
  if (forecast === null) return [];
  return [
    '## Seat forecast (managed SKUs)',
    '',
    `| ${SEAT_COLUMNS.join(' | ')} |`,
    `|---|${SEAT_COLUMNS.slice(1, -1)
      .map(() => '---:')
      .join('|')}|---|`,
    ...seatRows(forecast).map((row) => `| ${row.join(' | ')} |`),
    '',
    SEAT_LEGEND,
    '',
  ];
}
