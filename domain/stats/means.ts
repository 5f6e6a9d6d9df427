/**
 * Continuous and count metrics: Welch's unequal-variance t-test with Welch–Satterthwaite degrees of
 * freedom (scipy.stats.ttest_ind(equal_var=False)). Count metrics are per-unit sums, so the same
 * test on their means applies; no Poisson assumption is made because real counts are overdispersed.
 */
import type { Moments } from '../types.js';
import { compareIndependentMeans, degenerateEffect, type EffectEstimate } from './effects.js';
import { meanOf, sampleVarianceOf } from './moments.js';

/** Welch–Satterthwaite degrees of freedom for two sample variances. */
export function welchDegreesOfFreedom(varianceA: number, nA: number, varianceB: number, nB: number): number {
  const a = varianceA / nA;
  const b = varianceB / nB;
  const denom = (a * a) / (nA - 1) + (b * b) / (nB - 1);
  return denom > 0 ? (a + b) ** 2 / denom : Infinity;
}

/** Welch t-test of treatment − control means, with t interval and delta-method relative lift. */
export function compareMeans(control: Moments, treatment: Moments, alpha = 0.05): EffectEstimate {
  const mc = meanOf(control);
  const mt = meanOf(treatment);
  if (!(control.n > 0) || !(treatment.n > 0)) return degenerateEffect('empty-arm', mc, mt);
  if (control.n < 2 || treatment.n < 2) return degenerateEffect('insufficient-sample', mc, mt);
  const vc = sampleVarianceOf(control);
  const vt = sampleVarianceOf(treatment);
  const df = welchDegreesOfFreedom(vc, control.n, vt, treatment.n);
  return compareIndependentMeans(
    { mean: mc, variance: vc / control.n },
    { mean: mt, variance: vt / treatment.n },
    alpha,
    { df: Number.isFinite(df) ? df : null },
  );
}

/** Cohen's d with the pooled standard deviation; 0 when that deviation is 0. */
export function cohensD(control: Moments, treatment: Moments): number {
  if (control.n + treatment.n <= 2) return 0;
  const pooled =
    ((control.n - 1) * sampleVarianceOf(control) + (treatment.n - 1) * sampleVarianceOf(treatment)) /
    (control.n + treatment.n - 2);
  return pooled > 0 ? (meanOf(treatment) - meanOf(control)) / Math.sqrt(pooled) : 0;
}
