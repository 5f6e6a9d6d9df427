/** The stored form of an AllocationSnapshot (a JSON column), parsed rather than cast when read back. */
import { z } from 'zod';
import type { AllocationSnapshot } from '../types.js';
import { ruleSchema } from './config.js';

const weights = z.record(z.string(), z.number());

export const allocationSnapshotSchema: z.ZodType<AllocationSnapshot> = z.looseObject({
  experimentKey: z.string(),
  version: z.number().int(),
  cycle: z.number().int(),
  seed: z.string(),
  hashVersion: z.number().int(),
  phase: z.enum(['draft', 'running', 'paused', 'concluded', 'stopped']),
  variants: z.array(z.looseObject({ key: z.string(), isControl: z.boolean() })),
  defaultVariant: z.string(),
  segments: z.array(
    z.looseObject({
      id: z.number().int(),
      status: z.enum(['active', 'throttled', 'terminated']),
      coverage: z.number(),
      weights,
      centroid: z.array(z.number()).nullable(),
    }),
  ),
  segmentFeatures: z.array(z.looseObject({ name: z.string(), mean: z.number(), std: z.number() })),
  targeting: ruleSchema.optional(),
  layer: z.looseObject({ name: z.string(), start: z.number(), end: z.number() }).optional(),
  holdout: z.number().optional(),
  randomization: z.union([z.looseObject({ type: z.literal('simple') }), z.looseObject({ type: z.literal('stratified'), strata: z.array(z.string()) })]).optional(),
  contextual: z
    .object({
      features: z.array(z.string()),
      variants: z.array(z.string()),
      nodes: z.array(
        z.union([
          z.looseObject({ feature: z.number().int(), threshold: z.number(), left: z.number().int(), right: z.number().int() }),
          z.looseObject({ weights: z.array(z.number()), lcb: z.number().nullable(), n: z.number() }),
        ]),
      ),
    })
    .optional(),
  sticky: z.boolean(),
  createdAt: z.string(),
  reason: z.string(),
});
