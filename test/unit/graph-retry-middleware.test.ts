import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, RetryMiddleware } from '../../lib/graph/retry-middleware.js';

/** The next link of the chain, answering from a script of responses and recording each attempt. */
function scripted(responses: (() => Response)[]) {
  const attempts: Record<string, string>[] = [];
  const next: Middleware = {
    execute: (context: Context) => {
      attempts.push({ ...(context.options?.headers as Record<string, string>) });
      const make = responses[Math.min(attempts.length - 1, responses.length - 1)];
      if (make === undefined) throw new Error('no scripted response');
      context.response = make();
      return Promise.resolve();
    },
  };
  return { next, attempts };
}

/** An assignLicense call (a write), or a read of the user. */
function context(kind: 'write' | 'read' = 'write'): Context {
  return kind === 'write'
    ? {
        request: 'http://127.0.0.1:1/v1.0/users/abc/assignLicense',
        options: { method: 'POST', headers: {}, body: '{}' },
      }
    : { request: 'http://127.0.0.1:1/v1.0/users/abc', options: { method: 'GET', headers: {} } };
}

const status =
  (code: number, headers: Record<string, string> = {}) =>
  () =>
    new Response(code === 204 ? null : '{}', { status: code, headers });

function middleware(maxRetries: number, extra: { maxDelayMs?: number } = {}) {
  const sleeps: number[] = [];
  const retry = new RetryMiddleware({
    maxRetries,
    baseDelayMs: 1000,
    ...extra,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
  });
  return { retry, sleeps };
}

describe('RetryMiddleware', () => {
  it('waits the Retry-After seconds and retries a 429', async () => {
    const { retry, sleeps } = middleware(3);
    const { next, attempts } = scripted([status(429, { 'Retry-After': '2' }), status(200)]);
    retry.setNext(next);
    const ctx = context();
    await retry.execute(ctx);
    expect(ctx.response?.status).toBe(200);
    expect(sleeps).toEqual([2000]);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]?.['Retry-Attempt']).toBe('1');
  });

  it('never resends a write answered 5xx: Graph may have applied it (the engine reads the user first)', async () => {
    const { retry, sleeps } = middleware(3);
    for (const code of [500, 502, 503, 504]) {
      const { next, attempts } = scripted([status(code), status(200)]);
      retry.setNext(next);
      const ctx = context('write');
      await retry.execute(ctx);
      expect(ctx.response?.status).toBe(code);
      expect(attempts).toHaveLength(1);
    }
    // A PATCH (the usage location) is a write too.
    const { next, attempts } = scripted([status(503), status(204)]);
    retry.setNext(next);
    const patch: Context = {
      request: 'http://127.0.0.1:1/v1.0/users/abc',
      options: { method: 'PATCH', headers: {} },
    };
    await retry.execute(patch);
    expect(attempts).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('retries a read on any 5xx and on a broken connection', async () => {
    const { retry, sleeps } = middleware(3);
    let calls = 0;
    retry.setNext({
      execute: (ctx: Context) => {
        calls++;
        if (calls === 1) return Promise.reject(new TypeError('fetch failed'));
        ctx.response = new Response('{}', { status: calls === 2 ? 500 : calls === 3 ? 502 : 200 });
        return Promise.resolve();
      },
    });
    const ctx = context('read');
    await retry.execute(ctx);
    expect(ctx.response?.status).toBe(200);
    expect(calls).toBe(4);
    expect(sleeps).toEqual([750, 1500, 3000]);
  });

  it('does not retry a write whose connection broke (its outcome is unknown)', async () => {
    const { retry, sleeps } = middleware(3);
    retry.setNext({ execute: () => Promise.reject(new TypeError('fetch failed')) });
    await expect(retry.execute(context('write'))).rejects.toThrow('fetch failed');
    expect(sleeps).toEqual([]);
  });

  it('backs off exponentially on 503/504 without Retry-After', async () => {
    const { retry, sleeps } = middleware(3);
    const { next } = scripted([status(503), status(504), status(503), status(200)]);
    retry.setNext(next);
    const ctx = context('read');
    await retry.execute(ctx);
    expect(ctx.response?.status).toBe(200);
    // equal jitter with random 0.5: 3/4 of 1 s, 2 s, 4 s
    expect(sleeps).toEqual([750, 1500, 3000]);
  });

  it('returns the last 429 after maxRetries retries', async () => {
    const { retry, sleeps } = middleware(2);
    const { next, attempts } = scripted([status(429, { 'Retry-After': '1' })]);
    retry.setNext(next);
    const ctx = context();
    await retry.execute(ctx);
    expect(ctx.response?.status).toBe(429);
    expect(attempts).toHaveLength(3);
    expect(sleeps).toEqual([1000, 1000]);
  });

  it('does not retry other statuses', async () => {
    const { retry, sleeps } = middleware(3);
    const { next, attempts } = scripted([status(400), status(200)]);
    retry.setNext(next);
    const ctx = context();
    await retry.execute(ctx);
    expect(ctx.response?.status).toBe(400);
    expect(attempts).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('gives up at once when Retry-After exceeds maxDelayMs, so the job can be rescheduled', async () => {
    const { retry, sleeps } = middleware(3, { maxDelayMs: 30_000 });
    const { next, attempts } = scripted([status(429, { 'Retry-After': '120' }), status(200)]);
    retry.setNext(next);
    const ctx = context();
    await retry.execute(ctx);
    expect(ctx.response?.status).toBe(429);
    expect(attempts).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('with maxRetries 0 makes exactly one attempt', async () => {
    const { retry } = middleware(0);
    const { next, attempts } = scripted([status(503), status(200)]);
    retry.setNext(next);
    await retry.execute(context());
    expect(attempts).toHaveLength(1);
  });

  it('stops waiting when the request is aborted', async () => {
    const retry = new RetryMiddleware({ maxRetries: 3 });
    const { next } = scripted([status(429, { 'Retry-After': '30' })]);
    retry.setNext(next);
    const controller = new AbortController();
    const ctx: Context = {
      request: 'http://127.0.0.1:1/v1.0/users',
      options: { method: 'GET', headers: {}, signal: controller.signal },
    };
    const running = retry.execute(ctx);
    controller.abort(new Error('shutdown'));
    await expect(running).rejects.toThrow('shutdown');
  });
});

describe('backoffDelayMs', () => {
  it('doubles per attempt and respects the cap', () => {
    const noJitter = () => 1;
    expect([1, 2, 3, 4, 10].map((a) => backoffDelayMs(a, 1000, 5000, noJitter))).toEqual([
      1000, 2000, 4000, 5000, 5000,
    ]);
    expect(backoffDelayMs(1, 1000, 5000, () => 0)).toBe(500);
  });
});
