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
import { latencyMiddleware, mountObserveRoutes, type ObserveDeps } from './observe-routes.js';
import { DOCS_PAGE } from './docs-page.js';
import { buildOpenApiDocument } from './openapi.js';
import { assertStorableText } from './storable-text.js';
import type { ContextService } from './context-service.js';
import {
  contextSourceSchema,
  listSignalsSchema,
  parseSignalsBody,
  signalsBatchSchema,
  sourceKeyParam,
  toSignal,
  unitIdParam,
} from './context-schemas.js';
import type { UnitsService } from './units-service.js';
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
  context: ContextService;
  units: UnitsService;
  /** Unit id → its keyed pseudonym, applied before anything is stored. */
  pseudonymise: (unitId: string) => string;
  evaluations: EvaluationsService;
  apiToken?: string;
  /** Reports, dashboard and /metrics (api/observe-routes.ts). */
  observe?: ObserveDeps;
  /** Shown in the OpenAPI document's info.version. */
  version?: string;
}

/** Routes open without the bearer token: apps send events; the contract and its page are public. */
const OPEN_PATHS = new Set(['/events', '/health', '/openapi.json', '/docs']);

export function createApp(d: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  if (d.observe?.metrics) app.use(latencyMiddleware(d.observe.metrics));
  app.use(express.json({ limit: '2mb' }));
  app.use((req, _res, next) => {
    // POST /events checks each event on its own (events-ingress.ts): one unstorable event is
    // answered by its index while the rest of the batch is taken.
    if (req.path !== '/events') assertStorableText(req.body);
    next();
  });

  // Optional bearer token for the control plane; assignment and events stay open to apps.
  app.use((req, _res, next) => {
    // The dashboard's static files hold no data; the page sends the token with its API calls.
    if (!d.apiToken || OPEN_PATHS.has(req.path) || req.path === '/dashboard' || req.path.startsWith('/dashboard/')) return next();
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
    res.status(202).json(await d.experiments.externalContext(keyOf(req), body, actorOf(req, {})));
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
    // Stored under the unit's pseudonym, like its exposures, so scoring joins them.
    res.json(await d.models.logPredictions({ ...body, predictions: body.predictions.map((p) => ({ ...p, unitId: d.pseudonymise(p.unitId) })) }));
  });

  app.get('/models', async (req, res) => {
    res.json({ models: await d.models.list(parseOrThrow(listModelsSchema, req.query)) });
  });

  if (d.observe?.metrics) {
    const metrics = d.observe.metrics;
    app.post('/events', (req, res, next) => {
      res.on('finish', () => {
        const events = (req.body as { events?: Array<{ experiment?: unknown }> } | undefined)?.events;
        if (res.statusCode === 202 && Array.isArray(events)) for (const e of events) metrics.eventsAccepted(typeof e.experiment === 'string' ? e.experiment : '', 1);
      });
      next();
    });
  }
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

  app.post('/context', async (req, res) => {
    const body = parseOrThrow(signalsBatchSchema, parseSignalsBody(req.body));
    res.status(202).json(await d.context.ingest(body.signals.map(toSignal), actorOf(req, {})));
  });

  app.post('/context/sources', async (req, res) => {
    const body = parseOrThrow(contextSourceSchema, req.body);
    res.status(201).json(await d.context.registerSource(body, actorOf(req, {})));
  });

  app.get('/context/sources', async (_req, res) => {
    res.json({ sources: await d.context.listSources() });
  });

  app.delete('/context/sources/:key', async (req, res) => {
    res.json(await d.context.deleteSource(parseOrThrow(sourceKeyParam, req.params.key, 'key'), actorOf(req, {})));
  });

  app.get('/context/signals', async (req, res) => {
    res.json({ signals: await d.context.listSignals(parseOrThrow(listSignalsSchema, req.query)) });
  });

  app.delete('/units/:unitId', async (req, res) => {
    const unitId = parseOrThrow(unitIdParam, req.params.unitId, 'unitId');
    res.json(await d.units.delete(unitId, actorOf(req, {})));
  });
  if (d.observe) mountObserveRoutes(app, d.observe);

  app.use((_req, _res, next) => next(new ApiError(404, 'not_found', 'no such route')));
  // Express 5 forwards rejected promises from async handlers here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => writeError(res, err));
  return app;
}
