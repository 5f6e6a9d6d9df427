/**
 * Inference under adaptive (bandit) allocation. When weights move over time, an arm's pooled mean
 * over-represents the periods in which it got more traffic, so time trends leak into the comparison
 * (Simpson's paradox). The remedy: compare arms within each allocation period (where assignment was a
 * fixed randomisation) and combine the per-period differences — post-stratification as in Kohavi et
 * al. and GrowthBook's bandit "weighted" estimates.
 */
import type { CellStats, MetricType, Moments } from '../types.js';
import { compareIndependentMeans, degenerateEffect, relativeUndefinedReason, type EffectEstimate, type RelativeEffect } from './effects.js';
import { addMoments, emptyMoments, meanOf, proportionVarianceOf, sampleVarianceOf } from './moments.js';
import { normalQuantile, twoSidedPValue } from './normal.js';

export type StratumWeighting = 'sample-size' | 'inverse-variance';

/** Options of the stratified comparison. */
export interface StratifiedOptions {
  metricType: MetricType;
  control: string;
  treatment: string;
  alpha?: number;
  /**
   * 'sample-size' (default): w = n_c·n_t/(n_c+n_t), the precision a stratum would have at equal
   * variances; it does not depend on the outcomes, which keeps the combined estimate unbiased.
   * 'inverse-variance': w = 1/V̂_s, most efficient but correlated with the estimates at small n.
   */
  weighting?: StratumWeighting;
  /**
   * 'period' (default) pools segments within a period; 'segment-period' stratifies by both. Either
   * way, cells with a `propensityStratum` are also split by it.
   */
  strata?: 'period' | 'segment-period';
}

/** One stratum's contribution. */
export interface StratumDifference {
  key: string;
  controlN: number;
  treatmentN: number;
  controlMean: number;
  treatmentMean: number;
  difference: number;
  variance: number;
  weight: number;
}

/** Stratified treatment − control difference with variance, the input of the decision step. */
export interface StratifiedDifference extends EffectEstimate {
  /** Var(Δ̂) = Σ w²V_s/(Σw)². */
  variance: number;
  /** Units behind the estimate (both arms, strata used). */
  n: number;
  controlN: number;
  treatmentN: number;
  strata: StratumDifference[];
  /** Strata without both arms (n ≥ 1 each; n ≥ 2 for non-binary) are dropped. */
  droppedStrata: number;
}

function armVariance(m: Moments, metricType: MetricType): number {
  return metricType === 'binary' ? proportionVarianceOf(m) : sampleVarianceOf(m);
}

/**
 * Sums moments of cells per stratum and variant for one metric. Cells that carry a
 * `propensityStratum` (contextual experiments) are further split by it: units randomised with
 * different treatment shares must not be compared in one stratum, or the arm with more traffic in
 * the high-baseline contexts looks better (or worse) with no effect at all. Cells with a
 * post-stratification `stratum` are split by it too, which removes the variance it explains.
 */
function groupByStratum(cells: readonly CellStats[], strata: 'period' | 'segment-period'): Map<string, Map<string, Moments>> {
  const out = new Map<string, Map<string, Moments>>();
  for (const c of cells) {
    const base = strata === 'period' ? `p${c.period}` : `s${c.segment}:p${c.period}`;
    const withShare = c.propensityStratum == null ? base : `${base}:q${c.propensityStratum}`;
    const key = c.stratum == null ? withShare : `${withShare}:x${c.stratum}`;
    const byVariant = out.get(key) ?? new Map<string, Moments>();
    byVariant.set(c.variant, addMoments(byVariant.get(c.variant) ?? emptyMoments(), c.moments));
    out.set(key, byVariant);
  }
  return out;
}

/**
 * Period-stratified comparison of `treatment` vs `control` for one metric's cells: per-stratum
 * difference of means, combined with fixed weights. Normal reference for the p-value and interval.
 */
