/**
 * Reading a rules file (YAML, or JSON, which YAML 1.2 reads too) into a checked RulesFile.
 * Every problem names file:line:column, the rule it is in, what is wrong and how to fix it.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { problemsFromIssues, valueAt, type PathProblem } from './issues.js';
import { ambiguousNumbers } from './number-text.js';
import { RulesError, formatPath, type RulesProblem } from './rules-error.js';

export { RulesError, type RulesProblem } from './rules-error.js';
import { duplicateRuleNames, rulesFileSchema, type RulesFile } from './schema.js';
import { rememberSource, yamlSource, type RulesSource } from './source-map.js';

/** The name of the rule at `path` (`rules[i]…`), if the document gives it one. */
function ruleNameAt(root: unknown, path: readonly PropertyKey[]): string | undefined {
  if (path[0] !== 'rules' || typeof path[1] !== 'number') return undefined;
  const name = valueAt(root, ['rules', path[1], 'name']);
  return typeof name === 'string' && name !== '' ? name : `#${path[1] + 1}`;
}

/** A problem at `path`, positioned through `source` when it can be. */
function positionedProblem(
  source: RulesSource | null,
  root: unknown,
  path: readonly PropertyKey[],
  message: string,
  extra: { fix?: string | undefined; atKey?: boolean } = {},
): RulesProblem {
  const position = source?.locate(path, extra.atKey ?? false) ?? null;
  const rule = ruleNameAt(root, path);
  return {
    ...(position === null ? {} : { line: position.line, column: position.column }),
    path: formatPath(path),
    ...(rule === undefined ? {} : { rule }),
    message,
    ...(extra.fix === undefined ? {} : { fix: extra.fix }),
  };
}

/**
 * Parse and check the text of a rules file. `sourceName` (usually the path) is used in messages.
 * @throws RulesError listing every problem (syntax, unknown keys, wrong values, contradictions).
 */
export function parseRules(text: string, sourceName: string): RulesFile {
  const lines = new LineCounter();
  // uniqueKeys (the default) makes a key written twice an error instead of "last one wins".
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const source = yamlSource(sourceName, doc, lines);

  if (doc.errors.length > 0) {
    throw new RulesError(
      sourceName,
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return {
          line,
          column: col,
          path: '',
          message: `not valid YAML: ${e.message.split('\n')[0] ?? e.message}`,
          fix:
            e.code === 'DUPLICATE_KEY'
              ? 'remove or rename one of the two keys'
              : 'correct the YAML syntax here',
        };
      }),
    );
  }

  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  if (raw === null || raw === undefined) {
    throw new RulesError(sourceName, [
      {
        path: '',
        message: 'the rules file is empty',
        fix: 'start from examples/rules.yaml (version: 1, rules: [...])',
      },
    ]);
  }

  // `equals: 0042` reads as the number 42 and would never match "0042": refused with the fix.
  const numbers = ambiguousNumbers(doc, /\.json$/i.test(sourceName));
  const result = rulesFileSchema.safeParse(raw);
  if (!result.success || numbers.length > 0) {
    const numberPaths = new Set(numbers.map((p) => formatPath(p.path)));
    const found: PathProblem[] = [
      ...numbers,
      // At a value refused above the schema can only add "should be a string, not number 42".
      ...(result.success ? [] : problemsFromIssues(result.error.issues, raw)).filter(
        (p) => !numberPaths.has(formatPath(p.path)),
      ),
    ];
    // zod skips the file-level refinement when anything inside failed; report duplicates anyway.
    for (const d of duplicateRuleNames(raw)) {
      if (!found.some((p) => p.message === d.message)) found.push({ ...d, atKey: false });
    }
    const problems = found.map((p) =>
      positionedProblem(source, raw, p.path, p.message, { fix: p.fix, atKey: p.atKey }),
    );
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    throw new RulesError(sourceName, problems);
  }

  rememberSource(result.data, source);
  return result.data;
}

/**
 * Read and parse a rules file from disk.
 * @throws RulesError when it cannot be read or has problems.
 */
export async function loadRulesFile(path: string): Promise<RulesFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw unreadable(path, cause);
  }
  return parseRules(text, path);
}

/**
 * {@link loadRulesFile}, synchronously: for the Functions app's entry point, which checks the
 * file while the host loads it, so a bad file stops start-up instead of failing every job.
 * @throws RulesError when it cannot be read or has problems.
 */
export function loadRulesFileSync(path: string): RulesFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw unreadable(path, cause);
  }
  return parseRules(text, path);
}

function unreadable(path: string, cause: unknown): RulesError {
  const code = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
  return new RulesError(
    path,
    [
      {
        path: '',
        message: `cannot read the rules file (${code})`,
        fix:
          code === 'ENOENT'
            ? 'create it (examples/rules.yaml is a start) or point RULES_PATH at it'
            : 'check the path and the file permissions',
      },
    ],
    { cause },
  );
}
