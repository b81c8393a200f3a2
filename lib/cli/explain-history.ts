/**
 * The end of `explain`: the user's last few recorded jobs, from the app's storage when configured,
 * else the CLI's local Azurite. Explaining never fails for want of history: when storage cannot be
 * started (Azurite not installed), it says so on stderr and the explanation stands without it.
 */
import type { JobStory } from '../engine/job-history.js';
import type { CliIo } from './commands.js';
import { userHistory } from './history-command.js';
import type { CliRuntime } from './runtime.js';

/** How many jobs `explain` shows. */
export const EXPLAIN_HISTORY_JOBS = 3;

export async function explainHistory(
  runtime: CliRuntime,
  userId: string,
  io: CliIo,
): Promise<JobStory[] | null> {
  try {
    return await userHistory(await runtime.stores(), userId, EXPLAIN_HISTORY_JOBS);
  } catch (e) {
    io.stderr.write(
      `(No history shown: the outcome records could not be read: ${e instanceof Error ? e.message : String(e)})\n`,
    );
    return null;
  }
}
