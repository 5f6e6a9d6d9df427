/**
 * The worker process: the Temporal worker (experiment workflows and their activities) plus the
 * BullMQ workers that ingest events and deliver notifications. Stateless: run as many as needed.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker as TemporalWorker } from '@temporalio/worker';
import { Worker as QueueWorker } from 'bullmq';
import { fileURLToPath } from 'node:url';
import { withHeartbeats } from './activities/heartbeat.js';
import { createActivities } from './activities/index.js';
import { loadConfig, type Config } from './config.js';
import { createIngestWorker } from './infra/ingest-worker.js';
import { ensureMaintenanceSchedule } from './infra/maintenance-schedule.js';
import { createPool } from './infra/pg.js';
import { createPrisma } from './infra/prisma.js';
import { NOTIFICATIONS_QUEUE, createQueues, type NotificationJob } from './infra/queues.js';
import { createRedis } from './infra/redis.js';
import { deliverNotification } from './infra/webhook-delivery.js';

/** What the storage maintenance schedule runs with: this worker's retention and dedupe window. */
function maintenanceInput(config: Config) {
  return { retentionDays: config.events.retentionDays, daysAhead: 3, dedupeWindowSeconds: config.events.dedupeWindowSeconds };
}

export interface RunningWorker {
  /** Resolves when the Temporal worker stops. */
  done: Promise<void>;
  close(): Promise<void>;
}

let runtimeInstalled = false;

/** Quiet the SDK's INFO chatter (bundle stats, state changes) unless TEMPORAL_LOG_LEVEL asks. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    const level = (process.env.TEMPORAL_LOG_LEVEL ?? 'WARN') as 'WARN';
    Runtime.install({ logger: new DefaultLogger(level) });
  } catch {
    // Already installed by the host process (e.g. a test harness); keep its logger.
  }
}

export async function startWorker(config: Config = loadConfig(), opts: { taskQueue?: string } = {}): Promise<RunningWorker> {
  installRuntime();
  const prisma = createPrisma(config.databaseUrl);
  const pool = createPool(config.databaseUrl);
  const redis = createRedis(config.redisUrl);
  const bull = createRedis(config.redisUrl, { forBullmq: true });
  const queues = createQueues(bull, { eventsQueue: config.events.queue });

  const ingest = createIngestWorker(config, pool);
  const notifier = new QueueWorker<NotificationJob>(
    NOTIFICATIONS_QUEUE,
    async (job) =>
      deliverNotification(prisma, job.data, {
        finalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        webhookSecret: config.webhookSecret,
        smtpUrl: config.smtpUrl,
        smtpFrom: config.smtpFrom,
      }),
    { connection: createRedis(config.redisUrl, { forBullmq: true }), concurrency: 4 },
  );
  for (const w of [ingest, notifier]) {
    w.on('failed', (job, err) => console.error(`[worker] ${w.name} job ${job?.id} failed: ${err.message}`));
    // Connection errors surface here while Redis is away; BullMQ reconnects, so only log them.
    w.on('error', (err) => console.error(`[worker] ${w.name}: ${err.message}`));
  }

  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const activities = withHeartbeats(createActivities({ prisma, pool, redis, queues }));
  const taskQueue = opts.taskQueue ?? config.taskQueue;
  const workers = [
    await TemporalWorker.create({
      connection,
      namespace: config.temporalNamespace,
      taskQueue,
      // index.ts from a checkout (tsx), index.js from the build in dist/.
      workflowsPath: fileURLToPath(new URL(`./workflows/index.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url)),
      activities,
    }),
  ];
  // A separate analytics queue gets its own activity-only worker (in production, its own pool:
  // run this process with WORKER_ROLE=analytics on bigger machines).
  if (config.analyticsTaskQueue !== taskQueue) {
    workers.push(await TemporalWorker.create({ connection, namespace: config.temporalNamespace, taskQueue: config.analyticsTaskQueue, activities }));
  }
  const done = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  if (config.maintenanceSchedule) {
    // A worker that cannot create the schedule still serves its queues; the next start retries.
    try {
      const client = new Client({ connection: await Connection.connect({ address: config.temporalAddress }), namespace: config.temporalNamespace });
      await ensureMaintenanceSchedule(client, { taskQueue, input: maintenanceInput(config) });
      await client.connection.close();
    } catch (e) {
      console.error(`[worker] could not create the storage maintenance schedule: ${(e as Error).message}`);
    }
  }

  return {
    done,
    async close() {
      for (const w of workers) w.shutdown();
      await done.catch(() => {});
      await Promise.all([ingest.close(), notifier.close()]);
      await queues.close();
      await connection.close();
      await prisma.$disconnect();
      await pool.end();
      redis.disconnect();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const w = await startWorker();
  console.log('[worker] running');
  const shutdown = async () => {
    await w.close();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  await w.done;
}
