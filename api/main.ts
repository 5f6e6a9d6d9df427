/** Boots an API process: caches, queues, Temporal client and the HTTP server. */
import { Client, Connection } from '@temporalio/client';
import type { Server } from 'node:http';
import { loadConfig, type Config } from '../config.js';
import { createPrisma } from '../infra/prisma.js';
import { createQueues } from '../infra/queues.js';
import { createRedis } from '../infra/redis.js';
import { createApp } from './app.js';
import { AssignService } from './assign-service.js';
import { EventsIngress } from './events-ingress.js';
import { ExperimentsService } from './experiments-service.js';
import { ExposureLog } from './exposure-log.js';
import { ModelsService } from './models-service.js';
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

export interface RunningApi {
  server: Server;
  url: string;
  cache: SnapshotCache;
  /** The current context signals this process serves (tests wait on it after POST /context). */
  contextCache: ContextCache;
  close(): Promise<void>;
}

export async function startApi(config: Config = loadConfig(), port = config.apiPort): Promise<RunningApi> {
  const prisma = createPrisma(config.databaseUrl);
  // Auto-pipelining batches the sticky lookups of concurrent requests into one round trip.
  const redis = createRedis(config.redisUrl);
  redis.options.enableAutoPipelining = true;
  const subscriber = createRedis(config.redisUrl);
  const contextSubscriber = createRedis(config.redisUrl);
  const queueConn = createRedis(config.redisUrl, { forBullmq: true });
  const queues = createQueues(queueConn, { eventsQueue: config.events.queue });
  // Exposures have their own fail-fast connection: while Redis is down they go to the spool at once.
  const exposureConn = createRedis(config.redisUrl, { forBullmq: true, failFast: true });
  exposureConn.on('error', () => {}); // reconnects on its own; failures surface as spooled sends
  const exposureQueues = createQueues(exposureConn, { eventsQueue: config.events.queue });
  const pool = createPool(config.databaseUrl, 4);
  const connection = await Connection.connect({ address: config.temporalAddress });
  const temporal = new Client({ connection, namespace: config.temporalNamespace });

  const cache = new SnapshotCache(redis, subscriber);
  await cache.start();
  const contextCache = new ContextCache(redis, contextSubscriber);
  await contextCache.start();
  const edge = new UnitEdge(config.unitIdKey, config.contextPolicy, contextCache);
  const exposures = new ExposureLog(exposureQueues.events, { spoolDir: config.exposureSpoolDir });
  exposures.start();
  const experiments = new ExperimentsService({ prisma, redis, temporal, taskQueue: config.taskQueue,
    analyticsTaskQueue: config.analyticsTaskQueue !== config.taskQueue ? config.analyticsTaskQueue : undefined,
    onSnapshot: (s) => cache.offer(s) });
  const events = new EventsIngress(queues.events, (k) => cache.has(k), {
    maxBatch: config.events.maxBatch,
    maxQueueDepth: config.events.maxQueueDepth,
    retentionDays: config.events.retentionDays,
  }, edge);
  const models = new ModelsService(prisma, experiments);
  const context = new ContextService({ prisma, pool, redis, temporal, taskQueue: config.taskQueue });
  const units = new UnitsService({ prisma, pool, redis, queues, unitIdKey: config.unitIdKey, unitIdKeyPrevious: config.unitIdKeyPrevious, flushExposures: () => exposures.flush() });
  const metrics = config.metricsEnabled ? createApiMetrics({ snapshots: () => cache.snapshots() }) : undefined;
  const reports = new ReportService(prisma, pool, redis, { temporalUiUrl: config.temporalUiUrl, namespace: config.temporalNamespace, cellsTtlMs: config.reportCacheSeconds * 1000 });
  const observe = { reports, prisma, metrics, temporalUiUrl: config.temporalUiUrl, namespace: config.temporalNamespace };
  const evaluations = new EvaluationsService({ prisma, pool, temporal, taskQueue: config.taskQueue, evaluationDataDir: config.evaluationDataDir });
  const app = createApp({ experiments, events, eventsQueue: queues.events, pool, models, context, units, pseudonymise: edge.pseudonymise, evaluations, apiToken: config.apiToken, observe });
  const server = createApiServer(app, new AssignService(cache, redis, exposures, edge), metrics);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(port, config.apiHost, resolve));
  const addr = server.address();
  const url = `http://${config.apiHost}:${typeof addr === 'object' && addr ? addr.port : port}`;

  return {
    server,
    url,
    cache,
    contextCache,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await exposures.stop();
      await cache.stop();
      await contextCache.stop();
      await queues.close();
      await exposureQueues.close();
      await connection.close();
      await prisma.$disconnect();
      await pool.end();
      for (const r of [redis, subscriber, contextSubscriber, queueConn, exposureConn]) r.disconnect();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const api = await startApi();
  console.log(`[api] listening on ${api.url}`);
  const shutdown = async () => {
    await api.close();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
