/**
 * The CLI's exit codes, one meaning each, the same for every command (a rules file that names a
 * SKU the tenant lacks is 1 in `validate`, `plan`, `apply` and `seats` alike). docs/cli.md lists
 * them with what the CLI prints; test/integration/cli-failures.test.ts asserts each.
 */
export const EXIT = {
  /** Done: every user as the rules want (or, for `plan`, the plan was made). */
  ok: 0,
  /**
   * Some user FAILED (Graph refused; the record says what to fix), the rules do not fit the
   * tenant, or `import-gbl`'s report lists something to act on (differences, groups not carried).
   */
  failed: 1,
  /** Bad usage, settings or rules file: nothing was run. */
  usage: 2,
  /**
   * The run did not finish: users put off by throttling or an outage and not done by the run's
   * own retries, users never read (Graph failed past its retries), or records that could not be
   * written. The summary lists them; run `apply` again.
   */
  incomplete: 3,
  /** Microsoft Graph or Table storage could not be reached or signed in to: nothing was run. */
  unreachable: 4,
  /** A failure the CLI did not expect (a bug): the message, and the stack trace with --debug. */
  internal: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
