/**
 * Adapts the Functions v4 `HttpRequest` to the intake's plain request, and its answer back.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { readBodyCapped, type IntakeRequest, type IntakeResponse } from '../intake/index.js';

export async function toIntakeRequest(
  req: HttpRequest,
  maxBodyBytes: number,
  correlationId: string,
): Promise<IntakeRequest> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  // Refuse early on a declared length; readBodyCapped still guards chunked or lying senders.
  const capped =
    declared > maxBodyBytes
      ? { body: new Uint8Array(0), bodyTooLarge: true }
      : await readBodyCapped(req.body as ReadableStream<Uint8Array> | null, maxBodyBytes);
  const headers: Record<string, string> = {};
  req.headers.forEach((value, key) => {
    headers[key] = value;
  });
  return {
    method: req.method,
    url: req.url,
    query: new URLSearchParams(req.query),
    headers,
    body: capped.body,
    bodyTooLarge: capped.bodyTooLarge,
    correlationId,
  };
}

export function toHttpResponse(res: IntakeResponse): HttpResponseInit {
  return { status: res.status, headers: res.headers, ...(res.body !== undefined ? { body: res.body } : {}) };
}
