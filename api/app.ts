/** Express app for the control plane. The assignment hot path is served in front of it (server.ts). */
import express, { type NextFunction, type Request, type Response } from 'express';
import { createExperimentSchema } from '../domain/experiment/config.js';
import { ApiError, parseOrThrow, writeError } from './errors.js';
import type { ExperimentsService } from './experiments-service.js';
import {
  acknowledgeSrmSchema,
  actorReasonSchema,
  allocationSchema,
  concludeSchema,
  experimentKeyParam,
  externalContextSchema,
  predictionsSchema,
  promoteModelSchema,
  reenableArmSchema,
  shadowScoresQuerySchema,
  listModelsSchema,
  listQuerySchema,
  registerModelSchema,
  stopSchema,
} from './schemas.js';
import type { ModelsService } from './models-service.js';
import type { EventsIngress } from './events-ingress.js';
import { DOCS_PAGE } from './docs-page.js';
import { buildOpenApiDocument } from './openapi.js';
import { assertStorableText } from './storable-text.js';
import { mountEventRoutes } from './events-routes.js';
import type { Pool } from 'pg';
import type { Queue } from 'bullmq';
import type { EventsJob } from '../infra/queues.js';
import { evaluationIdParam, listDatasetsSchema, postEvaluationSchema, type EvaluationsService } from './evaluations-service.js';

export interface AppDeps {
  experiments: ExperimentsService;
  events: EventsIngress;
  eventsQueue: Queue<EventsJob>;
  pool: Pool;
  models: ModelsService;
  evaluations: EvaluationsService;
  apiToken?: string;
  /** Shown in the OpenAPI document's info.version. */
  version?: string;
}

/** Routes open without the bearer token: apps send events; the contract and its page are public. */
const OPEN_PATHS = new Set(['/events', '/health', '/openapi.json', '/docs']);

export function createApp(d: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '2mb' }));
  app.use((req, _res, next) => {
    assertStorableText(req.body);
    next();
  });

  // Optional bearer token for the control plane; assignment and events stay open to apps.
  app.use((req, _res, next) => {
    if (!d.apiToken || OPEN_PATHS.has(req.path)) return next();
    if (req.headers.authorization !== `Bearer ${d.apiToken}`) throw new ApiError(401, 'unauthorized', 'authorization: missing or wrong bearer token');
    next();
  });

  const keyOf = (req: Request) => parseOrThrow(experimentKeyParam, req.params.key, 'key');
  const actorOf = (req: Request, body: { actor?: string }) => body.actor ?? (req.headers['x-actor'] as string | undefined) ?? 'api';

  app.get('/health', (_req, res) => {
    res.json({ ok: true });
  });

  const openapi = JSON.stringify(buildOpenApiDocument(d.version ?? '0.0.0'));
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.get('/docs', (_req, res) => {
    res.type('text/html').send(DOCS_PAGE);
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

  app.post('/experiments/:key/arms/reenable', async (req, res) => {
    const body = parseOrThrow(reenableArmSchema, req.body ?? {});
    res.json(await d.experiments.reenableArm(keyOf(req), { ...body, actor: actorOf(req, body) }));
  });

  app.post('/experiments/:key/srm/acknowledge', async (req, res) => {
    const body = parseOrThrow(acknowledgeSrmSchema, req.body ?? {});
    res.json(await d.experiments.acknowledgeSrm(keyOf(req), { ...body, actor: actorOf(req, body) }));
  });

  app.post('/models', async (req, res) => {
    const body = parseOrThrow(registerModelSchema, req.body);
    res.status(201).json(await d.models.register(body, actorOf(req, {})));
  });

  app.post('/models/promote', async (req, res) => {
    const body = parseOrThrow(promoteModelSchema, req.body ?? {});
    res.json(await d.models.promoteShadow(body, actorOf(req, {})));
  });

  app.get('/models/shadow-scores', async (req, res) => {
    res.json(await d.models.shadowScores(parseOrThrow(shadowScoresQuerySchema, req.query)));
  });

  app.post('/predictions', async (req, res) => {
    const body = parseOrThrow(predictionsSchema, req.body ?? {});
    res.json(await d.models.logPredictions(body));
  });

  app.get('/models', async (req, res) => {
    res.json({ models: await d.models.list(parseOrThrow(listModelsSchema, req.query)) });
  });

  app.post('/evaluations', async (req, res) => {
    const body = parseOrThrow(postEvaluationSchema, req.body);
    const out = await d.evaluations.create(body);
    res.status(out.status).json(out.body);
  });

  app.get('/evaluations/:id', async (req, res) => {
    res.json(await d.evaluations.get(parseOrThrow(evaluationIdParam, req.params.id, 'id')));
  });

  app.get('/datasets', async (req, res) => {
    res.json({ datasets: await d.evaluations.listDatasets(parseOrThrow(listDatasetsSchema, req.query)) });
  });

  app.get('/datasets/:id', async (req, res) => {
    res.json(await d.evaluations.dataset(parseOrThrow(evaluationIdParam, req.params.id, 'id')));
  });

  mountEventRoutes(app, { events: d.events, pool: d.pool, queue: d.eventsQueue });

  app.use((_req, _res, next) => next(new ApiError(404, 'not_found', 'no such route')));
  // Express 5 forwards rejected promises from async handlers here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => writeError(res, err));
  return app;
}
