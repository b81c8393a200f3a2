/**
 * Small helpers over the Graph client's middleware `Context`: its request URL and headers.
 * `GraphRequest` passes headers as a plain object; a `Headers` instance is handled for safety.
 */
import type { Context } from '@microsoft/microsoft-graph-client';

/** The absolute URL of the request in a middleware context. */
export function requestUrlOf(context: Context): string {
  // `RequestInfo` is a DOM type this project's `lib` does not include; read it structurally.
  const request: unknown = context.request;
  if (typeof request === 'string') return request;
  if (
    typeof request === 'object' &&
    request !== null &&
    'url' in request &&
    typeof request.url === 'string'
  ) {
    return request.url;
  }
  return '';
}

function headerKey(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(headers).find((k) => k.toLowerCase() === lower);
}

/** Reads a request header (case-insensitive). */
export function getHeader(context: Context, name: string): string | undefined {
  const headers = context.options?.headers;
  if (headers === undefined) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  if (Array.isArray(headers)) {
    return (headers as [string, string][]).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  }
  const record = headers as Record<string, string>;
  const key = headerKey(record, name);
  return key === undefined ? undefined : record[key];
}

function ensureRecordHeaders(context: Context): Record<string, string> | Headers {
  context.options ??= {};
  const headers = context.options.headers;
  if (headers === undefined) {
    const fresh: Record<string, string> = {};
    context.options.headers = fresh;
    return fresh;
  }
  if (headers instanceof Headers) return headers;
  if (Array.isArray(headers)) {
    const record = Object.fromEntries(headers) as Record<string, string>;
    context.options.headers = record;
    return record;
  }
  return headers as Record<string, string>;
}

/** Sets (replaces) a request header, matching existing names case-insensitively. */
export function setHeader(context: Context, name: string, value: string): void {
  const headers = ensureRecordHeaders(context);
  if (headers instanceof Headers) {
    headers.set(name, value);
    return;
  }
  const key = headerKey(headers, name);
  headers[key ?? name] = value;
}

/** Removes a request header, matching names case-insensitively. */
export function deleteHeader(context: Context, name: string): void {
  const headers = ensureRecordHeaders(context);
  if (headers instanceof Headers) {
    headers.delete(name);
    return;
  }
  const key = headerKey(headers, name);
  if (key !== undefined) Reflect.deleteProperty(headers, key);
}

/**
 * The request path for logs: no query (it can hold an employeeId filter) and any segment that
 * looks like a UPN or mail address replaced, so log lines never carry one in clear.
 */
export function loggablePath(url: string): string {
  try {
    const { pathname } = new URL(url);
    return pathname
      .split('/')
      .map((segment) => (/@|%40/i.test(segment) ? '[redacted]' : segment))
      .join('/');
  } catch {
    return '[unparsable url]';
  }
}
