/**
 * TableInboxStore on Azurite: check (read-only) and record, with and without a re-accept window,
 * batches in few requests, concurrent records, odd keys, pruning.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { TableInboxStore } from '../../lib/store/inbox-table.js';
import type { InboxOptions, InboxStore } from '../../lib/store/ports.js';
import { createStorage, type Storage } from '../../lib/store/table-clients.js';

const connectionString = inject('storageConnectionString');

async function freshStorage(): Promise<Storage> {
  const storage = createStorage({
    connectionString,
    tablePrefix: `i${randomBytes(6).toString('hex')}`,
  });
  await storage.ensureTables();
  return storage;
}

/**
 * An inbox on its own table whose client notes every request it sends (method and path), through
 * a pipeline policy: the SDK's own extension point, nothing patched.
 */
type PipelinePolicy = NonNullable<TableServiceClientOptions['additionalPolicies']>[number]['policy'];

async function countingStore() {
  const requests: { method: string; path: string }[] = [];
  const state = { failWrites: false };
  const policy: PipelinePolicy = {
    name: 'countRequests',
    sendRequest: (request, next) => {
      requests.push({ method: request.method, path: new URL(request.url).pathname });
      if (state.failWrites && request.method !== 'GET') {
        // As the SDK fails a request the service answered 503 (the stores read `statusCode`).
        return Promise.reject(Object.assign(new Error('injected: server busy'), { statusCode: 503 }));
      }
      return next(request);
    },
  };
  const client = TableClient.fromConnectionString(connectionString, `c${randomBytes(6).toString('hex')}`, {
    allowInsecureConnection: true,
    retryOptions: { maxRetries: 0 },
    additionalPolicies: [{ policy, position: 'perCall' }],
  });
  await client.createTable();
  return { store: new TableInboxStore(client), requests, state };
}

// A multiple of every window used here, so windows start at T0.
const T0 = new Date('2024-01-01T00:00:00.000Z');
const after = (ms: number) => new Date(T0.getTime() + ms);
const id = () => `evt-${randomBytes(6).toString('hex')}`;

/** The status of one event. */
async function statusOf(store: InboxStore, source: string, eventId: string, options?: InboxOptions) {
  return (await store.check(source, [eventId], options)).get(eventId);
}

const W = 5_000;
const window = (ms: number) => ({ reacceptAfterMs: W, now: after(ms) });

describe('TableInboxStore.check and record, without a window (HR)', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await freshStorage();
  });

  it('sees an event only once it is recorded, per source; check never writes', async () => {
    const eventId = id();
    expect(await statusOf(storage.inbox, 'hr', eventId)).toBe('new');
    // A check alone records nothing: a failed publish after it leaves the retry free to proceed.
    expect(await statusOf(storage.inbox, 'hr', eventId)).toBe('new');
    await storage.inbox.record('hr', [{ eventId, detail: { kind: 'hire' } }]);
    expect(await statusOf(storage.inbox, 'hr', eventId)).toBe('seen');
    // The same id from another source is another event.
    expect(await statusOf(storage.inbox, 'graph', eventId)).toBe('new');
  });

  it('answers every id of a batch, repeats included, and an old entry stays seen', async () => {
    const [a, b, c] = [id(), id(), id()];
    await storage.inbox.record('hr', [{ eventId: a }, { eventId: c }], { now: T0 });
    const statuses = await storage.inbox.check('hr', [a, b, c, a], { now: after(86_400_000) });
    expect([...statuses]).toEqual([
      [a, 'seen'],
      [b, 'new'],
      [c, 'seen'],
    ]);
  });

  it('handles ids and sources with / \\ # ? and control characters as distinct keys', async () => {
    const ids = ['a/b', 'a#b', 'a?b', 'a\\b', 'a\nb', 'a\u007fb'];
    const source = 'src/with#odd?chars';
    expect([...(await storage.inbox.check(source, ids)).values()]).toEqual(ids.map(() => 'new'));
    await storage.inbox.record(
      source,
      ids.map((eventId) => ({ eventId })),
    );
    expect([...(await storage.inbox.check(source, ids)).values()]).toEqual(ids.map(() => 'seen'));
  });

  it('never confuses a raw id with the encoded form of another', async () => {
    // 'x/y' is stored under '~' + base64url('x/y') = '~eC95'; the raw id '~eC95' must not hit it.
    await storage.inbox.record('hr', [{ eventId: 'x/y' }]);
    expect(await statusOf(storage.inbox, 'hr', 'x/y')).toBe('seen');
    expect(await statusOf(storage.inbox, 'hr', '~eC95')).toBe('new');
    expect(await statusOf(storage.inbox, 'hr', 'eC95')).toBe('new');
  });

  it('records very long ids (hashed keys) and still tells them apart', async () => {
    const long = `${'ü/'.repeat(2_000)}${id()}`;
    await storage.inbox.record('hr', [{ eventId: long }]);
    expect(await statusOf(storage.inbox, 'hr', long)).toBe('seen');
    expect(await statusOf(storage.inbox, 'hr', `${long}!`)).toBe('new');
  });
});

