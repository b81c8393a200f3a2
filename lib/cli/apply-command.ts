/**
 * `ems-licensing apply`: the blast-radius guard needs the whole run's reductions before the first
 * one is made, so `apply` plans every user first (a listing costs one request per 999 users), then
 * applies with the guard's verdict: rules that look wrong stop it (unless `--accept-warnings`);
 * above the guard's limits no reduction is made (users with removals are recorded HELD, additions
 * still go ahead) unless `--allow-removals N` covers them. `apply --plan FILE` carries out a saved
 * plan instead (saved-plan.ts).
 */
import { randomUUID } from 'node:crypto';
import { holdReason } from '../engine/blast-guard.js';
import { RunGuard } from '../engine/run-guard.js';
import { confirmApply } from './apply-prompt.js';
import { EXIT } from './exit-codes.js';
import { checkLines, cliReleaseText, verdictLines } from './guard-text.js';
import { loadContext, planEveryUser } from './plan-command.js';
import { printSummary, reconcileExitCode, reportRun, runPass, type PassContext } from './run-pass.js';
import { applySavedPlan } from './saved-plan.js';

export async function runApply(c: PassContext): Promise<number> {
  const { args, runtime, io } = c;
  if (args.plan !== null) return applySavedPlan(c, args.plan);
  const ctx = await loadContext(runtime);
  // Storage first: without it nothing may change (and the plan below would be wasted).
  const stores = await runtime.stores();
  io.stderr.write(
    'Planning every user first: the blast-radius guard weighs the whole run before any change.\n',
  );
  const plan = await planEveryUser(c, ctx, {
    print: false,
    keepEntries: false,
    allowRemovals: args.allowRemovals,
  });
  if (plan.summary.aborted !== null) {
    io.stderr.write(`Nothing was changed: the plan could not read every user. ${plan.summary.aborted}\n`);
    return EXIT.incomplete;
  }
  for (const line of checkLines(plan.checks)) io.stderr.write(`${line}\n`);
  if (plan.checks.warnings.length > 0 && !args.acceptWarnings) {
    io.stderr.write(
      'Nothing was changed. Fix the rules, or run `ems-licensing apply --accept-warnings` if they are meant as they are.\n',
    );
    return EXIT.usage;
  }
  const { verdict } = plan.checks;
  const settings = runtime.config.guard;
  // On a terminal, the plan's counts (and what the guard would hold) and a question before
  // changing more than a handful of users.
  if (!args.yes && io.interactive === true && io.ask) {
    for (const line of verdictLines(verdict, settings, { command: 'ems-licensing apply', dryRun: true }))
      io.stderr.write(`${line}\n`);
    if (!(await confirmApply(plan.summary, io))) return EXIT.ok;
  }
  const runId = randomUUID();
  const guard = new RunGuard({
    runId,
    settings,
    verdict,
    planned: new Map([...plan.collector.reductions.counts()].map(([sku, n]) => [sku, n.reductions])),
    reason: holdReason(verdict, settings, `this run (${runId})`),
    release: cliReleaseText(verdict.users),
  });
  const summary = await runPass(c, { ctx, dryRun: false, stores, print: true, runId, guard });
  printSummary(summary, false, c);
  reportRun(summary, false, io);
  for (const line of verdictLines(verdict, settings, { command: 'ems-licensing apply', dryRun: false }))
    io.stderr.write(`${line}\n`);
  if (!verdict.hold && summary.byOutcome.HELD > 0) {
    io.stderr.write(
      `${String(summary.byOutcome.HELD)} user(s) HELD: their removals went beyond what the plan showed and over the guard's limits (the tenant changed meanwhile). Run \`ems-licensing plan\` again and review.\n`,
    );
  }
  return reconcileExitCode(summary);
}
