/** Boots an API process: caches, queues, Temporal client and the HTTP server. */
import { Client, Connection } from '@temporalio/client';
import type { Server } from 'node:http';
import { loadConfig, type Config } from '../config.js';
import { createPrisma } from '../infra/prisma.js';
import { createQueues } from '../infra/queues.js';
import { createRedis, redisReady } from '../infra/redis.js';
import { RedisSubscriber } from '../infra/redis-subscriber.js';
import { HealthChecker } from './health.js';
import { Authenticator } from './auth.js';
import { KeyStore } from './keys.js';
import { createApp } from './app.js';
import { AssignService } from './assign-service.js';
import { ExposureDrainListener, drainEveryProcess } from './exposure-drain-bus.js';
import { EventsIngress } from './events-ingress.js';
import { ExperimentsService } from './experiments-service.js';
import { ExposureLog } from './exposure-log.js';
import { ModelsService } from './models-service.js';
import { ModelComparisons } from './model-comparisons.js';
import { TrainingService } from './training-service.js';
import { trainedVersionSignal } from '../workflows/retraining.js';
import { EvaluationsService } from './evaluations-service.js';
import { createApiServer } from './server.js';
import { createPool } from '../infra/pg.js';
import { createApiMetrics } from '../infra/metrics.js';
import { ReportService } from './report-service.js';
import { SnapshotCache } from './snapshot-cache.js';
import { ContextCache } from './context-cache.js';
import { ContextService } from './context-service.js';
import { UnitEdge } from './unit-edge.js';
import { UnitsService } from './units-service.js';
import { boundedInterceptors } from './temporal-rpc.js';

export interface RunningApi {
  server: Server;
  url: string;
  cache: SnapshotCache;
  /** The current context signals this process serves (tests wait on it after POST /context). */
  contextCache: ContextCache;
  /** Whether any API key (or API_TOKEN) existed at start; without one only loopback is served. */
  keysConfigured: boolean;
  close(graceMs?: number): Promise<void>;
}

