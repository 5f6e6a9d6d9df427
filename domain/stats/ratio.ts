/**
 * Ratio metrics (e.g. revenue per session when the unit is a user): R = ΣY/ΣX per arm. The variance of
 * R̂ is the delta-method expansion around (μ_Y, μ_X) (Deng et al. 2018, "Applying the Delta Method in
 * Metric Analytics"): Var(R̂) ≈ (s_Y²/μ_X² − 2μ_Y·s_XY/μ_X³ + μ_Y²·s_X²/μ_X⁴)/n.
 */
import { compareIndependentMeans, degenerateEffect, type EffectEstimate, type MeanWithVariance } from './effects.js';

/** Sufficient statistics of a ratio metric: numerator (sum, sumSquares), denominator, cross products. */
export interface RatioMoments {
  n: number;
  sum: number;
  sumSquares: number;
  denSum: number;
  denSumSquares: number;
  crossSum: number;
}

/** Ratio estimate ΣY/ΣX of one arm and its delta-method variance; null when ΣX = 0 or n < 2. */
export function ratioMeanWithVariance(m: RatioMoments): MeanWithVariance | null {
  if (m.n < 2 || m.denSum === 0) return null;
  const n = m.n;
  const muY = m.sum / n;
  const muX = m.denSum / n;
  const varY = Math.max(0, (m.sumSquares - (m.sum * m.sum) / n) / (n - 1));
  const varX = Math.max(0, (m.denSumSquares - (m.denSum * m.denSum) / n) / (n - 1));
  const covXY = (m.crossSum - (m.sum * m.denSum) / n) / (n - 1);
  const variance = (varY / muX ** 2 - (2 * muY * covXY) / muX ** 3 + (muY ** 2 * varX) / muX ** 4) / n;
  return { mean: muY / muX, variance: Math.max(0, variance) };
}

/** Normal-theory comparison of two ratio metrics (absolute and relative difference). */
export function compareRatios(control: RatioMoments, treatment: RatioMoments, alpha = 0.05): EffectEstimate {
  if (!(control.n > 0) || !(treatment.n > 0)) return degenerateEffect('empty-arm');
  const c = ratioMeanWithVariance(control);
  const t = ratioMeanWithVariance(treatment);
  if (!c || !t) return degenerateEffect(control.n < 2 || treatment.n < 2 ? 'insufficient-sample' : 'zero-baseline');
  return compareIndependentMeans(c, t, alpha);
}
