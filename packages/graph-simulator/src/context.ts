/** What a route handler gets and returns. */
import type { Directory } from './directory.js';

export interface RequestContext {
  method: string;
  /** Path segments after `/v1.0`, URL-decoded. */
  segments: string[];
  query: Record<string, string>;
  /** Lowercased header names. */
  headers: Record<string, string>;
  body: unknown;
  /** e.g. http://127.0.0.1:53412 */
  baseUrl: string;
  dir: Directory;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** True when the request opted into advanced directory queries (learn.microsoft.com/graph/aad-advanced-queries). */
export function isAdvancedQuery(ctx: RequestContext): boolean {
  return ctx.headers['consistencylevel']?.toLowerCase() === 'eventual';
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
