/**
 * Always-valid interval of treatment − control for one segment. A thin adapter over the stats
 * engine's normal-mixture mSPRT (domain/stats/sequential.ts, Johari et al. 2022): the mixture sd τ
 * is set per segment relative to its baseline, because segments differ by an order of magnitude in
 * conversion rate and one absolute τ would be tuned for none of them. The mixture is always-valid
 * only for a τ that stays the same at every look: callers fix it at a key's first look.
 *
 * Two inputs: an effect estimate with its variance (`mixtureIntervalFromEffect`; the decision and
 * throttle steps feed it the period-stratified difference, which adaptive allocation does not
 * bias), or per-arm moments pooled over periods (`mixtureSequentialInterval`; only unbiased when
 * the weights never changed — kept for benchmarks and fixed-allocation callers).
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

/** A treatment − control estimate and its variance, with the units behind each arm. */
export interface EffectEvidence {
  estimate: number;
  variance: number;
  /** Units behind each arm; fewer than 2 in either gives the uninformative interval. Default 2. */
  controlN?: number;
  treatmentN?: number;
}

const uninformative = (estimate = 0): AlwaysValidInterval => ({ estimate, lower: -Infinity, upper: Infinity, pValue: 1, variance: Infinity });

/** mSPRT confidence sequence for a treatment − control estimate with variance V; `tau` is the mixture sd (absolute units). */
export function mixtureIntervalFromEffect(effect: EffectEvidence, alpha: number, tau: number): AlwaysValidInterval {
  if ((effect.controlN ?? 2) < 2 || (effect.treatmentN ?? 2) < 2) return uninformative();
  if (!Number.isFinite(effect.estimate) || !Number.isFinite(effect.variance) || !(tau > 0)) return uninformative(Number.isFinite(effect.estimate) ? effect.estimate : 0);
  // A floor keeps V > 0 when an arm has no conversions yet (binary metrics early on).
  const variance = Math.max(effect.variance, 1e-12);
  const estimate = effect.estimate;
  const r = mixtureSprt({ estimate, variance, alpha, tau2: tau * tau });
  if (!r.ci) return { ...uninformative(estimate), variance };
  return { estimate, lower: r.ci[0], upper: r.ci[1], pValue: r.pValue, variance };
}

/** mSPRT confidence sequence for mean(treatment) − mean(control) from per-arm moments pooled over periods. */
export function mixtureSequentialInterval(control: Moments, treatment: Moments, alpha: number, tau: number): AlwaysValidInterval {
  if (control.n < 2 || treatment.n < 2) return uninformative();
  const variance = sampleVarianceOf(control) / control.n + sampleVarianceOf(treatment) / treatment.n;
  return mixtureIntervalFromEffect({ estimate: meanOf(treatment) - meanOf(control), variance }, alpha, tau);
}
