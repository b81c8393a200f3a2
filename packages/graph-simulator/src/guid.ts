/**
 * Graph's ids (object ids, SKU and plan ids) are GUIDs: 8-4-4-4-12 hex digits, any case. The
 * simulator checks them in one place (the package does not depend on the app it serves).
 */
export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` is a GUID and nothing else. */
export function isGuid(value: string): boolean {
  return GUID_PATTERN.test(value);
}
