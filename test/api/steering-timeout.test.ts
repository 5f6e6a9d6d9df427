/**
 * A steering update that times out says why. With a worker polling and the cycle held up (a
 * test-owned advisory lock on the experiment, which its snapshot writer takes, stalls only this
 * experiment), run-cycle answers 504 update_timeout naming the activity in flight, and the cycle
 * then completes on its own. With no worker polling, the answer is 503 worker_unavailable naming
 * the task queue (test/api/live-status.test.ts covers 14 of those at once).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/main.js';
import { abExperiment } from '../helpers/fixtures.js';
import { postJson } from '../helpers/http.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack({ steeringTimeoutMs: 10_000 });
const db = new pg.Client({ connectionString: stack.config.databaseUrl });
// An API on a task queue no worker polls.
const idleQueue = { ...testConfig(), taskQueue: `no-worker-${uniqueSuffix()}`, steeringTimeoutMs: 2_000 };
let noWorkerApi: RunningApi;

beforeAll(async () => {
  await db.connect();
  noWorkerApi = await startApi(idleQueue, 0);
});
afterAll(async () => {
  await noWorkerApi?.close();
  await db.end();
});

describe('a steering update that times out', () => {
  it('answers 504 update_timeout naming the activity when a worker polls but the cycle is held up, and the cycle completes', { timeout: 180_000 }, async () => {
    const key = `steer-slow-${uniqueSuffix()}`;
    const created = await stack.post('/experiments', abExperiment(key, { cycleIntervalSeconds: 3600 }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // The first cycle runs at start; wait for it, so the held cycle is the one run-cycle asks for.
    await waitFor(async () => ((await stack.get(`/experiments/${key}`)).body.live?.cycle ?? 0) >= 1, { what: 'first cycle', timeoutMs: 90_000 });

    const lock = new pg.Client({ connectionString: stack.config.databaseUrl });
    await lock.connect();
    let res: Awaited<ReturnType<typeof postJson>>;
    try {
      // An advisory lock assigns no transaction id: it holds back no other experiment's aggregates.
      await lock.query('BEGIN');
      await lock.query('SELECT pg_advisory_xact_lock(hashtext($1))', [created.body.id]);
      res = await postJson(`${stack.api.url}/experiments/${key}/run-cycle`, { actor: 'tests', reason: 'held' });
    } finally {
      await lock.query('COMMIT');
      await lock.end();
    }
    expect(res.status, JSON.stringify(res.body)).toBe(504);
    expect(res.body.error.code).toBe('update_timeout');
    expect(res.body.error.message).toContain(`a worker polls task queue '${stack.config.taskQueue}'`);
    expect(res.body.error.details.pending.map((p: { activity: string }) => p.activity)).toContain('runCycle');
    // Released, the cycle the request asked for completes without being asked again.
    await waitFor(async () => ((await stack.get(`/experiments/${key}`)).body.live?.cycle ?? 0) >= 2, { what: 'the held cycle completing', timeoutMs: 90_000 });
    const decisions = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "Decision" WHERE "experimentId" = $1 AND cycle = 2', [created.body.id]);
    expect(decisions.rows[0]?.n).toBe(1);
  });

  it('answers 503 worker_unavailable naming the task queue when no worker polls it', async () => {
    const key = `steer-none-${uniqueSuffix()}`;
    expect((await postJson(`${noWorkerApi.url}/experiments`, abExperiment(key))).status).toBe(201);
    const res = await postJson(`${noWorkerApi.url}/experiments/${key}/run-cycle`, { actor: 'tests', reason: 'no worker' });
    expect(res.status, JSON.stringify(res.body)).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body.error.code).toBe('worker_unavailable');
    expect(res.body.error.message).toContain(`no worker has polled task queue '${idleQueue.taskQueue}'`);
  });
});
