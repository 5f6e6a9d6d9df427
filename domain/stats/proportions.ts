/**
 * Binary metrics. The test uses the pooled proportion under H0 (p1 = p2), the interval the unpooled
 * Wald standard error — the textbook pair that statsmodels' proportions_ztest and
 * confint_proportions_2indep(method='wald') implement.
 */
import type { Moments } from '../types.js';
import { twoSidedPValue } from './normal.js';
import { compareIndependentMeans, degenerateEffect, type EffectEstimate } from './effects.js';

/** Conversions out of units for one arm. */
export interface ProportionCounts {
  n: number;
  successes: number;
}

/** Reads a binary metric's moments as counts (sum of a 0/1 metric = conversions). */
export function countsFromMoments(m: Moments): ProportionCounts {
  return { n: m.n, successes: m.sum };
}

/** Two-proportion z-test (pooled) with unpooled Wald CI and delta-method relative lift. */
export function compareProportions(control: ProportionCounts, treatment: ProportionCounts, alpha = 0.05): EffectEstimate {
  if (!(control.n > 0) || !(treatment.n > 0)) return degenerateEffect('empty-arm', rate(control), rate(treatment));
  const pc = rate(control);
  const pt = rate(treatment);
  const pooled = (control.successes + treatment.successes) / (control.n + treatment.n);
  const testVariance = pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n);
  const result = compareIndependentMeans(
    { mean: pc, variance: (pc * (1 - pc)) / control.n },
    { mean: pt, variance: (pt * (1 - pt)) / treatment.n },
    alpha,
    { testVariance },
  );
  if (result.reason === 'zero-variance' && testVariance > 0) {
    // Both arms at 0% or 100% but different (e.g. 0/10 vs 10/10): the interval is degenerate but the
    // pooled test is still defined.
    const z = result.estimate / Math.sqrt(testVariance);
    return { ...result, statistic: z, pValue: twoSidedPValue(z) };
  }
  if (result.relative === null && pc === 0 && result.reason === undefined) return { ...result, reason: 'zero-baseline' };
  return result;
}

function rate(c: ProportionCounts): number {
  return c.n > 0 ? c.successes / c.n : 0;
}

/** Cohen's h = 2·asin√p_t − 2·asin√p_c (effect size on the variance-stabilised scale). */
export function cohensH(pControl: number, pTreatment: number): number {
  const clamp = (p: number) => Math.min(1, Math.max(0, p));
  return 2 * Math.asin(Math.sqrt(clamp(pTreatment))) - 2 * Math.asin(Math.sqrt(clamp(pControl)));
}
