/**
 * Checkpoint and subscription tables on Azurite, and createStorage's wiring and table creation.
 */
import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { SubscriptionRecord } from '../../lib/store/ports.js';
import { TABLE_NAMES, createStorage, type Storage } from '../../lib/store/table-clients.js';

const connectionString = inject('storageConnectionString');
const prefix = `s${randomBytes(6).toString('hex')}`;

describe('createStorage', () => {
  it('creates the four prefixed tables, and ensureTables is idempotent', async () => {
    const first = createStorage({ connectionString, tablePrefix: prefix });
    await first.ensureTables();
    await first.ensureTables();
    // A second instance on the same tables (another Functions worker) gets 409s, handled.
    await createStorage({ connectionString, tablePrefix: prefix }).ensureTables();

    expect(Object.values(first.tableNames).sort()).toEqual(TABLE_NAMES.map((t) => `${prefix}${t}`).sort());
    for (const name of Object.values(first.tableNames)) {
      const client = TableClient.fromConnectionString(connectionString, name, {
        allowInsecureConnection: true,
      });
      // Listing a table that does not exist fails with 404 TableNotFound.
      const page = await client.listEntities().byPage({ maxPageSize: 1 }).next();
      expect(page.done).toBe(false);
    }
  });

  it('refuses a prefix that makes an invalid table name', () => {
    expect(() => createStorage({ connectionString, tablePrefix: 'bad-prefix' })).toThrow(
      /STORAGE_TABLE_PREFIX/,
    );
  });

  it('needs a connection string, or an endpoint with a credential', () => {
    expect(() => createStorage({ tablePrefix: '' })).toThrow(/STORAGE_TABLE_ENDPOINT/);
    expect(() =>
      createStorage({ tableEndpoint: 'https://acct.table.core.windows.net', tablePrefix: '' }),
    ).toThrow(/credential/);
  });

  it('fails a summary write, not start-up, when no blob endpoint is configured', async () => {
    const credential = { getToken: () => Promise.resolve(null) };
    const storage = createStorage(
      { tableEndpoint: 'https://acct.table.core.windows.net', tablePrefix: '' },
      credential,
    );
    await expect(storage.summaries.write('run', {}, '# run')).rejects.toThrow(/STORAGE_BLOB_ENDPOINT/);
  });
});

describe('TableCheckpointStore', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = createStorage({ connectionString, tablePrefix: prefix });
    await storage.ensureTables();
  });

  it('returns null for a scope never stored', async () => {
    expect(await storage.checkpoints.get('users-never')).toBeNull();
  });

  it('puts, gets, replaces and deletes a checkpoint', async () => {
    const link = `https://graph.microsoft.com/v1.0/users/delta?$deltatoken=${'A'.repeat(10_000)}`;
    const takenAt = new Date('2024-02-03T04:05:06.789Z');
    await storage.checkpoints.put('users', link, takenAt);
    expect(await storage.checkpoints.get('users')).toEqual({
      scope: 'users',
      deltaLink: link,
      takenAt: '2024-02-03T04:05:06.789Z',
      fingerprint: null,
    });

    await storage.checkpoints.put('users', `${link}B`, new Date('2024-02-04T00:00:00.000Z'), 'abc123');
    const replaced = await storage.checkpoints.get('users');
    expect(replaced?.deltaLink).toBe(`${link}B`);
    expect(replaced?.takenAt).toBe('2024-02-04T00:00:00.000Z');
    expect(replaced?.fingerprint).toBe('abc123');

    await storage.checkpoints.delete('users');
    expect(await storage.checkpoints.get('users')).toBeNull();
    await expect(storage.checkpoints.delete('users')).resolves.toBeUndefined();
  });

  it('defaults takenAt to a valid time and keeps scopes with key-unsafe characters apart', async () => {
    await storage.checkpoints.put('users/group#1?', 'https://example.test/a');
    await storage.checkpoints.put('users/group#2?', 'https://example.test/b');
    const one = await storage.checkpoints.get('users/group#1?');
    expect(one?.deltaLink).toBe('https://example.test/a');
    expect(one?.scope).toBe('users/group#1?');
    expect(Number.isNaN(Date.parse(one?.takenAt ?? ''))).toBe(false);
    expect((await storage.checkpoints.get('users/group#2?'))?.deltaLink).toBe('https://example.test/b');
  });

  it('refuses a delta link longer than a Table string property can hold', async () => {
    await expect(storage.checkpoints.put('huge', 'x'.repeat(40_000))).rejects.toThrow(/at most 32768/);
    expect(await storage.checkpoints.get('huge')).toBeNull();
  });
});

