/**
 * One zod schema per cycle step's stored payload (the CycleStats.payload JSON column). Each is
 * annotated with the payload's TypeScript type, so the compiler keeps schema and type in step;
 * infra/cycle-store.ts parses every payload it reads back with these.
 */
import { z } from 'zod';
import type { CellStats, FeatureScaling } from '../domain/types.js';
import type { CollectPayload } from './collect.js';
import type { DecidePayload } from './decide.js';
import type { PredictPayload } from './predict.js';
import type { ReallocatePayload } from './reallocate.js';
import type { SegmentPayload } from './segment.js';
import type { ThrottlePayload } from './throttle.js';

/**
 * A number as stored: JSON has no NaN or ±Infinity, so JSON.stringify wrote them as null; read
 * null back as NaN (the payload types say `number`, and the domain treats non-finite as "no value").
 */
const num = z.union([z.number(), z.null().transform(() => Number.NaN)]);
const moments = z.looseObject({ n: num, sum: num, sumSquares: num });

const cellStats: z.ZodType<CellStats> = z.looseObject({
  metric: z.string(),
  variant: z.string(),
  segment: z.number().int(),
  period: z.number().int(),
  propensityStratum: num.optional(),
  stratum: z.string().optional(),
  moments,
});

export const collectPayloadSchema: z.ZodType<CollectPayload> = z.looseObject({ cells: z.array(cellStats), units: z.number() });

const featureScaling: z.ZodType<FeatureScaling> = z.looseObject({ name: z.string(), mean: num, std: num });

export const segmentPayloadSchema: z.ZodType<SegmentPayload> = z.looseObject({
  enabled: z.boolean(),
  k: z.number().int(),
  silhouette: num.nullable(),
  segments: z.array(z.looseObject({ id: z.number().int(), size: z.number(), centroid: z.array(num), contextCentroid: z.array(num).nullable() })),
  contextScaling: z.array(featureScaling),
  nextId: z.number().int(),
  sampleSize: z.number(),
});

const analyticPrediction = z.looseObject({ requiredPerArm: num, remainingSamples: num, remainingCycles: num, capped: z.boolean() });

export const predictPayloadSchema: z.ZodType<PredictPayload> = z.looseObject({
  segments: z.array(
    z.looseObject({
      id: z.number().int(),
      features: z.looseObject({
        size: num,
        accrualPerCycle: num,
        baselineRate: num,
        observedEffect: num,
        variance: num,
        cyclesElapsed: num,
        samplesPerArm: num,
        arms: num.optional(),
      }),
      prediction: z.looseObject({
        source: z.enum(['tree', 'analytic']),
        samples: num,
        samplesQuantiles: z.record(z.string(), num),
        cycles: num,
        cyclesLower: num,
        cyclesUpper: num,
        capped: z.boolean(),
        analytic: analyticPrediction,
      }),
    }),
  ),
  model: z.looseObject({ source: z.enum(['history', 'cold-start']), rows: z.number(), experiments: z.number() }).optional(),
});

export const reallocatePayloadSchema: z.ZodType<ReallocatePayload> = z.looseObject({
  ramp: z.record(z.coerce.number<string>(), z.looseObject({ step: z.number(), enteredAt: z.number() })),
  contextual: z.looseObject({ rowsUsed: z.number(), leaves: z.number(), highRisk: z.number() }).nullable(),
  stepped: z.record(z.coerce.number<string>(), z.record(z.string(), num)).optional(),
});

const segmentStatus = z.enum(['active', 'throttled', 'terminated']);

export const throttlePayloadSchema: z.ZodType<ThrottlePayload> = z.looseObject({
  applied: z.boolean(),
  results: z.array(
    z.looseObject({
      id: z.number().int(),
      status: segmentStatus,
      coverage: num,
      rule: z.enum(['terminal', 'too-small', 'harm', 'futility', 'budget', 'likely-harm', 'coverage']),
      reason: z.string(),
      changed: z.boolean(),
    }),
  ),
});

const decisionOutcome = z.enum(['continue', 'ship', 'stop_harm', 'stop_futility', 'inconclusive']);

export const decidePayloadSchema: z.ZodType<DecidePayload> = z.looseObject({
  decisionId: z.string(),
  outcome: decisionOutcome,
  winner: z.string().nullable(),
  rationale: z.string(),
  segmentDecisions: z.array(
    z.looseObject({
      segmentId: z.number().int(),
      arm: z.string(),
      estimate: num,
      pValue: num,
      adjustedPValue: num,
      outcome: z.enum(['ship', 'harm', 'end', 'none']),
      reason: z.string(),
    }),
  ),
  newSegmentConclusions: z.number(),
  segmentPMin: z.record(z.string(), num),
  segmentTau: z.record(z.string(), num).optional(),
  segmentEnded: z.record(z.string(), z.string()).optional(),
  stoppedArms: z.record(z.string(), z.looseObject({ cycle: z.number().int(), rule: z.enum(['guardrail', 'harm']), reason: z.string() })).optional(),
  newlyStopped: z.array(z.string()).optional(),
  exemptArms: z.array(z.string()).optional(),
  srmAlarmSince: z.number().int().nullable().optional(),
  srmHold: z.boolean().optional(),
  weightActions: z.array(z.looseObject({ arm: z.string(), action: z.enum(['raise', 'lower']) })).optional(),
  plan: z.looseObject({ plannedSamplePerArm: num, looks: z.array(num) }).nullable().optional(),
  srm: z.looseObject({
    statistic: num,
    df: num,
    pValue: num,
    expected: z.array(num),
    observed: z.array(num),
    alarm: z.boolean(),
    threshold: num,
    reason: z.enum(['no-data', 'single-arm']).optional(),
  }),
});

