/**
 * Keeping entities inside Table storage's limits so a write never fails for size.
 *
 * From "Understanding the Table service data model" (learn.microsoft.com/rest/api/storageservices/
 * understanding-the-table-service-data-model) and the Table scalability targets
 * (learn.microsoft.com/azure/storage/tables/scalability-targets):
 * - a String property is UTF-16 and at most 64 KiB, i.e. 32,768 UTF-16 code units (what
 *   JavaScript's `string.length` counts); Azurite enforces exactly this (32,768 accepted,
 *   32,769 refused with 400 PropertyValueTooLarge);
 * - an entity holds at most 252 custom properties and 1 MiB of data in all;
 * - PartitionKey and RowKey are at most 1 KiB each (see table-keys.ts).
 */

/** A string property's hard limit in UTF-16 code units (64 KiB). */
export const MAX_STRING_PROPERTY_CHARS = 32_768;

/** What we allow a large text property (JSON, payload): the limit minus headroom. */
export const LARGE_TEXT_CHARS = 32_000;

/** What we allow a short scalar property (ids, names, timestamps). Far above any real value. */
export const SHORT_TEXT_CHARS = 4_096;

/**
 * Returns `value` unchanged when it fits in `maxChars`, otherwise its start followed by a marker
 * saying how long the original was. Never splits a UTF-16 surrogate pair: a lone surrogate
 * cannot be encoded as UTF-8 on the wire and would corrupt the value.
 */
export function truncateText(value: string, maxChars: number): string {
  if (value.length <= maxChars) return value;
  const marker = `…[truncated: ${value.length} chars]`;
  let end = Math.max(0, maxChars - marker.length);
  const last = value.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return value.slice(0, end) + marker;
}

/**
 * Serialises an array as JSON within `maxChars` by keeping as many leading elements as fit.
 * Truncating the JSON text itself would leave something that no longer parses; dropping whole
 * elements keeps what is stored valid and typed. Returns the JSON and how many were left out.
 */
export function fitJsonArray(items: readonly unknown[], maxChars: number): { json: string; omitted: number } {
  const full = JSON.stringify(items);
  if (full.length <= maxChars) return { json: full, omitted: 0 };
  // Grow the kept prefix element by element: "[" + a,b,c + "]".
  let kept = 0;
  let length = 2;
  for (const item of items) {
    const piece = JSON.stringify(item).length + (kept === 0 ? 0 : 1);
    if (length + piece > maxChars) break;
    length += piece;
    kept += 1;
  }
  return { json: JSON.stringify(items.slice(0, kept)), omitted: items.length - kept };
}
