/**
 * Saying what is wrong with a payload without echoing what the sender put in it. The answer to a
 * refused payload and its log line name the field by the schema's own names and the rule it
 * broke: a key the sender chose (a record key such as an HR attribute name) shows as `[…]`, and no
 * value is quoted. The text is bounded whatever the payload: a few issues, each of bounded length.
 */
import { z } from 'zod';

/** How many issues a description names; the rest are counted. */
export const MAX_DESCRIBED_ISSUES = 3;
const MAX_MESSAGE_CHARS = 160;

/** Every object key `schema` declares, at any depth: the only names a description may show. */
export function declaredKeys(schema: z.ZodType): ReadonlySet<string> {
  const keys = new Set<string>();
  const seen = new Set<z.ZodType>();
  const walk = (s: z.ZodType): void => {
    if (seen.has(s)) return;
    seen.add(s);
    if (s instanceof z.ZodObject) {
      const shape: Record<string, z.ZodType> = s.shape;
      for (const [key, child] of Object.entries(shape)) {
        keys.add(key);
        walk(child);
      }
    } else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) {
      walk(s.unwrap() as z.ZodType);
    } else if (s instanceof z.ZodArray) {
      walk(s.element as z.ZodType);
    } else if (s instanceof z.ZodUnion) {
      for (const option of s.options as readonly z.ZodType[]) walk(option);
    } else if (s instanceof z.ZodRecord) {
      // Record keys are the sender's: only what the values declare is ours.
      walk(s.valueType as z.ZodType);
    } else if (s instanceof z.ZodPipe) {
      walk(s.in as z.ZodType);
      walk(s.out as z.ZodType);
    }
  };
  walk(schema);
  return keys;
}

/** `user.userPrincipalName`, `emails[0].value`, `attributes[…]`. */
function pathText(path: readonly PropertyKey[], known: ReadonlySet<string>): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${String(segment)}]`;
    else if (typeof segment === 'string' && known.has(segment)) text += text === '' ? segment : `.${segment}`;
    else text += '[…]';
  }
  return text;
}

function messageOf(issue: z.core.$ZodIssue): string {
  // The one built-in message that quotes the payload (a strict object's unexpected keys).
  if (issue.code === 'unrecognized_keys') return 'holds a field that is not allowed';
  const message = issue.message.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ');
  return message.length <= MAX_MESSAGE_CHARS ? message : `${message.slice(0, MAX_MESSAGE_CHARS)}…`;
}

/**
 * The first {@link MAX_DESCRIBED_ISSUES} issues as `field: problem`, separated by `; `, and how
 * many more there were.
 */
export function describeIssues(error: z.ZodError, known: ReadonlySet<string>): string {
  const issues = error.issues;
  const described = issues
    .slice(0, MAX_DESCRIBED_ISSUES)
    .map((issue) => `${pathText(issue.path, known) || 'the payload'}: ${messageOf(issue)}`);
  const more = issues.length - described.length;
  return more > 0 ? `${described.join('; ')}; and ${String(more)} more` : described.join('; ');
}
