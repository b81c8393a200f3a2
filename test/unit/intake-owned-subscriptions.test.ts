import { describe, expect, it } from 'vitest';
import {
  OWNED_SUBSCRIPTIONS_MIN_REFRESH_MS,
  OWNED_SUBSCRIPTIONS_TTL_MS,
  OwnedSubscriptions,
  type OwnedSubscriptionRecord,
} from '../../lib/intake/index.js';

const OURS = '7f105c7d-2dc5-4530-97cd-4e7ae6534c07';
const NEW = 'a1b2c3d4-0000-4000-8000-000000000001';
const GROUPS = 'b2c3d4e5-0000-4000-8000-000000000002';
const T0 = new Date('2025-03-01T10:00:00.000Z');

/** A cache over a fake table whose rows and failures the test sets, on a clock the test moves. */
function setup(rows: OwnedSubscriptionRecord[]) {
  const table = { rows, fail: false, reads: 0 };
  let now = T0.getTime();
  const stale: unknown[] = [];
  const cache = new OwnedSubscriptions({
    list: () => {
      table.reads += 1;
      return table.fail ? Promise.reject(new Error('table unavailable')) : Promise.resolve([...table.rows]);
    },
    now: () => new Date(now),
    onStaleList: (error) => stale.push(error),
  });
  return { cache, table, stale, advance: (ms: number) => (now += ms) };
}

const users = (id: string): OwnedSubscriptionRecord => ({ id, resource: '/users' });

describe('OwnedSubscriptions', () => {
  it('answers which ids are owned /users subscriptions, case-insensitively, from one read', async () => {
    const t = setup([users(OURS.toUpperCase()), { id: GROUPS, resource: '/groups' }]);
    expect(await t.cache.owned(new Set([OURS, GROUPS, NEW]))).toEqual(new Set([OURS]));
    expect(await t.cache.owned(new Set([OURS]))).toEqual(new Set([OURS]));
    expect(t.table.reads).toBe(1);
  });

  it('reads again for an id it does not know, but not more often than the minimum interval', async () => {
    const t = setup([users(OURS)]);
    await t.cache.owned(new Set([OURS]));
    // The keeper has just created a subscription.
    t.table.rows.push(users(NEW));
    expect(await t.cache.owned(new Set([NEW]))).toEqual(new Set());
    expect(t.table.reads).toBe(1);
    t.advance(OWNED_SUBSCRIPTIONS_MIN_REFRESH_MS);
    expect(await t.cache.owned(new Set([NEW]))).toEqual(new Set([NEW]));
    expect(t.table.reads).toBe(2);
    // An id that is nobody's costs at most one read per interval, however often it comes.
    for (let i = 0; i < 10; i++) await t.cache.owned(new Set(['c0c0c0c0-0000-4000-8000-000000000003']));
    expect(t.table.reads).toBe(2);
  });

  it('reads again once its list is older than the time to live, and forgets deleted subscriptions', async () => {
    const t = setup([users(OURS)]);
    await t.cache.owned(new Set([OURS]));
    t.table.rows.splice(0);
    t.advance(OWNED_SUBSCRIPTIONS_TTL_MS - 1);
    expect(await t.cache.owned(new Set([OURS]))).toEqual(new Set([OURS]));
    t.advance(1);
    expect(await t.cache.owned(new Set([OURS]))).toEqual(new Set());
    expect(t.table.reads).toBe(2);
  });

  it('shares one read between concurrent requests', async () => {
    const t = setup([users(OURS)]);
    const answers = await Promise.all(Array.from({ length: 5 }, () => t.cache.owned(new Set([OURS]))));
    expect(answers).toEqual(Array.from({ length: 5 }, () => new Set([OURS])));
    expect(t.table.reads).toBe(1);
  });

  it('throws while it has never read the table, retrying at most once per interval', async () => {
    const t = setup([users(OURS)]);
    t.table.fail = true;
    await expect(t.cache.owned(new Set([OURS]))).rejects.toThrow(
      /^Could not read the subscriptions table to check which subscriptions the app owns$/,
    );
    await expect(t.cache.owned(new Set([OURS]))).rejects.toThrow(/Could not read the subscriptions table/);
    expect(t.table.reads).toBe(1);
    t.table.fail = false;
    t.advance(OWNED_SUBSCRIPTIONS_MIN_REFRESH_MS);
    expect(await t.cache.owned(new Set([OURS]))).toEqual(new Set([OURS]));
  });

  it('keeps using the list it read when a later read fails, and says so', async () => {
    const t = setup([users(OURS)]);
    await t.cache.owned(new Set([OURS]));
    t.table.fail = true;
    t.advance(OWNED_SUBSCRIPTIONS_TTL_MS);
    expect(await t.cache.owned(new Set([OURS, NEW]))).toEqual(new Set([OURS]));
    expect(t.stale).toEqual([new Error('table unavailable')]);
  });
});
