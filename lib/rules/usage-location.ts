/**
 * Usage locations in a rules file must be ISO 3166-1 alpha-2 codes, the only form Graph takes
 * ("a two-letter country code (ISO standard 3166)", learn.microsoft.com/graph/api/resources/user):
 * `defaults.usageLocation: UK` would make every license assignment fail, and a condition
 * `usageLocation equals UK` would never match anyone. Both are rules errors at load, with the
 * code that was meant.
 */
import { closest } from '../shared/did-you-mean.js';
import { COUNTRIES, RESERVED_CODES } from './iso-3166.js';

/** Whether `value` is an assigned ISO 3166-1 alpha-2 code (any case). */
export function isCountryCode(value: string): boolean {
  return COUNTRIES.has(value.trim().toUpperCase());
}

const byAlpha3 = new Map([...COUNTRIES.values()].map((c) => [c.alpha3, c.alpha2]));
const byName = new Map([...COUNTRIES.values()].map((c) => [c.name.toLowerCase(), c.alpha2]));

/** The code meant by a value that is not one, or null when nothing is close enough to say. */
export function intendedCountryCode(value: string): string | null {
  const v = value.trim();
  const upper = v.toUpperCase();
  const reserved = RESERVED_CODES.get(upper);
  if (reserved !== undefined) return reserved;
  const alpha3 = byAlpha3.get(upper);
  if (alpha3 !== undefined) return alpha3;
  const named = byName.get(v.toLowerCase());
  if (named !== undefined) return named;
  // A country name with a typo (`Germnay`); two letters are too short to guess from.
  if (v.length <= 3) return null;
  const near = closest(v, [...byName.keys()]);
  return near === null ? null : (byName.get(near) ?? null);
}

/** The fix for a value that is not a code: the code meant, when it can be told, else where to look. */
export function countryCodeFix(value: string): string {
  const meant = intendedCountryCode(value);
  if (meant !== null) {
    const country = COUNTRIES.get(meant);
    return `did you mean "${meant}" (${country?.name ?? meant})? Usage locations are ISO 3166-1 alpha-2 codes`;
  }
  return 'use the ISO 3166-1 alpha-2 code of the country (two letters, e.g. GB for the United Kingdom, DE for Germany)';
}
