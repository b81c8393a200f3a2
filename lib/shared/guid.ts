/**
 * GUIDs as Microsoft writes them (object ids, SKU and plan ids, request ids): 8-4-4-4-12 hex
 * digits, any case, any version (Microsoft's ids are not all RFC 4122 v4, so the version and
 * variant digits are not checked).
 */

/**
 * A whole string that is a GUID. Written with explicit `A-F` rather than the `i` flag because the
 * rules file's JSON Schema (generated from a zod schema that uses this pattern) carries the
 * pattern without its flags.
 */
export const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const GUID_IN_TEXT = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;

/** True when `value` is a GUID and nothing else. */
export function isGuid(value: string): boolean {
  return GUID_PATTERN.test(value);
}

/** The first GUID written in `text` (e.g. the SKU id in one of Graph's error messages), or null. */
export function firstGuidIn(text: string): string | null {
  return GUID_IN_TEXT.exec(text)?.[0] ?? null;
}
