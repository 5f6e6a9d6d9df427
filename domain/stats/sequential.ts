/**
 * Always-valid inference for peeking at every cycle.
 *
 * 1. Asymptotic confidence sequence (Waudby-Smith, Arnold, Wu, Ramdas, Howard 2023,
 *    arXiv:2103.06476v7, eq. 9), as GrowthBook's gbstats `SequentialTwoSidedTTest` applies it to a
 *    difference of means: with N total units and σ̂² = N·Var(Δ̂),
 *      Δ̂ ± σ̂·sqrt( 2(Nρ²+1)/(N²ρ²) · log( sqrt(Nρ²+1)/α ) ),
 *    and ρ chosen (eq. 161) so the sequence is tightest at N = N* ("tuning N"):
 *      ρ = sqrt( (−2 log α + log(−2 log α + 1)) / N* ).
 * 2. Normal-mixture mSPRT (Johari, Koomen, Pekelis, Walsh 2022, "Always valid inference").
 *
 * p-value convention (two-sided): p_N = the smallest α at which the two-sided CS at time N excludes 0,
 * holding ρ fixed at the value tuned for the nominal α. Because CS(α) is nested in α for a fixed ρ,
 * P(∃N: p_N ≤ α) ≤ α, so rejecting whenever p_N < α at any look keeps the type-I error at α. Solving
 * the half-width equation gives the closed form p = min(1, sqrt(Nρ²+1)·exp(−ρ²·N²Δ̂²/(2σ̂²(Nρ²+1))))
 * = 1/e-value of gbstats (eq. 155).
 */
import { degenerateEffect, type EffectEstimate, type Interval } from './effects.js';

/** Defaults used by GrowthBook: N* = 5000 total units. */
export const DEFAULT_TUNING_N = 5000;

/** Inputs of one look: estimate of the difference, its variance, and total units behind it. */
export interface SequentialLook {
  estimate: number;
  /** Variance of the estimate (≈ σ²/N). */
  variance: number;
  /** Total units across both arms at this look. */
  n: number;
  alpha: number;
  tuningN?: number;
}

/** Always-valid interval and p-value at one look. */
export interface SequentialResult {
  ci: Interval | null;
  halfWidth: number;
  pValue: number;
  rho: number;
  reason?: 'empty-arm' | 'zero-variance';
}

/** Mixing parameter ρ of the asymptotic CS tuned to be tightest at N* units (eq. 161). */
export function confidenceSequenceRho(alpha: number, tuningN = DEFAULT_TUNING_N): number {
  const l = -2 * Math.log(alpha);
  return Math.sqrt((l + Math.log(l + 1)) / tuningN);
}

/** Asymptotic confidence sequence and its always-valid two-sided p-value for one look. */
export function asymptoticConfidenceSequence(look: SequentialLook): SequentialResult {
  const rho = confidenceSequenceRho(look.alpha, look.tuningN ?? DEFAULT_TUNING_N);
  const n = look.n;
  if (!(n > 0)) return { ci: null, halfWidth: 0, pValue: 1, rho, reason: 'empty-arm' };
  if (!(look.variance > 0)) return { ci: null, halfWidth: 0, pValue: 1, rho, reason: 'zero-variance' };
  const s2 = look.variance * n;
  const nr2p1 = n * rho * rho + 1;
  const halfWidth = Math.sqrt(s2) * Math.sqrt(((2 * nr2p1) / (n * rho) ** 2) * Math.log(Math.sqrt(nr2p1) / look.alpha));
  // log p = ½·log(Nρ²+1) − ρ²·N·Δ̂²/(2·s²·(Nρ²+1)/N); exp of a very negative number underflows to 0,
  // which is the correct limit, never NaN.
  const st2 = (look.estimate * look.estimate * n) / look.variance;
  const logP = 0.5 * Math.log(nr2p1) - (rho * rho * st2) / (2 * nr2p1);
  const pValue = Math.min(1, Math.exp(logP));
  return { ci: [look.estimate - halfWidth, look.estimate + halfWidth], halfWidth, pValue, rho };
}

/**
 * Replaces a fixed-horizon effect's interval and p-value by always-valid ones (absolute and relative).
 * `n` is the total number of units behind the comparison.
 */
export function sequentialEffect(effect: EffectEstimate, n: number, alpha: number, tuningN = DEFAULT_TUNING_N): EffectEstimate {
  if (effect.reason === 'empty-arm' || effect.reason === 'insufficient-sample') return effect;
  const abs = asymptoticConfidenceSequence({ estimate: effect.estimate, variance: effect.standardError ** 2, n, alpha, tuningN });
  if (abs.ci === null) return { ...degenerateEffect(abs.reason ?? 'zero-variance', effect.controlMean, effect.treatmentMean) };
  // The relative interval must be always-valid too; when it cannot be (zero variance), it is null with
  // a reason rather than the fixed-horizon interval under an always-valid label.
  let relative = effect.relative;
  let relativeReason = effect.relativeReason;
  if (relative) {
    const rel = asymptoticConfidenceSequence({ estimate: relative.estimate, variance: relative.standardError ** 2, n, alpha, tuningN });
    if (rel.ci) relative = { ...relative, ci: rel.ci };
    else {
      relative = null;
      relativeReason = 'zero-variance';
    }
  }
  return {
    ...effect,
    ci: abs.ci,
    pValue: abs.pValue,
    relative,
    ...(relativeReason ? { relativeReason } : {}),
    df: null,
    statistic: effect.standardError > 0 ? effect.estimate / effect.standardError : 0,
  };
}

/** Normal-mixture mSPRT with mixing variance τ² on the effect: always-valid p-value and interval. */
export function mixtureSprt(look: { estimate: number; variance: number; alpha: number; tau2: number }): SequentialResult {
  const { estimate, variance: v, alpha, tau2 } = look;
  // τ² = 0 is no mixture at all: Λ's exponent is 0/0 (a NaN p-value) and the interval ±∞.
  if (!(v > 0) || !(tau2 > 0)) return { ci: null, halfWidth: 0, pValue: 1, rho: 0, reason: 'zero-variance' };
  // Λ = sqrt(V/(V+τ²)) · exp(τ²Δ̂² / (2V(V+τ²))); p = min(1, 1/Λ) (Johari et al. 2022, §4).
  const logLambda = 0.5 * Math.log(v / (v + tau2)) + (tau2 * estimate * estimate) / (2 * v * (v + tau2));
  const pValue = Math.min(1, Math.exp(-logLambda));
  const halfWidth = Math.sqrt(((v * (v + tau2)) / tau2) * (Math.log((v + tau2) / v) - 2 * Math.log(alpha)));
  return { ci: [estimate - halfWidth, estimate + halfWidth], halfWidth, pValue, rho: Math.sqrt(tau2) };
}

/** Running minimum of a sequence of always-valid p-values (the p-value process is monotone by definition). */
export function runningMinimumPValue(pValues: readonly number[]): number[] {
  let min = 1;
  return pValues.map((p) => (min = Math.min(min, p)));
}
