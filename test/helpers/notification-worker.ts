/**
 * A notifications worker in a process of its own, so a test can kill it mid-delivery. Env:
 * DATABASE_URL, REDIS_URL, QUEUE, EXPFLOW_WEBHOOK_SECRET. Short locks so a stalled job is picked up
 * again within seconds (production keeps BullMQ's defaults).
 */
import { Worker } from 'bullmq';
import { createPrisma } from '../../infra/prisma.js';
import { createRedis } from '../../infra/redis.js';
import type { NotificationJob } from '../../infra/queues.js';
import { deliverNotification } from '../../infra/webhook-delivery.js';

const prisma = createPrisma(process.env.DATABASE_URL ?? '');
const worker = new Worker<NotificationJob>(
  process.env.QUEUE ?? '',
  async (job) => deliverNotification(prisma, job.data, { finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1), webhookSecret: process.env.EXPFLOW_WEBHOOK_SECRET, timeoutMs: 60_000 }),
  { connection: createRedis(process.env.REDIS_URL ?? '', { forBullmq: true }), lockDuration: 1500, stalledInterval: 500, maxStalledCount: 2 },
);
await worker.waitUntilReady();
console.log('ready');
