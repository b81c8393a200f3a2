/**
 * The pacing middleware (lib/graph/pacing-middleware.ts) in a chain with a scripted last link and
 * a pacer on a fake clock: one 429 answered to one request holds every other request of the
 * process, and a pause longer than the caller may wait is answered without sending.
 */
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';
import { GraphPacer } from '../../lib/graph/pacer.js';
import { PACER_HELD_HEADER, PacingMiddleware } from '../../lib/graph/pacing-middleware.js';
import { fakeClock } from '../support/fake-clock.js';

/** The last link: answers each request with the next scripted response, recording what it saw. */
function scripted(answer: (url: string) => Response) {
  const sent: { url: string; at: number }[] = [];
  return {
    sent,
    link: (clock: { now(): number }): Middleware => ({
      execute: (context: Context) => {
        const url = typeof context.request === 'string' ? context.request : '';
        sent.push({ url, at: clock.now() });
        context.response = answer(url);
        return Promise.resolve();
      },
    }),
  };
}

const ctx = (method: string, path: string, body?: string): Context => ({
  request: `https://graph.microsoft.com/v1.0${path}`,
  options: { method, headers: {}, ...(body === undefined ? {} : { body }) },
});

function chain(answer: (url: string) => Response, maxWaitMs = 60_000) {
  const clock = fakeClock();
  const pacer = new GraphPacer(
    { writesPer150s: 3_000, resourceUnitsPer10s: 8_000 },
    { now: clock.now, sleep: clock.sleep, maxWaitMs },
  );
  const middleware = new PacingMiddleware(pacer);
  const script = scripted(answer);
  middleware.setNext(script.link(clock));
  return { clock, pacer, middleware, sent: script.sent };
}

describe('PacingMiddleware', () => {
  it('holds every other write of the process after one write is answered 429', async () => {
    let first = true;
    const { clock, middleware, sent } = chain((url) => {
      if (url.endsWith('/u0/assignLicense') && first) {
        first = false;
        return new Response('{}', { status: 429, headers: { 'Retry-After': '3' } });
      }
      return new Response('{}', { status: 200 });
    });
    const runs = Array.from({ length: 5 }, (_, i) =>
      middleware.execute(ctx('POST', `/users/u${String(i)}/assignLicense`, '{}')),
    );
    await clock.advance(60); // the first write goes out (1/19.6 s) and is refused
    expect(sent.map((s) => s.url.split('/')[5])).toEqual(['u0']);
    await clock.advance(2_900);
    expect(sent.length).toBe(1); // nobody else during the pause
    await clock.advance(3_000);
    await Promise.all(runs);
    expect(sent.length).toBe(5);
    // After the pause, one every 1/19.6 s again.
    expect(sent[1]?.at).toBeGreaterThanOrEqual(51 + 3_000);
  });

  it('answers 429 itself, without sending, when the pause outlasts what a caller may wait', async () => {
    const { clock, pacer, middleware, sent } = chain(() => new Response('{}', { status: 200 }), 10_000);
    pacer.observe({ lane: 'write', resourceUnits: 1, writes: 1 }, 429, new Headers({ 'retry-after': '30' }));
    const context = ctx('PATCH', '/users/u1', '{"usageLocation":"DE"}');
    await clock.advance(0);
    await middleware.execute(context);
    expect(sent).toEqual([]);
    expect(context.response?.status).toBe(429);
    expect(context.response?.headers.get('retry-after')).toBe('30');
    expect(context.response?.headers.get(PACER_HELD_HEADER)).toBe('held');
    expect(await context.response?.json()).toMatchObject({ error: { code: 'TooManyRequests' } });
  });

  it('learns of throttled requests inside a $batch answer and pauses for them', async () => {
    const { clock, pacer, middleware } = chain(
      () =>
        new Response(
          JSON.stringify({
            responses: [
              { id: '1', status: 200, body: {} },
              { id: '2', status: 429, headers: { 'Retry-After': '7' }, body: {} },
            ],
          }),
          { status: 200 },
        ),
    );
    const batch = JSON.stringify({
      requests: [
        { id: '1', method: 'GET', url: '/users/a?$select=id' },
        { id: '2', method: 'GET', url: '/users/b?$select=id' },
      ],
    });
    const run = middleware.execute(ctx('POST', '/$batch', batch));
    await clock.advance(10);
    await run;
    const read = { lane: 'read', resourceUnits: 1, writes: 0 } as const;
    // Admitted once 2 RU were there (784 RU/s), answered at once, paused 7 s from then.
    expect(pacer.pausedForMs(read)).toBeCloseTo(7_000 + 2_000 / 784 - 10, 6);
    expect(pacer.stats().pauses).toBe(1);
  });
});
