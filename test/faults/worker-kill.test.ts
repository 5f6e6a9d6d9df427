/**
 * A worker killed mid-activity costs seconds, not the 5-minute start-to-close timeout: activities
 * heartbeat, and the workflow's heartbeat timeout hands the activity to another worker.
 * The activity is held mid-flight by a table lock the test owns, then its worker is SIGKILLed.
 * Runs on a Postgres of its own: the lock (held while a standby worker starts, up to a minute on a
 * loaded machine) stalled every other file's exposures and cycles on the shared test database.
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/main.js';
import type { Config } from '../../config.js';
import { abExperiment } from '../helpers/fixtures.js';
import { postJson } from '../helpers/http.js';
import { recordFault } from '../helpers/fault-report.js';
import { PrivatePostgres } from '../helpers/private-postgres.js';
import { kill, spawnWorker, type Child } from '../helpers/processes.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

let pgServer: PrivatePostgres;
let config: Config;
let db: pg.Pool;
let api: RunningApi;
let connection: Connection;
let first: Child | undefined;
let second: Child | undefined;

beforeAll(async () => {
  pgServer = await PrivatePostgres.start();
  config = testConfig({ databaseUrl: pgServer.url });
  db = new pg.Pool({ connectionString: config.databaseUrl, max: 3 });
  connection = await Connection.connect({ address: config.temporalAddress });
  api = await startApi(config, 0);
}, 180_000);
afterAll(async () => {
  await kill(first);
  await kill(second);
  await api?.close();
  await connection?.close();
  await db?.end();
  await pgServer?.destroy();
}, 60_000);

describe('worker killed mid-activity', () => {
  it('the cycle completes on another worker well within a minute', { timeout: 180_000 }, async () => {
    const key = `wkill-${uniqueSuffix()}`;
    first = await spawnWorker(config);
    expect((await postJson(`${api.url}/experiments`, abExperiment(key, { cycleIntervalSeconds: 3600 }))).status).toBe(201);
    const handle = new Client({ connection }).workflow.getHandle(`experiment-${key}`);

    // Hold the cycle's first activity inside Postgres: it reads Assignment, which the test locks.
    const lock = await db.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE "Assignment" IN ACCESS EXCLUSIVE MODE');
    const cycle = postJson(`${api.url}/experiments/${key}/run-cycle`, {});
    try {
      const running = await waitFor(async () => (await handle.describe()).raw.pendingActivities?.find((a) => a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED), {
        what: 'activity running on the first worker',
      });
      // A second worker stands by, as in any deployment with more than one.
      second = await spawnWorker(config);
      console.log(`[worker-kill] killing the worker during ${running.activityType?.name} (attempt ${running.attempt})`);
      await kill(first);
    } finally {
      await lock.query('COMMIT');
      lock.release();
    }
    const killedAt = Date.now();
    const res = await cycle;
    const recoveredMs = Date.now() - killedAt;
    recordFault({
      fault: 'worker SIGKILL mid-activity (standby worker)',
      in: { 'cycle run': 1 },
      out: { 'cycle completed': res.status === 200 ? res.body.cycle : `HTTP ${res.status}`, 'recovery ms': recoveredMs },
      lost: res.status === 200 ? 0 : 1,
      doubled: 0,
      seconds: Math.round(recoveredMs / 1000),
    });
    expect(res.status).toBe(200);
    expect(res.body.cycle).toBeGreaterThanOrEqual(1);
    expect(recoveredMs).toBeLessThan(60_000);
    console.log(`[worker-kill] cycle completed ${recoveredMs} ms after the kill`);
  });
});
