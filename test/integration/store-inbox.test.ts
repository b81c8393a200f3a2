/**
 * TableInboxStore on Azurite: insert-only dedupe, re-accept after a window, races, odd keys.
 */
import { randomBytes } from 'node:crypto';
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

describe('TableInboxStore.accept', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = await freshStorage();
  });

  it('accepts an event once and reports the duplicate as seen', async () => {
    const eventId = id();
    expect(await storage.inbox.accept('hr', eventId)).toBe(true);
    expect(await storage.inbox.accept('hr', eventId)).toBe(false);
    // The same id from another source is another event.
    expect(await storage.inbox.accept('graph', eventId)).toBe(true);
  });

  it('re-accepts only once the window has passed, and the window restarts', async () => {
    const eventId = id();
    const window = { reacceptAfterMs: 5_000 };
    expect(await storage.inbox.accept('graph', eventId, { ...window, now: T0 })).toBe(true);
    expect(await storage.inbox.accept('graph', eventId, { ...window, now: after(1_000) })).toBe(false);
    expect(await storage.inbox.accept('graph', eventId, { ...window, now: after(4_999) })).toBe(false);
    expect(await storage.inbox.accept('graph', eventId, { ...window, now: after(6_000) })).toBe(true);
    expect(await storage.inbox.accept('graph', eventId, { ...window, now: after(6_001) })).toBe(false);
    expect(await storage.inbox.accept('graph', eventId, { ...window, now: after(11_000) })).toBe(true);
  });

  it('without a window, an old entry stays seen', async () => {
    const eventId = id();
    expect(await storage.inbox.accept('hr', eventId, { now: T0 })).toBe(true);
    expect(await storage.inbox.accept('hr', eventId, { now: after(86_400_000) })).toBe(false);
  });

  it('gives exactly one true to concurrent accepts of the same event', async () => {
    const eventId = id();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => storage.inbox.accept('graph', eventId, { detail: { n: '1' } })),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('gives exactly one true to concurrent re-accepts after the window', async () => {
    const eventId = id();
    expect(await storage.inbox.accept('graph', eventId, { now: T0 })).toBe(true);
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        storage.inbox.accept('graph', eventId, { reacceptAfterMs: 5_000, now: after(10_000) }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('handles ids and sources with / \\ # ? and control characters as distinct keys', async () => {
    const ids = ['a/b', 'a#b', 'a?b', 'a\\b', 'a\nb', 'a\u007fb'];
    for (const eventId of ids) {
      expect(await storage.inbox.accept('src/with#odd?chars', eventId)).toBe(true);
    }
    for (const eventId of ids) {
      expect(await storage.inbox.accept('src/with#odd?chars', eventId)).toBe(false);
    }
  });

  it('never confuses a raw id with the encoded form of another', async () => {
    // 'x/y' is stored under '~' + base64url('x/y') = '~eC95'; the raw id '~eC95' must not hit it.
    expect(await storage.inbox.accept('hr', 'x/y')).toBe(true);
    expect(await storage.inbox.accept('hr', '~eC95')).toBe(true);
    expect(await storage.inbox.accept('hr', 'eC95')).toBe(true);
  });

  it('accepts very long ids (hashed keys) and still dedupes them', async () => {
    const long = `${'ü/'.repeat(2_000)}${id()}`;
    expect(await storage.inbox.accept('hr', long)).toBe(true);
    expect(await storage.inbox.accept('hr', long)).toBe(false);
    expect(await storage.inbox.accept('hr', `${long}!`)).toBe(true);
  });

  it('forgets an event so the next delivery is accepted; forgetting an unknown one is fine', async () => {
    const eventId = `forget/${id()}`;
    expect(await storage.inbox.accept('hr', eventId)).toBe(true);
    await storage.inbox.forget('hr', eventId);
    expect(await storage.inbox.accept('hr', eventId)).toBe(true);
    await expect(storage.inbox.forget('hr', 'never-seen')).resolves.toBeUndefined();
  });
});

describe('TableInboxStore.prune', () => {
  it('deletes only entries accepted before the cutoff and returns how many', async () => {
    const storage = await freshStorage();
    const old = Array.from({ length: 7 }, (_, i) => `old/${i}`);
    const recent = ['recent-1', 'recent-2'];
    for (const [i, eventId] of old.entries()) {
      await storage.inbox.accept(i % 2 === 0 ? 'hr' : 'graph', eventId, { now: after(i) });
    }
    for (const eventId of recent) await storage.inbox.accept('hr', eventId, { now: after(60_000) });

    expect(await storage.inbox.prune(after(30_000))).toBe(7);

    // Pruned entries are new again; recent ones are still seen.
    expect(await storage.inbox.accept('hr', 'old/0', { now: after(70_000) })).toBe(true);
    expect(await storage.inbox.accept('graph', 'old/1', { now: after(70_000) })).toBe(true);
    for (const eventId of recent) expect(await storage.inbox.accept('hr', eventId)).toBe(false);
    expect(await storage.inbox.prune(after(30_000))).toBe(0);
  });
});
