/**
 * What the CLI prints: one line per user that needs attention, a progress bar on stderr when it
 * is a terminal, a summary table at the end, or one JSON object per user with `--json`.
 */
import type { NotDone, ReconcileSummary } from '../engine/reconcile.js';
import type { OutcomeRecord } from '../licensing/types.js';
import type { Catalog } from '../licensing/catalog.js';
import { describeAction } from '../licensing/planner.js';
import { OUTCOME_KINDS } from '../licensing/types.js';
import { outcomePainter, type Paint } from './colour.js';
import type { GroupNames } from './group-names.js';

export interface Writer {
  write(text: string): void;
}

/** The machine-readable result of one user (`--json`). */
export interface JsonResult {
  id: string;
  upn: string | null;
  rule: string | null;
  actions: string[];
  outcome: string;
  error: { code: string; message: string; fix: string } | null;
  dryRun: boolean;
  /** What the blast-radius guard withheld, and where it waits (HELD). */
  held: { roundId: string; actions: string[] } | null;
  /** The policy that withheld what the rules want (SKIPPED), or null. */
  policy: string | null;
}

/** What output needs of a user's result. */
export interface ResultView {
  record: OutcomeRecord;
}

export function toJsonResult(result: ResultView, catalog: Catalog): JsonResult {
  const r = result.record;
  return {
    id: r.userId,
    upn: r.userPrincipalName,
    rule: r.rule,
    actions: r.actions.map((a) => describeAction(a, catalog)),
    outcome: r.outcome,
    error: r.error,
    dryRun: r.dryRun,
    held: r.held
      ? { roundId: r.held.roundId, actions: r.held.actions.map((a) => describeAction(a, catalog)) }
      : null,
    policy: r.policy ?? null,
  };
}

/** How a human line is dressed: colours on a terminal, group names where known. */
export interface LineStyle {
  paint?: Paint;
  groups?: GroupNames;
}

/**
 * One human line, or null for users that need no attention (UNCHANGED, NO_RULE). A conflict is
 * said once: the planner's reason already names the group and what to change, so the generic fix
 * is not repeated after it.
 */
export function humanLine(result: ResultView, catalog: Catalog, style: LineStyle = {}): string | null {
  const r = result.record;
  if ((r.outcome === 'UNCHANGED' || r.outcome === 'NO_RULE') && !r.error) return null;
  const paint = style.paint ?? outcomePainter(false);
  const groups = (text: string) => style.groups?.inText(text) ?? text;
  const who = r.userPrincipalName ?? r.userId;
  if (r.outcome === 'HELD' && r.held) {
    // The why and the release are the same for every user of a held run: said once, at the end.
    const made = r.actions.map((a) => describeAction(a, catalog)).join('; ');
    const held = r.held.actions.map((a) => describeAction(a, catalog)).join('; ');
    return `${paint('HELD'.padEnd(9), 'HELD')} ${who}${r.rule ? ` [${r.rule}]` : ''}: ${held} held${made ? `; made: ${made}` : ''}`;
  }
  const verb = r.dryRun && r.actions.length > 0 ? 'would ' : '';
  const acts = r.actions.map((a) => verb + describeAction(a, catalog)).join('; ');
  const rule = r.rule ? ` [${r.rule}]` : '';
  let err = '';
  if (r.error?.code === 'GroupInheritedLicense') err = ` — ${groups(r.error.message)}`;
  else if (r.error) err = ` — ${groups(r.error.message)} Fix: ${r.error.fix}`;
  return `${paint(r.outcome.padEnd(9), r.outcome)} ${who}${rule}${acts ? `: ${acts}` : ''}${err}`;
}

/** Group ids a result's line names (its conflicts), to look their names up before printing. */
export function groupIdsOf(result: ResultView): string[] {
  return result.record.conflicts.flatMap((c) => c.groupIds);
}

