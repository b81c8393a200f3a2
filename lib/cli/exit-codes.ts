/**
 * The CLI's exit codes, one meaning each, the same for every command.
 */
export const EXIT = {
  /** Done: every user as the rules want (or, for `plan`, the plan was made). */
  ok: 0,
  /** Some user FAILED (Graph refused; the record says what to fix), or the rules do not fit the tenant. */
  failed: 1,
  /** Bad usage, settings or rules file: nothing was run. */
  usage: 2,
  /**
   * The run did not finish: users put off by throttling or an outage and not done by the run's
   * own retries, users never read (Graph failed past its retries), or records that could not be
   * written. The summary lists them; run `apply` again.
   */
  incomplete: 3,
} as const;
