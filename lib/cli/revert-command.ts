/**
 * `ems-licensing revert RUN_ID`: the plan that puts every user an `apply` changed back to the
 * licenses they had before it (from the run's outcome records), shown as a dry run; `--out` and
 * `--format` save and render it like any plan; `--apply` carries it out through the same engine and
 * blast-radius guard (a user whose licenses changed since the run is skipped and reported).
 */
import { buildPlanArtifact, type PlanArtifact } from '../engine/plan-artifact.js';
import { revertPlan } from '../engine/revert-plan.js';
import type { OutcomeRecord } from '../licensing/types.js';
import { EXIT } from './exit-codes.js';
import { loadContextWithoutRules, tenantOf, writeArtifact } from './plan-command.js';
import { renderPlan } from './plan-render.js';
import type { PassContext } from './run-pass.js';
import { carryOutPlan } from './saved-plan.js';

export async function runRevert(c: PassContext): Promise<number> {
  const { args, runtime, io } = c;
  const runId = args.target ?? '';
  const stores = await runtime.stores();
  const records: OutcomeRecord[] = [];
  for await (const r of stores.outcomes.listRun(runId)) records.push(r);
  if (records.length === 0) {
    io.stderr.write(
      `No changes are recorded for run ${runId}: check the id (\`apply\` prints it: "Recorded … (run <id>)"; \`ems-licensing history <user>\` shows it as the event of each job), and that this is the storage the run recorded to.\n`,
    );
    return EXIT.failed;
  }
  const ctx = await loadContextWithoutRules(runtime);
  const { entries, unrevertable } = revertPlan(runId, records, ctx.catalog);
  for (const u of unrevertable)
    io.stderr.write(`NOT REVERTED ${u.userPrincipalName ?? u.userId}: ${u.reason}.\n`);
  const plan: PlanArtifact = buildPlanArtifact({
    kind: 'revert',
    createdAt: new Date(),
    tenantId: tenantOf(runtime, ctx),
    graphBaseUrl: runtime.config.graph.baseUrl,
    rules: null,
    revertOf: runId,
    skus: [],
    users: records.length,
    byOutcome: {},
    warnings: [],
    entries,
  });
  if (args.out !== null) await writeArtifact(args.out, plan, c);
  if (args.apply) return carryOutPlan(c, plan, `ems-licensing revert ${runId} --apply`);
  if (args.format !== null) {
    io.stdout.write(renderPlan(plan, args.format));
  } else if (args.json) {
    io.stdout.write(`${JSON.stringify(plan)}\n`);
  } else {
    for (const u of plan.users)
      io.stdout.write(
        `REVERT    ${u.userPrincipalName ?? u.id}: would ${u.actionsText.join('; would ')} (back to ${u.afterText.join(', ') || 'no licenses'})\n`,
      );
  }
  io.stderr.write(
    `Revert of run ${runId}: ${String(plan.users.length)} user(s) to put back (dry run: nothing was changed). Carry it out with \`ems-licensing revert ${runId} --apply\`.\n`,
  );
  return unrevertable.length > 0 ? EXIT.failed : EXIT.ok;
}
