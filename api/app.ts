/** Express app for the control plane. The assignment hot path is served in front of it (server.ts). */
import express, { type NextFunction, type Request, type Response } from 'express';
import { createExperimentSchema } from '../domain/experiment/config.js';
import { assertDepth, assertJsonContentType } from './body-limits.js';
import { ApiError, parseOrThrow, writeError } from './errors.js';
import type { ExperimentsService } from './experiments-service.js';
import {
  acknowledgeSrmSchema,
  actorReasonSchema,
  allocationSchema,
  concludeSchema,
  createKeySchema,
  keyIdParam,
  experimentKeyParam,
  externalContextSchema,
  predictionsSchema,
  promoteModelSchema,
  reenableArmSchema,
  shadowScoresQuerySchema,
  listModelsSchema,
  listTrainingPoliciesSchema,
  listTrainingRunsSchema,
  scheduleActionSchema,
  trainingPolicyParams,
  entityParam,
  listQuerySchema,
  registerModelSchema,
  stopSchema,
} from './schemas.js';
import type { ModelsService } from './models-service.js';
import type { TrainingService } from './training-service.js';
import { trainingPolicySchema } from '../domain/training/policy.js';
import type { EventsIngress } from './events-ingress.js';
import { latencyMiddleware, mountObserveRoutes, type ObserveDeps } from './observe-routes.js';
import type { HealthChecker } from './health.js';
import { type Authenticator, type Principal, canTouchEntity, canTouchExperiment } from './auth.js';
import type { KeyStore } from './keys.js';
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
import { markEventsText, mountEventRoutes } from './events-routes.js';
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
  training: TrainingService;
  context: ContextService;
  units: UnitsService;
  /** Unit id → its keyed pseudonym, applied before anything is stored. */
  pseudonymise: (unitId: string) => string;
  evaluations: EvaluationsService;
  health: HealthChecker;
  auth: Authenticator;
  keys: KeyStore;
  /** Writes an audit-log entry (key management). */
  audit: (actor: string, action: string, target: string, reason: string) => Promise<void>;
  /** False while the process drains for shutdown. */
  isReady: () => boolean;
  apiToken?: string;
  /** Reports, dashboard and /metrics (api/observe-routes.ts). */
  observe?: ObserveDeps;
  /** Shown in the OpenAPI document's info.version. */
  version?: string;
}

