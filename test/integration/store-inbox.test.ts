/**
 * TableInboxStore on Azurite: seen (read-only) and record, the re-accept window, concurrent
 * records, odd keys, pruning.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, inject, it } from 'vitest';
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

const T0 = new Date('2024-01-01T00:00:00.000Z');
const after = (ms: number) => new Date(T0.getTime() + ms);
const id = () => `evt-${randomBytes(6).toString('hex')}`;

describe('TableInboxStore.seen and record', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await freshStorage();
  });

  it('sees an event only once it is recorded, per source; seen never writes', async () => {
    const eventId = id();
    expect(await storage.inbox.seen('hr', eventId)).toBe(false);
    // A check alone records nothing: a failed publish after it leaves the retry free to proceed.
    expect(await storage.inbox.seen('hr', eventId)).toBe(false);
    await storage.inbox.record('hr', eventId, { detail: { kind: 'hire' } });
    expect(await storage.inbox.seen('hr', eventId)).toBe(true);
    // The same id from another source is another event.
    expect(await storage.inbox.seen('graph', eventId)).toBe(false);
  });

  it('with a window, an entry counts as seen only until it is that old; a new record restarts it', async () => {
    const eventId = id();
    const window = { reacceptAfterMs: 5_000 };
    await storage.inbox.record('graph', eventId, { now: T0 });
    expect(await storage.inbox.seen('graph', eventId, { ...window, now: after(1_000) })).toBe(true);
    expect(await storage.inbox.seen('graph', eventId, { ...window, now: after(4_999) })).toBe(true);
    expect(await storage.inbox.seen('graph', eventId, { ...window, now: after(5_000) })).toBe(false);
    // The re-accepted change is published, then recorded: the entry moves forward.
    await storage.inbox.record('graph', eventId, { now: after(6_000) });
    expect(await storage.inbox.seen('graph', eventId, { ...window, now: after(6_001) })).toBe(true);
    expect(await storage.inbox.seen('graph', eventId, { ...window, now: after(11_000) })).toBe(false);
  });

  it('never moves an entry back in time', async () => {
    const eventId = id();
    await storage.inbox.record('graph', eventId, { now: after(10_000) });
    await storage.inbox.record('graph', eventId, { now: T0 });
    expect(await storage.inbox.seen('graph', eventId, { reacceptAfterMs: 5_000, now: after(12_000) })).toBe(
      true,
    );
  });

  it('without a window, an old entry stays seen', async () => {
    const eventId = id();
    await storage.inbox.record('hr', eventId, { now: T0 });
    expect(await storage.inbox.seen('hr', eventId, { now: after(86_400_000) })).toBe(true);
  });

  it('lets concurrent records of the same event all succeed, leaving one entry', async () => {
    const own = await freshStorage();
    const eventId = id();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        own.inbox.record('graph', eventId, { detail: { n: String(i) }, now: after(i) }),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await own.inbox.seen('graph', eventId, { reacceptAfterMs: 5_000, now: after(100) })).toBe(true);
    expect(await own.inbox.prune(after(1_000))).toBe(1);
    expect(await own.inbox.seen('graph', eventId)).toBe(false);
  });

  it('lets concurrent re-records after the window all succeed, and the entry is fresh afterwards', async () => {
    const eventId = id();
    await storage.inbox.record('graph', eventId, { now: T0 });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => storage.inbox.record('graph', eventId, { now: after(10_000 + i) })),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await storage.inbox.seen('graph', eventId, { reacceptAfterMs: 5_000, now: after(14_000) })).toBe(
      true,
    );
  });

  it('handles ids and sources with / \\ # ? and control characters as distinct keys', async () => {
    const ids = ['a/b', 'a#b', 'a?b', 'a\\b', 'a\nb', 'a\u007fb'];
    for (const eventId of ids) {
      expect(await storage.inbox.seen('src/with#odd?chars', eventId)).toBe(false);
      await storage.inbox.record('src/with#odd?chars', eventId);
    }
    for (const eventId of ids) {
      expect(await storage.inbox.seen('src/with#odd?chars', eventId)).toBe(true);
    }
  });

  it('never confuses a raw id with the encoded form of another', async () => {
    // 'x/y' is stored under '~' + base64url('x/y') = '~eC95'; the raw id '~eC95' must not hit it.
    await storage.inbox.record('hr', 'x/y');
    expect(await storage.inbox.seen('hr', 'x/y')).toBe(true);
    expect(await storage.inbox.seen('hr', '~eC95')).toBe(false);
    expect(await storage.inbox.seen('hr', 'eC95')).toBe(false);
  });

  it('records very long ids (hashed keys) and still tells them apart', async () => {
    const long = `${'ü/'.repeat(2_000)}${id()}`;
    await storage.inbox.record('hr', long);
    expect(await storage.inbox.seen('hr', long)).toBe(true);
    expect(await storage.inbox.seen('hr', `${long}!`)).toBe(false);
  });
});

describe('TableInboxStore.prune', () => {
  it('deletes only entries recorded before the cutoff and returns how many', async () => {
    const storage = await freshStorage();
    const old = Array.from({ length: 7 }, (_, i) => `old/${i}`);
    const recent = ['recent-1', 'recent-2'];
    for (const [i, eventId] of old.entries()) {
      await storage.inbox.record(i % 2 === 0 ? 'hr' : 'graph', eventId, { now: after(i) });
    }
    for (const eventId of recent) await storage.inbox.record('hr', eventId, { now: after(60_000) });

    expect(await storage.inbox.prune(after(30_000))).toBe(7);

    // Pruned entries are new again; recent ones are still seen.
    expect(await storage.inbox.seen('hr', 'old/0')).toBe(false);
    expect(await storage.inbox.seen('graph', 'old/1')).toBe(false);
    for (const eventId of recent) expect(await storage.inbox.seen('hr', eventId)).toBe(true);
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
      await expect(storage.inbox.seen('hr', 'evt-503')).rejects.toThrow(/Could not look up event/);
      // One try and one retry: the SDK's default (3 retries, seconds apart) would make it 4.
      expect(requests).toBe(2);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
