/**
 * Condition values that YAML reads as numbers although they were written as something else:
 * `equals: 0042` is the number 42 and `in: [1.10, 007]` is `[1.1, 7]`. Conditions compare a
 * number as its text (`String(42)` is "42"), so a cost centre "0042" would silently never match.
 * Such values are refused with the fix (quote them); a number written as its own text (`42`,
 * `1.5`, `-3`) is unambiguous and stays allowed.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type Scalar } from 'yaml';
import type { PathProblem } from './issues.js';
import { BOOLEAN_ATTRIBUTES } from './schema.js';

/** Condition keys whose value (or, for `in`, each item) is compared as text. */
const TEXT_OPERATORS = new Set(['equals', 'startsWith', 'endsWith']);

/** `!!int` for `tag:yaml.org,2002:int`; other tags as written. */
function shortTag(tag: string): string {
  return tag.replace(/^tag:yaml\.org,2002:/, '!!');
}

/** The value written as text, quoted for this kind of file. */
function quoted(text: string, json: boolean): string {
  return json ? JSON.stringify(text) : `'${text.replaceAll("'", "''")}'`;
}

/**
 * Every condition value in `doc` that resolved to a number whose text is not how it was
 * written. Paths are those of the parsed document (`rules[0].when.in[1]`), ready to be
 * positioned. `json` words the fix for a JSON file (double quotes).
 */
export function ambiguousNumbers(doc: Document, json: boolean): PathProblem[] {
  const out: PathProblem[] = [];
  // Each node once: a value behind an anchor is reported where it is written, not at every alias.
  const seen = new Set<unknown>();
  const resolve = (node: unknown): unknown => (isAlias(node) ? node.resolve(doc) : node);

  const checkValue = (node: unknown, path: PropertyKey[]): void => {
    const scalar = resolve(node);
    if (!isScalar(scalar) || seen.has(scalar)) return;
    seen.add(scalar);
    const problem = numberProblem(scalar, json);
    if (problem !== null) out.push({ path, atKey: false, ...problem });
  };

  const checkCondition = (node: unknown, path: PropertyKey[]): void => {
    const condition = resolve(node);
    if (seen.has(condition)) return;
    seen.add(condition);
    if (!isMap(condition)) return;
    const attribute = condition.items.find((p) => isScalar(p.key) && p.key.value === 'attribute')?.value;
    const attributeName = isScalar(attribute) ? attribute.value : undefined;
    // true/false attributes take no text; the schema says what to write there instead.
    const booleanAttribute = (BOOLEAN_ATTRIBUTES as readonly unknown[]).includes(attributeName);
    for (const pair of condition.items) {
      if (!isScalar(pair.key) || typeof pair.key.value !== 'string') continue;
      const key = pair.key.value;
      if (TEXT_OPERATORS.has(key)) {
        if (!booleanAttribute) checkValue(pair.value, [...path, key]);
      } else if (key === 'in') {
        const list = resolve(pair.value);
        if (!booleanAttribute && isSeq(list)) {
          list.items.forEach((item, i) => {
            checkValue(item, [...path, key, i]);
          });
        }
      } else if (key === 'not') {
        checkCondition(pair.value, [...path, key]);
      } else if (key === 'all' || key === 'any') {
        const list = resolve(pair.value);
        if (isSeq(list)) {
          list.items.forEach((item, i) => {
            checkCondition(item, [...path, key, i]);
          });
        }
      }
    }
  };

  const root = resolve(doc.contents);
  if (!isMap(root)) return out;
  const rules = resolve(root.items.find((p) => isScalar(p.key) && p.key.value === 'rules')?.value);
  if (!isSeq(rules)) return out;
  rules.items.forEach((item, i) => {
    const rule = resolve(item);
    if (!isMap(rule)) return;
    const when = rule.items.find((p) => isScalar(p.key) && p.key.value === 'when');
    if (when !== undefined) checkCondition(when.value, ['rules', i, 'when']);
  });
  return out;
}

/** The problem with one scalar, or null when it is text or a number written as its own text. */
function numberProblem(scalar: Scalar, json: boolean): { message: string; fix: string } | null {
  const { value } = scalar;
  // `source` is the scalar's text as written, without quotes (set for every parsed scalar).
  const written = scalar.source;
  if (typeof value !== 'number' || written === undefined) return null;
  const asText = String(value);
  if (written === asText) return null;
  const tag = scalar.tag === undefined ? '' : `${shortTag(scalar.tag)} `;
  return {
    message:
      `${tag}${written} is read as the number ${asText}, which only matches the text "${asText}"; ` +
      `you probably meant the text "${written}"`,
    fix: `${tag === '' ? '' : `remove the ${tag.trim()} tag and `}quote it: ${quoted(written, json)}`,
  };
}