export function createApp(d: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  if (d.observe?.metrics) app.use(latencyMiddleware(d.observe.metrics));
  app.use((req, _res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') assertJsonContentType(req);
    next();
  });
  app.use(express.json({ limit: '2mb', verify: markEventsText }));
  app.use((req, _res, next) => {
    // POST /events checks each event on its own (events-ingress.ts: depth, storable text): one bad
    // event is answered by its index while the rest of the batch is taken. POST /context checks its
    // signals once they are a list, so that paths read signals[i] whichever form was sent.
    if (req.path !== '/events') assertDepth(req.body);
    if (req.path !== '/events' && req.path !== '/context') assertStorableText(req.body);
    assertStorableText(req.query);
    next();
  });

  // Every route: cross-site refusal, key → role → route map, scope, rate limit (auth.ts, access.ts).
  app.use(async (req, res, next) => {
    res.locals.principal = await d.auth.authorize(req);
    next();
  });

  const keyOf = (req: Request) => parseOrThrow(experimentKeyParam, req.params.key, 'key');
  const principalOf = (res: Response) => res.locals.principal as Principal;
  /**
   * The audit actor is the authenticated caller. A name the caller supplies (`actor` in the body or
   * `x-actor`) is kept only as an "on behalf of" note after it.
   */
  const actorOf = (req: Request, res: Response, body: { actor?: string }) => {
    const claimed = body.actor ?? (req.headers['x-actor'] as string | undefined);
    const who = principalOf(res).actor;
    return claimed ? `${who} (on behalf of ${claimed.slice(0, 200)})` : who;
  };

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

  const openapi = JSON.stringify(buildOpenApiDocument(d.version ?? '0.0.0'));
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });
  app.get('/docs', (_req, res) => {
    res.type('text/html').send(DOCS_PAGE);
  });

  app.post('/experiments', async (req, res) => {
    const input = parseOrThrow(createExperimentSchema, req.body);
    if (!canTouchExperiment(principalOf(res), input.key)) throw new ApiError(403, 'forbidden', `key: this API key may not create experiment '${input.key}'`);
    res.status(201).json(await d.experiments.create(input, actorOf(req, res, {})));
  });

  app.get('/experiments', async (req, res) => {
    const q = parseOrThrow(listQuerySchema, req.query);
    const mine = principalOf(res);
    res.json({ experiments: (await d.experiments.list(q)).filter((e) => canTouchExperiment(mine, e.key)) });
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
      res.status(202).json(await d.experiments.signal(keyOf(req), which, { ...body, actor: actorOf(req, res, body) }));
    });
  }

  app.post('/experiments/:key/stop', async (req, res) => {
    const body = parseOrThrow(stopSchema, req.body ?? {});
    res.status(202).json(await d.experiments.signal(keyOf(req), 'stop', { ...body, actor: actorOf(req, res, body) }));
  });

  app.post('/experiments/:key/external-context', async (req, res) => {
    const body = parseOrThrow(externalContextSchema, req.body ?? {});
    res.status(202).json(await d.experiments.externalContext(keyOf(req), body, actorOf(req, res, {})));
  });

  app.post('/experiments/:key/allocation', async (req, res) => {
    const body = parseOrThrow(allocationSchema, req.body ?? {});
    res.json(await d.experiments.overrideAllocation(keyOf(req), { ...body, actor: actorOf(req, res, body) }));
  });

  app.post('/experiments/:key/run-cycle', async (req, res) => {
    const body = parseOrThrow(actorReasonSchema, req.body ?? {});
    res.json(await d.experiments.runCycleNow(keyOf(req), { ...body, actor: actorOf(req, res, body) }));
  });

  app.post('/experiments/:key/conclude', async (req, res) => {
    const body = parseOrThrow(concludeSchema, req.body ?? {});
    res.json(await d.experiments.conclude(keyOf(req), { ...body, actor: actorOf(req, res, body) }));
  });

  app.post('/experiments/:key/arms/reenable', async (req, res) => {
    const body = parseOrThrow(reenableArmSchema, req.body ?? {});
    res.json(await d.experiments.reenableArm(keyOf(req), { ...body, actor: actorOf(req, res, body) }));
  });

  app.post('/experiments/:key/srm/acknowledge', async (req, res) => {
    const body = parseOrThrow(acknowledgeSrmSchema, req.body ?? {});
    res.json(await d.experiments.acknowledgeSrm(keyOf(req), { ...body, actor: actorOf(req, res, body) }));
  });

  app.post('/models', async (req, res) => {
    const body = parseOrThrow(registerModelSchema, req.body);
    if (!canTouchEntity(principalOf(res), body.entity)) throw new ApiError(403, 'forbidden', `entity: this API key may not register models for '${body.entity}'`);
    res.status(201).json(await d.models.register(body, actorOf(req, res, {})));
  });

  app.post('/models/promote', async (req, res) => {
    const body = parseOrThrow(promoteModelSchema, req.body ?? {});
    res.json(await d.models.promoteShadow(body, actorOf(req, res, {})));
  });

  app.get('/models/shadow-scores', async (req, res) => {
    res.json(await d.models.shadowScores(parseOrThrow(shadowScoresQuerySchema, req.query)));
  });

  app.post('/predictions', async (req, res) => {
    const body = parseOrThrow(predictionsSchema, req.body ?? {});
    // Stored under the unit's pseudonym, like its exposures, so scoring joins them.
    res.json(await d.models.logPredictions({ ...body, predictions: body.predictions.map((p) => ({ ...p, unitId: d.pseudonymise(p.unitId) })) }));
  });

  // Training platform: a policy per entity × model type, each with its Temporal Schedule.
  const policyRef = (req: Request, res: Response) => {
    const p = parseOrThrow(trainingPolicyParams, req.params);
    if (!canTouchEntity(principalOf(res), p.entity)) throw new ApiError(403, 'forbidden', `entity: this API key may not touch models of '${p.entity}'`);
    return p;
  };
  app.put('/training-policies/:entity/:modelType', async (req, res) => {
    const { entity, modelType } = policyRef(req, res);
    const body = parseOrThrow(trainingPolicySchema, req.body ?? {});
    res.json(await d.training.put(entity, modelType, body, actorOf(req, res, {})));
  });
  app.get('/training-policies', async (req, res) => {
    const q = parseOrThrow(listTrainingPoliciesSchema, req.query);
    const mine = principalOf(res);
    res.json({ policies: (await d.training.list(q.entity)).filter((p) => canTouchEntity(mine, p.entity)) });
  });
  app.get('/training-policies/:entity/:modelType', async (req, res) => {
    const { entity, modelType } = policyRef(req, res);
    res.json(await d.training.get(entity, modelType));
  });
  app.delete('/training-policies/:entity/:modelType', async (req, res) => {
    const { entity, modelType } = policyRef(req, res);
    res.json(await d.training.remove(entity, modelType, actorOf(req, res, {})));
  });
  for (const action of ['pause', 'resume', 'trigger'] as const) {
    app.post(`/training-policies/:entity/:modelType/${action}`, async (req, res) => {
      const { entity, modelType } = policyRef(req, res);
      const body = parseOrThrow(scheduleActionSchema, req.body ?? {});
      res.json(await d.training.scheduleAction(entity, modelType, action, actorOf(req, res, {}), body.reason));
    });
  }
  app.get('/training-runs', async (req, res) => {
    const q = parseOrThrow(listTrainingRunsSchema, req.query);
    if (!canTouchEntity(principalOf(res), q.entity)) throw new ApiError(403, 'forbidden', `entity: this API key may not read models of '${q.entity}'`);
    res.json({ runs: await d.training.runs(q.entity, q.limit) });
  });
  app.get('/entities/:entity/models', async (req, res) => {
    const { entity } = parseOrThrow(entityParam, req.params);
    if (!canTouchEntity(principalOf(res), entity)) throw new ApiError(403, 'forbidden', `entity: this API key may not read models of '${entity}'`);
    res.json(await d.training.overview(entity));
  });

  app.get('/models', async (req, res) => {
    const mine = principalOf(res);
    res.json({ models: (await d.models.list(parseOrThrow(listModelsSchema, req.query))).filter((m) => canTouchEntity(mine, m.entity)) });
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
    const list = parseSignalsBody(req.body);
    assertStorableText(list);
    const body = parseOrThrow(signalsBatchSchema, list);
    const signals = body.signals.map(toSignal);
    // A key limited to experiments may only send signals scoped to them (a global or attribute
    // signal would reach, and could dampen, every experiment).
    const scope = principalOf(res).experiments;
    if (scope.length) {
      const i = signals.findIndex((s) => s.scope.kind !== 'experiments' || s.scope.experiments.some((k) => !scope.includes(k)));
      if (i >= 0) throw new ApiError(400, 'invalid_request', `signals[${i}].scope: this key is limited to experiments (${scope.join(', ')}); list only those`);
    }
    res.status(202).json(await d.context.ingest(signals, actorOf(req, res, {})));
  });

  app.post('/context/sources', async (req, res) => {
    const body = parseOrThrow(contextSourceSchema, req.body);
    res.status(201).json(await d.context.registerSource(body, actorOf(req, res, {})));
  });

  app.get('/context/sources', async (_req, res) => {
    res.json({ sources: await d.context.listSources() });
  });

  app.delete('/context/sources/:key', async (req, res) => {
    res.json(await d.context.deleteSource(parseOrThrow(sourceKeyParam, req.params.key, 'key'), actorOf(req, res, {})));
  });

  app.get('/context/signals', async (req, res) => {
    res.json({ signals: await d.context.listSignals(parseOrThrow(listSignalsSchema, req.query)) });
  });

  app.delete('/units/:unitId', async (req, res) => {
    const unitId = parseOrThrow(unitIdParam, req.params.unitId, 'unitId');
    res.json(await d.units.delete(unitId, actorOf(req, res, {})));
  });
  if (d.observe) mountObserveRoutes(app, d.observe);

  app.post('/admin/keys', async (req, res) => {
    const body = parseOrThrow(createKeySchema, req.body);
    const created = await d.keys.create({ ...body, createdBy: actorOf(req, res, {}) });
    await d.audit(actorOf(req, res, {}), 'key.create', created.id, `${created.role} key '${created.name}'`);
    res.status(201).json(created);
  });

  app.get('/admin/keys', async (_req, res) => {
    res.json({ keys: await d.keys.list() });
  });

  app.delete('/admin/keys/:id', async (req, res) => {
    const id = parseOrThrow(keyIdParam, req.params.id, 'id');
    const revoked = await d.keys.revoke(id);
    if (!revoked) throw new ApiError(404, 'not_found', `id: no key '${id}'`);
    await d.audit(actorOf(req, res, {}), 'key.revoke', revoked.id, `${revoked.role} key '${revoked.name}'`);
    res.json(revoked);
  });

  app.use((_req, _res, next) => next(new ApiError(404, 'not_found', 'no such route')));
  // Express 5 forwards rejected promises from async handlers here.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => writeError(res, err));
  return app;
}
