/**
 * A plan rendered for a change-approval board (`plan --format markdown|csv`): counts per SKU and
 * action first, then what needs attention, the warnings, and every user with their licenses
 * before, the changes and the licenses after. Rendered from the same artifact `--out` writes, so
 * what the board reads is what `apply --plan` carries out (the plan id ties them together).
 */
import type { PlanArtifact } from '../engine/plan-artifact.js';
import type { PlanFormat } from './args.js';

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
const list = (items: readonly string[]): string => (items.length === 0 ? '(none)' : items.join(', '));

function heading(plan: PlanArtifact): string[] {
  const what = plan.kind === 'revert' ? `revert of run ${plan.revertOf ?? '?'}` : 'rules';
  return [
    `# ems-licensing plan ${plan.id} (${what})`,
    '',
    `- Tenant: ${plan.tenantId ?? '(unknown)'} (${plan.graphBaseUrl})`,
    ...(plan.rules ? [`- Rules: ${plan.rules.path} (sha256 ${plan.rules.sha256})`] : []),
    `- Made: ${plan.createdAt}`,
    `- Users read: ${String(plan.summary.users)}; users this plan changes: ${String(plan.summary.changes)}`,
    '',
  ];
}

/** The plan as Markdown. `notes` (the guard's verdict, how to apply) go under the heading. */
export function planMarkdown(plan: PlanArtifact, notes: readonly string[] = []): string {
  const lines = [...heading(plan), ...notes.map((n) => `> ${n}`), ...(notes.length > 0 ? [''] : [])];
  lines.push('## Changes per SKU and action', '', '| SKU | action | users |', '|---|---|---:|');
  for (const c of plan.summary.bySkuAndAction)
    lines.push(`| ${cell(c.sku)} | ${c.action} | ${String(c.users)} |`);
  if (plan.summary.bySkuAndAction.length === 0) lines.push('| (none) | | 0 |');
  lines.push('');
  const attention = Object.entries(plan.summary.notChanged);
  if (attention.length > 0) {
    lines.push('## Not changed by this plan, needing attention', '', '| outcome | users |', '|---|---:|');
    for (const [k, n] of attention) lines.push(`| ${k} | ${String(n)} |`);
    lines.push('');
  }
  if (plan.warnings.length > 0) {
    lines.push('## Warnings', '');
    for (const w of plan.warnings)
      lines.push(
        `- ${w.rule === null ? '' : `rule "${cell(w.rule)}": `}${cell(w.message)} Fix: ${cell(w.fix)}`,
      );
    lines.push('');
  }
  lines.push('## Users', '', '| user | rule | before | changes | after |', '|---|---|---|---|---|');
  for (const u of plan.users) {
    lines.push(
      `| ${cell(u.userPrincipalName ?? u.id)} | ${cell(u.rule ?? '(none)')} | ${cell(list(u.beforeText))} | ${cell(u.actionsText.join('; '))} | ${cell(list(u.afterText))} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * One CSV field (RFC 4180). A field a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab,
 * carriage return first) gets a leading apostrophe: user principal names come from the directory,
 * and a plan is opened by the people who approve it.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

const CSV_COLUMNS = [
  'section',
  'sku',
  'action',
  'users',
  'user',
  'id',
  'rule',
  'outcome',
  'before',
  'changes',
  'after',
];

/** The plan as CSV: one table, the count rows (`section` = count) before the user rows. */
export function planCsv(plan: PlanArtifact): string {
  const rows: string[][] = [CSV_COLUMNS];
  for (const c of plan.summary.bySkuAndAction)
    rows.push(['count', c.sku, c.action, String(c.users), '', '', '', '', '', '', '']);
  for (const u of plan.users) {
    rows.push([
      'user',
      '',
      '',
      '',
      u.userPrincipalName ?? '',
      u.id,
      u.rule ?? '',
      u.outcome,
      u.beforeText.join('; '),
      u.actionsText.join('; '),
      u.afterText.join('; '),
    ]);
  }
  return `${rows.map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}

export function renderPlan(plan: PlanArtifact, format: PlanFormat, notes: readonly string[] = []): string {
  return format === 'markdown' ? planMarkdown(plan, notes) : planCsv(plan);
}
