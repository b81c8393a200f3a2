/**
 * The daily summary written by the cleanup, as data and as Markdown for people.
 */
import type { SkuForecast } from '../licensing/seat-forecast.js';
import type { OutcomeKind } from '../licensing/types.js';
import { renderSeatForecastMarkdown } from '../licensing/seat-forecast-text.js';

export interface DailySummary {
  date: string;
  generatedAt: string;
  /** Where jobs ended in the last 24 hours, by kind (a DEFERRED here was not tried again). */
  outcomes: Record<OutcomeKind, number>;
  /** Attempts in the last 24 hours that were put off and scheduled again (DEFERRED with retryAt). */
  retriesScheduled: number;
  /** FAILED outcomes of the last 24 hours by error code. */
  failures: Record<string, number>;
  seats: { sku: string; managed: boolean; enabled: number; consumed: number; free: number }[];
  reclaimQueued: number;
  disabledWithLicense: number;
  redriveQueued: number;
  outcomesPruned: number;
  inboxPruned: number;
  /** Rounds the blast-radius guard holds, waiting for an admin (`ems-licensing release <id>`). */
  heldRounds: { id: string; path: string; createdAt: string; reason: string }[];
  /** Seats and forecast per managed SKU, as `ems-licensing seats` shows them (absent if it failed). */
  seatForecast?: SkuForecast[] | null;
}

export function renderSummaryMarkdown(s: DailySummary): string {
  const lines = [
    `# ems-licensing daily summary, ${s.date}`,
    '',
    `Generated ${s.generatedAt}.`,
    '',
    '## Outcomes (last 24 hours)',
    '',
    '| outcome | count |',
    '|---|---:|',
    ...Object.entries(s.outcomes).map(([k, n]) => `| ${k} | ${String(n)} |`),
    '',
    `Attempts put off and scheduled again: ${String(s.retriesScheduled)}.`,
    '',
  ];
  const failures = Object.entries(s.failures);
  if (failures.length > 0) {
    lines.push(
      '## Failures by error code',
      '',
      '| code | count |',
      '|---|---:|',
      ...failures.map(([c, n]) => `| ${c} | ${String(n)} |`),
      '',
    );
  }
  if (s.heldRounds.length > 0) {
    lines.push(
      '## Held by the blast-radius guard',
      '',
      'Nothing these rounds would remove has been removed. Review each with `ems-licensing held <id>`,',
      'then release it with `ems-licensing release <id>` (or drop it with `--discard`).',
      '',
      '| round | path | held since | why |',
      '|---|---|---|---|',
      ...s.heldRounds.map(
        (r) => `| ${r.id} | ${r.path} | ${r.createdAt} | ${r.reason.replaceAll('|', '\\|')} |`,
      ),
      '',
    );
  }
  lines.push(
    '## Seats',
    '',
    '| SKU | managed | enabled | consumed | free |',
    '|---|---|---:|---:|---:|',
    ...s.seats.map(
      (x) =>
        `| ${x.sku} | ${x.managed ? 'yes' : 'no'} | ${String(x.enabled)} | ${String(x.consumed)} | ${String(x.free)} |`,
    ),
    '',
    ...renderSeatForecastMarkdown(s.seatForecast ?? null),
    '## Housekeeping',
    '',
    `- Disabled accounts still holding managed licenses: ${String(s.disabledWithLicense)}`,
    `- Reclaim jobs queued: ${String(s.reclaimQueued)}`,
    `- Jobs re-driven after seats freed up: ${String(s.redriveQueued)}`,
    `- Outcome records pruned: ${String(s.outcomesPruned)}`,
    `- Inbox entries pruned: ${String(s.inboxPruned)}`,
    '',
  );
  return lines.join('\n');
}
