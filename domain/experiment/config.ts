/**
 * The experiment definition a user submits, as zod schemas. The API validates requests with them and
 * the activities re-validate the stored JSON, so a bad row can never reach the statistics.
 */
import { z } from 'zod';
import { decisionPolicySchema } from '../decision/policy.js';
import { notificationsSchema } from '../notifications/channels.js';
import { findUnstorableText } from '../events/storable.js';
import type { Rule } from '../types.js';
import { reactionRuleSchema } from '../context/reaction-rules.js';
import { isValidTimeZone } from '../context/time-features.js';

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'use 2-63 lowercase letters, digits or dashes');
const fraction = z.number().min(0).max(1);

export const ruleSchema: z.ZodType<Rule> = z.lazy(() =>
  z.union([
    z.object({ attr: z.string().min(1), op: z.literal('eq'), value: z.union([z.string(), z.number(), z.boolean()]) }),
    z.object({ attr: z.string().min(1), op: z.literal('in'), values: z.array(z.union([z.string(), z.number()])).min(1) }),
    z
      .object({ attr: z.string().min(1), op: z.literal('range'), min: z.number().optional(), max: z.number().optional() })
      .refine((r) => r.min !== undefined || r.max !== undefined, 'range needs min or max'),
    z.object({
      attr: z.string().min(1),
      op: z.literal('regex'),
      pattern: z.string().min(1).max(500).refine(isValidRegex, 'not a valid regular expression'),
    }),
    z.object({ op: z.literal('and'), rules: z.array(ruleSchema).min(1) }),
    z.object({ op: z.literal('or'), rules: z.array(ruleSchema).min(1) }),
    z.object({ op: z.literal('not'), rule: ruleSchema }),
  ]),
);

function isValidRegex(p: string): boolean {
  try {
    new RegExp(p);
    return true;
  } catch {
    return false;
  }
}

const metricSchema = z.object({
  key: z.string().regex(/^[a-z0-9_]{1,40}$/),
  event: z.string().min(1).max(100),
  type: z.enum(['binary', 'continuous', 'count']),
  role: z.enum(['primary', 'guardrail', 'secondary']),
  direction: z.enum(['increase', 'decrease']).default('increase'),
  margin: z.number().min(0).max(1).optional(),
  /** Guardrails: absolute limit on the arm's mean (percentiles are not collected). */
  limit: z
    .object({ max: z.number().optional(), min: z.number().optional() })
    .refine((l) => l.max !== undefined || l.min !== undefined, 'limit needs max or min')
    .refine((l) => l.max === undefined || l.min === undefined || l.min <= l.max, { message: 'min must not exceed max', path: ['min'] })
    .optional(),
});

/** A variant's payload travels in every snapshot and every /assign answer: keep it small. */
const MAX_PAYLOAD_BYTES = 8192;

const variantSchema = z.object({
  key: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'use 1-40 letters, digits, dashes or underscores'),
  name: z.string().min(1).max(200).optional(),
  /** Returned by /assign with the variant, so callers act on it without a lookup. */
  payload: z
    .record(z.string(), z.unknown())
    .default({})
    .refine((p) => JSON.stringify(p).length <= MAX_PAYLOAD_BYTES, `at most ${MAX_PAYLOAD_BYTES} bytes of JSON`)
    .superRefine((p, ctx) => {
      const bad = findUnstorableText(p);
      if (bad) ctx.addIssue({ code: 'custom', path: bad.path ? [bad.path] : [], message: bad.message });
    }),
  weight: z.number().positive().max(1),
  control: z.boolean().default(false),
});

const boundsSchema = z
  .object({
    floor: z.number().min(0).max(0.5).default(0.01),
    max: z.number().min(0).max(1).default(0.99),
    maxChange: z.number().min(0).max(1).default(0.25),
  })
  .refine((b) => b.floor <= b.max, { message: 'floor must not exceed max', path: ['floor'] });

const policySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('fixed') }),
  // `draws` is kept so stored configs still parse; P(best) is now exact and does not use it (issue 14).
  z.object({ kind: z.literal('thompson'), topTwo: z.boolean().default(false), draws: z.number().int().min(100).max(100_000).default(5000) }),
  z.object({ kind: z.literal('ucb1') }),
  z.object({ kind: z.literal('epsilon_greedy'), epsilon: fraction.default(0.1) }),
  z.object({
    kind: z.literal('ramp'),
    /** Coverage steps; each is held at least minHoldSeconds and until guardrails pass. */
    steps: z.array(z.object({ coverage: fraction, minHoldSeconds: z.number().min(0).default(0) })).min(1),
  }),
  z.object({
    kind: z.literal('contextual'),
    features: z.array(z.string().min(1)).min(1),
    baseline: fraction.default(0.5),
    adjustmentRange: fraction.default(0.3),
    riskTolerance: z.number().min(0).default(0),
    maxRows: z.number().int().min(100).max(20_000).default(5000),
    dampeningHalfLifeSeconds: z.number().positive().default(3600),
  }),
]);

const segmentationSchema = z.object({
  enabled: z.boolean().default(false),
  kMin: z.number().int().min(1).max(20).default(2),
  kMax: z.number().int().min(1).max(20).default(6),
  /** Behavioural features per unit, from the events it sent. */
  features: z
    .array(z.object({ name: z.string().min(1), event: z.string().min(1), agg: z.enum(['count', 'sum']).default('count') }))
    .default([]),
  /** Numeric context attributes (from assignment context) used as features, and to place new units. */
  contextFeatures: z.array(z.string().min(1)).default([]),
  // Bounded so the engagement score (Σ weight × z) stays finite.
  engagementWeights: z.record(z.string(), z.number().min(-1e6).max(1e6)).default({}),
  /** Event whose early occurrence a small logistic model predicts; adds that probability as a feature. */
  conversionEvent: z.string().min(1).optional(),
  mode: z.enum(['kmeans', 'dbscan']).default('kmeans'),
  /** DBSCAN only: neighbourhood radius (normalised units) and core size. */
  dbscan: z.object({ eps: z.number().positive(), minPoints: z.number().int().min(2) }).default({ eps: 0.5, minPoints: 10 }),
  maxSample: z.number().int().min(100).max(200_000).default(20_000),
  minSegmentSize: z.number().int().min(1).default(200),
  minCoverage: fraction.default(0.1),
}).refine((s) => s.kMin <= s.kMax, { message: 'kMin must not exceed kMax', path: ['kMin'] });

