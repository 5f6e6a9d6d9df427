/**
 * Always-valid interval of treatment − control for one segment, from per-arm moments. A thin
 * adapter over the stats engine's normal-mixture mSPRT (domain/stats/sequential.ts, Johari et al.
 * 2022): the mixture sd τ is set per segment relative to its baseline, because segments differ by
 * an order of magnitude in conversion rate and one absolute τ would be tuned for none of them.
 */
import { meanOf, mixtureSprt, sampleVarianceOf } from '../stats/index.js';
import type { Moments } from '../types.js';

/** An always-valid interval and p-value for treatment − control at one look. */
export interface AlwaysValidInterval {
  estimate: number;
  lower: number;
  upper: number;
  /** Always-valid p-value at this look; callers keep the running minimum across looks. */
  pValue: number;
  variance: number;
}

/** mSPRT confidence sequence for mean(treatment) − mean(control); `tau` is the mixture sd (absolute units). */
export function mixtureSequentialInterval(control: Moments, treatment: Moments, alpha: number, tau: number): AlwaysValidInterval {
  if (control.n < 2 || treatment.n < 2) return { estimate: 0, lower: -Infinity, upper: Infinity, pValue: 1, variance: Infinity };
  // A floor keeps V > 0 when an arm has no conversions yet (binary metrics early on).
  const variance = Math.max(sampleVarianceOf(control) / control.n + sampleVarianceOf(treatment) / treatment.n, 1e-12);
  const estimate = meanOf(treatment) - meanOf(control);
  const r = mixtureSprt({ estimate, variance, alpha, tau2: tau * tau });
  if (!r.ci) return { estimate, lower: -Infinity, upper: Infinity, pValue: 1, variance };
  return { estimate, lower: r.ci[0], upper: r.ci[1], pValue: r.pValue, variance };
}
