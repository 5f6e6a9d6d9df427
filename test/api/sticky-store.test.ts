/** The batched stickiness store on real Redis: first writer wins, within a batch and across batches. */
import { afterAll, describe, expect, it } from 'vitest';
import { StickyStore, decodeSticky, encodeSticky } from '../../api/sticky-store.js';
import { createRedis } from '../../infra/redis.js';
import { testConfig, uniqueSuffix } from '../helpers/services.js';

const redis = createRedis(testConfig().redisUrl);
afterAll(() => redis.disconnect());

describe('StickyStore', () => {
  it('stores the first value for a unit and returns it to every later caller', async () => {
    const store = new StickyStore(redis);
    const exp = `sticky-${uniqueSuffix()}`;
    // 50 concurrent callers for one unit land in one batch: exactly one stores.
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.getOrSet(exp, 'u1', `v${i}`)));
    expect(results.filter((r) => r === null)).toHaveLength(1);
    const winner = `v${results.indexOf(null)}`;
    expect(results.filter((r) => r !== null).every((r) => r === winner)).toBe(true);
    // A later batch sees the stored value too, and other units are independent.
    expect(await store.getOrSet(exp, 'u1', 'late')).toBe(winner);
    expect(await store.getOrSet(exp, 'u2', 'x')).toBeNull();
    expect(await store.get(exp, 'u2')).toBe('x');
  });

  it('keeps experiments apart in one batch', async () => {
    const store = new StickyStore(redis);
    const [a, b] = [`sticky-a-${uniqueSuffix()}`, `sticky-b-${uniqueSuffix()}`];
    const [ra, rb] = await Promise.all([store.getOrSet(a, 'u', 'A'), store.getOrSet(b, 'u', 'B')]);
    expect([ra, rb]).toEqual([null, null]);
    expect(await store.get(a, 'u')).toBe('A');
    expect(await store.get(b, 'u')).toBe('B');
  });

  it('round-trips the compact record and still reads JSON records', () => {
    const a = { variant: 'b', propensity: 0.25, segment: 2, snapshotVersion: 17 };
    expect(decodeSticky(encodeSticky(a))).toEqual({ ...a, enrolled: true, reason: 'enrolled' });
    const legacy = { ...a, enrolled: true, reason: 'enrolled' };
    expect(decodeSticky(JSON.stringify(legacy))).toEqual(legacy);
  });
});
