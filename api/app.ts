/** Express app for the control plane. The assignment hot path is served in front of it (server.ts). */
import express, { type NextFunction, type Request, type Response } from 'express';
import { createExperimentSchema } from '../domain/experiment/config.js';
import { assertDepth, assertJsonContentType } from './body-limits.js';
import { ApiError, parseOrThrow, writeError } from './errors.js';
import type { ExperimentsService } from './experiments-service.js';
import {
  actorReasonSchema,
  allocationSchema,
  concludeSchema,
  eventsBatchSchema,
  experimentKeyParam,
  externalContextSchema,
  listModelsSchema,
  listQuerySchema,
  registerModelSchema,
  stopSchema,
} from './schemas.js';
import type { ModelsService } from './models-service.js';
import type { EventsIngress } from './events-ingress.js';
import type { HealthChecker } from './health.js';

export interface AppDeps {
  experiments: ExperimentsService;
  events: EventsIngress;
  models: ModelsService;
  apiToken?: string;
  health: HealthChecker;
  /** False while the process drains for shutdown. */
  isReady: () => boolean;
}

export function createApp(d: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, _res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') assertJsonContentType(req);
    next();
  });
  app.use(express.json({ limit: '2mb' }));
  app.use((req, _res, next) => {
    assertDepth(req.body);
    next();
  });

  // Optional bearer token for the control plane; assignment and events stay open to apps.
  app.use((req, _res, next) => {
    if (!d.apiToken || req.path === '/events' || req.path === '/health' || req.path === '/ready') return next();
    if (req.headers.authorization !== `Bearer ${d.apiToken}`) throw new ApiError(401, 'unauthorized', 'authorization: missing or wrong bearer token');
    next();
  });

  const keyOf = (req: Request) => parseOrThrow(experimentKeyParam, req.params.key, 'key');
  const actorOf = (req: Request, body: { actor?: string }) => body.actor ?? (req.headers['x-actor'] as string | undefined) ?? 'api';

  // Liveness: 200 while the process answers, with each dependency's state ("degraded" when one is down).
  app.get('/health', async (_req, res) => {
    res.json(await d.health.report());
  });
  // Readiness: 503 while draining for shutdown. A dependency outage does not make the process
  // unready: /assign keeps serving from its cache, and /events answers 503 itself.
  app.get('/ready', async (_req, res) => {
    const report = await d.health.report();
    const ready = d.isReady();
    res.status(ready ? 200 : 503).json({ ready, ...report, ...(ready ? {} : { reason: 'shutting down' }) });
  });

  app.post('/experiments', async (req, res) => {
    const input = parseOrThrow(createExperimentSchema, req.body);
    res.status(201).json(await d.experiments.create(input, actorOf(req, {})));
  });

  app.get('/experiments', async (req, res) => {
    const q = parseOrThrow(listQuerySchema, req.query);
    res.json({ experiments: await d.experiments.list(q) });
  });

  app.get('/experiments/:key', async (req, res) => {
    res.json(await d.experiments.get(keyOf(req)));
  });

  app.get('/experiments/:key/decisions', async (req, res) => {
    res.json({ decisions: await d.experiments.decisions(keyOf(req)) });
  });

  for (const which of ['pause', 'resume'] as const) {
    app.post(`/experiments/:key/${which}`, async (req, res) => {
      const body = parseOrThrow(actorReasonSchema, req.body ?? {});
      res.status(202).json(await d.experiments.signal(keyOf(req), which, { ...body, actor: actorOf(req, body) }));
    });
  }

  app.post('/experiments/:key/stop', async (req, res) => {
    const body = parseOrThrow(stopSchema, req.body ?? {});
    res.status(202).json(await d.experiments.signal(keyOf(req), 'stop', { ...body, actor: actorOf(req, body) }));
  });

  app.post('/experiments/:key/external-context', async (req, res) => {
    const body = parseOrThrow(externalContextSchema, req.body ?? {});
    res.status(202).json(await d.experiments.externalContext(keyOf(req), body));
  });

  app.post('/experiments/:key/allocation', async (req, res) => {
    const body = parseOrThrow(allocationSchema, req.body ?? {});
    res.json(await d.experiments.overrideAllocation(keyOf(req), { ...body, actor: actorOf(req, body) }));
  });

  app.post('/experiments/:key/run-cycle', async (req, res) => {
    const body = parseOrThrow(actorReasonSchema, req.body ?? {});
    res.json(await d.experiments.runCycleNow(keyOf(req), { ...body, actor: actorOf(req, body) }));
  });

  app.post('/experiments/:key/conclude', async (req, res) => {
    const body = parseOrThrow(concludeSchema, req.body ?? {});
    res.json(await d.experiments.conclude(keyOf(req), { ...body, actor: actorOf(req, body) }));
  });

  app.post('/models', async (req, res) => {
    const body = parseOrThrow(registerModelSchema, req.body);
    res.status(201).json(await d.models.register(body, actorOf(req, {})));
  });

  app.get('/models', async (req, res) => {
    res.json({ models: await d.models.list(parseOrThrow(listModelsSchema, req.query)) });
  });

  app.post('/events', async (req, res) => {
    const body = parseOrThrow(eventsBatchSchema, req.body);
    res.status(202).json(await d.events.enqueue(body.events));
  });

  app.use((_req, _res, next) => next(new ApiError(404, 'not_found', 'no such route')));
  // Express 5 forwards rejected promises from async handlers here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => writeError(res, err));
  return app;
}