describe('TableSubscriptionStore', () => {
  let storage: Storage;
  beforeAll(async () => {
    storage = createStorage({ connectionString, tablePrefix: prefix });
    await storage.ensureTables();
  });

  const subscription = (id: string, expirationDateTime: string): SubscriptionRecord => ({
    id,
    resource: '/users',
    changeType: 'updated,deleted',
    notificationUrl: 'https://func.example.net/api/graph-notifications',
    expirationDateTime,
    clientStateRef: 'GRAPH_CLIENT_STATE',
    updatedAt: '2024-01-01T00:00:00.000Z',
  });

  it('upserts, lists, replaces and deletes subscriptions', async () => {
    expect(await storage.subscriptions.list()).toEqual([]);
    const a = subscription('7f105c7d-2dc5-4530-97cd-4e7ae6534c07', '2024-01-20T00:00:00.000Z');
    const b = subscription('0a4e5c86-73a8-4f9b-9b1c-1b8a5f4a2e11', '2024-01-21T00:00:00.000Z');
    await storage.subscriptions.upsert(a);
    await storage.subscriptions.upsert(b);
    const byId = (list: SubscriptionRecord[]) => [...list].sort((x, y) => x.id.localeCompare(y.id));
    expect(byId(await storage.subscriptions.list())).toEqual(byId([a, b]));

    const renewed = {
      ...a,
      expirationDateTime: '2024-02-15T00:00:00.000Z',
      updatedAt: '2024-01-19T00:00:00.000Z',
    };
    await storage.subscriptions.upsert(renewed);
    expect(byId(await storage.subscriptions.list())).toEqual(byId([renewed, b]));

    await storage.subscriptions.delete(b.id);
    expect(await storage.subscriptions.list()).toEqual([renewed]);
    await expect(storage.subscriptions.delete(b.id)).resolves.toBeUndefined();
  });

  it('stores only the record fields, never extra properties a caller passes along', async () => {
    const withSecret = {
      ...subscription('sub-extra', '2024-03-01T00:00:00.000Z'),
      clientState: 'secret-value',
    };
    await storage.subscriptions.upsert(withSecret);
    const client = TableClient.fromConnectionString(connectionString, storage.tableNames.subscriptions, {
      allowInsecureConnection: true,
    });
    const row = await client.getEntity('graph', 'sub-extra');
    expect(row['clientState']).toBeUndefined();
    expect(row['clientStateRef']).toBe('GRAPH_CLIENT_STATE');
    await storage.subscriptions.delete('sub-extra');
  });
});

describe('TableDisabledAccountStore (checkpoints table, partition disabled)', () => {
  it('marks, lists with the date, and unmarks; unmarking twice is fine', async () => {
    const storage = createStorage({
      connectionString: inject('storageConnectionString'),
      tablePrefix: `dis${randomBytes(5).toString('hex')}`,
    });
    await storage.ensureTables();
    const since = new Date('2026-11-01T00:00:00.000Z');
    await storage.disabledAccounts.mark('user-1', since);
    await storage.disabledAccounts.mark('user#2', new Date('2026-11-02T00:00:00.000Z'));
    const listed = await storage.disabledAccounts.list();
    expect([...listed.keys()].sort()).toEqual(['user#2', 'user-1']);
    expect(listed.get('user-1')?.toISOString()).toBe(since.toISOString());
    // The delta checkpoint in the same table is untouched by the disabled partition.
    await storage.checkpoints.put('users', 'https://graph.example/delta?$deltatoken=x');
    await storage.disabledAccounts.unmark('user-1');
    await storage.disabledAccounts.unmark('user-1');
    expect([...(await storage.disabledAccounts.list()).keys()]).toEqual(['user#2']);
    expect((await storage.checkpoints.get('users'))?.deltaLink).toContain('deltatoken=x');
  });
});

