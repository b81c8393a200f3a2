/**
 * Graph client middleware that sends each attempt of each request through the process's
 * `GraphPacer` (./pacer.ts): it sits after the retry middleware, so a retry waits for the budget
 * like a first attempt, and before the HTTP handler, so what Graph answers (429, the throttle
 * headers) reaches the pacer before anyone else acts on it.
 *
 * A request whose lane is paused longer than the pacer's `maxWaitMs` is not sent: it gets a 429
 * built here, in Graph's error shape, with the pause left as `Retry-After` and the header
 * `x-ems-pacer: held`, so the retry middleware and the error mapping treat it as the throttling
 * it is (a `throttled` GraphError with `retryAfterMs`).
 */
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import type { GraphPacer } from './pacer.js';
import { requestUrlOf } from './request-headers.js';
import { costOf, costOfBatch, pathAfterVersion, type RequestCost } from './request-cost.js';

/** Response header on the 429s the pacer answers itself. */
export const PACER_HELD_HEADER = 'x-ems-pacer';

function costOfContext(context: Context): RequestCost {
  const method = context.options?.method ?? 'GET';
  let path: string;
  try {
    path = pathAfterVersion(requestUrlOf(context));
  } catch {
    // Not a URL the pacer can read: the HTTP handler will fail it; nothing to pace.
    return { lane: 'none', resourceUnits: 0, writes: 0 };
  }
  if (/^\/\$batch(\?|$)/i.test(path)) return costOfBatch(context.options?.body);
  return costOf(method, path);
}

function heldResponse(pausedForMs: number): Response {
  const seconds = Math.max(1, Math.ceil(pausedForMs / 1000));
  const body = {
    error: {
      code: 'TooManyRequests',
      message: `Not sent: Graph throttled this app and this process is holding its requests for another ${String(seconds)} s (Retry-After).`,
    },
  };
  return new Response(JSON.stringify(body), {
    status: 429,
    headers: {
      'content-type': 'application/json',
      'retry-after': String(seconds),
      [PACER_HELD_HEADER]: 'held',
    },
  });
}

/** What a `$batch` answer says about its requests that were throttled (each one is, on its own). */
async function throttledInBatch(response: Response): Promise<Headers[]> {
  try {
    const parsed: unknown = await response.clone().json();
    const responses =
      typeof parsed === 'object' &&
      parsed !== null &&
      'responses' in parsed &&
      Array.isArray(parsed.responses)
        ? (parsed.responses as unknown[])
        : [];
    const out: Headers[] = [];
    for (const item of responses) {
      if (typeof item !== 'object' || item === null || !('status' in item) || item.status !== 429) continue;
      const headers = new Headers();
      if ('headers' in item && typeof item.headers === 'object' && item.headers !== null) {
        for (const [k, v] of Object.entries(item.headers)) if (typeof v === 'string') headers.set(k, v);
      }
      out.push(headers);
    }
    return out;
  } catch {
    return [];
  }
}

/** Paces every request through one shared `GraphPacer`. */
export class PacingMiddleware implements Middleware {
  readonly #pacer: GraphPacer;
  #next: Middleware | undefined;

  constructor(pacer: GraphPacer) {
    this.#pacer = pacer;
  }

  async execute(context: Context): Promise<void> {
    const next = this.#next;
    if (next === undefined) throw new Error('PacingMiddleware must not be last in the chain');
    const cost = costOfContext(context);
    const admission = await this.#pacer.admit(cost, context.options?.signal ?? undefined);
    if (!admission.go) {
      context.response = heldResponse(admission.pausedForMs);
      return;
    }
    await next.execute(context);
    const response = context.response;
    if (response === undefined) return;
    this.#pacer.observe(cost, response.status, response.headers);
    if (
      cost.writes + cost.resourceUnits > 0 &&
      response.status === 200 &&
      /\$batch/i.test(requestUrlOf(context))
    ) {
      for (const headers of await throttledInBatch(response)) this.#pacer.observe(cost, 429, headers);
    }
  }

  setNext(next: Middleware): void {
    this.#next = next;
  }
}