describe('TableInboxStore.check and record, with a re-accept window (Graph)', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await freshStorage();
  });

  it('counts an entry as seen only until it is that old; a new record restarts it', async () => {
    const eventId = id();
    await storage.inbox.record('graph', [{ eventId }], window(0));
    expect(await statusOf(storage.inbox, 'graph', eventId, window(1_000))).toBe('seen');
    expect(await statusOf(storage.inbox, 'graph', eventId, window(4_999))).toBe('seen');
    expect(await statusOf(storage.inbox, 'graph', eventId, window(5_000))).toBe('expired');
    // The re-accepted change is published, then recorded: the entry moves forward.
    await storage.inbox.record('graph', [{ eventId }], window(6_000));
    expect(await statusOf(storage.inbox, 'graph', eventId, window(6_001))).toBe('seen');
    expect(await statusOf(storage.inbox, 'graph', eventId, window(10_999))).toBe('seen');
    expect(await statusOf(storage.inbox, 'graph', eventId, window(11_000))).toBe('expired');
    // Two windows on, the old entries are not even looked at.
    expect(await statusOf(storage.inbox, 'graph', eventId, window(20_000))).toBe('new');
  });

  it('never moves an entry back in time', async () => {
    const eventId = id();
    await storage.inbox.record('graph', [{ eventId }], window(4_000));
    await storage.inbox.record('graph', [{ eventId }], window(1_000));
    expect(await statusOf(storage.inbox, 'graph', eventId, window(6_500))).toBe('seen');
  });

  it('lets concurrent records of the same event all succeed, leaving one entry', async () => {
    const own = await freshStorage();
    const eventId = id();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        own.inbox.record('graph', [{ eventId, detail: { n: String(i) } }], window(i)),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await statusOf(own.inbox, 'graph', eventId, window(100))).toBe('seen');
    expect(await own.inbox.prune(after(1_000))).toBe(1);
    expect(await statusOf(own.inbox, 'graph', eventId, window(100))).toBe('new');
  });

  it('lets concurrent batches overlap: a transaction meeting a recorded event falls back to one by one', async () => {
    const own = await freshStorage();
    const shared = Array.from({ length: 30 }, () => id());
    const firstOnly = Array.from({ length: 30 }, () => id());
    const secondOnly = Array.from({ length: 30 }, () => id());
    await own.inbox.record(
      'graph',
      [...shared, ...firstOnly].map((eventId) => ({ eventId })),
      window(2_000),
    );
    // The second recorder is older: it must not move the shared entries back.
    await own.inbox.record(
      'graph',
      [...shared, ...secondOnly].map((eventId) => ({ eventId })),
      window(1_000),
    );
    const statuses = await own.inbox.check('graph', [...shared, ...firstOnly, ...secondOnly], window(6_500));
    const byStatus = (s: string) => [...statuses].filter(([, v]) => v === s).map(([k]) => k);
    // Recorded at 2,000: seen at 6,500. Recorded only at 1,000: too old by then to be looked at.
    expect(byStatus('seen').sort()).toEqual([...shared, ...firstOnly].sort());
    expect(byStatus('new').sort()).toEqual([...secondOnly].sort());
  });

  it('checks and records a 1,000-event batch in a few requests (issue 11, point 2)', async () => {
    const counted = await countingStore();
    const ids = Array.from({ length: 1_000 }, () => id());
    const before = counted.requests.length;
    await counted.store.record(
      'graph',
      ids.map((eventId) => ({ eventId, detail: { n: 'x' } })),
      window(0),
    );
    const writes = counted.requests.slice(before);
    // One transaction per partition and 100 entities: 4 partitions of about 250.
    expect(writes.every((r) => r.method === 'POST' && r.path.endsWith('/$batch'))).toBe(true);
    expect(writes.length).toBeLessThanOrEqual(4 * 4);

    const reads = counted.requests.length;
    const statuses = await counted.store.check('graph', ids, window(1_000));
    expect([...statuses.values()].filter((s) => s === 'seen')).toHaveLength(1_000);
    // The current and the previous window of each of the 4 partitions.
    expect(counted.requests.length - reads).toBeLessThanOrEqual(8);
  });
});

