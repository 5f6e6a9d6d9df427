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
import { ExperimentsService } from './api/experiments-service.js';
import { ModelComparisons } from './api/model-comparisons.js';
import { loadConfig, type Config } from './config.js';
import { createIngestWorker } from './infra/ingest-worker.js';
import { ensureMaintenanceSchedule } from './infra/maintenance-schedule.js';
import { createPool } from './infra/pg.js';
import { createPrisma } from './infra/prisma.js';
import { createQueues, type NotificationJob } from './infra/queues.js';
import { createRedis } from './infra/redis.js';
import { deliverNotification } from './infra/webhook-delivery.js';
import { instrumentActivities, startWorkerObservability, writtenOf } from './worker-observability.js';

/** What the storage maintenance schedule runs with: this worker's retentions and dedupe window. */
function maintenanceInput(config: Config) {
  return {
    retentionDays: config.events.retentionDays,
    daysAhead: 3,
    dedupeWindowSeconds: config.events.dedupeWindowSeconds,
    signalRetentionDays: config.contextSignalRetentionDays,
  };
}

export interface RunningWorker {
  /** Resolves when the Temporal worker stops. */
  done: Promise<void>;
  /** The worker's own Prometheus endpoint. */
  metricsUrl: string | null;
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
  const queues = createQueues(bull, { eventsQueue: config.events.queue, notificationsQueue: config.notificationsQueue });
  const clientConnection = await Connection.connect({ address: config.temporalAddress });
  const observability = await startWorkerObservability({
    queues,
    port: config.workerMetricsPort,
    host: config.workerMetricsHost,
    scanIntervalMs: config.alerts.scanIntervalMs,
    scan: { prisma, queues, temporal: new Client({ connection: clientConnection, namespace: config.temporalNamespace }), thresholds: config.alerts, opsWebhookUrl: config.alerts.webhookUrl },
  });
  const { metrics } = observability;

  const ingest = createIngestWorker(config, pool);
  ingest.on('completed', (job, result) => {
    const written = typeof result === 'number' || (result && typeof (result as { written?: unknown }).written === 'number') ? writtenOf(result as number | { written: number }) : job.data.items.length;
    const exposuresWritten = (result as { exposuresWritten?: Array<{ experiment: string; variant: string; n: number }> } | null)?.exposuresWritten;
    metrics.ingested(job.data, written, (Date.now() - job.timestamp) / 1000, exposuresWritten);
  });
  const notifier = new QueueWorker<NotificationJob>(
    config.notificationsQueue,
    async (job) => {
      const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const kind = String(job.data.body.type ?? 'unknown');
      try {
        await deliverNotification(prisma, job.data, { finalAttempt, webhookSecret: config.webhookSecret, smtpUrl: config.smtpUrl, smtpFrom: config.smtpFrom });
        metrics.notification('delivered', kind);
      } catch (e) {
        metrics.notification(finalAttempt ? 'failed' : 'retrying', kind);
        throw e;
      }
    },
    // A worker that dies mid-delivery leaves its job stalled; BullMQ's default (1 stall allowed) failed
    // a notification for good when a second worker died holding it. Redeliveries carry the same key.
    { connection: createRedis(config.redisUrl, { forBullmq: true }), concurrency: 4, lockDuration: config.notificationsLockMs, stalledInterval: config.notificationsLockMs, maxStalledCount: 3 },
  );
  for (const w of [ingest, notifier]) {
    w.on('failed', (job, err) => console.error(`[worker] ${w.name} job ${job?.id} failed: ${err.message}`));
    // Connection errors surface here while Redis is away; BullMQ reconnects, so only log them.
    w.on('error', (err) => console.error(`[worker] ${w.name}: ${err.message}`));
  }

  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const taskQueue = opts.taskQueue ?? config.taskQueue;
  // The training platform's steps start comparisons (experiments) and signal retraining runs.
  const temporal = new Client({ connection: clientConnection, namespace: config.temporalNamespace });
  const experiments = new ExperimentsService({ prisma, redis, temporal, taskQueue, analyticsTaskQueue: config.analyticsTaskQueue !== taskQueue ? config.analyticsTaskQueue : undefined });
  const training = { temporal, comparisons: new ModelComparisons(prisma, experiments) };
  const activities = instrumentActivities(withHeartbeats(createActivities({ prisma, pool, redis, queues, evaluationDataDir: config.evaluationDataDir, webhookSecret: config.webhookSecret, training, contextSources: config.contextSources })), metrics);
  const workers = [
    await TemporalWorker.create({
      connection,
      namespace: config.temporalNamespace,
      taskQueue,
      // index.ts from a checkout (tsx), index.js from the build in dist/.
      workflowsPath: fileURLToPath(new URL(`./workflows/index.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url)),
      activities,
      ...config.workerTuning,
    }),
  ];
  // A separate analytics queue gets its own activity-only worker (in production, its own pool:
  // run this process with WORKER_ROLE=analytics on bigger machines).
  if (config.analyticsTaskQueue !== taskQueue) {
    // Its activity settings only (config.workerTuning holds just the variables that were set).
    const activityTuning = Object.fromEntries(Object.entries(config.workerTuning).filter(([k]) => k.includes('Activit')));
    workers.push(await TemporalWorker.create({ connection, namespace: config.temporalNamespace, taskQueue: config.analyticsTaskQueue, activities, ...activityTuning }));
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
    metricsUrl: observability.metricsUrl,
    async close() {
      for (const w of workers) w.shutdown();
      await done.catch(() => {});
      await observability.close();
      await clientConnection.close();
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
