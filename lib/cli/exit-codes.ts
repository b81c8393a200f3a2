/**
 * The exit codes of `ems-licensing`, one per kind of problem, the same whichever command meets it
 * (a rules file that names a SKU the tenant lacks is 3 in `validate`, `plan`, `apply` and `seats`
 * alike). docs/cli.md lists them with what the CLI prints; test/integration/cli-failures.test.ts
 * asserts each.
 */
export const EXIT = {
  /** Done (a `plan` or `apply` where no user FAILED; `validate` found nothing). */
  ok: 0,
  /** Some user FAILED (or would, in a `plan`); `explain` could not read the user. */
  usersFailed: 1,
  /** The command line is wrong: unknown command or option, a missing or bad value. */
  usage: 2,
  /** The rules file or a setting is wrong (syntax, schema, or SKUs and plans the tenant lacks). */
  config: 3,
  /** Microsoft Graph or Table storage could not be reached or signed in to. */
  unreachable: 4,
  /** A failure the CLI did not expect (a bug): the message, and the stack trace with --debug. */
  internal: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
