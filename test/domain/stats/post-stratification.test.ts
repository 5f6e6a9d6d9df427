import { describe, expect, it } from 'vitest';
import { stratifiedDifference } from '../../../domain/stats/adaptive.js';
import type { CellStats } from '../../../domain/types.js';

const cell = (variant: string, stratum: string | undefined, n: number, k: number): CellStats => ({
  metric: 'm',
  variant,
  segment: 0,
  period: 1,
  ...(stratum === undefined ? {} : { stratum }),
  moments: { n, sum: k, sumSquares: k },
});

describe('post-stratification', () => {
  // iOS converts at 30%, Android at 5%; treatment adds 2 points in both; equal allocation.
  const strata = [cell('control', 'ios', 1000, 300), cell('treatment', 'ios', 1000, 320), cell('control', 'android', 1000, 50), cell('treatment', 'android', 1000, 70)];
  const pooled = strata.map(({ stratum: _s, ...c }) => c);
  const opts = { metricType: 'binary' as const, control: 'control', treatment: 'treatment', strata: 'segment-period' as const };

  it('keeps the estimate and removes the variance the stratum explains', () => {
    const withStrata = stratifiedDifference(strata, opts);
    const without = stratifiedDifference(pooled, opts);
    expect(withStrata.estimate).toBeCloseTo(0.02, 12);
    expect(without.estimate).toBeCloseTo(0.02, 12);
    expect(withStrata.strata).toHaveLength(2);
    expect(withStrata.variance).toBeLessThan(without.variance * 0.9);
  });
});
