/**
 * Retries Graph requests answered 429, 503 or 504, honouring `Retry-After`.
 *
 * Graph's guidance (learn.microsoft.com/graph/throttling, "Best practices to handle throttling"):
 * wait the number of seconds in `Retry-After`, retry, keep honouring it on repeated 429s, and
 * without the header back off exponentially.
 *
 * Why not the SDK's RetryHandler (3.0.7, middleware/RetryHandler.js): it does the same in
 * principle (Retry-After in seconds or as a date, else `delay` + ½·(2^attempt − 1) s plus up to 1 s
 * of randomness, capped at 180 s, at most 10 retries), but its sleep is a private `setTimeout` that
 * cannot be injected or cancelled, it ignores the request's AbortSignal, it leaves the discarded
 * response body unread, and it logs nothing. This middleware keeps those semantics and adds an
 * injectable sleep and random source (tests), AbortSignal support, and a log line per retry. A
 * `Retry-After` longer than `maxDelayMs` is not waited out in-process: the response is returned so
 * the caller gets a `throttled` GraphError with `retryAfterMs` and can schedule a delayed retry
 * (holding a Service Bus lock for minutes would be worse).
 */
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import type { Logger } from '../log.js';
import { getHeader, loggablePath, requestUrlOf, setHeader } from './request-headers.js';
import { parseRetryAfterMs } from './retry-after.js';

/** Statuses retried, as the Graph SDKs do: throttled, service unavailable, gateway timeout. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 503, 504]);

/**
 * Statuses a read (GET) is also retried on: a read changes nothing, so any server error or broken
 * connection is worth another try before a whole CLI run or delta round is given up.
 */
export const READ_RETRY_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/**
 * A license write: `POST …/assignLicense` or `PATCH /users/{id}`. Only a 429 is retried here:
 * Graph refused it before doing anything. A 5xx or a broken connection may come after the change
 * was applied, so resending blind would double the write (and a removal resent after it happened
 * is answered 400); the engine reads the user again first (see the engine's apply step).
 */
export function isDirectoryWrite(method: string | undefined, url: string): boolean {
  const m = (method ?? 'GET').toUpperCase();
  if (m === 'PATCH') return true;
  return m === 'POST' && /\/assignlicense$/i.test(new URL(url, 'http://x').pathname);
}

function retryableStatuses(method: string | undefined, url: string): ReadonlySet<number> {
  if (isDirectoryWrite(method, url)) return WRITE_RETRY_STATUSES;
  return (method ?? 'GET').toUpperCase() === 'GET' ? READ_RETRY_STATUSES : RETRY_STATUSES;
}

const WRITE_RETRY_STATUSES: ReadonlySet<number> = new Set([429]);

/** Waits `ms` milliseconds; rejects when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Settings of `RetryMiddleware`; only `maxRetries` is required. */
export interface RetryOptions {
  /** Retries after the first attempt (GRAPH_MAX_RETRIES); 0 disables retrying. */
  maxRetries: number;
  /** First backoff without `Retry-After`; doubles per retry. Default 1,000 ms. */
  baseDelayMs?: number;
  /** Longest single wait; a longer `Retry-After` ends the retries. Default 60,000 ms. */
  maxDelayMs?: number;
  sleep?: Sleep;
  /** Random source in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  logger?: Logger;
}

/** A `setTimeout` sleep that rejects with the signal's reason when aborted. */
export const defaultSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Delay before retry number `attempt` (1-based) when the response has no usable `Retry-After`:
 * exponential (`base · 2^(attempt−1)`, capped) with "equal jitter" (half fixed, half random), so
 * parallel workers throttled together do not retry in lockstep.
 */
export function backoffDelayMs(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** Graph client middleware retrying 429/503/504 with Retry-After or exponential backoff. */
export class RetryMiddleware implements Middleware {
  readonly #maxRetries: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #sleep: Sleep;
  readonly #random: () => number;
  readonly #logger: Logger | undefined;
  #next: Middleware | undefined;

  constructor(options: RetryOptions) {
    if (!Number.isInteger(options.maxRetries) || options.maxRetries < 0) {
      throw new RangeError(`maxRetries must be a non-negative integer, got ${options.maxRetries}`);
    }
    this.#maxRetries = options.maxRetries;
    this.#baseDelayMs = options.baseDelayMs ?? 1_000;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger;
  }

  async execute(context: Context): Promise<void> {
    const next = this.#next;
    if (next === undefined) throw new Error('RetryMiddleware must not be last in the chain');
    const method = context.options?.method;
    const url = requestUrlOf(context);
    const statuses = retryableStatuses(method, url);
    const isRead = (method ?? 'GET').toUpperCase() === 'GET';
    for (let attempt = 0; ; attempt++) {
      try {
        await next.execute(context);
      } catch (error) {
        // A broken connection on a read is retried like a 503; on anything else it is the
        // caller's to judge (a write may have been applied).
        if (!isRead || attempt >= this.#maxRetries || isAbort(error, context)) throw error;
        const delayMs = backoffDelayMs(attempt + 1, this.#baseDelayMs, this.#maxDelayMs, this.#random);
        this.#logger?.warn(
          { attempt: attempt + 1, maxRetries: this.#maxRetries, delayMs, path: loggablePath(url) },
          'Graph read failed without a response; retrying',
        );
        await this.#sleep(delayMs, context.options?.signal ?? undefined);
        setHeader(context, 'Retry-Attempt', String(attempt + 1));
        continue;
      }
      const response = context.response;
      if (response === undefined || !statuses.has(response.status) || attempt >= this.#maxRetries) return;
      const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'));
      if (retryAfterMs !== undefined && retryAfterMs > this.#maxDelayMs) {
        this.#logger?.warn(
          {
            status: response.status,
            retryAfterMs,
            maxDelayMs: this.#maxDelayMs,
            path: loggablePath(requestUrlOf(context)),
          },
          'Graph asked to wait longer than the in-process retry limit; giving up so the job can be rescheduled',
        );
        return;
      }
      const delayMs =
        retryAfterMs ?? backoffDelayMs(attempt + 1, this.#baseDelayMs, this.#maxDelayMs, this.#random);
      this.#logger?.warn(
        {
          status: response.status,
          attempt: attempt + 1,
          maxRetries: this.#maxRetries,
          delayMs,
          retryAfterHeader: retryAfterMs !== undefined,
          method: context.options?.method,
          path: loggablePath(requestUrlOf(context)),
          clientRequestId: getHeader(context, 'client-request-id'),
          throttleScope: response.headers.get('x-ms-throttle-scope') ?? undefined,
          throttleInformation: response.headers.get('x-ms-throttle-information') ?? undefined,
        },
        'Graph request throttled or unavailable; retrying',
      );
      // Release the connection: an unread body keeps the socket busy until garbage collection.
      await response.body?.cancel().catch(() => undefined);
      await this.#sleep(delayMs, context.options?.signal ?? undefined);
      // Same header name the SDK's RetryHandler sends, so Graph support sees the retry count.
      setHeader(context, 'Retry-Attempt', String(attempt + 1));
    }
  }

  setNext(next: Middleware): void {
    this.#next = next;
  }
}

/** An abort by the caller (its signal fired) is not a failure to retry. */
function isAbort(error: unknown, context: Context): boolean {
  if (context.options?.signal?.aborted === true) return true;
  return error instanceof Error && error.name === 'AbortError';
}