/** A summary table: outcome counts, planned actions and writes. */
export function summaryTable(summary: ReconcileSummary, dryRun: boolean): string {
  const rows: [string, string][] = OUTCOME_KINDS.filter((k) => summary.byOutcome[k] > 0).map((k) => [
    k,
    String(summary.byOutcome[k]),
  ]);
  rows.push(['users', String(summary.users)]);
  for (const [kind, n] of Object.entries(summary.actions))
    rows.push([`${dryRun ? 'planned ' : ''}${kind}`, String(n)]);
  rows.push(['Graph writes', String(summary.writes)]);
  if (summary.notDone.length > 0) rows.push(['not done', String(summary.notDone.length)]);
  const title = dryRun ? 'plan (dry run)' : 'apply';
  const w = Math.max(title.length, ...rows.map(([k]) => k.length));
  const v = Math.max(...rows.map(([, n]) => n.length));
  const line = `+${'-'.repeat(w + 2)}+${'-'.repeat(v + 2)}+`;
  return [
    line,
    `| ${title.padEnd(w)} | ${''.padStart(v)} |`,
    line,
    ...rows.map(([k, n]) => `| ${k.padEnd(w)} | ${n.padStart(v)} |`),
    line,
  ].join('\n');
}

/** The users a run could not finish, one line each (with a cap, and how many more). */
export function notDoneLines(notDone: readonly NotDone[], max = 50): string[] {
  if (notDone.length === 0) return [];
  const lines = [
    `${String(notDone.length)} user(s) not done in this run (Graph throttled or was unavailable past the run's own retries); run apply again:`,
    ...notDone.slice(0, max).map((n) => `  ${n.userPrincipalName ?? n.userId}: ${n.code}: ${n.reason}`),
  ];
  if (notDone.length > max)
    lines.push(`  … and ${String(notDone.length - max)} more (--json lists them all).`);
  return lines;
}

/** `45s`, `2:05`, `1:02:05`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
  if (m > 0) return `${m}:${String(sec).padStart(2, '0')}`;
  return `${sec}s`;
}

/**
 * A one-line progress bar redrawn in place, with the time left at the pace so far; does nothing
 * unless the stream is a terminal. The total grows as pages of users arrive, so the estimate
 * firms up as the run goes.
 */
export class ProgressBar {
  readonly #out: Writer;
  readonly #enabled: boolean;
  readonly #now: () => number;
  #started: number | null = null;
  #done = 0;
  #total = 0;
  #last = 0;

  /** @param now - the clock, in milliseconds (tests pass their own). */
  constructor(out: Writer, enabled: boolean, now: () => number = Date.now) {
    this.#out = out;
    this.#enabled = enabled;
    this.#now = now;
  }

  /** Users listed so far (the total grows as pages arrive). */
  setTotal(total: number): void {
    this.#started ??= this.#now();
    this.#total = total;
    this.#draw();
  }

  tick(): void {
    this.#started ??= this.#now();
    this.#done++;
    this.#draw();
  }

  finish(): void {
    if (this.#enabled) this.#out.write('\r\x1b[2K');
  }

  /** The bar as drawn now: `[####......] 120/300 users · 0:42 left`. */
  text(): string {
    const total = Math.max(this.#total, this.#done, 1);
    const width = 30;
    const filled = Math.round((this.#done / total) * width);
    const elapsed = this.#now() - (this.#started ?? this.#now());
    // A rate from the first second or the first few users would swing wildly; wait for both.
    const eta =
      this.#done >= 5 && elapsed >= 1_000 && this.#done < total
        ? ` · ${formatDuration(((total - this.#done) * elapsed) / this.#done)} left`
        : '';
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.#done}/${total} users${eta}`;
  }

  #draw(): void {
    if (!this.#enabled) return;
    const nowMs = this.#now();
    if (nowMs - this.#last < 50 && this.#done < this.#total) return;
    this.#last = nowMs;
    this.#out.write(`\r\x1b[2K${this.text()}`);
  }
}
