/** Request schemas for every route; types are inferred from them. */
import { z } from 'zod';
import { findUnstorableText } from '../domain/events/storable.js';
import { storableDateTime } from '../domain/storable-time.js';
import { experimentConfigSchema } from '../domain/experiment/config.js';
import { acknowledgeSrmMessage, actorReasonMessage, concludeMessage, externalContextMessage, overrideAllocationMessage, reenableArmMessage } from '../domain/experiment/messages.js';
import { ROLES } from './access.js';

const key = z.string().min(1).max(100);
/** Text Postgres cannot store (NUL, unpaired surrogates) is refused here rather than losing a batch later. */
const storable = (s: z.ZodString) =>
  s.superRefine((v, ctx) => {
    const bad = findUnstorableText(v);
    if (bad) ctx.addIssue({ code: 'custom', message: bad.message });
  });
const contextValue = z.union([storable(z.string().max(1000)), z.number(), z.boolean(), z.null()]);

export const assignRequestSchema = z.object({
  experiment: key,
  unitId: storable(z.string().min(1).max(200)),
  context: z.record(storable(z.string()), contextValue).default({}),
  /** The unit consented to raw location being stored (README, "Privacy"); `context.consent: true` counts too. */
  consent: z.boolean().optional(),
});

/**
 * One outcome event. It counts for every experiment with a metric on `name` that exposed `unitId`
 * (within its attribution window); `experiment` restricts it to that one. Checked one by one, so a
 * batch's good events are taken and its bad ones answered by index. NUL characters and
 * unstorable timestamps are refused here (events-ingress.ts), before Postgres would refuse them.
 */
// A plain JSON object, checked without copying it key by key (z.record would, for every event).
const jsonObject = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected a JSON object');

// The cycle sums values and their squares per unit and per cell in double precision: one event of
// 1e308 overflowed that SQL ("value out of range: overflow") and failed every later cycle of every
// experiment counting it. 1e15 leaves room for 1e9 units with 1e6 such events each.
const MAX_EVENT_VALUE = 1e15;

export const eventSchema = z.object({
  eventId: z.string().min(1).max(200),
  unitId: z.string().min(1).max(200),
  name: z.string().min(1).max(100),
  experiment: key.optional(),
  value: z.number().finite().min(-MAX_EVENT_VALUE, 'at least -1e15').max(MAX_EVENT_VALUE, 'at most 1e15').default(1),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  properties: jsonObject.default({}),
  context: jsonObject.default({}),
});
export type EventInput = z.infer<typeof eventSchema>;

// Steering bodies: the workflow's own message schemas (domain/experiment/messages.ts), narrowed
// where a route asks for more. The API fills in the actor from the key when the body has none.
export const actorReasonSchema = actorReasonMessage.default({});

export const stopSchema = actorReasonMessage.extend({ reason: actorReasonMessage.shape.reason.unwrap().min(1) });

const { weights: setWeights, clear } = overrideAllocationMessage.shape;
export const allocationSchema = z.union([
  overrideAllocationMessage.omit({ clear: true }).extend({ weights: setWeights.unwrap() }),
  overrideAllocationMessage.omit({ weights: true }).extend({ clear: clear.unwrap() }),
]);

export const concludeSchema = concludeMessage;

export const reenableArmSchema = reenableArmMessage.partial({ actor: true });

export const acknowledgeSrmSchema = acknowledgeSrmMessage.partial({ actor: true });

/** The manual route takes no half-life: the experiment's own applies. */
export const externalContextSchema = externalContextMessage.omit({ halfLifeSeconds: true });

export const experimentKeyParam = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'not a valid experiment key');

