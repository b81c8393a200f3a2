/**
 * The composition root's own behaviour: when a catalog reload fails, the app keeps the last
 * catalog and logs the error itself (Graph's status, code, fix, request id and the stack), not
 * only its message.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createAppParts } from '../../lib/app.js';
import { createLogger } from '../../lib/log.js';
import { startSimulator, type Simulator } from '@ems-licensing/graph-simulator';
import { smallTenant } from '@ems-licensing/graph-simulator/test-support';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
});

/** Settings the config needs to parse; only Graph and the rules file are used here. */
function env(graphUrl: string): Record<string, string> {
  return {
    GRAPH_BASE_URL: graphUrl,
    GRAPH_MAX_RETRIES: '0',
    STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
    ServiceBusConnection: 'Endpoint=sb://127.0.0.1/;SharedAccessKeyName=test;SharedAccessKey=test',
    NOTIFICATION_URL: 'https://func.example.test/api/graph-notifications',
    GRAPH_CLIENT_STATE: 'client-state-for-the-test',
    HR_WEBHOOK_SECRETS: 'whsec_dGVzdC1zZWNyZXQtZm9yLXRoZS10ZXN0',
    RULES_PATH: path.join(ROOT, 'examples/rules.yaml'),
  };
}

interface LogLine {
  msg: string;
  err?: Record<string, unknown>;
}

describe('createAppParts', () => {
  it('keeps the last catalog when a reload fails and logs the whole error, not only its message', async () => {
    sim = await startSimulator({ tenant: smallTenant() });
    const lines: LogLine[] = [];
    const logger = createLogger({
      level: 'warn',
      destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
    });
    let now = new Date('2026-03-02T09:00:00Z');
    const parts = createAppParts(env(sim.url), logger, { now: () => now });
    const cache = await parts.contexts();
    const first = await cache.get();

    sim.faults.inject({ kind: 'subscribedSkus', status: 503, times: 1 });
    now = new Date(now.getTime() + 60 * 60_000);
    expect(await cache.get()).toBe(first);

    const warnings = lines.filter((l) => l.msg === 'catalog reload failed; using the last one');
    expect(warnings).toHaveLength(1);
    // The Graph error as it is, not just its message: status, Graph's code, the fix, the request
    // id for a support case, and the stack.
    expect(warnings[0]!.err).toMatchObject({
      type: 'GraphError',
      status: 503,
      code: 'serviceNotAvailable',
      kind: 'unavailable',
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      stack: expect.stringContaining('\n    at ') as unknown,
    });
  });
});
