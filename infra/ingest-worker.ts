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

const MAX_TAKEOVERS = 20;

export function createIngestWorker(config: Pick<Config, 'redisUrl' | 'events'>, pool: Pool, opts: { concurrency?: number } = {}): QueueWorker<EventsJob> {
  return new QueueWorker<EventsJob>(
    config.events.queue,
    async (job) =>
      writeJob(pool, job.data, {
        dedupeWindowSeconds: config.events.dedupeWindowSeconds,
        retentionDays: config.events.retentionDays,
        finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      }),
    // A batch whose worker died (or stalled past the lock) is taken over. BullMQ's default, one
    // takeover, moved a batch held by two dying workers to "failed": acknowledged events in neither
    // Event nor DeadLetter. Writing a batch again is harmless (eventId dedupe, first exposure kept).
    { connection: createRedis(config.redisUrl, { forBullmq: true }), concurrency: opts.concurrency ?? 8, lockDuration: config.events.lockMs, stalledInterval: config.events.lockMs, maxStalledCount: MAX_TAKEOVERS },
  );
}