export const listQuerySchema = z.object({
  status: z.enum(['draft', 'running', 'paused', 'concluded', 'stopped']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:\/-]{0,99}$/, 'use up to 100 letters, digits or _ . : / -');

export const registerModelSchema = z.object({
  entity: name,
  modelType: name,
  version: name,
  uri: z.string().min(1).max(2000),
  metadata: z.record(z.string(), z.unknown()).default({}),
  owner: z.string().min(1).max(200).default('model-registry'),
  comparison: z
    .object({
      config: experimentConfigSchema,
      /** Share of traffic the challenger starts with. */
      challengerShare: z.number().min(0.01).max(0.99).default(0.5),
    })
    .optional(),
  /** A shadow version is never served: callers log its predictions (POST /predictions) to score it. */
  shadow: z.boolean().default(false),
  /** Training lineage: hyperparameters, offline metrics, when and on what it was trained. */
  params: z.record(z.string(), z.unknown()).default({}),
  metrics: z.record(z.string(), z.number()).default({}),
  trainedAt: storableDateTime.optional(),
  datasetId: name.optional(),
  datasetFingerprint: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'up to 128 letters, digits or _ . : -').optional(),
  /** Set by a trainer answering a retraining run: the run's id and the request's id from its job. */
  training: z.object({ runId: z.uuid(), requestId: z.string().min(1).max(200) }).strict().optional(),
});

const modelRef = { entity: name, modelType: name, version: name };

const MAX_PREDICTIONS_PER_BATCH = 1000;
export const predictionsSchema = z.object({
  ...modelRef,
  predictions: z
    .array(
      z
        .object({ unitId: z.string().min(1).max(200), score: z.number().min(0).max(1).optional(), action: z.string().min(1).max(100).optional() })
        .refine((p) => p.score !== undefined || p.action !== undefined, 'score or action: one is required'),
    )
    .min(1)
    .max(MAX_PREDICTIONS_PER_BATCH, `at most ${MAX_PREDICTIONS_PER_BATCH} predictions per batch`),
});

export const shadowScoresQuerySchema = z.object({
  ...modelRef,
  /** The served experiment whose units' outcomes score the predictions. */
  experiment: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'not a valid experiment key'),
  /** The outcome event: binary = the unit sent it; policy reward = the sum of its values. */
  event: z.string().min(1).max(100),
  kind: z.enum(['binary', 'policy']).default('binary'),
  bins: z.coerce.number().int().min(2).max(50).default(10),
});

export const promoteModelSchema = z.object({
  ...modelRef,
  owner: z.string().min(1).max(200).default('model-registry'),
  comparison: registerModelSchema.shape.comparison,
});

export const listModelsSchema = z.object({ entity: name.optional(), modelType: name.optional() });

/** Path parameters of /training-policies/:entity/:modelType. */
export const trainingPolicyParams = z.object({ entity: name, modelType: name });
export const entityParam = z.object({ entity: name });
export const listTrainingPoliciesSchema = z.object({ entity: name.optional() });
export const listTrainingRunsSchema = z.object({ entity: name, limit: z.coerce.number().int().min(1).max(200).default(20) });
export const scheduleActionSchema = z.object({ reason: z.string().min(1).max(500).optional() }).strict();

export type AssignRequest = z.infer<typeof assignRequestSchema>;
export type RegisterModelInput = z.infer<typeof registerModelSchema>;

export const createKeySchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/, 'use up to 100 letters, digits or _ . @ -'),
  role: z.enum(ROLES),
  experiments: z.array(experimentKeyParam).max(1000).default([]),
  entities: z.array(name).max(1000).default([]),
  rateLimitPerMinute: z.number().int().min(1).max(10_000_000).optional(),
});

export const keyIdParam = z.string().regex(/^([0-9a-f-]{36}|efk_[A-Za-z0-9_-]{8})$/i, 'a key id (uuid) or its 12-character prefix');
export type PredictionsInput = z.infer<typeof predictionsSchema>;
export type ShadowScoresQuery = z.infer<typeof shadowScoresQuerySchema>;
export type PromoteModelInput = z.infer<typeof promoteModelSchema>;
