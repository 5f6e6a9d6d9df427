/**
 * Fixed-horizon frequentist method: the sample size per arm is planned from the power calculation
 * (the config's relative mde at the policy's power, α Bonferroni-split over the arms), fixed at the
 * first look with a measured control baseline and carried. Interim analyses happen at every 10% of
 * the planned information with Lan–DeMets spending boundaries (O'Brien–Fleming type by default, so
 * looking early spends almost no α; Pocock type on request); the final analysis at 100% decides or
 * ends the experiment inconclusive. The rationale quotes the plan's power and the design's.
 */
import { stratifiedDifference } from '../stats/adaptive.js';
import { crossingProbabilities, spendingBoundaries, type SpendingFunction } from '../stats/group-sequential.js';
import { meanOf, sampleVarianceOf } from '../stats/moments.js';
import { normalQuantile } from '../stats/normal.js';
import { minimumDetectableEffectMeans, minimumDetectableEffectProportions, powerTwoMeans, powerTwoProportions, sampleSizeTwoMeans, sampleSizeTwoProportions } from '../stats/power.js';
import type { CellStats, MetricSpec, Moments } from '../types.js';
import { fmt, type RuleNote } from './rule-note.js';

/** Interim analyses at every this much of the planned information. */
const LOOK_STEP = 0.1;

/** Carried from look to look. */
export interface FixedHorizonPlan {
  plannedSamplePerArm: number;
  /** Information fractions analysed so far, increasing, the last possibly 1. */
  looks: number[];
}

/** Units per arm for power `power` at relative effect `mde` (two-sided α / comparisons); null while the baseline is unknown. */
export function planSamplePerArm(input: { metricType: MetricSpec['type']; control: Moments; mde: number; alpha: number; power: number; comparisons: number }): number | null {
  if (input.control.n < 2) return null;
  const alpha = input.alpha / Math.max(1, input.comparisons);
  const mean = meanOf(input.control);
  if (input.metricType === 'binary') {
    if (!(mean > 0 && mean < 1)) return null;
    const pTreatment = Math.min(0.999999, mean * (1 + input.mde));
    const n = sampleSizeTwoProportions({ pControl: mean, pTreatment, power: input.power, alpha });
    return Number.isFinite(n) ? Math.ceil(n) : null;
  }
  const sd = Math.sqrt(sampleVarianceOf(input.control));
  const delta = input.mde * Math.abs(mean);
  if (!(delta > 0) || !(sd > 0)) return null;
  const n = sampleSizeTwoMeans({ delta, sd, power: input.power, alpha });
  return Number.isFinite(n) ? Math.ceil(n) : null;
}

/** Fixed-sample power of n units per arm at relative effect `mde` (null while the baseline is unknown). */
export function planPower(input: { metricType: MetricSpec['type']; control: Moments; mde: number; alpha: number; comparisons: number; n: number }): number | null {
  if (input.control.n < 2) return null;
  const alpha = input.alpha / Math.max(1, input.comparisons);
  const mean = meanOf(input.control);
  if (input.metricType === 'binary') {
    if (!(mean > 0 && mean < 1)) return null;
    return powerTwoProportions({ pControl: mean, pTreatment: Math.min(0.999999, mean * (1 + input.mde)), nTreatment: input.n, alpha });
  }
  const sd = Math.sqrt(sampleVarianceOf(input.control));
  if (!(sd > 0) || !(mean !== 0)) return null;
  return powerTwoMeans({ delta: input.mde * Math.abs(mean), sd, nTreatment: input.n, alpha });
}

