/**
 * Parses a license job off the queue (STYLE.md principle 5: parse at the edge). The worker calls
 * this on whatever the trigger hands it; a failure is a value carrying a reason for the dead-letter
 * record and a bounded copy of what arrived, never a throw.
 */
import type { z } from 'zod';
import { licenseJobSchema, type LicenseJob } from './job.js';

export type ParseJobResult =
  | { ok: true; job: LicenseJob }
  | {
      ok: false;
      /** What is wrong, naming the field for a schema violation (e.g. `user.id: ...`). */
      reason: string;
      /** What arrived, as text, cut to `maxPayloadChars` so a dead-letter reason stays small. */
      payload: string;
    };

export interface ParseJobOptions {
  /** Longest `payload` returned on failure (default 1,024 characters). */
  maxPayloadChars?: number;
}

const DEFAULT_MAX_PAYLOAD_CHARS = 1_024;

/**
 * Accepts the body as the Functions trigger or `@azure/service-bus` may deliver it: an already
 * parsed object, a JSON string, or the raw bytes (Buffer / Uint8Array) of UTF-8 JSON.
 */
export function parseJobMessage(body: unknown, options: ParseJobOptions = {}): ParseJobResult {
  const max = Math.max(0, options.maxPayloadChars ?? DEFAULT_MAX_PAYLOAD_CHARS);
  const fail = (reason: string, text: string): ParseJobResult => ({
    ok: false,
    reason,
    payload: truncate(text, max),
  });

  let value: unknown;
  let text: string;
  if (body instanceof Uint8Array) {
    // Buffer is a Uint8Array; a view may cover part of a larger pool, so decode only its bytes.
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch {
      return fail('body is not valid UTF-8', new TextDecoder('utf-8').decode(body));
    }
  } else if (typeof body === 'string') {
    text = body;
  } else if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    value = body;
    text = describe(body);
  } else {
    return fail(`body is ${kindOf(body)}, expected a JSON object`, describe(body));
  }

  if (value === undefined) {
    // A .NET producer may prepend a byte order mark; JSON.parse rejects it.
    const json = text.startsWith('\uFEFF') ? text.slice(1) : text;
    try {
      value = JSON.parse(json) as unknown;
    } catch (e) {
      return fail(`body is not valid JSON (${e instanceof Error ? e.message : String(e)})`, text);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return fail(`body is JSON ${kindOf(value)}, expected a JSON object`, text);
    }
  }

  const result = licenseJobSchema.safeParse(value);
  if (!result.success) {
    return fail(`not a license job: ${formatIssues(result.error)}`, text);
  }
  return { ok: true, job: result.data };
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** JSON text of a value for the failure payload; falls back to String() for what JSON cannot hold. */
function describe(value: unknown): string {
  try {
    const json = JSON.stringify(value) as string | undefined;
    if (json !== undefined) return json;
  } catch {
    // Circular structures and BigInt land here.
  }
  return String(value);
}

function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  // Do not cut a surrogate pair in half.
  const end = max > 0 && /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}… (${text.length - end} more characters)`;
}
