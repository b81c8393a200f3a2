/**
 * `ems-licensing plan`: a dry run over every user. Besides each user's line and the summary it
 * says which rules look wrong and whether the blast-radius guard would hold an `apply` of it; with
 * `--out FILE` it writes the plan as a reviewable artifact (what `apply --plan FILE` carries out),
 * and with `--format markdown|csv` it prints the plan for a change-approval board.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadLicensingContext, type LicensingContext } from '../engine/licensing-context.js';
import { buildPlanArtifact, tenantIdOf, type PlanArtifact, type PlanEntry } from '../engine/plan-artifact.js';
import { planChecks, type PlanChecks } from '../engine/plan-checks.js';
import { PlanCollector } from '../engine/plan-collector.js';
import type { ReconcileSummary } from '../engine/reconcile.js';
import type { RuleWarning } from '../engine/rule-warnings.js';
import { rulesFileSchema } from '../rules/schema.js';
import { loadContext } from './command-context.js';
import { EXIT } from './exit-codes.js';
import { checkLines, verdictLines } from './guard-text.js';
import { renderPlan } from './plan-render.js';
import { printSummary, reconcileExitCode, runPass, withOwnSeats, type PassContext } from './run-pass.js';
import type { CliRuntime } from './runtime.js';

export { loadContext };

/**
 * The catalog without any rules: a revert puts licenses back as they were, whatever the rules say
 * now, so it needs no rules file (only the policies: a leaver or a disabled account gets nothing).
 */
export async function loadContextWithoutRules(runtime: CliRuntime): Promise<LicensingContext> {
  const none = rulesFileSchema.parse({ version: 1, rules: [] });
  return loadLicensingContext(runtime.gateway, none, { correlationId: randomUUID() });
}

/** The rules file's path as shown, and the SHA-256 of its bytes (what `apply --plan` compares). */
export async function rulesFileHash(runtime: CliRuntime): Promise<{ path: string; sha256: string }> {
  const bytes = await readFile(runtime.rulesPath);
  return {
    path: path.basename(runtime.rulesPath),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** The tenant the catalog came from (AZURE_TENANT_ID when set). */
export function tenantOf(runtime: CliRuntime, ctx: LicensingContext): string | null {
  return runtime.config.tenantId?.toLowerCase() ?? tenantIdOf(ctx.catalog.skus());
}

/** A plan over every user with what the guard and the warnings need (and the artifact's entries). */
export async function planEveryUser(
  c: PassContext,
  ctx: LicensingContext,
  options: { print: boolean; keepEntries: boolean; allowRemovals: number | null },
): Promise<{ summary: ReconcileSummary; collector: PlanCollector; checks: PlanChecks }> {
  const { runtime } = c;
  // Leavers are read when the app's storage is configured, so the plan matches what apply does.
  const stores = runtime.storageConfigured ? await runtime.stores() : null;
  const collector = new PlanCollector(ctx.catalog, { keepEntries: options.keepEntries });
  const summary = await runPass(c, {
    ctx: withOwnSeats(ctx),
    dryRun: true,
    stores,
    print: options.print,
    onResult: (r) => collector.add(r),
  });
  const checks = await planChecks({
    gateway: runtime.gateway,
    ctx,
    collector,
    users: summary.users,
    settings: runtime.config.guard,
    allowRemovals: options.allowRemovals,
    correlationId: summary.runId,
  });
  return { summary, collector, checks };
}

export async function writeArtifact(file: string, plan: PlanArtifact, c: PassContext): Promise<void> {
  await writeFile(file, `${JSON.stringify(plan, null, 2)}\n`, 'utf8');
  c.io.stderr.write(
    `Wrote plan ${plan.id} (${String(plan.summary.changes)} user(s) to change) to ${file}. Carry out exactly this plan with \`ems-licensing apply --plan ${file}\`.\n`,
  );
}

/** The artifact of a plan made from the rules. */
export async function rulesArtifact(
  c: PassContext,
  ctx: LicensingContext,
  summary: ReconcileSummary,
  entries: readonly PlanEntry[],
  warnings: readonly RuleWarning[],
): Promise<PlanArtifact> {
  return buildPlanArtifact({
    kind: 'rules',
    createdAt: new Date(),
    tenantId: tenantOf(c.runtime, ctx),
    graphBaseUrl: c.runtime.config.graph.baseUrl,
    rules: await rulesFileHash(c.runtime),
    revertOf: null,
    skus: [...ctx.rules.managedSkuIds]
      .sort()
      .map((skuId) => ({ skuId, skuPartNumber: ctx.catalog.skuPartNumber(skuId) })),
    users: summary.users,
    byOutcome: summary.byOutcome,
    warnings,
    entries,
  });
}

export async function runPlan(c: PassContext): Promise<number> {
  const { args, runtime, io } = c;
  const ctx = await loadContext(runtime);
  const artifactWanted = args.out !== null || args.format !== null;
  const { summary, collector, checks } = await planEveryUser(c, ctx, {
    print: args.format === null,
    keepEntries: artifactWanted,
    allowRemovals: null,
  });
  if (args.format === null) printSummary(summary, true, c);
  if (summary.aborted) io.stderr.write(`The run stopped before every user was read: ${summary.aborted}\n`);
  const verdict = verdictLines(checks.verdict, runtime.config.guard, {
    command: 'ems-licensing apply',
    dryRun: true,
  });
  for (const line of [...checkLines(checks), ...verdict]) io.stderr.write(`${line}\n`);
  if (artifactWanted && summary.aborted === null) {
    const plan = await rulesArtifact(c, ctx, summary, collector.entries, checks.warnings);
    if (args.out !== null) await writeArtifact(args.out, plan, c);
    // The warnings are a section of the rendering; the guard's verdict goes under its heading.
    if (args.format !== null) io.stdout.write(renderPlan(plan, args.format, verdict));
  }
  return summary.aborted !== null ? EXIT.incomplete : reconcileExitCode(summary);
}