/** Smallest relative lift detectable with n units per arm at `power` (null while the baseline is unknown). */
export function detectableLift(input: { metricType: MetricSpec['type']; control: Moments; alpha: number; power: number; comparisons: number; n: number }): number | null {
  if (input.control.n < 2 || !(input.n > 0)) return null;
  const alpha = input.alpha / Math.max(1, input.comparisons);
  const mean = meanOf(input.control);
  if (!(mean !== 0) || !Number.isFinite(mean)) return null;
  if (input.metricType === 'binary') {
    if (!(mean > 0 && mean < 1)) return null;
    const r = minimumDetectableEffectProportions({ pControl: mean, nTreatment: input.n, power: input.power, alpha });
    return r.reason ? null : r.mde / mean;
  }
  const sd = Math.sqrt(sampleVarianceOf(input.control));
  return sd > 0 ? minimumDetectableEffectMeans({ sd, nTreatment: input.n, power: input.power, alpha }) / Math.abs(mean) : null;
}

/**
 * Power of the group-sequential design at the planned effect: the looks taken so far plus the final
 * one, each with its spending boundary, under the drift z_{1−α/2} + z_{power} that gives the fixed
 * design its power. Interim looks cost a little power; this says how much.
 */
export function designPower(looks: readonly number[], alpha: number, power: number, spending: SpendingFunction): number {
  const t = [...looks.filter((x) => x < 1), 1];
  const design = spendingBoundaries({ informationFractions: t, alpha, spending });
  const drift = normalQuantile(1 - alpha / 2) + normalQuantile(power);
  return crossingProbabilities(design.boundaries, t, drift).reduce((a, b) => a + b, 0);
}

/** Whether this look is an analysis: the first at each further 10% of information, and the final one. */
export function advanceLooks(looks: readonly number[], fraction: number): { looks: number[]; analyse: boolean; final: boolean } {
  const t = Math.min(1, Math.max(0, fraction));
  const last = looks.at(-1) ?? 0;
  if (last >= 1) return { looks: [...looks], analyse: false, final: true };
  if (t >= 1 || t - last >= LOOK_STEP - 1e-12) return { looks: [...looks, t], analyse: true, final: t >= 1 };
  return { looks: [...looks], analyse: false, final: false };
}

export interface FixedHorizonArm {
  arm: string;
  z: number;
  boundary: number;
  better: boolean;
  harmful: boolean;
  relativeCi: [number, number] | null;
  lift: number;
  note: RuleNote;
}

/**
 * One arm vs control on the primary metric at an analysed look: the fixed-sample (stratified) z
 * against the O'Brien–Fleming boundary for the looks taken so far.
 */
export function fixedHorizonArm(input: { cells: readonly CellStats[]; metric: MetricSpec; control: string; arm: string; alpha: number; comparisons: number; looks: readonly number[]; spending?: SpendingFunction }): FixedHorizonArm {
  const alpha = input.alpha / Math.max(1, input.comparisons);
  const spending = input.spending ?? 'obrien-fleming';
  const design = spendingBoundaries({ informationFractions: input.looks, alpha, spending });
  const boundary = design.boundaries.at(-1) ?? Infinity;
  const s = stratifiedDifference(input.cells.filter((c) => c.metric === input.metric.key), {
    metricType: input.metric.type,
    control: input.control,
    treatment: input.arm,
    alpha,
    strata: 'segment-period',
  });
  const sign = input.metric.direction === 'increase' ? 1 : -1;
  const z = s.standardError > 0 ? (sign * s.estimate) / s.standardError : 0;
  const t = input.looks.at(-1) ?? 0;
  const better = z > boundary;
  const harmful = z < -boundary;
  const lift = sign * (s.relative ? s.relative.estimate : s.estimate);
  const verdict = better ? 'crosses the efficacy boundary' : harmful ? 'crosses the harm boundary' : 'inside the boundaries';
  return {
    arm: input.arm,
    z,
    boundary,
    better,
    harmful,
    relativeCi: s.relative ? s.relative.ci : null,
    lift,
    note: { rule: 'method', rationale: `${input.arm}: fixed-horizon z=${fmt(z)} vs ${spending === 'pocock' ? 'Pocock' : "O'Brien–Fleming"} ±${fmt(boundary)} at ${fmt(100 * t)}% information (α=${fmt(alpha)} per arm): ${verdict}` },
  };
}
