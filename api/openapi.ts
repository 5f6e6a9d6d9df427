/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. zod 4's
 * own `z.toJSONSchema` writes JSON Schema 2020-12, which is OpenAPI 3.1's schema dialect, so no
 * extra generator is needed: every request and response schema is registered under an id and the
 * registry is emitted as `components.schemas` with `$ref`s between them.
 *
 * ROUTES lists every route the server answers; test/api/openapi.test.ts checks it against the
 * Express router, so a new route without a contract fails the suite.
 */
import { z } from 'zod';
import { entityParam, entityQuery } from './observe-routes.js';
import { createExperimentSchema, ruleSchema } from '../domain/experiment/config.js';
import { trainingPolicySchema } from '../domain/training/policy.js';
import { acknowledgeSrmResult, concludeResult, experimentStatus, overrideAllocationResult, reenableArmResult, runCycleNowResult } from '../domain/experiment/messages.js';
import { listDeadLettersSchema, replayDeadLettersSchema } from './events-routes.js';
import {
  acknowledgeSrmSchema,
  actorReasonSchema,
  allocationSchema,
  assignRequestSchema,
  concludeSchema,
  createKeySchema,
  eventSchema,
  experimentKeyParam,
  externalContextSchema,
  listModelsSchema,
  listTrainingPoliciesSchema,
  listTrainingRunsSchema,
  scheduleActionSchema,
  trainingPolicyParams,
  listQuerySchema,
  predictionsSchema,
  promoteModelSchema,
  reenableArmSchema,
  registerModelSchema,
  shadowScoresQuerySchema,
  stopSchema,
} from './schemas.js';
import { contextSourceSchema, listSignalsSchema, signalsBatchSchema, unitIdParam } from './context-schemas.js';
import { evaluationIdParam, listDatasetsSchema, postEvaluationSchema } from './evaluations-service.js';

const json = z.json();
/** The JSON form of POST /events (it also takes a bare array or NDJSON); at most 1000 events. */
const eventsBatchSchema = z.object({ events: z.array(eventSchema).min(1).max(1000) });
const weights = z.record(z.string(), z.number());

/** The one error envelope every route answers with (api/errors.ts). */
const errorEnvelopeSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: json.nullable() }),
});

// Responses: the fields a client may rely on. Objects are open (rows may gain columns).
const variantRow = z.looseObject({ key: z.string(), name: z.string(), initialWeight: z.number(), isControl: z.boolean() });
const experimentRow = z.looseObject({
  id: z.string(),
  key: z.string(),
  name: z.string(),
  kind: z.enum(['ab', 'multi_arm', 'model_comparison']),
  status: z.enum(['draft', 'running', 'paused', 'concluded', 'stopped']),
  config: json,
  owner: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  variants: z.array(variantRow),
});
const experimentDetail = experimentRow.extend({
  workflowId: z.string(),
  /** The workflow's status query; null when the workflow could not be asked (see liveError). */
  live: experimentStatus.nullable(),
  liveError: z.string().nullable(),
});
const decisionRow = z.looseObject({ id: z.string(), cycle: z.number().int(), outcome: z.string(), rationale: z.string(), statistics: json, createdAt: z.string() });
const modelRow = z.looseObject({
  id: z.string(),
  entity: z.string(),
  modelType: z.string(),
  version: z.string(),
  uri: z.string(),
  metadata: json,
  status: z.enum(['candidate', 'champion', 'retired', 'rejected', 'shadow']),
  experimentKey: z.string().nullable(),
  createdAt: z.string(),
});
const assignResponse = z.object({
  variant: z.string(),
  propensity: z.number(),
  segment: z.number().int(),
  snapshotVersion: z.number().int(),
  enrolled: z.boolean(),
  reason: z.string(),
});

interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express form (`:key`). */
  path: string;
  summary: string;
  tag: string;
  query?: z.ZodObject;
  body?: { id: string; schema: z.ZodType; required: boolean };
  ok: { status: number; id: string; schema: z.ZodType };
}

const actorReason = { id: 'ActorReason', schema: actorReasonSchema, required: false };
const trainingPolicyView = z.looseObject({ entity: z.string(), modelType: z.string(), scheduleId: z.string(), schedule: z.looseObject({ paused: z.boolean(), nextDue: z.string().nullable() }).nullable() });

