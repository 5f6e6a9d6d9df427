/**
 * The decision policy: how an experiment decides, as configuration. A named preset fills every
 * field; fields set next to it override the preset's. `resolvePolicy` turns the stored form into the
 * complete policy the rules read, so a rule never sees an optional threshold.
 *
 *   cautious  sequential, whole weeks (≥ 1), 1000 units per arm, ship only if the lift's interval
 *             clears +1%, segment arms end only on strong evidence (P(beat) ≤ 1%, risk ≤ 0.1%)
 *   balanced  sequential (always-valid), no minimum runtime, the config's minSamplePerArm (default)
 *   fast      Bayesian: ship at chance to win ≥ 95% and expected loss ≤ 0.25% (GrowthBook's defaults)
 */
import { z } from 'zod';

export const PRESETS = ['cautious', 'balanced', 'fast'] as const;
export type PresetName = (typeof PRESETS)[number];
export type DecisionMethod = 'sequential' | 'fixed_horizon' | 'bayesian';

const probability = z.number().gt(0).lt(1);

export const decisionPolicySchema = z
  .object({
    preset: z.enum(PRESETS).default('balanced'),
    /** sequential (always-valid), fixed_horizon (planned sample size, O'Brien–Fleming interim looks) or bayesian. */
    method: z.enum(['sequential', 'fixed_horizon', 'bayesian']).optional(),
    /** No decision or alert before the experiment has run this long. */
    minRuntimeHours: z.number().min(0).max(24 * 365).optional(),
    /** Round the minimum runtime up to whole weeks (weekly seasonality), at least one. */
    wholeWeeks: z.boolean().optional(),
    /** No decision or alert before every active arm has this many units (overrides config.minSamplePerArm). */
    minSamplePerArm: z.number().int().min(1).optional(),
    /** Practical significance: ship only if the lower end of the relative lift's interval clears this (0.01 = +1%). */
    minLift: z.number().min(0).max(10).optional(),
    /** Fixed horizon: power of the planned sample size (at the config's mde and alpha). */
    power: z.number().min(0.5).max(0.99).optional(),
    /** Fixed horizon: Lan–DeMets spending function of the interim looks. */
    spending: z.enum(['obrien-fleming', 'pocock']).optional(),
    /** Fixed horizon: planned units per arm; default from the power calculation at the first look with data. */
    plannedSamplePerArm: z.number().int().min(1).optional(),
    /** Bayesian: ship when the chance to beat control reaches this. */
    chanceToWin: probability.optional(),
    /** Bayesian: ... and the expected loss of shipping, relative to control's mean, is below this. */
    maxExpectedLoss: z.number().gt(0).max(1).optional(),
    /** Per-arm thresholds. */
    arms: z
      .object({
        /** Circuit breaker: an arm whose guardrail bound crosses its limit is routed to control at once. */
        stopOnGuardrail: z.boolean().optional(),
        /** An arm significantly worse on the primary metric is stopped (the others continue). */
        stopOnHarm: z.boolean().optional(),
        /** For policies that do not set weights themselves (fixed, ramp): raise an arm's weight when P(best) ≥ this. */
        raiseWeightAbove: probability.optional(),
        /** ... lower it when P(best) ≤ this. */
        lowerWeightBelow: probability.optional(),
        /** Relative change of one raise or lower step (0.2 = ×1.2 or ×0.8, then renormalised). */
        weightStep: z.number().gt(0).max(1).optional(),
      })
      .optional(),
    /** Segment arms a bandit starves: ended (segment served control) on the Bayesian posterior of the stratified effect. */
    segments: z
      .object({
        /** End an arm in a segment when its chance to beat control falls to this or below ... */
        endArmBelowChanceToWin: probability.optional(),
        /** ... and the expected loss of serving control instead, relative to control's mean, is below this. */
        endArmMaxExpectedLoss: z.number().gt(0).max(1).optional(),
        /** Units the arm needs in the segment before the posterior may end it. */
        endArmMinSample: z.number().int().min(1).optional(),
      })
      .optional(),
  })
  .refine((p) => p.arms?.raiseWeightAbove === undefined || p.arms?.lowerWeightBelow === undefined || p.arms.lowerWeightBelow < p.arms.raiseWeightAbove, {
    message: 'lowerWeightBelow must be below raiseWeightAbove',
    path: ['arms', 'lowerWeightBelow'],
  });

