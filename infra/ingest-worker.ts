/**
 * The BullMQ worker that drains the "events" queue into Postgres (infra/ingest.ts). Write failures
 * the data is not to blame for are thrown, so BullMQ retries the job with exponential backoff; on
 * its final attempt a batch that still fails is dead-lettered rather than left in Redis.
 */
import { Worker as QueueWorker } from 'bullmq';
import type { Pool } from 'pg';
import type { Config } from '../config.js';
import { writeJob } from './ingest.js';
import type { EventsJob } from './queues.js';
import { createRedis } from './redis.js';

export function createIngestWorker(config: Pick<Config, 'redisUrl' | 'events'>, pool: Pool, opts: { concurrency?: number } = {}): QueueWorker<EventsJob> {
  return new QueueWorker<EventsJob>(
    config.events.queue,
    async (job) =>
      writeJob(pool, job.data, {
        dedupeWindowSeconds: config.events.dedupeWindowSeconds,
        retentionDays: config.events.retentionDays,
        finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      }),
    { connection: createRedis(config.redisUrl, { forBullmq: true }), concurrency: opts.concurrency ?? 8 },
  );
}