export const ROUTES: Route[] = [
  { method: 'get', path: '/health', summary: 'Liveness', tag: 'operations', ok: { status: 200, id: 'Health', schema: z.looseObject({}) } },
  { method: 'post', path: '/assign', summary: 'Assign a unit to a variant', tag: 'data plane', body: { id: 'AssignRequest', schema: assignRequestSchema, required: true }, ok: { status: 200, id: 'Assignment', schema: assignResponse } },
  { method: 'post', path: '/events', summary: 'Ingest outcome events (at most 1000 per batch)', tag: 'data plane', body: { id: 'EventsBatch', schema: eventsBatchSchema, required: true }, ok: { status: 202, id: 'EventsAccepted', schema: z.looseObject({ accepted: z.number().int() }) } },
  { method: 'post', path: '/experiments', summary: 'Create and start an experiment', tag: 'experiments', body: { id: 'CreateExperiment', schema: createExperimentSchema, required: true }, ok: { status: 201, id: 'ExperimentDetail', schema: experimentDetail } },
  { method: 'get', path: '/experiments', summary: 'List experiments', tag: 'experiments', query: listQuerySchema, ok: { status: 200, id: 'ExperimentList', schema: z.object({ experiments: z.array(experimentRow) }) } },
  { method: 'get', path: '/experiments/:key', summary: "An experiment's definition and live status", tag: 'experiments', ok: { status: 200, id: 'ExperimentDetail', schema: experimentDetail } },
  { method: 'get', path: '/experiments/:key/decisions', summary: "An experiment's decisions", tag: 'experiments', ok: { status: 200, id: 'DecisionList', schema: z.object({ decisions: z.array(decisionRow) }) } },
  ...(['pause', 'resume'] as const).map((which): Route => ({ method: 'post', path: `/experiments/:key/${which}`, summary: `${which === 'pause' ? 'Pause' : 'Resume'} an experiment`, tag: 'steering', body: actorReason, ok: { status: 202, id: 'Signalled', schema: z.object({ signalled: z.string() }) } })),
  { method: 'post', path: '/experiments/:key/stop', summary: 'Stop an experiment for good', tag: 'steering', body: { id: 'Stop', schema: stopSchema, required: true }, ok: { status: 202, id: 'Signalled', schema: z.object({ signalled: z.string() }) } },
  { method: 'post', path: '/experiments/:key/external-context', summary: 'Report an external event that dampens test allocation', tag: 'steering', body: { id: 'ExternalContext', schema: externalContextSchema, required: true }, ok: { status: 202, id: 'Signalled', schema: z.object({ signalled: z.string() }) } },
  { method: 'post', path: '/experiments/:key/allocation', summary: 'Set or clear a manual allocation', tag: 'steering', body: { id: 'AllocationOverride', schema: allocationSchema, required: true }, ok: { status: 200, id: 'Published', schema: overrideAllocationResult } },
  { method: 'post', path: '/experiments/:key/run-cycle', summary: 'Run a decision cycle now and wait for it', tag: 'steering', body: actorReason, ok: { status: 200, id: 'CycleRun', schema: runCycleNowResult } },
  { method: 'post', path: '/experiments/:key/conclude', summary: 'Conclude an experiment, serving the winner', tag: 'steering', body: { id: 'Conclude', schema: concludeSchema, required: false }, ok: { status: 200, id: 'Concluded', schema: concludeResult } },
  { method: 'post', path: '/models', summary: 'Register a model version (a challenger starts a comparison)', tag: 'models', body: { id: 'RegisterModel', schema: registerModelSchema, required: true }, ok: { status: 201, id: 'ModelRegistered', schema: z.looseObject({ model: modelRow, experiment: experimentDetail.nullable(), queuedBehind: z.string().nullable().optional() }) } },
  { method: 'get', path: '/models', summary: 'List model versions', tag: 'models', query: listModelsSchema, ok: { status: 200, id: 'ModelList', schema: z.object({ models: z.array(modelRow) }) } },
  // Routes added by the decision-policy and ingestion work; their answers are described loosely.
  { method: 'post', path: '/experiments/:key/arms/reenable', summary: 'Re-enable an arm the circuit breaker stopped', tag: 'steering', body: { id: 'ReenableArm', schema: reenableArmSchema, required: true }, ok: { status: 200, id: 'ArmReenabled', schema: reenableArmResult } },
  { method: 'post', path: '/experiments/:key/srm/acknowledge', summary: 'Acknowledge a sample-ratio alarm', tag: 'steering', body: { id: 'AcknowledgeSrm', schema: acknowledgeSrmSchema, required: true }, ok: { status: 200, id: 'SrmAcknowledged', schema: acknowledgeSrmResult } },
  { method: 'post', path: '/models/promote', summary: 'Promote a shadow model', tag: 'models', body: { id: 'PromoteModel', schema: promoteModelSchema, required: true }, ok: { status: 200, id: 'ModelPromoted', schema: z.looseObject({}) } },
  { method: 'get', path: '/models/shadow-scores', summary: "Shadow models' scores", tag: 'models', query: shadowScoresQuerySchema, ok: { status: 200, id: 'ShadowScores', schema: z.looseObject({}) } },
  { method: 'post', path: '/predictions', summary: 'Log model predictions', tag: 'models', body: { id: 'Predictions', schema: predictionsSchema, required: true }, ok: { status: 200, id: 'PredictionsLogged', schema: z.looseObject({}) } },
  { method: 'get', path: '/dead-letters', summary: 'Events PostgreSQL refused, with the reason', tag: 'data plane', query: listDeadLettersSchema, ok: { status: 200, id: 'DeadLetters', schema: z.looseObject({ deadLetters: z.array(z.looseObject({})) }) } },
  { method: 'post', path: '/evaluations', summary: 'Run an offline evaluation (inline, or as an evaluation workflow when large)', tag: 'evaluation', body: { id: 'EvaluationRequest', schema: postEvaluationSchema, required: true }, ok: { status: 201, id: 'EvaluationRun', schema: z.looseObject({ id: z.string(), status: z.string() }) } },
  { method: 'get', path: '/evaluations/:id', summary: 'An evaluation run: status, request, result, dataset link', tag: 'evaluation', ok: { status: 200, id: 'EvaluationRun', schema: z.looseObject({ id: z.string(), status: z.string() }) } },
  { method: 'get', path: '/datasets', summary: "An entity's tracked evaluation datasets", tag: 'evaluation', query: listDatasetsSchema, ok: { status: 200, id: 'DatasetList', schema: z.looseObject({ datasets: z.array(z.looseObject({})) }) } },
  { method: 'get', path: '/datasets/:id', summary: 'A tracked evaluation dataset with its query', tag: 'evaluation', ok: { status: 200, id: 'Dataset', schema: z.looseObject({ id: z.string() }) } },
  { method: 'post', path: '/dead-letters/replay', summary: 'Put dead letters back on the ingest queue', tag: 'data plane', body: { id: 'ReplayDeadLetters', schema: replayDeadLettersSchema, required: true }, ok: { status: 200, id: 'Replayed', schema: z.looseObject({}) } },
  // Readiness, API keys, external context and privacy.
  { method: 'get', path: '/ready', summary: 'Readiness (503 while draining for shutdown)', tag: 'operations', ok: { status: 200, id: 'Ready', schema: z.looseObject({}) } },
  { method: 'post', path: '/admin/keys', summary: 'Create an API key (shown once)', tag: 'admin', body: { id: 'CreateKey', schema: createKeySchema, required: true }, ok: { status: 201, id: 'KeyCreated', schema: z.looseObject({ id: z.string() }) } },
  { method: 'get', path: '/admin/keys', summary: 'List API keys (never the keys themselves)', tag: 'admin', ok: { status: 200, id: 'KeyList', schema: z.looseObject({ keys: z.array(z.looseObject({})) }) } },
  { method: 'delete', path: '/admin/keys/:id', summary: 'Revoke an API key', tag: 'admin', ok: { status: 200, id: 'KeyRevoked', schema: z.looseObject({ id: z.string() }) } },
  { method: 'post', path: '/context', summary: 'Ingest external context signals', tag: 'context', body: { id: 'Signals', schema: signalsBatchSchema, required: true }, ok: { status: 202, id: 'SignalsAccepted', schema: z.looseObject({}) } },
  { method: 'post', path: '/context/sources', summary: 'Register a polled context source (a Temporal Schedule)', tag: 'context', body: { id: 'ContextSource', schema: contextSourceSchema, required: true }, ok: { status: 201, id: 'ContextSourceRegistered', schema: z.looseObject({}) } },
  { method: 'get', path: '/context/sources', summary: 'List context sources', tag: 'context', ok: { status: 200, id: 'ContextSources', schema: z.looseObject({ sources: z.array(z.looseObject({})) }) } },
  { method: 'delete', path: '/context/sources/:key', summary: 'Remove a context source and its schedule', tag: 'context', ok: { status: 200, id: 'ContextSourceDeleted', schema: z.looseObject({}) } },
  { method: 'get', path: '/context/signals', summary: 'Stored context signals', tag: 'context', query: listSignalsSchema, ok: { status: 200, id: 'SignalList', schema: z.looseObject({ signals: z.array(z.looseObject({})) }) } },
  // The read side (api/observe-routes.ts): reports and the dashboard's list data; answers described loosely.
  { method: 'get', path: '/experiments/:key/report', summary: "An experiment's report: estimates over time, allocation and its reasons, decisions, SRM, breakdowns, time to significance, alerts, offline evaluations", tag: 'reports', ok: { status: 200, id: 'ExperimentReport', schema: z.looseObject({ experiment: z.looseObject({ key: z.string() }), cellsComputedAt: z.string() }) } },
  { method: 'get', path: '/entities/:entity/report', summary: "An entity's traffic, experiments and models as of a time", tag: 'reports', query: entityQuery, ok: { status: 200, id: 'EntityReport', schema: z.looseObject({ entity: z.string(), at: z.string() }) } },
  { method: 'get', path: '/reports/experiments', summary: 'Every experiment with its phase, cycle, last decision and open alarms', tag: 'reports', ok: { status: 200, id: 'ExperimentSummaries', schema: z.looseObject({ experiments: z.array(z.looseObject({ key: z.string() })) }) } },
  { method: 'get', path: '/reports/entities', summary: 'Entities with experiments or model versions', tag: 'reports', ok: { status: 200, id: 'EntityList', schema: z.looseObject({ entities: z.array(z.unknown()) }) } },
  { method: 'delete', path: '/units/:unitId', summary: 'Forget a unit: delete every row and Redis key it left', tag: 'privacy', ok: { status: 200, id: 'UnitDeleted', schema: z.looseObject({}) } },
  // Training platform: a policy per entity × model type, each with its Temporal Schedule.
  { method: 'put', path: '/training-policies/:entity/:modelType', summary: 'Set a training policy (creates or updates its Temporal Schedule)', tag: 'training', body: { id: 'TrainingPolicy', schema: trainingPolicySchema, required: true }, ok: { status: 200, id: 'TrainingPolicyView', schema: trainingPolicyView } },
  { method: 'get', path: '/training-policies', summary: 'List training policies with their schedules', tag: 'training', query: listTrainingPoliciesSchema, ok: { status: 200, id: 'TrainingPolicies', schema: z.looseObject({ policies: z.array(trainingPolicyView) }) } },
  { method: 'get', path: '/training-policies/:entity/:modelType', summary: 'A training policy and its schedule (paused, next due)', tag: 'training', ok: { status: 200, id: 'TrainingPolicyView', schema: trainingPolicyView } },
  { method: 'delete', path: '/training-policies/:entity/:modelType', summary: 'Delete a training policy and its schedule', tag: 'training', ok: { status: 200, id: 'TrainingPolicyDeleted', schema: z.looseObject({ deleted: z.boolean() }) } },
  ...(['pause', 'resume', 'trigger'] as const).map((which): Route => ({ method: 'post', path: `/training-policies/:entity/:modelType/${which}`, summary: `${which.charAt(0).toUpperCase()}${which.slice(1)} a training policy's schedule`, tag: 'training', body: { id: 'ScheduleAction', schema: scheduleActionSchema, required: false }, ok: { status: 200, id: 'TrainingPolicyView', schema: trainingPolicyView } })),
  { method: 'get', path: '/training-runs', summary: "An entity's retraining runs (plan, status, comparisons)", tag: 'training', query: listTrainingRunsSchema, ok: { status: 200, id: 'TrainingRuns', schema: z.looseObject({ runs: z.array(z.looseObject({})) }) } },
  { method: 'get', path: '/entities/:entity/models', summary: "An entity's models: versions, last trained, next due", tag: 'training', ok: { status: 200, id: 'EntityModels', schema: z.looseObject({ entity: z.string(), models: z.array(z.looseObject({ modelType: z.string(), lastTrainedAt: z.string().nullable(), nextDueAt: z.string().nullable() })) }) } },
];

