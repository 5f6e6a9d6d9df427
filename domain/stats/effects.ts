/**
 * Absolute and relative differences of two independent estimates, the shared output shape of every
 * two-arm comparison. Relative effects use the delta method on m_t/m_c − 1:
 * Var ≈ V_t/m_c² + m_t²·V_c/m_c⁴ (first-order Taylor expansion, as GrowthBook's gbstats does).
 */
import { normalQuantile, studentTQuantile, studentTTwoSidedPValue, twoSidedPValue } from './normal.js';

export type Interval = [number, number];

/** Relative lift (treatment/control − 1) with its delta-method standard error and interval. */
export interface RelativeEffect {
  estimate: number;
  standardError: number;
  ci: Interval;
}

/** Why a result is degenerate; absent when the estimate is regular. */
export type StatsReason =
  | 'empty-arm'
  | 'insufficient-sample'
  | 'zero-variance'
  | 'zero-baseline'
  | 'single-arm'
  | 'no-data';

/**
 * Why `relative` is null: a zero control mean has no ratio (nor has one so close to 0 that the ratio
 * or its delta-method variance overflows a double); a zero treatment mean gives −100 % with a
 * delta-method variance of 0 (a zero-width interval that claims certainty it does not have); a zero
 * variance leaves no interval at all.
 */
export type RelativeReason = 'zero-baseline' | 'zero-treatment' | 'zero-variance';

/** Reason the relative lift of control → treatment means is undefined, or null when it is defined. */
export function relativeUndefinedReason(controlMean: number, treatmentMean: number): RelativeReason | null {
  if (controlMean === 0 || !Number.isFinite(controlMean) || !Number.isFinite(treatmentMean / controlMean)) return 'zero-baseline';
  if (treatmentMean === 0) return 'zero-treatment';
  return null;
}

/**
 * Delta-method variance of m_t/m_c − 1 with Cov(m_t, m_c) = 0, or null when it overflows: a control
 * mean of 1e-300 (or a treatment mean of 1e150) squares past the double range, and the NaN or ±∞
 * interval it gave must not reach a decision or a report.
 */
function relativeVariance(control: MeanWithVariance, treatment: MeanWithVariance): number | null {
  const mc = control.mean;
  const variance = treatment.variance / (mc * mc) + (treatment.mean * treatment.mean * control.variance) / mc ** 4;
  return Number.isFinite(variance) ? variance : null;
}

/** Result of comparing one treatment arm with control. `ci` is null when it is undefined. */
export interface EffectEstimate {
  /** Treatment − control. */
  estimate: number;
  standardError: number;
  ci: Interval | null;
  pValue: number;
  relative: RelativeEffect | null;
  /** Set when `relative` is null for a reason other than the whole comparison being degenerate. */
  relativeReason?: RelativeReason;
  controlMean: number;
  treatmentMean: number;
  /** Test statistic (z or t); 0 when degenerate. */
  statistic: number;
  /** Degrees of freedom for t-based results; null for normal-based ones. */
  df: number | null;
  reason?: StatsReason;
}

/** Per-arm mean and variance of that mean. */
export interface MeanWithVariance {
  mean: number;
  /** Variance of the estimated mean (σ²/n), not of a single unit. */
  variance: number;
}

/** Delta-method relative lift of treatment over control; null when either mean is 0 (see RelativeReason). */
export function relativeEffect(control: MeanWithVariance, treatment: MeanWithVariance, alpha: number, df: number | null = null): RelativeEffect | null {
  if (relativeUndefinedReason(control.mean, treatment.mean) !== null) return null;
  const estimate = treatment.mean / control.mean - 1;
  const variance = relativeVariance(control, treatment);
  if (variance === null) return null;
  const se = Math.sqrt(Math.max(variance, 0));
  const q = df === null ? normalQuantile(1 - alpha / 2) : studentTQuantile(1 - alpha / 2, df);
  return { estimate, standardError: se, ci: [estimate - q * se, estimate + q * se] };
}

/**
 * Difference of two independent means with a z (df = null) or t interval. `testVariance` lets a caller
 * use a different standard error for the p-value than for the interval (pooled vs unpooled proportions).
 */
export function compareIndependentMeans(
  control: MeanWithVariance,
  treatment: MeanWithVariance,
  alpha: number,
  options: { df?: number | null; testVariance?: number } = {},
): EffectEstimate {
  const df = options.df ?? null;
  const estimate = treatment.mean - control.mean;
  const variance = control.variance + treatment.variance;
  const se = Math.sqrt(Math.max(variance, 0));
  const testSe = options.testVariance === undefined ? se : Math.sqrt(Math.max(options.testVariance, 0));
  const base = { estimate, standardError: se, controlMean: control.mean, treatmentMean: treatment.mean, df };
  if (!(testSe > 0) || !(se > 0)) {
    return { ...base, ci: null, pValue: 1, relative: null, statistic: 0, reason: 'zero-variance' };
  }
  const statistic = estimate / testSe;
  const pValue = df === null ? twoSidedPValue(statistic) : studentTTwoSidedPValue(statistic, df);
  const q = df === null ? normalQuantile(1 - alpha / 2) : studentTQuantile(1 - alpha / 2, df);
  const relative = relativeEffect(control, treatment, alpha, df);
  const relativeReason = relative === null ? (relativeUndefinedReason(control.mean, treatment.mean) ?? 'zero-baseline') : null;
  return { ...base, ci: [estimate - q * se, estimate + q * se], pValue, relative, ...(relativeReason ? { relativeReason } : {}), statistic };
}

/** Uninformative result for a comparison that cannot be made. */
export function degenerateEffect(reason: StatsReason, controlMean = 0, treatmentMean = 0): EffectEstimate {
  return {
    estimate: treatmentMean - controlMean,
    standardError: 0,
    ci: null,
    pValue: 1,
    relative: null,
    controlMean,
    treatmentMean,
    statistic: 0,
    df: null,
    reason,
  };
}
