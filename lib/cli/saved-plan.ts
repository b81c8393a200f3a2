/**
 * Carrying out a saved plan exactly (`apply --plan FILE`, `revert RUN_ID --apply`): through the
 * engine (the same journal, lost-answer handling and blast-radius guard as any apply), only the
 * plan's users, only its actions. A plan made from other rules, or for another tenant, is refused;
 * a user whose licenses changed since the plan was made (or whom the rules now treat otherwise) is
 * skipped and reported, and nothing is written for them.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { GraphGateway } from '../graph/gateway.js';
import { MAX_IN_FILTER_VALUES } from '../graph/graph-gateway.js';
import type { GraphUser } from '../graph/types.js';
import { holdReason, ReductionTally } from '../engine/blast-guard.js';
import type { LicensingContext } from '../engine/licensing-context.js';
import { parsePlanArtifact, type PlanArtifact, type PlanEntry } from '../engine/plan-artifact.js';
import { verdictOf } from '../engine/plan-checks.js';
import type { PlannedChange } from '../engine/planned-change.js';
import { RunGuard } from '../engine/run-guard.js';
import { EXIT } from './exit-codes.js';
import { cliReleaseText, verdictLines, warningLines } from './guard-text.js';
import { loadContext, loadContextWithoutRules, rulesFileHash, tenantOf } from './plan-command.js';
import { printSummary, reconcileExitCode, reportRun, runPass, type PassContext } from './run-pass.js';

export async function applySavedPlan(c: PassContext, file: string): Promise<number> {
  let plan: PlanArtifact;
  try {
    plan = parsePlanArtifact(await readFile(file, 'utf8'), file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    c.io.stderr.write(`${code === 'ENOENT' ? `${file}: no such file.` : (e as Error).message}\n`);
    return EXIT.usage;
  }
  return carryOutPlan(c, plan, `ems-licensing apply --plan ${file}`);
}

/** Why the plan cannot be carried out here at all, or null. */
async function refusal(c: PassContext, plan: PlanArtifact, ctx: LicensingContext): Promise<string | null> {
  if (plan.kind === 'rules') {
    const now = await rulesFileHash(c.runtime);
    if (plan.rules?.sha256 !== now.sha256) {
      return `The rules file changed since plan ${plan.id} was made (${plan.rules?.path ?? '?'} was sha256 ${plan.rules?.sha256 ?? '?'}, ${now.path} is ${now.sha256}): nothing was changed. Make a new plan with \`ems-licensing plan --out FILE\` and review that.`;
    }
  }
  const tenant = tenantOf(c.runtime, ctx);
  if (plan.tenantId !== null && tenant !== null && plan.tenantId !== tenant) {
    return `Plan ${plan.id} was made for tenant ${plan.tenantId}, not this one (${tenant}): nothing was changed.`;
  }
  if (plan.warnings.length > 0 && !c.args.acceptWarnings) {
    return [
      ...warningLines(plan.warnings),
      `Nothing was changed: plan ${plan.id} was made from rules that look wrong. Run it with --accept-warnings if they are meant as they are.`,
    ].join('\n');
  }
  return null;
}

/** The plan's users read fresh, fifteen per request (`$filter=id in (...)`). */
async function* planUsers(
  gateway: GraphGateway,
  ids: readonly string[],
  select: readonly string[],
  correlationId: string,
): AsyncIterable<GraphUser[]> {
  for (let i = 0; i < ids.length; i += MAX_IN_FILTER_VALUES) {
    yield await gateway.getUsers(ids.slice(i, i + MAX_IN_FILTER_VALUES), select, { correlationId });
  }
}

function plannedChange(plan: PlanArtifact, entry: PlanEntry): PlannedChange {
  const touched = entry.actions.flatMap((a) => ('skuId' in a ? [a.skuId.toLowerCase()] : []));
  return {
    before: entry.before,
    // A rules plan compares the managed SKUs; a revert only those the reverted run touched.
    skus: plan.kind === 'rules' ? plan.skus.map((s) => s.skuId) : touched,
    actions: entry.actions,
    checkRules: plan.kind === 'rules',
    label: plan.kind === 'revert' ? `revert ${plan.revertOf ?? ''}` : null,
  };
}

export async function carryOutPlan(c: PassContext, plan: PlanArtifact, command: string): Promise<number> {
  const { runtime, io } = c;
  // A plan from rules is checked against them; a revert needs none.
  const ctx = plan.kind === 'rules' ? await loadContext(runtime) : await loadContextWithoutRules(runtime);
  const refused = await refusal(c, plan, ctx);
  if (refused !== null) {
    io.stderr.write(`${refused}\n`);
    return EXIT.usage;
  }
  const stores = await runtime.stores();
  const tally = new ReductionTally();
  for (const u of plan.users) tally.add(u.id, u.actions);
  const settings = runtime.config.guard;
  const verdict = verdictOf(tally, ctx, settings, c.args.allowRemovals);
  const runId = randomUUID();
  io.stderr.write(`Carrying out plan ${plan.id}: ${String(plan.users.length)} user(s) (run ${runId}).\n`);
  const entries = new Map(plan.users.map((u) => [u.id.toLowerCase(), u]));
  const seen = new Set<string>();
  const summary = await runPass(c, {
    ctx,
    dryRun: false,
    stores,
    print: true,
    runId,
    guard: new RunGuard({
      runId,
      settings,
      verdict,
      planned: new Map([...tally.counts()].map(([sku, n]) => [sku, n.reductions])),
      reason: holdReason(verdict, settings, `plan ${plan.id}`),
      release: cliReleaseText(verdict.users, command),
    }),
    users: planUsers(
      runtime.gateway,
      [...entries.values()].map((u) => u.id),
      ctx.select,
      runId,
    ),
    plannedFor: (id) => {
      const entry = entries.get(id.toLowerCase());
      return entry ? plannedChange(plan, entry) : undefined;
    },
    onResult: (r) => seen.add(r.record.userId.toLowerCase()),
  });
  printSummary(summary, false, c);
  reportRun(summary, false, io);
  for (const line of verdictLines(verdict, settings, { command, dryRun: false }))
    io.stderr.write(`${line}\n`);
  return (
    reportSkipped(c, plan, summary.byOutcome.SKIPPED, seen, summary.aborted === null) ??
    reconcileExitCode(summary)
  );
}

/** Users of the plan that were skipped or are gone: listed, and the run did not do all it planned (3). */
function reportSkipped(
  c: PassContext,
  plan: PlanArtifact,
  skipped: number,
  seen: ReadonlySet<string>,
  complete: boolean,
): number | null {
  const gone = complete ? plan.users.filter((u) => !seen.has(u.id.toLowerCase())) : [];
  for (const u of gone)
    c.io.stderr.write(
      `GONE      ${u.userPrincipalName ?? u.id}: no longer in the tenant; nothing was changed.\n`,
    );
  if (skipped === 0 && gone.length === 0) return null;
  c.io.stderr.write(
    `${String(skipped + gone.length)} user(s) of plan ${plan.id} were not changed (skipped or gone, listed above). Make a new plan to review what they need now.\n`,
  );
  return EXIT.incomplete;
}