export async function startApi(config: Config = loadConfig(), port = config.apiPort): Promise<RunningApi> {
  const prisma = createPrisma(config.databaseUrl);
  // Auto-pipelining batches the sticky lookups of concurrent requests into one round trip.
  const redis = createRedis(config.redisUrl);
  redis.options.enableAutoPipelining = true;
  // One pub/sub connection for the snapshot cache, the context cache and the exposure drain bus.
  const subscriber = RedisSubscriber.connect(config.redisUrl);
  // The request path's own connection: fails fast while Redis is away instead of queueing commands
  // that would run (and write) after the caller was answered.
  const stickyRedis = createRedis(config.redisUrl, { failFast: true });
  stickyRedis.options.enableAutoPipelining = true;
  await redisReady(stickyRedis);
  const queueConn = createRedis(config.redisUrl, { forBullmq: true });
  const queues = createQueues(queueConn, { eventsQueue: config.events.queue, notificationsQueue: config.notificationsQueue });
  // Exposures have their own fail-fast connection: while Redis is down they go to the spool at once.
  const exposureConn = createRedis(config.redisUrl, { forBullmq: true, failFast: true });
  exposureConn.on('error', () => {}); // reconnects on its own; failures surface as spooled sends
  const exposureQueues = createQueues(exposureConn, { eventsQueue: config.events.queue, notificationsQueue: config.notificationsQueue });
  const pool = createPool(config.databaseUrl, 4);
  const connection = await Connection.connect({ address: config.temporalAddress, interceptors: boundedInterceptors(config.temporalRpcTimeoutMs) });
  const temporal = new Client({ connection, namespace: config.temporalNamespace });

  const cache = new SnapshotCache(redis, subscriber);
  await cache.start();
  const contextCache = new ContextCache(redis, subscriber);
  await contextCache.start();
  const edge = new UnitEdge(config.unitIdKey, config.contextPolicy, contextCache, config.unitIdKeyPrevious);
  const exposures = new ExposureLog(exposureQueues.events, { spoolDir: config.exposureSpoolDir, intervalMs: config.exposureFlushIntervalMs });
  exposures.start();
  const experiments = new ExperimentsService({ prisma, redis, temporal, taskQueue: config.taskQueue,
    analyticsTaskQueue: config.analyticsTaskQueue !== config.taskQueue ? config.analyticsTaskQueue : undefined,
    onSnapshot: (s) => cache.offer(s), steeringTimeoutMs: config.steeringTimeoutMs });
  const events = new EventsIngress(
    queues.events,
    (k) => cache.has(k),
    { maxBatch: config.events.maxBatch, maxQueueDepth: config.events.maxQueueDepth, retentionDays: config.events.retentionDays },
    edge,
    undefined,
    () => queueConn.status,
  );
  const models = new ModelsService(prisma, new ModelComparisons(prisma, experiments), async (workflowId, arrival) => {
    await temporal.workflow.getHandle(workflowId).signal(trainedVersionSignal, arrival);
  });
  const training = new TrainingService({ prisma, temporal, taskQueue: config.taskQueue });
  const context = new ContextService({ prisma, pool, redis, temporal, taskQueue: config.taskQueue, sourceAccess: config.contextSources });
  // Erasures reach exposures buffered in every API process on this events queue, this one included.
  const drainListener = new ExposureDrainListener(redis, subscriber, config.events.queue, () => exposures.drain());
  await drainListener.start();
  const units = new UnitsService({ prisma, pool, redis, queues, edge, drainExposures: () => drainEveryProcess(redis, config.events.queue) });
  const metrics = config.metricsEnabled ? createApiMetrics({ snapshots: () => cache.snapshots(), invalidSnapshots: () => cache.invalid() }) : undefined;
  const reports = new ReportService(prisma, pool, { temporalUiUrl: config.temporalUiUrl, namespace: config.temporalNamespace, refreshAfterMs: config.reportRefreshSeconds * 1000 });
  const observe = { reports, prisma, metrics, temporalUiUrl: config.temporalUiUrl, namespace: config.temporalNamespace };
  const evaluations = new EvaluationsService({ prisma, pool, temporal, taskQueue: config.taskQueue, evaluationDataDir: config.evaluationDataDir });
  const assigner = new AssignService(cache, stickyRedis, exposures, edge, () => new Date(), config.stickyTimeoutMs);
  let draining = false;
  const health = new HealthChecker({
    prisma,
    redis,
    temporal: connection,
    notes: () => (assigner.degradedSince ? [`assign: sticky store unavailable since ${new Date(assigner.degradedSince).toISOString()}; serving hash assignments from the snapshot cache`] : []),
  });
  const keys = new KeyStore(prisma);
  const auth = new Authenticator(keys, stickyRedis, { apiToken: config.apiToken, allowedOrigins: config.allowedOrigins });
  const audit = async (actor: string, action: string, target: string, reason: string) => {
    await prisma.auditLog.create({ data: { actor, action, target, reason } });
  };
  const app = createApp({
    experiments, events, eventsQueue: queues.events, pool, models, training, context, units, pseudonymise: edge.pseudonymise, evaluations,
    apiToken: config.apiToken, observe, health, isReady: () => !draining, auth, keys, audit,
  });
  const server = createApiServer(app, assigner, auth, { draining: () => draining, metrics });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(port, config.apiHost, resolve));
  const addr = server.address();
  const url = `http://${config.apiHost}:${typeof addr === 'object' && addr ? addr.port : port}`;

  const keysConfigured = !!config.apiToken || (await keys.anyActive());
  return {
    server,
    url,
    keysConfigured,
    cache,
    contextCache,
    /**
     * Graceful stop: refuse new connections, close idle keep-alive ones now and busy ones after
     * their response (`Connection: close`), cut whatever is left at the grace deadline, then drain
     * the exposure buffer and close the clients.
     */
    async close(graceMs = config.shutdownGraceMs) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(deadline);
      await drainListener.stop();
      await exposures.stop();
      await cache.stop();
      await contextCache.stop();
      await queues.close();
      await exposureQueues.close();
      await connection.close();
      await prisma.$disconnect();
      await pool.end();
      subscriber.close();
      for (const r of [redis, queueConn, exposureConn, stickyRedis]) r.disconnect();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConfig();
  const api = await startApi(config);
  console.log(`[api] listening on ${api.url}`);
  if (!api.keysConfigured) {
    console.log('[api] no API keys configured: only loopback callers are served. Create one with `npx expflow keys create --name NAME --role admin`.');
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1); // a second signal: stop now
    stopping = true;
    console.log(`[api] ${signal}: draining (grace ${config.shutdownGraceMs} ms)`);
    // Backstop: whatever hangs (an unreachable Redis while draining exposures), exit anyway.
    setTimeout(() => {
      console.error('[api] grace period over; exiting');
      process.exit(1);
    }, config.shutdownGraceMs + 5_000).unref();
    void api.close().then(
      () => {
        console.log('[api] stopped');
        process.exit(0);
      },
      (e) => {
        console.error('[api] shutdown failed', e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