export const experimentConfigSchema = z.object({
  metrics: z
    .array(metricSchema)
    .min(1)
    .refine((m) => m.filter((x) => x.role === 'primary').length === 1, 'exactly one metric must have role "primary"')
    // Cells, estimates and decisions are keyed by metric key: two metrics under one key pooled their events.
    .refine((m) => new Set(m.map((x) => x.key)).size === m.length, 'metric keys must be unique'),
  alpha: z.number().gt(0).lt(0.5).default(0.05),
  /** Tuning N* of the always-valid confidence sequence: the sample size at which it is tightest. */
  sequentialTuningN: z.number().int().positive().optional(),
  cycleIntervalSeconds: z.number().min(1).max(7 * 24 * 3600).default(300),
  maxCycles: z.number().int().min(1).max(100_000).default(1000),
  continueAsNewEvery: z.number().int().min(1).max(10_000).default(100),
  minSamplePerArm: z.number().int().min(1).default(100),
  /** Relative minimum detectable effect the experiment is designed for (futility and planning). */
  mde: z.number().gt(0).max(10).default(0.05),
  maxSamplePerArm: z.number().int().min(1).optional(),
  policy: policySchema.default({ kind: 'thompson', topTwo: false, draws: 5000 }),
  bounds: boundsSchema.default({ floor: 0.01, max: 0.99, maxChange: 0.25 }),
  segmentation: segmentationSchema.default({
    enabled: false, kMin: 2, kMax: 6, features: [], contextFeatures: [], engagementWeights: {},
    mode: 'kmeans', dbscan: { eps: 0.5, minPoints: 10 }, maxSample: 20_000, minSegmentSize: 200, minCoverage: 0.1,
  }),
  targeting: ruleSchema.optional(),
  layer: z.object({ name: z.string().min(1), start: fraction, end: fraction }).refine((l) => l.start < l.end, { message: 'start must be below end', path: ['start'] }).optional(),
  holdout: z.number().min(0).max(0.5).optional(),
  coverage: fraction.default(1),
  randomization: z
    .union([z.object({ type: z.literal('simple') }), z.object({ type: z.literal('stratified'), strata: z.array(z.string().min(1)).min(1) })])
    .default({ type: 'simple' }),
  sticky: z.boolean().default(true),
  /** Pre-treatment context attributes the analysis post-stratifies on; default: the randomisation strata. */
  postStratify: z.array(z.string().min(1)).max(5).optional(),
  /**
   * Which events count for a unit: from `lookbackSeconds` before its first exposure (clock skew)
   * to `windowHours` after it (omit for no end).
   */
  attribution: z
    // windowHours is bounded so its SQL interval exists: 1e308 failed every cycle with "interval out of range".
    .object({ lookbackSeconds: z.number().min(0).max(86_400).default(600), windowHours: z.number().positive().max(87_600, 'at most 87600 (10 years)').optional() })
    .default({ lookbackSeconds: 600 }),
  /** How the experiment decides: a named preset with optional overrides (domain/decision/policy.ts). */
  decision: decisionPolicySchema.default({ preset: 'balanced' }),
  webhookUrl: z.string().url().optional(),
  /** Channels (signed webhook, Slack, e-mail) and the event types each receives. */
  notifications: notificationsSchema.optional(),
  entity: z.string().max(200).optional(),
  /** IANA zone of the experiment's time features (`time.hourOfDay`, `time.dayOfWeek`). */
  timeZone: z.string().min(1).max(64).refine(isValidTimeZone, 'not an IANA time zone (e.g. "Europe/Lisbon")').default('UTC'),
  /** External signals that dampen test traffic, e.g. {signal: "news.sentiment", below: -0.5, dampen: 0.5, halfLifeSeconds: 3600}. */
  reactionRules: z.array(reactionRuleSchema).max(20).default([]),
});

export const createExperimentSchema = z
  .object({
    key: slug,
    name: z.string().min(1).max(200),
    description: z.string().max(5000).default(''),
    hypothesis: z.string().max(5000).default(''),
    kind: z.enum(['ab', 'multi_arm', 'model_comparison']),
    owner: z.string().min(1).max(200),
    variants: z.array(variantSchema).min(2).max(20),
    config: experimentConfigSchema,
  })
  .superRefine((e, ctx) => {
    const keys = new Set(e.variants.map((v) => v.key));
    if (keys.size !== e.variants.length) ctx.addIssue({ code: 'custom', path: ['variants'], message: 'variant keys must be unique' });
    if (e.variants.filter((v) => v.control).length !== 1)
      ctx.addIssue({ code: 'custom', path: ['variants'], message: 'exactly one variant must have control: true' });
    const total = e.variants.reduce((s, v) => s + v.weight, 0);
    if (Math.abs(total - 1) > 1e-6) ctx.addIssue({ code: 'custom', path: ['variants'], message: `weights must sum to 1 (got ${total})` });
    if (e.config.policy.kind === 'contextual' && e.variants.length !== 2)
      ctx.addIssue({ code: 'custom', path: ['config', 'policy', 'kind'], message: 'the contextual policy takes exactly two variants (control and one treatment)' });
    if (e.kind === 'ab' && e.variants.length !== 2)
      ctx.addIssue({ code: 'custom', path: ['variants'], message: 'kind "ab" takes exactly two variants; use "multi_arm"' });
  });

export type ExperimentConfig = z.infer<typeof experimentConfigSchema>;
export type CreateExperimentInput = z.infer<typeof createExperimentSchema>;
export type PolicyConfig = z.infer<typeof policySchema>;
export type BoundsConfig = z.infer<typeof boundsSchema>;
