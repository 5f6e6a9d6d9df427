import { describe, expect, it } from 'vitest';
import type { CellStats } from '../../../domain/types.js';
import { stratifiedDifference } from '../../../domain/stats/index.js';
import { expectClose } from './helpers.js';

function binaryCell(variant: string, period: number, n: number, successes: number, segment = 0): CellStats {
  return { metric: 'conv', variant, segment, period, moments: { n, sum: successes, sumSquares: successes } };
}

describe('period-stratified difference under adaptive allocation', () => {
  it('removes the time-trend bias a bandit puts into pooled means', () => {
    // Period 1: base 10%, 50/50. Period 2: base 20%, bandit moved 90% to B. True lift = 0 in both.
    const cells = [binaryCell('A', 1, 5000, 500), binaryCell('B', 1, 5000, 500), binaryCell('A', 2, 1000, 200), binaryCell('B', 2, 9000, 1800)];
    const pooledA = 700 / 6000;
    const pooledB = 2300 / 14000;
    expect(pooledB - pooledA).toBeGreaterThan(0.04); // naive pooled comparison is badly biased
    const r = stratifiedDifference(cells, { metricType: 'binary', control: 'A', treatment: 'B' });
    expect(r.estimate).toBeCloseTo(0, 12);
    expect(r.pValue).toBeCloseTo(1, 12);
    expect(r.strata).toHaveLength(2);
    expect(r.n).toBe(20000);
  });

  it('combines strata with fixed weights: variance Σw²V/(Σw)², single stratum = plain z-test', () => {
    const one = stratifiedDifference([binaryCell('A', 1, 1000, 100), binaryCell('B', 1, 1000, 130)], { metricType: 'binary', control: 'A', treatment: 'B' });
    const v = 0.1 * 0.9 / 1000 + 0.13 * 0.87 / 1000;
    expectClose(one.variance, v, 1e-12);
    expectClose(one.estimate, 0.03, 1e-12);
    expectClose(one.relative!.estimate, 0.3, 1e-12);
    const segs = stratifiedDifference(
      [binaryCell('A', 1, 500, 50, 0), binaryCell('A', 1, 500, 50, 1), binaryCell('B', 1, 500, 60, 0), binaryCell('B', 1, 500, 70, 1)],
      { metricType: 'binary', control: 'A', treatment: 'B' },
    );
    expectClose(segs.estimate, 0.03, 1e-12); // pooled across segments within the period
    const iv = stratifiedDifference(
      [binaryCell('A', 1, 1000, 100), binaryCell('B', 1, 1000, 130), binaryCell('A', 2, 400, 40), binaryCell('B', 2, 4000, 520)],
      { metricType: 'binary', control: 'A', treatment: 'B', weighting: 'inverse-variance' },
    );
    expectClose(iv.estimate, 0.03, 1e-12);
  });

  it('reports a reason instead of NaN when a stratum or arm is missing', () => {
    const r = stratifiedDifference([binaryCell('A', 1, 100, 10)], { metricType: 'binary', control: 'A', treatment: 'B' });
    expect(r).toMatchObject({ reason: 'empty-arm', pValue: 1, ci: null });
    const z = stratifiedDifference([binaryCell('A', 1, 100, 0), binaryCell('B', 1, 100, 0)], { metricType: 'binary', control: 'A', treatment: 'B' });
    expect(z).toMatchObject({ reason: 'zero-variance', pValue: 1 });
    const partial = stratifiedDifference([binaryCell('A', 1, 100, 10), binaryCell('B', 1, 100, 12), binaryCell('B', 2, 50, 5)], { metricType: 'binary', control: 'A', treatment: 'B' });
    expect(partial.droppedStrata).toBe(1);
  });
});