export function stratifiedDifference(cells: readonly CellStats[], options: StratifiedOptions): StratifiedDifference {
  const alpha = options.alpha ?? 0.05;
  const weighting = options.weighting ?? 'sample-size';
  const minN = options.metricType === 'binary' ? 1 : 2;
  const groups = groupByStratum(cells, options.strata ?? 'period');
  const strata: StratumDifference[] = [];
  let dropped = 0;
  for (const [key, byVariant] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const c = byVariant.get(options.control);
    const t = byVariant.get(options.treatment);
    if (!c || !t || c.n < minN || t.n < minN) {
      if ((c?.n ?? 0) + (t?.n ?? 0) > 0) dropped++;
      continue;
    }
    const vc = armVariance(c, options.metricType) / c.n;
    const vt = armVariance(t, options.metricType) / t.n;
    const variance = vc + vt;
    const weight = weighting === 'sample-size' ? (c.n * t.n) / (c.n + t.n) : variance > 0 ? 1 / variance : 0;
    strata.push({ key, controlN: c.n, treatmentN: t.n, controlMean: meanOf(c), treatmentMean: meanOf(t), difference: meanOf(t) - meanOf(c), variance, weight });
  }
  const controlN = strata.reduce((a, s) => a + s.controlN, 0);
  const treatmentN = strata.reduce((a, s) => a + s.treatmentN, 0);
  const totalWeight = strata.reduce((a, s) => a + s.weight, 0);
  const base = { n: controlN + treatmentN, controlN, treatmentN, strata, droppedStrata: dropped };
  if (strata.length === 0 || !(totalWeight > 0)) {
    const reason = strata.length === 0 ? 'empty-arm' : 'zero-variance';
    return { ...degenerateEffect(reason), variance: 0, ...base };
  }
  let estimate = 0;
  let controlMean = 0;
  let variance = 0;
  let controlVariance = 0;
  for (const s of strata) {
    const w = s.weight / totalWeight;
    estimate += w * s.difference;
    controlMean += w * s.controlMean;
    variance += w * w * s.variance;
  }
  // Var(m̄_c) and Cov(Δ̂, m̄_c) = −Var(m̄_c) (Δ̂_s = m_t,s − m_c,s) for the delta-method relative lift.
  for (const s of strata) {
    const w = s.weight / totalWeight;
    const cMoments = groups.get(s.key)!.get(options.control)!;
    controlVariance += (w * w * armVariance(cMoments, options.metricType)) / cMoments.n;
  }
  const se = Math.sqrt(variance);
  const treatmentMean = controlMean + estimate;
  const relative = stratifiedRelative(estimate, variance, controlMean, controlVariance, alpha);
  if (!(se > 0)) {
    return { ...degenerateEffect('zero-variance', controlMean, treatmentMean), variance, ...base };
  }
  const q = normalQuantile(1 - alpha / 2);
  const statistic = estimate / se;
  return {
    estimate,
    standardError: se,
    ci: [estimate - q * se, estimate + q * se],
    pValue: twoSidedPValue(statistic),
    relative,
    ...(relative === null ? { relativeReason: relativeUndefinedReason(controlMean, treatmentMean) ?? 'zero-variance' } : {}),
    controlMean,
    treatmentMean,
    statistic,
    df: null,
    variance,
    ...base,
  };
}

function stratifiedRelative(delta: number, varDelta: number, mc: number, varMc: number, alpha: number): RelativeEffect | null {
  if (relativeUndefinedReason(mc, mc + delta) !== null) return null;
  // r = Δ/m̄_c; Var ≈ V_Δ/m² + Δ²V_c/m⁴ − 2Δ·Cov(Δ, m̄_c)/m³ with Cov = −V_c.
  const variance = varDelta / mc ** 2 + (delta * delta * varMc) / mc ** 4 + (2 * delta * varMc) / mc ** 3;
  const se = Math.sqrt(Math.max(0, variance));
  // An overflowing variance (a control mean near 1e-300) is no interval either: never ±∞ or NaN.
  if (!(se > 0) || !Number.isFinite(se)) return null;
  const q = normalQuantile(1 - alpha / 2);
  const estimate = delta / mc;
  return { estimate, standardError: se, ci: [estimate - q * se, estimate + q * se] };
}

