/** Small node:http helpers: body reading and JSON answers with Graph's response headers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest } from './errors.js';

/** Largest request body accepted (Graph's own limit for JSON is 4 MB). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw badRequest('Request body too large.');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON request body; an empty body is `undefined`. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // learn.microsoft.com/graph/errors: malformed payloads are 400 BadRequest.
    throw badRequest(
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    );
  }
}

export interface ResponseMeta {
  requestId: string;
  clientRequestId: string | undefined;
  date: Date;
}

/**
 * Writes Graph's standard response headers: `request-id`, `client-request-id` (echoed, or the
 * request id when the caller sent none) and `Date` (learn.microsoft.com/graph/best-practices-concept,
 * "Reliability and support").
 */
function writeHead(
  res: ServerResponse,
  status: number,
  meta: ResponseMeta,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'request-id': meta.requestId,
    'client-request-id': meta.clientRequestId ?? meta.requestId,
    date: meta.date.toUTCString(),
    'cache-control': 'no-cache',
    ...headers,
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  meta: ResponseMeta,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  writeHead(res, status, meta, {
    // Graph answers JSON with odata.metadata=minimal (learn.microsoft.com/graph/use-the-api).
    'content-type':
      'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(
  res: ServerResponse,
  status: number,
  meta: ResponseMeta,
  headers: Record<string, string> = {},
): void {
  writeHead(res, status, meta, { 'content-length': '0', ...headers });
  res.end();
}
