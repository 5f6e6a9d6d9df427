/** Request schemas for every route; types are inferred from them. */
import { z } from 'zod';
import { experimentConfigSchema } from '../domain/experiment/config.js';
import { ROLES } from './access.js';

const key = z.string().min(1).max(100);
const contextValue = z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]);

export const assignRequestSchema = z.object({
  experiment: key,
  unitId: z.string().min(1).max(200),
  context: z.record(z.string(), contextValue).default({}),
});

export const eventSchema = z.object({
  eventId: z.string().min(1).max(200),
  experiment: key,
  unitId: z.string().min(1).max(200),
  name: z.string().min(1).max(100),
  value: z.number().finite().default(1),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  context: z.record(z.string(), z.unknown()).default({}),
});

export const MAX_EVENTS_PER_BATCH = 1000;
export const eventsBatchSchema = z.object({
  events: z.array(eventSchema).min(1).max(MAX_EVENTS_PER_BATCH, `at most ${MAX_EVENTS_PER_BATCH} events per batch`),
});

export const actorReasonSchema = z
  .object({ actor: z.string().min(1).max(200).optional(), reason: z.string().max(2000).optional() })
  .default({});

export const stopSchema = z.object({ actor: z.string().min(1).max(200).optional(), reason: z.string().min(1).max(2000) });

export const allocationSchema = z.union([
  z.object({
    weights: z.record(z.string(), z.number().min(0).max(1)),
    actor: z.string().min(1).max(200).optional(),
    reason: z.string().max(2000).optional(),
  }),
  z.object({ clear: z.literal(true), actor: z.string().min(1).max(200).optional(), reason: z.string().max(2000).optional() }),
]);

export const concludeSchema = z.object({
  winner: z.string().min(1).max(40).optional(),
  actor: z.string().min(1).max(200).optional(),
  reason: z.string().max(2000).optional(),
});

export const externalContextSchema = z.object({ kind: z.string().min(1).max(100), severity: z.number().min(0).max(1) });

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
});

export const listModelsSchema = z.object({ entity: name.optional(), modelType: name.optional() });

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
