/**
 * CUPED (Deng, Xu, Kohavi, Walker 2013): Y_adj = Y − θ(X − X̄) with a pre-experiment covariate X.
 * θ = cov(Y, X)/var(X) is pooled over arms from within-arm (co)variances, so it does not absorb the
 * treatment effect; the same formula serves means and proportions (a 0/1 Y is just a mean).
 * Var(Ȳ_adj) = (s_Y² − 2θ s_XY + θ² s_X²)/n, which is (1 − ρ²)·s_Y²/n at the optimal θ.
 */
import { compareIndependentMeans, degenerateEffect, type EffectEstimate } from './effects.js';

/** Per-arm sufficient statistics of the metric Y and covariate X. */
export interface CupedMoments {
  n: number;
  /** ΣY, ΣY² */
  sum: number;
  sumSquares: number;
  /** ΣX, ΣX², ΣXY */
  covariateSum: number;
  covariateSumSquares: number;
  crossSum: number;
}

interface Centered {
  n: number;
  meanY: number;
  meanX: number;
  ssY: number;
  ssX: number;
  ssXY: number;
}

function center(m: CupedMoments): Centered {
  const n = m.n;
  const meanY = n > 0 ? m.sum / n : 0;
  const meanX = n > 0 ? m.covariateSum / n : 0;
  return {
    n,
    meanY,
    meanX,
    ssY: Math.max(0, m.sumSquares - n * meanY * meanY),
    ssX: Math.max(0, m.covariateSumSquares - n * meanX * meanX),
    ssXY: m.crossSum - n * meanX * meanY,
  };
}

/** Pooled within-arm θ = Σ S_XY / Σ S_XX; 0 when the covariate has no variance. */
export function cupedTheta(arms: readonly CupedMoments[]): number {
  let sxy = 0;
  let sxx = 0;
  for (const a of arms.map(center)) {
    sxy += a.ssXY;
    sxx += a.ssX;
  }
  return sxx > 0 ? sxy / sxx : 0;
}

/** CUPED-adjusted comparison; also reports θ and the variance reduction relative to the raw test. */
export function compareCuped(
  control: CupedMoments,
  treatment: CupedMoments,
  alpha = 0.05,
  theta: number = cupedTheta([control, treatment]),
): EffectEstimate & { theta: number; varianceReduction: number } {
  if (!(control.n > 1) || !(treatment.n > 1)) {
    return { ...degenerateEffect(control.n > 0 && treatment.n > 0 ? 'insufficient-sample' : 'empty-arm'), theta, varianceReduction: 0 };
  }
  const c = center(control);
  const t = center(treatment);
  const totalN = c.n + t.n;
  const grandMeanX = (c.meanX * c.n + t.meanX * t.n) / totalN;
  const adjusted = (a: Centered) => {
    const varRaw = a.ssY / (a.n - 1);
    const varAdj = Math.max(0, (a.ssY - 2 * theta * a.ssXY + theta * theta * a.ssX) / (a.n - 1));
    return { mean: a.meanY - theta * (a.meanX - grandMeanX), variance: varAdj / a.n, rawVariance: varRaw / a.n };
  };
  const ac = adjusted(c);
  const at = adjusted(t);
  // Large-sample normal reference: θ is estimated, so a Welch df would overstate precision knowledge.
  const result = compareIndependentMeans(ac, at, alpha);
  const raw = ac.rawVariance + at.rawVariance;
  const varianceReduction = raw > 0 ? 1 - (ac.variance + at.variance) / raw : 0;
  return { ...result, theta, varianceReduction };
}
