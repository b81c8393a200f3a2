/**
 * The plain request/response shapes the intake use cases work on. Trigger files adapt the
 * Functions `HttpRequest` to {@link IntakeRequest} and the returned {@link IntakeResponse} back, so
 * everything here runs (and is tested) without the Functions host.
 */
import type { JobPublisher } from '../queue/job.js';
import type { InboxStore } from '../store/ports.js';
import type { Logger } from '../log.js';

/** An inbound HTTP request, already read (with a size cap) by the trigger. */
export interface IntakeRequest {
  method: string;
  url: string;
  query: URLSearchParams;
  headers: Headers | Record<string, string>;
  /** The raw bytes, exactly as received (signatures are computed over them). */
  body: Uint8Array;
  /** Set by the trigger when the body exceeded its cap (see `readBodyCapped`). */
  bodyTooLarge?: boolean;
  /** The invocation id, carried into jobs and logs; a new id is drawn when absent. */
  correlationId?: string;
}

/** What the trigger sends back. */
export interface IntakeResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

/** Ports and sources of time and randomness every intake use case needs (injected, never patched). */
export interface IntakeDeps {
  inbox: InboxStore;
  publisher: JobPublisher;
  logger: Logger;
  now: () => Date;
  /** New GUIDs (job ids, correlation ids). */
  newId: () => string;
}

/** Reads a header from either form, case-insensitively (HTTP field names are case-insensitive). */
export function headerOf(headers: Headers | Record<string, string>, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/**
 * True for `application/json` and any `+json` type (parameters such as `charset` ignored): SCIM's
 * own media type is `application/scim+json` (RFC 7644 §3.1).
 */
export function isJsonContentType(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

// Every answer carries nosniff: nothing we send should ever be content-sniffed into HTML.
const BASE_HEADERS = { 'X-Content-Type-Options': 'nosniff' } as const;

/** A JSON answer: `{ "status": ... }` on success, `{ "error": ... }` on refusal. */
export function jsonResponse(
  status: number,
  body: Record<string, string | number>,
  extraHeaders: Record<string, string> = {},
): IntakeResponse {
  return {
    status,
    headers: { ...BASE_HEADERS, 'Content-Type': 'application/json; charset=utf-8', ...extraHeaders },
    body: JSON.stringify(body),
  };
}

/** A plain-text answer (the Graph validation echo). */
export function textResponse(status: number, body: string): IntakeResponse {
  return { status, headers: { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }, body };
}

/** 405 for anything but POST (both senders only ever POST). */
export function methodNotAllowed(): IntakeResponse {
  return jsonResponse(405, { error: 'only POST is accepted' }, { Allow: 'POST' });
}

/**
 * Decodes UTF-8 strictly and parses JSON. Invalid UTF-8 is an error rather than U+FFFD, so a
 * payload is never silently altered between verification and parsing.
 */
export function parseJsonBytes(
  body: Uint8Array,
): { ok: true; value: unknown } | { ok: false; error: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { ok: false, error: 'the body is not valid UTF-8' };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    // Not the parser's message: V8 quotes part of the body in it, and this answer goes back to an
    // unauthenticated sender (and into logs). The position is enough to find the fault.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    return {
      ok: false,
      error:
        position === undefined
          ? 'the body is not valid JSON'
          : `the body is not valid JSON (at position ${position})`,
    };
  }
}
