/**
 * A Postgres restart (here: every backend of the worker terminated while its pools sit idle) must
 * not kill the worker process: it reconnects and keeps ingesting.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../infra/redis.js';
import { createQueues } from '../../infra/queues.js';
import { recordFault } from '../helpers/fault-report.js';
import { kill, spawnWorker, type Child } from '../helpers/processes.js';
import { insertExperiment } from '../helpers/seed-data.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

// An events queue of its own: on the shared default queue another file's worker could write the
// events, leaving this worker without a backend to terminate.
const base = testConfig();
const config = testConfig({ events: { ...base.events, queue: `pgr-events-${uniqueSuffix()}` } });
const appName = `expflow-worker-${uniqueSuffix()}`;
const db = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
const bull = createRedis(config.redisUrl, { forBullmq: true });
// The API's queue options (12 attempts with backoff): a job with one attempt is dead-lettered on its first error.
const queues = createQueues(bull, { eventsQueue: config.events.queue });
const queue = queues.events;
const key = `pgr-${uniqueSuffix()}`;
let worker: Child;

const event = (eventId: string) => ({ eventId, experiment: key, unitId: 'u1', name: 'purchase', value: 1, timestamp: new Date().toISOString(), context: {} });
const stored = async (eventId: string) =>
  (await db.query(`SELECT 1 FROM "Event" e JOIN "Experiment" x ON x.id = e."experimentId" WHERE x.key = $1 AND e."eventId" = $2`, [key, eventId])).rowCount;

beforeAll(async () => {
  await insertExperiment(db, key);
  const sep = config.databaseUrl.includes('?') ? '&' : '?';
  worker = await spawnWorker(config, { DATABASE_URL: `${config.databaseUrl}${sep}application_name=${appName}` });
});
afterAll(async () => {
  await kill(worker);
  await queues.close();
  bull.disconnect();
  await db.end();
});

describe('worker across a Postgres restart', () => {
  it('survives its idle connections being terminated and keeps writing events', async () => {
    const t0 = Date.now();
    for (let round = 0; round < 3; round++) {
      // Written just now, so the worker's pool holds connections (idle ones close after 10 s).
      await queue.add('events', { kind: 'events', items: [event(`before-${round}`)] });
      await waitFor(() => stored(`before-${round}`), { what: `event before restart ${round}` });
      const killed = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [appName]);
      expect(killed.rowCount).toBeGreaterThan(0);
      await queue.add('events', { kind: 'events', items: [event(`after-${round}`)] });
      await waitFor(() => stored(`after-${round}`), { what: `event after restart ${round}`, timeoutMs: 20_000 }).catch(async (e: Error) => {
        throw new Error(`${e.message} ${JSON.stringify(await queue.getJobCounts())}\nworker:\n${worker.output().slice(-3000)}`);
      });
      expect(worker.alive(), worker.output()).toBe(true);
    }
    const rows = Number((await db.query(`SELECT count(*) AS n FROM "Event" e JOIN "Experiment" x ON x.id = e."experimentId" WHERE x.key = $1`, [key])).rows[0].n);
    recordFault({
      fault: "worker's Postgres backends terminated ×3",
      in: { 'events queued': 6 },
      out: { 'Event rows': rows, 'worker alive': worker.alive() ? 'yes' : 'no' },
      lost: Math.max(0, 6 - rows),
      doubled: Math.max(0, rows - 6),
      seconds: Math.round((Date.now() - t0) / 1000),
    });
    expect(rows).toBe(6);
  });
});
