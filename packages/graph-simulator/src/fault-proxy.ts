/**
 * A proxy on loopback that stands in front of Graph (the simulator, usually) and injects the
 * failures a client meets under load, at random from a seeded source:
 *
 * - an error answer instead of the real one: 429 `TooManyRequests` with `Retry-After`
 *   (learn.microsoft.com/graph/throttling), 500 `generalException`, 502 `badGateway`,
 *   503 `serviceNotAvailable`, 504 `gatewayTimeout` (learn.microsoft.com/graph/errors), or a
 *   connection dropped before the request reaches Graph. None of these is applied;
 * - for writes, a lost answer: the request is passed on and applied, then the connection is
 *   dropped before the client sees the response, or a 504 is answered in its place (a gateway
 *   timing out on a request the service went on to complete). The client cannot tell these from
 *   the failures above: a retry must read the object first.
 *
 * Every decision is counted, so a test can check the mix it ran under.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from './prng.js';

/** What the proxy did to one request. */
export type ProxyFate =
  'passed' | 'error429' | 'error500' | 'error502' | 'error503' | 'error504' | 'dropped' | 'lostAnswer';

export interface FaultProxyOptions {
  /** Where requests go, e.g. the simulator's URL. */
  target: string;
  /** Share of requests answered with an error or dropped before they reach the target (0 to 1). */
  faultRate: number;
  /** Share of writes (POST, PATCH, DELETE) applied, whose answer is then lost (0 to 1). */
  lostWriteRate: number;
  seed?: number;
  /** Seconds in the `Retry-After` of an injected 429 (default 1). */
  retryAfterSeconds?: number;
  /** Requests the proxy leaves alone (e.g. `/subscribedSkus` in a test about writes). */
  spare?: (method: string, path: string) => boolean;
}

export interface FaultProxy {
  url: string;
  /** Counts per fate since start (or the last reset). */
  counts(): Record<ProxyFate, number>;
  /** Changes the rates (0 turns faults off, e.g. for a final check run). */
  setRates(rates: { faultRate?: number; lostWriteRate?: number }): void;
  reset(): void;
  close(): Promise<void>;
}

const ERRORS: Record<
  Exclude<ProxyFate, 'passed' | 'dropped' | 'lostAnswer'>,
  { status: number; code: string; message: string }
> = {
  error429: { status: 429, code: 'TooManyRequests', message: 'Too many requests. Please try again later.' },
  error500: { status: 500, code: 'generalException', message: 'An unspecified error has occurred.' },
  error502: {
    status: 502,
    code: 'badGateway',
    message: 'The server received an invalid response from an upstream server.',
  },
  error503: {
    status: 503,
    code: 'serviceNotAvailable',
    message:
      'The service is temporarily unavailable for maintenance or is overloaded. Please try again later.',
  },
  error504: {
    status: 504,
    code: 'gatewayTimeout',
    message: 'The server did not receive a timely response from an upstream server.',
  },
};
const ERROR_FATES = [...Object.keys(ERRORS), 'dropped'] as (keyof typeof ERRORS | 'dropped')[];

const isWrite = (method: string) => method === 'POST' || method === 'PATCH' || method === 'DELETE';

function zeroCounts(): Record<ProxyFate, number> {
  return {
    passed: 0,
    error429: 0,
    error500: 0,
    error502: 0,
    error503: 0,
    error504: 0,
    dropped: 0,
    lostAnswer: 0,
  };
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Starts the proxy on 127.0.0.1 (a free port). */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const random = prng(options.seed ?? 1);
  const target = new URL(options.target);
  let selfUrl = '';
  let counts = zeroCounts();
  let faultRate = options.faultRate;
  let lostWriteRate = options.lostWriteRate;

  const fateOf = (method: string, path: string): ProxyFate => {
    if (options.spare?.(method, path) === true) return 'passed';
    if (random() < faultRate) return ERROR_FATES[Math.floor(random() * ERROR_FATES.length)] ?? 'error503';
    if (isWrite(method) && random() < lostWriteRate) return 'lostAnswer';
    return 'passed';
  };

  const answerError = (res: ServerResponse, fate: keyof typeof ERRORS) => {
    const { status, code, message } = ERRORS[fate];
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (status === 429) headers['retry-after'] = String(options.retryAfterSeconds ?? 1);
    res.writeHead(status, headers).end(JSON.stringify({ error: { code, message } }));
  };

  const forward = (
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      headers.host = target.host;
      const out = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers },
        (answer) => {
          void readAll(answer).then((data) => {
            const h: Record<string, string> = {};
            for (const [k, v] of Object.entries(answer.headers)) if (typeof v === 'string') h[k] = v;
            resolve({ status: answer.statusCode ?? 502, headers: h, body: data });
          }, reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const server = createServer((req, res) => {
    void (async () => {
      const method = (req.method ?? 'GET').toUpperCase();
      const body = await readAll(req);
      const fate = fateOf(method, new URL(req.url ?? '/', 'http://x').pathname);
      counts[fate]++;
      if (fate === 'dropped') {
        req.socket.destroy();
        return;
      }
      if (fate !== 'passed' && fate !== 'lostAnswer') {
        answerError(res, fate);
        return;
      }
      const answer = await forward(req, body);
      if (fate === 'lostAnswer') {
        // Applied by the target; the client learns nothing (half of the time not even a status).
        if (random() < 0.5) req.socket.destroy();
        else answerError(res, 'error504');
        return;
      }
      delete answer.headers['transfer-encoding'];
      delete answer.headers.connection;
      // Paging and delta links name the host that answered (Graph's own, in production): point
      // them at the proxy, as they would point at Graph, so the client keeps coming through here.
      const out = (answer.headers['content-type'] ?? '').includes('json')
        ? Buffer.from(answer.body.toString('utf8').replaceAll(target.origin, selfUrl), 'utf8')
        : answer.body;
      answer.headers['content-length'] = String(out.byteLength);
      res.writeHead(answer.status, answer.headers).end(out);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.end();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  selfUrl = `http://127.0.0.1:${String(port)}`;
  return {
    url: selfUrl,
    counts: () => ({ ...counts }),
    setRates: (rates) => {
      faultRate = rates.faultRate ?? faultRate;
      lostWriteRate = rates.lostWriteRate ?? lostWriteRate;
    },
    reset: () => {
      counts = zeroCounts();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      }),
  };
}
