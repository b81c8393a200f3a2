/**
 * Errors in a rules file, each pointing at the place to fix it. A RulesError carries every
 * problem found, not just the first, so one edit-run cycle fixes them all.
 */

/** One problem in a rules file. Line and column are 1-based and known when parsed from text. */
export interface RulesProblem {
  line?: number;
  column?: number;
  /** Where in the document, e.g. `rules[0].when.all[1].attribute` (empty for the whole file). */
  path: string;
  /** The rule the problem is in, when it is inside one. */
  rule?: string;
  message: string;
  /** What to change. */
  fix?: string;
}

/** `rules[0].when.all[1]` from `['rules', 0, 'when', 'all', 1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/** `rules.yaml:7:9: rule "contractors": unknown key "atribute" (at rules[0].when); fix: did you mean "attribute"?` */
function formatProblem(sourceName: string, p: RulesProblem): string {
  const where =
    p.line === undefined
      ? sourceName
      : `${sourceName}:${p.line}${p.column === undefined ? '' : `:${p.column}`}`;
  const rule = p.rule === undefined ? '' : `rule "${p.rule}": `;
  const at = p.path === '' ? '' : ` (at ${p.path})`;
  const fix = p.fix === undefined ? '' : `; fix: ${p.fix}`;
  return `${where}: ${rule}${p.message}${at}${fix}`;
}

/** The rules file cannot be used as written. `.problems` lists everything found. */
export class RulesError extends Error {
  override name = 'RulesError';
  readonly sourceName: string;
  readonly problems: readonly RulesProblem[];

  /** `options.what` words the headline (default: "in the rules file"). */
  constructor(
    sourceName: string,
    problems: readonly RulesProblem[],
    options?: ErrorOptions & { what?: string },
  ) {
    super(RulesError.describe(sourceName, problems, options?.what ?? 'in the rules file'), options);
    this.sourceName = sourceName;
    this.problems = problems;
  }

  /** The readable message: a headline and one line per problem. */
  static describe(sourceName: string, problems: readonly RulesProblem[], what: string): string {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    return [
      `${sourceName}: ${count} ${what}:`,
      ...problems.map((p) => `  - ${formatProblem(sourceName, p)}`),
    ].join('\n');
  }
}
