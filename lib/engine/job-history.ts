/**
 * A user's outcome records as jobs: each job's one row (pending while under way, then final) with
 * the attempts it put off folded under it, newest job first. What `history` and `explain` show.
 * Pure.
 */
import type { OutcomeRecord } from '../licensing/types.js';

export interface JobStory {
  /** Where the job stands: its final record, its pending record, or (still being retried) its last attempt. */
  record: OutcomeRecord;
  /** The attempts it put off, oldest first. */
  attempts: OutcomeRecord[];
}

/** Groups a user's records by job (acceptance time and job id), newest job first. */
export function jobStories(records: readonly OutcomeRecord[]): JobStory[] {
  const jobs = new Map<string, { main: OutcomeRecord | null; attempts: OutcomeRecord[] }>();
  for (const r of records) {
    const key = `${r.acceptedAt}\n${r.jobId}`;
    const job = jobs.get(key) ?? { main: null, attempts: [] };
    if (r.phase === 'attempt') job.attempts.push(r);
    else job.main = r;
    jobs.set(key, job);
  }
  const stories: JobStory[] = [];
  for (const { main, attempts } of jobs.values()) {
    attempts.sort((a, b) => a.attempt - b.attempt);
    const record = main ?? attempts.at(-1);
    if (record === undefined) continue;
    stories.push({ record, attempts: main === null ? attempts.slice(0, -1) : attempts });
  }
  return stories.sort(
    (a, b) =>
      Date.parse(b.record.acceptedAt) - Date.parse(a.record.acceptedAt) ||
      b.record.recordedAt.localeCompare(a.record.recordedAt),
  );
}
