/**
 * `ems-licensing history USER`: the user's recorded jobs, newest first (when, source, rule,
 * outcome, licenses before → after, error and fix), each job's attempts folded under it; and the
 * last few at the end of `explain`. Read from Table storage: the app's when configured, else the
 * CLI's own local Azurite.
 */
import { jobStories, type JobStory } from '../engine/job-history.js';
import type { GraphGateway } from '../graph/gateway.js';
import type { OutcomeRecord } from '../licensing/types.js';
import { EXIT } from './exit-codes.js';
import type { PassContext } from './run-pass.js';
import type { CliStores } from './runtime.js';

/** The user's object id: given, or looked up by user principal name (null when Graph has none). */
export async function userIdOf(gateway: GraphGateway, user: string): Promise<string | null> {
  if (!user.includes('@')) return user;
  return (await gateway.getUser(user, ['id', 'userPrincipalName']))?.id ?? null;
}

/** The newest `limit` jobs of a user (reading at most 1,000 rows: attempts share the budget). */
export async function userHistory(stores: CliStores, userId: string, limit: number): Promise<JobStory[]> {
  const rows = await stores.outcomes.listByUser(userId, { limit: Math.min(1_000, limit * 25) });
  return jobStories(rows).slice(0, limit);
}

const when = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

function phaseWord(r: OutcomeRecord): string {
  if (r.phase === 'pending') return 'PENDING';
  if (r.phase === 'attempt') return `${r.outcome} (retrying)`;
  return r.outcome;
}

/** One job in lines: the headline, then the attempts before it, the problem and the fix. */
export function storyLines(story: JobStory, indent = ''): string[] {
  const r = story.record;
  const before = r.licensesBefore.join(', ') || '(none)';
  const after = r.licensesAfter.join(', ') || '(none)';
  const lines = [
    `${indent}${when(r.acceptedAt)}  ${r.source.padEnd(7)} ${(r.rule ?? '(no rule)').padEnd(16)} ${phaseWord(r).padEnd(9)} ${before} → ${after}`,
    `${indent}    job ${r.jobId}${r.eventId === null ? '' : `, event ${r.eventId}`}${r.dryRun ? ', dry run' : ''}${r.recovered ? ', completed after an interruption' : ''}`,
  ];
  if (story.attempts.length > 0) {
    const tries = story.attempts.map((a) => `${when(a.recordedAt)} ${a.error?.code ?? a.outcome}`);
    lines.push(`${indent}    put off ${String(story.attempts.length)} time(s) before: ${tries.join('; ')}`);
  }
  if (r.held)
    lines.push(
      `${indent}    held in ${r.held.roundId}: ${String(r.held.actions.length)} removal(s) or reduction(s) waiting`,
    );
  if (r.error) {
    lines.push(`${indent}    ${r.error.code}: ${r.error.message}`);
    lines.push(`${indent}    Fix: ${r.error.fix}`);
  }
  return lines;
}

export async function runHistory(c: PassContext): Promise<number> {
  const { args, runtime, io } = c;
  const user = args.user ?? '';
  const userId = await userIdOf(runtime.gateway, user);
  if (userId === null) {
    io.stderr.write(
      `No user ${user} in the tenant: give the object id to read the history of a deleted user.\n`,
    );
    return EXIT.failed;
  }
  const stores = await runtime.stores();
  const stories = await userHistory(stores, userId, args.limit ?? 20);
  if (args.json) {
    io.stdout.write(`${JSON.stringify(stories)}\n`);
    return EXIT.ok;
  }
  if (stories.length === 0) {
    io.stdout.write(`No recorded jobs for ${user}.\n`);
    return EXIT.ok;
  }
  io.stdout.write(
    `${[`History of ${user} (${userId}), newest first:`, ...stories.flatMap((s) => storyLines(s, '  '))].join('\n')}\n`,
  );
  return EXIT.ok;
}
