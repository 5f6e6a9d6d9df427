/**
 * Sample-ratio mismatch. Allocation weights change over an adaptive experiment, so the expected share of
 * each arm is the unit-weighted sum over allocation periods, not the final weights.
 */
import { chiSquareGoodnessOfFit } from './chi-square.js';

/** One allocation period: the weights in force and how many units were assigned meanwhile. */
export interface AllocationPeriod {
  weights: readonly number[];
  n: number;
}

/** SRM verdict. `alarm` is true when pValue < threshold. */
export interface SampleRatioCheck {
  statistic: number;
  df: number;
  pValue: number;
  expected: number[];
  observed: number[];
  alarm: boolean;
  threshold: number;
  reason?: 'no-data' | 'single-arm';
}

/** Expected per-arm counts from allocation periods, summed over periods (weights normalised per period). */
export function expectedCountsFromPeriods(periods: readonly AllocationPeriod[], arms: number): number[] {
  let expected = new Array<number>(arms).fill(0);
  for (const p of periods) {
    const total = p.weights.reduce((a, b) => a + Math.max(0, b), 0);
    if (!(total > 0) || !(p.n > 0)) continue;
    expected = expected.map((e, i) => e + (p.n * Math.max(0, p.weights[i] ?? 0)) / total);
  }
  return expected;
}

/**
 * Chi-square goodness-of-fit SRM check (default alarm p < 0.001, the threshold GrowthBook and
 * Optimizely use, because SRM checks run at every look). Expected counts are rescaled to the observed
 * total so units that were assigned but never observed do not trigger an alarm by themselves.
 */
export function checkSampleRatio(input: { periods: readonly AllocationPeriod[]; observed: readonly number[]; threshold?: number }): SampleRatioCheck {
  const threshold = input.threshold ?? 0.001;
  const observed = [...input.observed];
  const raw = expectedCountsFromPeriods(input.periods, observed.length);
  const rawTotal = raw.reduce((a, b) => a + b, 0);
  const observedTotal = observed.reduce((a, b) => a + b, 0);
  if (!(rawTotal > 0) || !(observedTotal > 0)) {
    return { statistic: 0, df: 0, pValue: 1, expected: raw, observed, alarm: false, threshold, reason: 'no-data' };
  }
  const expected = raw.map((e) => (e * observedTotal) / rawTotal);
  const gof = chiSquareGoodnessOfFit(observed, expected);
  return { ...gof, expected, observed, alarm: gof.pValue < threshold, threshold };
}