describe('TableLeaverStore (checkpoints table, partition leavers)', () => {
  async function leaverStorage() {
    const storage = createStorage({
      connectionString: inject('storageConnectionString'),
      tablePrefix: `lv${randomBytes(5).toString('hex')}`,
    });
    await storage.ensureTables();
    return storage;
  }
  const t = (iso: string) => new Date(iso);
  /** A mark stated when it takes effect, unless told otherwise. */
  const mark = (state: 'left' | 'rehired', at: string, statedAt = at) => ({
    state,
    at: t(at),
    statedAt: t(statedAt),
  });

  it('keeps the newest HR word per person; an older event arriving late changes nothing', async () => {
    const { leavers, disabledAccounts } = await leaverStorage();
    expect(await leavers.get('user-1')).toBeNull();
    await leavers.set('user-1', mark('left', '2026-11-24T00:00:00Z'));
    expect(await leavers.get('user-1')).toEqual(mark('left', '2026-11-24T00:00:00Z'));
    // A hire from before the leave (retried for days) arrives now: the leave stands.
    const kept = await leavers.set('user-1', mark('rehired', '2026-11-20T00:00:00Z', '2026-11-26T00:00:00Z'));
    expect(kept).toEqual(mark('left', '2026-11-24T00:00:00Z'));
    // A rehire effective after the leave replaces it.
    await leavers.set('user-1', mark('rehired', '2026-11-25T00:00:00Z'));
    expect(await leavers.get('user-1')).toEqual(mark('rehired', '2026-11-25T00:00:00Z'));
    // Effective at the same time: the later statement wins; a full tie goes to the leave.
    await leavers.set('user-1', mark('left', '2026-11-25T00:00:00Z', '2026-11-24T00:00:00Z'));
    expect((await leavers.get('user-1'))?.state).toBe('rehired');
    await leavers.set('user-1', mark('left', '2026-11-25T00:00:00Z'));
    expect((await leavers.get('user-1'))?.state).toBe('left');
    expect(await leavers.get('user-2')).toBeNull();
    // Both times are kept as written (a leave effective next month, stated today).
    const stated = mark('left', '2026-12-31T00:00:00Z', '2026-11-30T08:00:00Z');
    await leavers.set('user-3', stated);
    expect(await leavers.get('user-3')).toEqual(stated);
    // Disabled-account tracking shares the table but not the partition.
    expect((await disabledAccounts.list()).size).toBe(0);
  });

  it('lists only the people marked as left', async () => {
    const { leavers } = await leaverStorage();
    await leavers.set('a', mark('left', '2026-01-01T00:00:00Z'));
    await leavers.set('b', mark('rehired', '2026-01-01T00:00:00Z'));
    await leavers.set('c', mark('left', '2026-01-02T00:00:00Z'));
    expect([...(await leavers.listLeft())].sort()).toEqual(['a', 'c']);
  });

  it('lets the newest of many concurrent writers win (conditional writes, no lost update)', async () => {
    const { leavers } = await leaverStorage();
    const marks = Array.from({ length: 12 }, (_, i) =>
      mark(i % 2 === 0 ? 'left' : 'rehired', new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()),
    );
    await Promise.all(marks.map((m) => leavers.set('racy', m)));
    expect(await leavers.get('racy')).toEqual(marks[11]);
  });
});

describe('createStorage with a tables-only connection string', () => {
  it('serves tables, and fails only when a summary is written', async () => {
    const tablesOnly = inject('storageConnectionString')
      .split(';')
      .filter((p) => !p.startsWith('BlobEndpoint='))
      .join(';');
    const storage = createStorage({
      connectionString: tablesOnly,
      tablePrefix: `to${randomBytes(5).toString('hex')}`,
    });
    await storage.ensureTables();
    await storage.checkpoints.put('users', 'https://graph.example/delta?$deltatoken=y');
    expect((await storage.checkpoints.get('users'))?.deltaLink).toContain('deltatoken=y');
    await expect(storage.summaries.write('daily/x', {}, '# x')).rejects.toThrow();
  });
});
