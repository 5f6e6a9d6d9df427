/**
 * The ingest worker SIGKILLed three times while it writes the same batch of acknowledged events
 * (the batch held inside a PostgreSQL of the test's own by a table lock the test owns). Each death
 * leaves the batch to the next worker after the lock expires; afterwards every acknowledged event is
 * in Event exactly once and no batch sits in the queue's failed set. Before: BullMQ's default of one
 * takeover moved the batch to "failed" at the second death, and its events were in neither Event
 * nor DeadLetter.
 */
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/main.js';
import type { Config } from '../../config.js';
import { createRedis } from '../../infra/redis.js';
import { postJson } from '../helpers/http.js';
import { recordFault } from '../helpers/fault-report.js';
import { PrivatePostgres } from '../helpers/private-postgres.js';
import { kill, spawnWorker, type Child } from '../helpers/processes.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

const KILLS = 3;
const EVENTS = 50;
let server: PrivatePostgres;
let config: Config;
let db: pg.Pool;
let api: RunningApi;
const workers: Child[] = [];

beforeAll(async () => {
  server = await PrivatePostgres.start();
  const base = testConfig({ databaseUrl: server.url });
  config = { ...base, events: { ...base.events, lockMs: 2_000 } };
  db = new pg.Pool({ connectionString: config.databaseUrl, max: 3 });
  api = await startApi(config, 0);
}, 180_000);
afterAll(async () => {
  for (const w of workers) await kill(w);
  await api?.close();
  await db?.end();
  await server?.destroy();
}, 120_000);

/** Backends of workers waiting on the test's lock (a killed worker's backend waits on until the lock goes). */
async function lockWaiters(): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = 'expflow'`);
  return r.rows[0]?.n ?? 0;
}

describe('ingest worker killed while writing a batch', () => {
  it('every acknowledged event is stored once after three deaths', { timeout: 360_000 }, async () => {
    const t0 = Date.now();
    const s = uniqueSuffix();
    const lock = await db.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE "Event" IN ACCESS EXCLUSIVE MODE');
    let released = false;
    try {
      const events = Array.from({ length: EVENTS }, (_, i) => ({ eventId: `${s}-${i}`, unitId: `${s}-u${i}`, name: `kill-${s}` }));
      const r = await postJson(`${api.url}/events`, events);
      expect([r.status, r.body.accepted]).toEqual([202, EVENTS]);

      for (let k = 1; k <= KILLS; k++) {
        const w = await spawnWorker(config);
        workers.push(w);
        // This worker took the batch (over) and is blocked writing it: one more backend waits.
        await waitFor(async () => (await lockWaiters()) >= k, { what: `worker ${k} blocked on the batch`, timeoutMs: 120_000 });
        await kill(w);
      }
      workers.push(await spawnWorker(config));
      await lock.query('COMMIT');
      released = true;
    } finally {
      if (!released) await lock.query('ROLLBACK').catch(() => {});
      lock.release();
    }

    const stored = await waitFor(
      async () => {
        const c = await db.query<{ n: number; d: number }>(`SELECT count(*)::int AS n, count(DISTINCT "eventId")::int AS d FROM "Event" WHERE "eventId" LIKE $1`, [`${s}-%`]);
        const row = c.rows[0];
        return row && row.n >= EVENTS ? row : null;
      },
      { what: 'every acknowledged event in Event', timeoutMs: 120_000 },
    );
    const conn = createRedis(config.redisUrl, { forBullmq: true });
    const queue = new Queue(config.events.queue, { connection: conn });
    const failed = await queue.getFailedCount();
    await queue.close();
    conn.disconnect();
    const dead = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "DeadLetter"`);
    recordFault({
      fault: `ingest worker SIGKILL x${KILLS} mid-batch`,
      in: { 'events acknowledged (202)': EVENTS, kills: KILLS },
      out: { 'Event rows': stored.n, 'distinct eventIds': stored.d, 'failed jobs': failed, 'dead letters': dead.rows[0]?.n ?? 0 },
      lost: EVENTS - stored.d,
      doubled: stored.n - stored.d,
      seconds: Math.round((Date.now() - t0) / 1000),
    });
    expect(stored).toEqual({ n: EVENTS, d: EVENTS });
    expect(failed).toBe(0);
  });
});
