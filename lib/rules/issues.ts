/**
 * Turns zod's issues for a rules file into problems a person can act on: unions are resolved
 * to the form the author evidently meant (so `{ atribute: x, equals: y }` reports the typo, not
 * "invalid input"), unknown keys get a "did you mean", missing keys are named.
 */
import type { z } from 'zod';
import { closest, suggestion } from '../shared/did-you-mean.js';
import {
  ATTRIBUTE_OPERATORS,
  CONDITION_KEYS,
  defaultsSchema,
  licenseSchema,
  ruleSchema,
  rulesFileSchema,
} from './schema.js';

type Issue = z.core.$ZodIssue;

/** A problem before it is given a line and column. */
export interface PathProblem {
  path: PropertyKey[];
  /** The problem is an unknown key: point at the key itself. */
  atKey: boolean;
  message: string;
  fix?: string;
}

const ROOT_KEYS = Object.keys(rulesFileSchema.shape);
const DEFAULTS_KEYS = Object.keys(defaultsSchema.shape);
const RULE_KEYS = Object.keys(ruleSchema.shape);
const LICENSE_KEYS = Object.keys(licenseSchema.shape);

const CONDITION_FORMS =
  '{ attribute: <name>, <operator>: <value> }, { memberOf: <group id> }, { not: <condition> }, ' +
  '{ all: [<conditions>] }, { any: [<conditions>] } or { entra: <membership rule> }';

/** The value at `path` in the raw document (undefined when absent). */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

function isConditionPath(path: readonly PropertyKey[]): boolean {
  const last = path.at(-1);
  const parent = path.at(-2);
  return (
    last === 'when' || last === 'not' || (typeof last === 'number' && (parent === 'all' || parent === 'any'))
  );
}

function isLicensePath(path: readonly PropertyKey[]): boolean {
  const last = path.at(-1);
  return last === 'license' || (typeof last === 'number' && path.at(-2) === 'licenses');
}