describe('TableInboxStore.record failures', () => {
  it('throws, saying how many events could not be recorded', async () => {
    const counted = await countingStore();
    counted.state.failWrites = true;
    await expect(
      counted.store.record('graph', [{ eventId: id() }, { eventId: id() }, { eventId: id() }], window(0)),
    ).rejects.toThrow(/^Could not record \d of 3 events from graph in the inbox$/);
  });
});

describe('TableInboxStore.prune', () => {
  it('deletes only entries recorded before the cutoff, in every partition, and returns how many', async () => {
    const storage = await freshStorage();
    const old = Array.from({ length: 7 }, (_, i) => `old/${i}`);
    const recent = ['recent-1', 'recent-2'];
    for (const [i, eventId] of old.entries()) {
      if (i % 2 === 0) await storage.inbox.record('hr', [{ eventId }], { now: after(i) });
      else await storage.inbox.record('graph', [{ eventId }], window(i));
    }
    await storage.inbox.record(
      'hr',
      recent.map((eventId) => ({ eventId })),
      { now: after(60_000) },
    );

    expect(await storage.inbox.prune(after(30_000))).toBe(7);

    // Pruned entries are new again; recent ones are still seen.
    expect(await statusOf(storage.inbox, 'hr', 'old/0')).toBe('new');
    expect(await statusOf(storage.inbox, 'graph', 'old/1', window(2))).toBe('new');
    for (const eventId of recent) expect(await statusOf(storage.inbox, 'hr', eventId)).toBe('seen');
    expect(await storage.inbox.prune(after(30_000))).toBe(0);
  });
});

describe('createStorage retryOptions (the intake storage)', () => {
  it('gives up after one retry against a Table endpoint answering 503', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"odata.error":{"code":"ServerBusy"}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const storage = createStorage(
        {
          // Azurite's published development key; the server above answers 503 to everything.
          connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:${String(port)}/devstoreaccount1;TableEndpoint=http://127.0.0.1:${String(port)}/devstoreaccount1;`,
          tablePrefix: 'retry',
        },
        undefined,
        { retryOptions: { maxRetries: 1, retryDelayInMs: 100, maxRetryDelayInMs: 200 } },
      );
      await expect(storage.inbox.check('hr', ['evt-503'])).rejects.toThrow(/Could not look up event evt-503/);
      // One try and one retry: the SDK's default (3 retries, seconds apart) would make it 4.
      expect(requests).toBe(2);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
