/**
 * A stored snapshot that does not parse is never served: the API process keeps the last good one,
 * reports the experiment in `expflow_snapshot_invalid`, and takes the next valid one. Real Redis.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SnapshotCache } from '../../api/snapshot-cache.js';
import { experimentConfigSchema } from '../../domain/experiment/config.js';
import { buildSnapshot, initialSegments, type ExperimentDefinition } from '../../domain/experiment/snapshot.js';
import { InvalidStoredDataError } from '../../infra/errors.js';
import { createApiMetrics } from '../../infra/metrics.js';
import { createRedis } from '../../infra/redis.js';
import { RedisSubscriber } from '../../infra/redis-subscriber.js';
import { SNAPSHOT_CHANNEL, deleteSnapshot, loadSnapshot, publishSnapshot } from '../../infra/snapshot-store.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

const config = testConfig();
const redis = createRedis(config.redisUrl);
const caches: SnapshotCache[] = [];
const subscribers = [RedisSubscriber.connect(config.redisUrl), RedisSubscriber.connect(config.redisUrl)];
afterAll(async () => {
  // Other suites' API processes read every stored snapshot: leave no invalid one behind.
  await deleteSnapshot(redis, key);
  for (const c of caches) await c.stop();
  for (const s of subscribers) s.close();
  redis.disconnect();
});

const key = `cache-${uniqueSuffix()}`;
const def: ExperimentDefinition = {
  key,
  seed: 'seed',
  hashVersion: 1,
  variants: [
    { key: 'control', isControl: true, weight: 0.5 },
    { key: 'b', isControl: false, weight: 0.5 },
  ],
  config: experimentConfigSchema.parse({ metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }] }),
};
const snapshot = (version: number) =>
  buildSnapshot(def, { version, cycle: version, phase: 'running', segments: initialSegments(def), segmentFeatures: [], reason: `v${version}`, now: new Date().toISOString() });
const storeRaw = (raw: string) => redis.set(`expflow:snapshot:${key}`, raw);

async function startedCache(i: number): Promise<SnapshotCache> {
  const subscriber = subscribers[i];
  if (!subscriber) throw new Error(`no subscriber ${i}`);
  const cache = new SnapshotCache(redis, subscriber, 3_600_000);
  caches.push(cache);
  await cache.start();
  return cache;
}

describe('SnapshotCache with an invalid stored snapshot', () => {
  it('keeps serving the last good snapshot, reports the invalid one, and takes the next valid one', async () => {
    await publishSnapshot(redis, snapshot(1), { replace: true });
    const cache = await startedCache(0);
    expect(cache.get(key)?.snapshot.version).toBe(1);

    await storeRaw(JSON.stringify({ ...snapshot(2), segments: 'oops' }));
    await cache.refresh(key);
    expect(cache.get(key)?.snapshot.version).toBe(1);
    expect(cache.invalid().find((s) => s.experimentKey === key)).toMatchObject({ reason: expect.stringMatching(/^segments: /), reads: 1 });
    await cache.refreshAll();
    expect(cache.invalid().find((s) => s.experimentKey === key)?.reads).toBe(2);

    await storeRaw('{"version":3,');
    await cache.refresh(key);
    expect(cache.invalid().find((s) => s.experimentKey === key)).toMatchObject({ reason: 'not JSON', reads: 1 });
    await expect(loadSnapshot(redis, key)).rejects.toBeInstanceOf(InvalidStoredDataError);

    const metrics = createApiMetrics({ snapshots: () => cache.snapshots(), invalidSnapshots: () => cache.invalid() });
    expect(await metrics.registry.metrics()).toContain(`expflow_snapshot_invalid{experiment="${key}"} 1`);

    await publishSnapshot(redis, snapshot(4), { replace: true });
    await cache.refresh(key);
    expect(cache.get(key)?.snapshot.version).toBe(4);
    expect(cache.invalid().some((s) => s.experimentKey === key)).toBe(false);
    expect(await metrics.registry.metrics()).not.toContain(`expflow_snapshot_invalid{experiment="${key}"}`);
  });

  it('a process started while the stored snapshot is invalid does not serve the experiment', async () => {
    await storeRaw(JSON.stringify({ ...snapshot(5), variants: [{ key: 1 }] }));
    const cache = await startedCache(1);
    expect(cache.has(key)).toBe(false);
    expect(cache.invalid().find((s) => s.experimentKey === key)?.reason).toMatch(/^variants\.0\.key: /);
  });
});

describe('SnapshotCache when Redis goes away after an announcement', () => {
  it('does not leave the failed read as an unhandled rejection (which ends an API process)', async () => {
    // Announcements arrive on the shared Redis; snapshots are read from a private one the test stops.
    const store = await PrivateRedis.start();
    const storeConn = createRedis(store.url);
    const subscriber = RedisSubscriber.connect(config.redisUrl);
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const cache = new SnapshotCache(storeConn, subscriber, 3_600_000);
      let reads = 0;
      const refresh = cache.refresh.bind(cache);
      cache.refresh = (k) => (reads++, refresh(k));
      await cache.start();
      await store.down();
      await redis.publish(SNAPSHOT_CHANNEL, `absent-${uniqueSuffix()}:1`);
      await waitFor(async () => reads >= 1, { what: 'the announcement read' });
      // Commands on one connection fail in order: once this one has, the announcement's read has too.
      await expect(storeConn.get('probe')).rejects.toThrow();
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
      await cache.stop();
    } finally {
      process.off('unhandledRejection', onUnhandled);
      subscriber.close();
      storeConn.disconnect();
      await store.down();
    }
  }, 60_000);
});