/** The keys allowed in the mapping at `path`. */
function allowedKeysAt(path: readonly PropertyKey[]): readonly string[] {
  if (path.length === 0) return ROOT_KEYS;
  if (path.length === 1 && path[0] === 'defaults') return DEFAULTS_KEYS;
  if (path.length === 2 && path[0] === 'rules') return RULE_KEYS;
  if (isLicensePath(path)) return LICENSE_KEYS;
  return CONDITION_KEYS;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Index of the condition form the author meant (order of conditionSchema's union), or null. */
function intendedConditionForm(value: Record<string, unknown>): number | null {
  const keys = Object.keys(value).map((k) =>
    (CONDITION_KEYS as readonly string[]).includes(k) ? k : (closest(k, CONDITION_KEYS) ?? k),
  );
  if (keys.includes('attribute') || keys.some((k) => (ATTRIBUTE_OPERATORS as readonly string[]).includes(k)))
    return 0;
  const forms = ['memberOf', 'not', 'all', 'any', 'entra'];
  const found = forms.findIndex((f) => keys.includes(f));
  return found === -1 ? null : found + 1;
}

/** For other unions: the branch whose type fits the value, then the one with fewest issues. */
function closestBranch(branches: readonly (readonly Issue[])[], value: unknown): number {
  let best = 0;
  let bestScore = Infinity;
  branches.forEach((issues, i) => {
    const typeMismatch = issues.some(
      (x) =>
        x.path.length === 0 &&
        (x.code === 'invalid_type' ||
          (x.code === 'invalid_value' && x.values.every((v) => typeof v !== typeof value))),
    );
    const score = (typeMismatch ? 1000 : 0) + issues.length;
    if (score < bestScore) {
      best = i;
      bestScore = score;
    }
  });
  return best;
}

function describeValue(v: unknown): string {
  if (v === null) return 'nothing (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

const keyName = (path: readonly PropertyKey[]): string => {
  const last = path.at(-1);
  return last === undefined
    ? 'the file'
    : typeof last === 'number'
      ? `item ${last + 1}`
      : `"${String(last)}"`;
};

function expectedText(expected: string, path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'a mapping with version and rules';
  if (expected === 'object') return isConditionPath(path) ? 'a condition' : 'a mapping';
  if (expected === 'array') return 'a list';
  return `a ${expected}`;
}

/** A required key is absent; said only when no misspelt key next to it already explains why. */
function missingKey(root: unknown, path: PropertyKey[], key: string, what: string, out: PathProblem[]): void {
  const parent = valueAt(root, path.slice(0, -1));
  const misspelt =
    isPlainObject(parent) && Object.keys(parent).some((k) => k !== key && closest(k, [key]) !== null);
  if (!misspelt) out.push({ path, atKey: false, message: `missing "${key}"`, fix: `add ${key}: ${what}` });
}

function convert(issue: Issue, base: readonly PropertyKey[], root: unknown, out: PathProblem[]): void {
  const path = [...base, ...issue.path];
  switch (issue.code) {
    case 'invalid_union': {
      const value = valueAt(root, path);
      if (isConditionPath(path) && isPlainObject(value)) {
        const form = intendedConditionForm(value);
        const branch = form === null ? undefined : issue.errors[form];
        if (branch === undefined) {
          const keys = Object.keys(value);
          out.push({
            path,
            atKey: false,
            message:
              keys.length === 0
                ? 'empty condition'
                : `not a condition: ${keys.map((k) => `"${k}"`).join(', ')} ${keys.length === 1 ? 'is' : 'are'} not condition keys`,
            fix: `write ${CONDITION_FORMS}`,
          });
          return;
        }
        for (const inner of branch) convert(inner, path, root, out);
        return;
      }
      const branch = issue.errors[closestBranch(issue.errors, value)] ?? [];
      if (isLicensePath(path) && !isPlainObject(value) && typeof value !== 'string') {
        out.push({
          path,
          atKey: false,
          message: `${keyName(path)} should be a mapping with sku (or none), not ${describeValue(value)}`,
          fix: 'write license: { sku: EMS } or license: none',
        });
        return;
      }
      if (isConditionPath(path)) {
        out.push({
          path,
          atKey: false,
          message: `expected a condition, found ${describeValue(value)}`,
          fix: `write ${CONDITION_FORMS}`,
        });
        return;
      }
      for (const inner of branch) convert(inner, path, root, out);
      return;
    }
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(path);
      const present = Object.keys(isPlainObject(valueAt(root, path)) ? (valueAt(root, path) as object) : {});
      for (const key of issue.keys) {
        if (allowed === CONDITION_KEYS && (CONDITION_KEYS as readonly string[]).includes(key)) {
          out.push({
            path: [...path, key],
            atKey: true,
            message: `"${key}" cannot be combined with ${present
              .filter((k) => k !== key)
              .map((k) => `"${k}"`)
              .join(', ')} in one condition`,
            fix: 'give each test its own condition and combine them with all: [...] or any: [...]',
          });
          continue;
        }
        out.push({
          path: [...path, key],
          atKey: true,
          message: `unknown key "${key}"`,
          fix: suggestion(key, allowed, 'allowed keys here'),
        });
      }
      return;
    }
    case 'invalid_type': {
      const value = valueAt(root, path);
      const last = path.at(-1);
      if (value === undefined && typeof last === 'string') {
        missingKey(root, path, last, expectedText(issue.expected, path), out);
        return;
      }
      out.push({
        path,
        atKey: false,
        message: `${keyName(path)} should be ${expectedText(issue.expected, path)}, not ${describeValue(value)}`,
      });
      return;
    }
    case 'invalid_value': {
      const value = valueAt(root, path);
      const allowed = issue.values.map((v) => String(v));
      const last = path.at(-1);
      if (value === undefined && typeof last === 'string') {
        missingKey(root, path, last, `one of ${allowed.join(', ')}`, out);
        return;
      }
      out.push({
        path,
        atKey: false,
        message: `${keyName(path)} cannot be ${value === null ? 'empty' : JSON.stringify(value)}`,
        fix:
          typeof value === 'string'
            ? suggestion(value, allowed, 'allowed values')
            : `use one of ${allowed.join(', ')}`,
      });
      return;
    }
    case 'too_small': {
      out.push({
        path,
        atKey: false,
        message:
          issue.origin === 'array'
            ? `${keyName(path)} is an empty list`
            : issue.origin === 'string'
              ? `${keyName(path)} is empty`
              : issue.message,
        ...(issue.origin === 'array' ? { fix: `list at least ${String(issue.minimum)} item(s)` } : {}),
      });
      return;
    }
    case 'invalid_format': {
      const value = valueAt(root, path);
      out.push({
        path,
        atKey: false,
        message: `${keyName(path)} cannot be ${JSON.stringify(value)}`,
        fix: issue.message,
      });
      return;
    }
    case 'custom': {
      const fix: unknown = issue.params?.['fix'];
      out.push({ path, atKey: false, message: issue.message, ...(typeof fix === 'string' ? { fix } : {}) });
      return;
    }
    default:
      out.push({ path, atKey: false, message: `${keyName(path)}: ${issue.message}` });
  }
}

/** Problems for every zod issue, in document order of their paths as zod reported them. */
export function problemsFromIssues(issues: readonly Issue[], root: unknown): PathProblem[] {
  const out: PathProblem[] = [];
  for (const issue of issues) convert(issue, [], root, out);
  return out;
}
