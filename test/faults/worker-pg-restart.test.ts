/**
 * A Postgres restart (here: every backend of the worker terminated while its pools sit idle) must
 * not kill the worker process: it reconnects and keeps ingesting.
 */
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../infra/redis.js';
import type { EventsJob } from '../../infra/queues.js';
import { kill, spawnWorker, type Child } from '../helpers/processes.js';
import { testConfig, uniqueSuffix, waitFor } from '../helpers/services.js';

const config = testConfig();
const appName = `expflow-worker-${uniqueSuffix()}`;
const db = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
const bull = createRedis(config.redisUrl, { forBullmq: true });
const queue = new Queue<EventsJob>(config.events.queue, { connection: bull });
const key = `pgr-${uniqueSuffix()}`;
let worker: Child;

const event = (eventId: string) => ({ eventId, experiment: key, unitId: 'u1', name: 'purchase', value: 1, timestamp: new Date().toISOString(), context: {} });
const stored = async (eventId: string) =>
  (await db.query(`SELECT 1 FROM "Event" e JOIN "Experiment" x ON x.id = e."experimentId" WHERE x.key = $1 AND e."eventId" = $2`, [key, eventId])).rowCount;

beforeAll(async () => {
  await db.query(`INSERT INTO "Experiment" (id, key, name, kind, config, owner, "updatedAt") VALUES (gen_random_uuid(), $1, 'pg restart', 'ab', '{}', 'tests', now())`, [key]);
  const sep = config.databaseUrl.includes('?') ? '&' : '?';
  worker = await spawnWorker(config, { DATABASE_URL: `${config.databaseUrl}${sep}application_name=${appName}` });
});
afterAll(async () => {
  await kill(worker);
  await queue.close();
  bull.disconnect();
  await db.end();
});

describe('worker across a Postgres restart', () => {
  it('survives its idle connections being terminated and keeps writing events', async () => {
    await queue.add('events', { kind: 'events', items: [event('before')] });
    await waitFor(() => stored('before'), { what: 'first event stored' });

    for (let round = 0; round < 3; round++) {
      const killed = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [appName]);
      expect(killed.rowCount).toBeGreaterThan(0);
      await queue.add('events', { kind: 'events', items: [event(`after-${round}`)] });
      await waitFor(() => stored(`after-${round}`), { what: `event after restart ${round}`, timeoutMs: 20_000 });
      expect(worker.alive(), worker.output()).toBe(true);
    }
  });
});
