/**
 * What the CLI says about the blast-radius guard and about rules that look wrong: the same words
 * for `plan`, `apply`, `apply --plan`, `revert` and `validate`.
 */
import { skuCountText, type GuardSettings, type GuardVerdict } from '../engine/blast-guard.js';
import type { PlanChecks } from '../engine/plan-checks.js';
import type { RuleWarning } from '../engine/rule-warnings.js';

/** How an admin releases a CLI run the guard held. */
export function cliReleaseText(users: number, command = 'ems-licensing apply'): string {
  const review =
    command === 'ems-licensing apply'
      ? 'Review the removals (`ems-licensing plan --out plan.json --format markdown`)'
      : 'Review the plan’s removals';
  return `${review}, then run \`${command} --allow-removals ${String(users)}\`.`;
}

export function warningLines(warnings: readonly RuleWarning[]): string[] {
  if (warnings.length === 0) return [];
  return [
    `The rules look wrong (${String(warnings.length)} warning(s)):`,
    ...warnings.map((w) => `  - ${w.rule === null ? '' : `rule "${w.rule}": `}${w.message} Fix: ${w.fix}`),
  ];
}

export function checkLines(checks: PlanChecks): string[] {
  const lines = warningLines(checks.warnings);
  if (checks.groupsNotChecked !== null)
    lines.push(`Could not check that the memberOf groups exist: ${checks.groupsNotChecked}`);
  return lines;
}

/** The guard's verdict over a plan, in a sentence or two (empty when the plan removes nothing). */
export function verdictLines(
  verdict: GuardVerdict,
  settings: GuardSettings,
  mode: { command: string; dryRun: boolean },
): string[] {
  if (verdict.skus.length === 0) return [];
  const counts = verdict.skus.map(skuCountText).join('; ');
  if (!verdict.hold) {
    const why =
      verdict.over.length > 0
        ? ` (released by --allow-removals ${String(verdict.allowed)})`
        : ' (within the blast-radius guard’s limits)';
    return [`Removals and plan reductions: ${counts}${why}.`];
  }
  const limits = `above both ${String(settings.removalPercent)} % of a SKU's holders and ${String(settings.removalCount)} users`;
  const allowed =
    verdict.allowed === null
      ? ''
      : ` --allow-removals ${String(verdict.allowed)} does not cover its ${String(verdict.users)} user(s).`;
  return [
    `The blast-radius guard ${mode.dryRun ? 'would hold' : 'held'} the removals of this ${mode.dryRun ? 'plan' : 'run'}: ${counts}: ${limits}.${allowed}`,
    mode.dryRun
      ? `\`${mode.command}\` would remove nothing (users with removals would be recorded HELD; what the rules add is still added).`
      : 'Nothing was removed: users with removals are recorded HELD (what the rules add was still added).',
    cliReleaseText(verdict.users, mode.command),
  ];
}
