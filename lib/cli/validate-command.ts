/**
 * `ems-licensing validate`: the rules against the tenant's SKUs and plans (exit 1 and every problem
 * when they do not fit), then against its users: a plan over every user says which rules look
 * wrong (a rule no user reaches, a `memberOf` group that does not exist, `unmatched: remove`
 * removing more than the blast-radius guard allows), which exit 1 too, so a pipeline stops on
 * them, unless `--accept-warnings`; and against its seats: a warning (exit 0) when the rules want
 * more users on a SKU than it has seats.
 */
import { RulesValidationError } from '../licensing/compile.js';
import { EXIT } from './exit-codes.js';
import { checkLines } from './guard-text.js';
import { loadContext, planEveryUser } from './plan-command.js';
import type { PassContext } from './run-pass.js';
import { seatShortfallWarnings } from './seats-command.js';

export async function validateCommand(c: PassContext): Promise<number> {
  const { args, runtime, io } = c;
  let ctx;
  try {
    ctx = await loadContext(runtime);
  } catch (e) {
    if (!(e instanceof RulesValidationError)) throw e;
    if (args.json) io.stdout.write(`${JSON.stringify({ valid: false, problems: e.problems })}\n`);
    else io.stdout.write(`${e.message}\n`);
    return EXIT.failed;
  }
  const { summary, checks } = await planEveryUser(c, ctx, {
    print: false,
    keepEntries: false,
    allowRemovals: null,
  });
  if (summary.aborted !== null) {
    io.stderr.write(
      `The users could not all be read, so the rules were not checked against them: ${summary.aborted}\n`,
    );
    return EXIT.incomplete;
  }
  const managed = [...ctx.rules.managedSkuIds].map((id) => ctx.catalog.skuPartNumber(id));
  const { warnings } = checks;
  const seats = await seatShortfallWarnings(c, ctx);
  if (args.json) {
    io.stdout.write(
      `${JSON.stringify({
        valid: true,
        rules: ctx.rules.rules.length,
        managedSkus: managed,
        select: ctx.select,
        users: summary.users,
        warnings: seats,
        ruleWarnings: warnings,
      })}\n`,
    );
  } else {
    const free = managed
      .map((name) => `${name} ${String(ctx.catalog.freeSeats(ctx.catalog.resolveSku(name)?.skuId ?? name))}`)
      .join(', ');
    io.stdout.write(
      `${runtime.rulesPath}: valid. ${String(ctx.rules.rules.length)} rule(s); managed SKUs: ${managed.join(', ')}; free seats: ${free}; checked against ${String(summary.users)} user(s).\n`,
    );
    for (const w of seats) io.stdout.write(`warning: ${w}\n`);
    for (const line of checkLines(checks)) io.stdout.write(`${line}\n`);
  }
  return warnings.length > 0 && !args.acceptWarnings ? EXIT.failed : EXIT.ok;
}
