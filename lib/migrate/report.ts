/**
 * The import report, in Markdown that also reads well in a terminal: what was carried over, what
 * was not and why, what needs a decision, every user whose licenses would change with the
 * reasons, and the next steps. Printed by `import-gbl` and written beside the rules file.
 */
import { licenseText } from '../licensing/describe.js';
import { changeText } from './compare.js';
import type { ImportResult } from './import-gbl.js';

export interface ReportNames {
  rulesPath: string;
  reportPath: string;
}

const capitalised = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The report's lines. */
export function importReportLines(result: ImportResult, names: ReportNames): string[] {
  const { plan, comparison, catalog } = result;
  const lines: string[] = [];
  const licensed = result.groups.length;
  lines.push(
    '# Group-based licensing import',
    '',
    `${plural(licensed, 'licensed group')} read; ${plural(plan.carried.length, 'group')} carried over into ${names.rulesPath} (${plural(plan.rules.length, 'rule')}); ${plural(plan.notCarried.length, 'group')} not carried over.`,
    '',
    '## Groups',
    '',
  );
  for (const f of result.groups) {
    const name = f.group.displayName ?? f.group.id;
    const carried = plan.carried.find((c) => c.id === f.group.id.toLowerCase());
    const users = f.members.filter((m) => m.kind === 'user').length;
    const kind = carried?.kind ?? (f.group.membershipRule == null ? 'static' : 'dynamic');
    const licenses = f.group.assignedLicenses
      .map((l) =>
        licenseText(
          { skuId: l.skuId, skuPartNumber: catalog.skuPartNumber(l.skuId), disabledPlans: l.disabledPlans },
          catalog,
        ),
      )
      .join('; ');
    const notCarried = plan.notCarried.find((g) => g.id === f.group.id);
    lines.push(
      carried !== undefined
        ? `- ✓ **${name}** (${kind}, ${plural(users, 'direct member')}): ${licenses} → rule "${carried.rule}"`
        : `- ✗ **${name}** (${kind}, ${plural(users, 'direct member')}): ${licenses}: not carried over, ${notCarried?.reason ?? 'see below'}`,
    );
  }
  if (plan.combinations.length > 0) {
    lines.push('', '## Users in several licensed groups today', '');
    for (const c of plan.combinations) {
      lines.push(
        c.rule === null
          ? `- ${c.groups.join(' + ')}: ${plural(c.users, 'user')}, covered by rule "${c.coveredBy}" (it already gives the combined licenses)`
          : `- ${c.groups.join(' + ')}: ${plural(c.users, 'user')} → rule "${c.rule}" with the combined licenses`,
      );
    }
  }
  const attention = plan.notes.filter((n) => n.level !== 'info');
  if (attention.length > 0) {
    lines.push('', '## Needs a decision', '');
    for (const n of attention) {
      lines.push(
        `- ${n.group === null ? '' : `**${n.group.name}**: `}${capitalised(n.message)}. What to do: ${n.action}.`,
      );
    }
  }
  lines.push('', '## Good to know', '');
  for (const n of plan.notes.filter((x) => x.level === 'info')) {
    lines.push(
      `- ${n.group === null ? '' : `**${n.group.name}**: `}${capitalised(n.message)}. ${capitalised(n.action)}.`,
    );
  }

  lines.push(
    '',
    '## Compared with group-based licensing today',
    '',
    `${plural(comparison.users, 'user')} read; ${plural(comparison.concerned, 'user')} licensed by the carried groups or by the rules: ${comparison.same} would keep exactly their licenses, ${comparison.differ.length} would not.`,
  );
  if (comparison.differ.length > 0) {
    lines.push(
      '',
      'Licenses after the rules run and the carried groups’ licenses are removed, against today:',
      '',
    );
    for (const d of comparison.differ) {
      lines.push(
        `- **${d.userPrincipalName}** (${d.id}): ${d.changes.map(changeText).join('; ')}${d.rule === null ? '' : ` (rule "${d.rule}")`}`,
      );
      for (const r of d.reasons) lines.push(`  - why: ${r}`);
    }
  }

  lines.push(
    '',
    '## Next steps',
    '',
    `1. Dry run: \`ems-licensing plan --rules ${names.rulesPath}\`. While the groups still carry their licenses, their members show UNCHANGED ("comes from group(s) … with the plans the rule wants").`,
    `2. Look into each difference above: \`ems-licensing explain <user> --rules ${names.rulesPath}\` shows every clause with the value it saw. Fix the rule or the user, or accept the change.`,
    '3. Turn the automation on with this file (RULES_PATH); `npm run grant-graph-permissions` reads it for the permissions it needs.',
    `4. Assign directly what the groups give today, so nothing lapses when they stop: \`ems-licensing take-over --rules ${names.rulesPath}\` (dry run), then again with \`--apply\`. A user holds a SKU directly and through a group on one seat.`,
    '5. Remove the licenses from the carried groups in Entra, one group at a time. The members keep their licenses (now direct), and the rules keep them right from then on.',
  );
  if (plan.notCarried.length > 0) {
    lines.push(
      `6. Leave the licenses on ${plan.notCarried.map((g) => `"${g.name}"`).join(', ')}: the rules do not reproduce ${plan.notCarried.length === 1 ? 'it' : 'them'}.`,
    );
  }
  return lines;
}
