/**
 * Turning arbitrary strings (user ids, HR keys, event ids, delta scopes) into valid Table keys.
 *
 * "Characters Disallowed in Key Fields" (learn.microsoft.com/rest/api/storageservices/
 * understanding-the-table-service-data-model): PartitionKey and RowKey may not contain `/`, `\`,
 * `#`, `?`, nor control characters U+0000–U+001F and U+007F–U+009F, and are at most 1 KiB
 * (1,024 characters). Event ids from HR systems and Graph are not under our control, so every
 * key goes through {@link toTableKey}.
 */
import { createHash } from 'node:crypto';

/**
 * Values made only of these characters are used as they are, so GUIDs, UPN-like ids and scope
 * names stay readable in Storage Explorer. `~` and `!` are deliberately outside this set: they
 * mark the two encoded forms below, which makes the mapping injective (no raw value can equal
 * an encoded one).
 */
const PLAIN = /^[A-Za-z0-9._@-]+$/;

/** Room under the 1,024-character key limit for the marker and, in row keys, a prefix. */
const MAX_KEY_CHARS = 900;

/**
 * Returns a valid Table key for `value`:
 * - `value` itself when it is non-empty, made of `[A-Za-z0-9._@-]` and short enough
 *   (no `%` or `+`, which some URL layers rewrite);
 * - otherwise `~` + base64url(UTF-8 of value) (reversible, and base64url has no `/`);
 * - and when even that is too long, `!` + SHA-256 hex of the value (stable, collision-resistant).
 *
 * The raw value is always stored beside the key as an ordinary property, so nothing needs to
 * decode a key.
 */
export function toTableKey(value: string): string {
  if (value.length <= MAX_KEY_CHARS && PLAIN.test(value)) return value;
  const encoded = `~${Buffer.from(value, 'utf8').toString('base64url')}`;
  if (encoded.length <= MAX_KEY_CHARS) return encoded;
  return `!${createHash('sha256').update(value, 'utf8').digest('hex')}`;
}