export type DecisionPolicyConfig = z.infer<typeof decisionPolicySchema>;

/** The complete policy every rule reads. */
export interface DecisionPolicy {
  preset: PresetName;
  method: DecisionMethod;
  minRuntimeHours: number;
  wholeWeeks: boolean;
  /** null: the experiment config's minSamplePerArm. */
  minSamplePerArm: number | null;
  minLift: number;
  power: number;
  spending: 'obrien-fleming' | 'pocock';
  plannedSamplePerArm: number | null;
  chanceToWin: number;
  maxExpectedLoss: number;
  arms: { stopOnGuardrail: boolean; stopOnHarm: boolean; raiseWeightAbove: number; lowerWeightBelow: number; weightStep: number };
  segments: { endArmBelowChanceToWin: number; endArmMaxExpectedLoss: number; endArmMinSample: number };
}

const BASE: Omit<DecisionPolicy, 'preset'> = {
  method: 'sequential',
  minRuntimeHours: 0,
  wholeWeeks: false,
  minSamplePerArm: null,
  minLift: 0,
  power: 0.8,
  spending: 'obrien-fleming',
  plannedSamplePerArm: null,
  chanceToWin: 0.95,
  maxExpectedLoss: 0.0025,
  arms: { stopOnGuardrail: true, stopOnHarm: true, raiseWeightAbove: 0.9, lowerWeightBelow: 0.05, weightStep: 0.2 },
  segments: { endArmBelowChanceToWin: 0.05, endArmMaxExpectedLoss: 0.0025, endArmMinSample: 100 },
};

export const PRESET_POLICIES: Record<PresetName, DecisionPolicy> = {
  cautious: {
    ...BASE,
    preset: 'cautious',
    minRuntimeHours: 7 * 24,
    wholeWeeks: true,
    minSamplePerArm: 1000,
    minLift: 0.01,
    segments: { endArmBelowChanceToWin: 0.01, endArmMaxExpectedLoss: 0.001, endArmMinSample: 300 },
  },
  balanced: { ...BASE, preset: 'balanced' },
  fast: { ...BASE, preset: 'fast', method: 'bayesian', segments: { endArmBelowChanceToWin: 0.05, endArmMaxExpectedLoss: 0.005, endArmMinSample: 50 } },
};

/** The preset with the configured overrides applied. */
export function resolvePolicy(config: DecisionPolicyConfig | undefined): DecisionPolicy {
  const c = config ?? { preset: 'balanced' as const };
  const base = PRESET_POLICIES[c.preset];
  const pick = <T>(v: T | undefined, d: T): T => (v === undefined ? d : v);
  return {
    preset: c.preset,
    method: pick(c.method, base.method),
    minRuntimeHours: pick(c.minRuntimeHours, base.minRuntimeHours),
    wholeWeeks: pick(c.wholeWeeks, base.wholeWeeks),
    minSamplePerArm: pick(c.minSamplePerArm, base.minSamplePerArm),
    minLift: pick(c.minLift, base.minLift),
    power: pick(c.power, base.power),
    spending: pick(c.spending, base.spending),
    plannedSamplePerArm: pick(c.plannedSamplePerArm, base.plannedSamplePerArm),
    chanceToWin: pick(c.chanceToWin, base.chanceToWin),
    maxExpectedLoss: pick(c.maxExpectedLoss, base.maxExpectedLoss),
    arms: {
      stopOnGuardrail: pick(c.arms?.stopOnGuardrail, base.arms.stopOnGuardrail),
      stopOnHarm: pick(c.arms?.stopOnHarm, base.arms.stopOnHarm),
      raiseWeightAbove: pick(c.arms?.raiseWeightAbove, base.arms.raiseWeightAbove),
      lowerWeightBelow: pick(c.arms?.lowerWeightBelow, base.arms.lowerWeightBelow),
      weightStep: pick(c.arms?.weightStep, base.arms.weightStep),
    },
    segments: {
      endArmBelowChanceToWin: pick(c.segments?.endArmBelowChanceToWin, base.segments.endArmBelowChanceToWin),
      endArmMaxExpectedLoss: pick(c.segments?.endArmMaxExpectedLoss, base.segments.endArmMaxExpectedLoss),
      endArmMinSample: pick(c.segments?.endArmMinSample, base.segments.endArmMinSample),
    },
  };
}