/** `/experiments/:key` → `/experiments/{key}`. */
const openApiPath = (p: string) => p.replace(/:(\w+)/g, '{$1}');

/** Builds the document (once per process; it depends only on the schemas). */
export function buildOpenApiDocument(version: string): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  const add = (id: string, schema: z.ZodType) => {
    if (!registry.has(schema)) registry.add(schema, { id });
  };
  add('Rule', ruleSchema);
  add('JsonValue', json);
  add('Error', errorEnvelopeSchema);
  for (const r of ROUTES) {
    if (r.body) add(r.body.id, r.body.schema);
    add(r.ok.id, r.ok.schema);
  }
  // Request bodies are described as the client sends them (defaults optional), responses as sent.
  const emit = (io: 'input' | 'output') =>
    z.toJSONSchema(registry, { target: 'draft-2020-12', io, unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` }).schemas;
  const input = emit('input');
  const output = emit('output');
  const schemas: Record<string, unknown> = {};
  const strip = (s: unknown) => {
    const { $schema: _drop, id: _id, ...rest } = s as Record<string, unknown>;
    return rest;
  };
  for (const [id, s] of Object.entries(output)) schemas[id] = strip(s);
  for (const r of ROUTES) if (r.body) schemas[r.body.id] = strip(input[r.body.id]);
  schemas.Rule = strip(input.Rule);
  if ('__shared' in output || '__shared' in input) throw new Error('openapi: a recursive schema needs an id in the registry');

  const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
  const errorResponse = { description: 'Error (the one envelope: code, message naming the field, details)', content: { 'application/json': { schema: ref('Error') } } };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const parameters: unknown[] = [];
    if (r.path.includes(':key')) parameters.push({ name: 'key', in: 'path', required: true, schema: strip(z.toJSONSchema(experimentKeyParam)) });
    if (r.path.includes(':id')) parameters.push({ name: 'id', in: 'path', required: true, schema: strip(z.toJSONSchema(evaluationIdParam)) });
    if (r.path.includes(':entity')) parameters.push({ name: 'entity', in: 'path', required: true, schema: strip(z.toJSONSchema(entityParam)) });
    if (r.path.includes(':unitId')) parameters.push({ name: 'unitId', in: 'path', required: true, schema: strip(z.toJSONSchema(unitIdParam)) });
    for (const name of ['entity', 'modelType'] as const) {
      if (r.path.includes(`:${name}`)) parameters.push({ name, in: 'path', required: true, schema: strip(z.toJSONSchema(trainingPolicyParams.shape[name])) });
    }
    for (const [name, field] of Object.entries(r.query?.shape ?? {})) {
      const s = strip(z.toJSONSchema(field as z.ZodType, { io: 'input', unrepresentable: 'any' }));
      parameters.push({ name, in: 'query', required: false, schema: s });
    }
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${r.path.replace(/[:/-](\w)/g, (_m, c: string) => c.toUpperCase())}`,
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: r.body.required, content: { 'application/json': { schema: ref(r.body.id) } } } } : {}),
      responses: {
        [String(r.ok.status)]: { description: 'OK', content: { 'application/json': { schema: ref(r.ok.id) } } },
        // A large evaluation runs as a workflow: accepted (202) with the same run record, then polled.
        ...(r.path === '/evaluations' ? { '202': { description: 'Accepted: running as an evaluation workflow', content: { 'application/json': { schema: ref(r.ok.id) } } } } : {}),
        default: errorResponse,
      },
    };
    (paths[openApiPath(r.path)] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'expflow API',
      version,
      description: 'Experiment lifecycle engine: create and steer experiments, assign units, ingest events. Generated from the zod schemas the server validates with.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    // The bearer token is required on the control plane when the server has one configured.
    security: [{}, { bearer: [] }],
    paths,
  };
}
