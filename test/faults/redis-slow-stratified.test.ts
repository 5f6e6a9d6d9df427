/**
 * A stratified experiment while Redis is slow: /assign answers each new unit its hash assignment,
 * marked degraded, once the sticky timeout passes. The unit must keep that variant: the block
 * counter's pick, arriving after the answer, must not become its sticky record. Redis writes are held
 * with CLIENT PAUSE … WRITE on a Redis of the test's own (reads still answer).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/main.js';
import { pseudonymiseUnitId } from '../../infra/unit-pseudonym.js';
import { startWorker, type RunningWorker } from '../../worker.js';
import { abExperiment } from '../helpers/fixtures.js';
import { postJson } from '../helpers/http.js';
import { recordFault } from '../helpers/fault-report.js';
import { PrivateRedis } from '../helpers/private-redis.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

const config = testConfig({ stickyTimeoutMs: 200 });
const key = `slowstrata-${uniqueSuffix()}`;
let redis: PrivateRedis;
let admin: Redis;
let api: RunningApi;
let worker: RunningWorker;

const assign = async (unitId: string, platform: string) => {
  const res = await postJson(`${api.url}/assign`, { experiment: key, unitId, context: { platform } });
  expect(res.status).toBe(200);
  return res.body as { variant: string; reason: string; degraded?: string };
};

beforeAll(async () => {
  redis = await PrivateRedis.start();
  const cfg = { ...config, redisUrl: redis.url };
  worker = await startWorker(cfg);
  api = await startApi(cfg, 0);
  admin = new Redis(redis.url);
  const body = abExperiment(key, { randomization: { type: 'stratified', strata: ['platform'] }, policy: { kind: 'fixed' }, cycleIntervalSeconds: 3600 });
  expect((await postJson(`${api.url}/experiments`, body)).status).toBe(201);
});
afterAll(async () => {
  admin?.disconnect();
  await api?.close();
  await worker?.close();
  await redis?.down();
});

describe('stratified /assign with Redis writes held', () => {
  it('keeps every unit on the variant it was answered, though its block pick came later', async () => {
    const units = Array.from({ length: 24 }, (_, i) => ({ id: `slow-${i}`, platform: i % 2 ? 'ios' : 'android' }));
    // Healthy first: a stratified answer, within the timeout.
    expect((await assign('warm-up', 'ios')).reason).toBe('stratified');

    await admin.call('CLIENT', 'PAUSE', '2500', 'WRITE');
    const first = await Promise.all(units.map((u) => assign(u.id, u.platform)));
    // The scenario happened: every answer is the degraded hash assignment.
    expect(first.map((a) => a.degraded)).toEqual(units.map(() => 'sticky_unavailable'));

    // Once the writes go through, each unit has a sticky record; it must hold the variant it was served.
    const stickyKey = `expflow:sticky:${key}`;
    const fields = units.map((u) => pseudonymiseUnitId(config.unitIdKey, u.id));
    const stored = await waitFor(async () => {
      const values = await admin.hmget(stickyKey, ...fields);
      return values.every((v) => v !== null) ? values : null;
    }, { what: 'sticky records after the pause', timeoutMs: 30_000 });
    expect(stored.map((v) => v?.split('\t')[0])).toEqual(first.map((a) => a.variant));

    const again = await Promise.all(units.map((u) => assign(u.id, u.platform)));
    const changed = again.filter((a, i) => a.variant !== first[i]?.variant).length;
    recordFault({
      fault: 'Redis writes held 2.5 s, stratified /assign',
      in: { 'new units answered degraded': first.length },
      out: { 'sticky record = variant served': stored.filter((v, i) => v?.split('\t')[0] === first[i]?.variant).length, 'served again the same': again.length - changed },
      lost: 0,
      doubled: changed,
      seconds: 3,
    });
    expect(again.map((a) => a.reason)).toEqual(units.map(() => 'sticky'));
    expect(again.map((a) => a.variant)).toEqual(first.map((a) => a.variant));
  });
});
