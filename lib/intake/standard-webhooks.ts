/**
 * Standard Webhooks signatures (github.com/standard-webhooks/standard-webhooks, spec/
 * standard-webhooks.md, "Verifying webhook authenticity"): HMAC-SHA256 over
 * `{webhook-id}.{webhook-timestamp}.{raw body}` keyed with the base64 secret after `whsec_`,
 * sent as space-separated `v1,<base64>` entries in `webhook-signature`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { headerOf } from './http.js';

/** The spec's suggested tolerance for `webhook-timestamp`, both ways: 5 minutes. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Which check failed. Logged; never sent to the caller beyond the status. */
export type WebhookFailure =
  | 'missing-headers'
  | 'invalid-id'
  | 'invalid-timestamp'
  | 'timestamp-out-of-tolerance'
  | 'no-matching-signature';

export type WebhookVerification =
  | { ok: true; id: string; timestamp: number }
  | {
      ok: false;
      failure: WebhookFailure;
      /** 400 for malformed headers, 401 for a failed check. */ status: 400 | 401;
    };

export interface VerifyInput {
  headers: Headers | Record<string, string>;
  /** The raw body bytes, before any parsing. */
  body: Uint8Array;
  /** `whsec_<base64>` secrets; several during a rotation. */
  secrets: readonly string[];
  now: Date;
  toleranceSeconds?: number;
}

export interface SignInput {
  id: string;
  /** Unix seconds. */
  timestamp: number;
  body: Uint8Array | string;
  /** `whsec_<base64>`. */
  secret: string;
}

/**
 * The spec forbids `.` in the id (it delimits the signed content; an id holding one could shift
 * the boundary with the timestamp). The rest keeps the id usable as a table row key, which bars
 * `/ \ # ?` and control characters.
 */
const WEBHOOK_ID = /^[\x21-\x7e]{1,256}$/;
const ID_FORBIDDEN = /[./\\#?]/;
const TIMESTAMP = /^\d{1,12}$/;
const SIGNATURE_BYTES = 32;

function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  return Buffer.from(encoded, 'base64');
}

function hmac(key: Buffer, id: string, timestamp: string, body: Uint8Array | string): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
}

/** The `v1,<base64>` signature entry for one secret (tests and operators' test senders). */
export function signStandardWebhook(input: SignInput): string {
  const sig = hmac(secretKey(input.secret), input.id, String(input.timestamp), input.body);
  return `v1,${sig.toString('base64')}`;
}

/** The `v1` entries of a `webhook-signature` header, decoded; other schemes (`v1a`) are skipped. */
function v1Signatures(header: string): Buffer[] {
  const out: Buffer[] = [];
  for (const entry of header.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const bytes = Buffer.from(entry.slice(comma + 1), 'base64');
    // timingSafeEqual needs equal lengths; a wrong-length entry can never match anyway.
    if (bytes.length === SIGNATURE_BYTES) out.push(bytes);
  }
  return out;
}

/**
 * Verifies a delivery: headers present and well-formed, timestamp within the tolerance of `now`
 * (replay protection), and any `v1` signature matching any secret (rotation), compared in constant
 * time. The raw bytes are verified; parse the body only after `ok`.
 */
export function verifyStandardWebhook(input: VerifyInput): WebhookVerification {
  const id = headerOf(input.headers, 'webhook-id');
  const timestamp = headerOf(input.headers, 'webhook-timestamp');
  const signature = headerOf(input.headers, 'webhook-signature');
  if (!id || !timestamp || !signature) return { ok: false, failure: 'missing-headers', status: 400 };
  if (!WEBHOOK_ID.test(id) || ID_FORBIDDEN.test(id)) return { ok: false, failure: 'invalid-id', status: 400 };
  if (!TIMESTAMP.test(timestamp)) return { ok: false, failure: 'invalid-timestamp', status: 400 };

  const seconds = Number(timestamp);
  const tolerance = input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(input.now.getTime() / 1000 - seconds) > tolerance) {
    return { ok: false, failure: 'timestamp-out-of-tolerance', status: 401 };
  }

  const received = v1Signatures(signature);
  for (const secret of input.secrets) {
    const expected = hmac(secretKey(secret), id, timestamp, input.body);
    for (const candidate of received) {
      if (timingSafeEqual(expected, candidate)) return { ok: true, id, timestamp: seconds };
    }
  }
  return { ok: false, failure: 'no-matching-signature', status: 401 };
}
