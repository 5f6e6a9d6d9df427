import { describe, expect, it } from 'vitest';
import { createRng, normal, type Rng } from '../../../domain/rng.js';
import type { CellStats } from '../../../domain/types.js';
import { compareCuped, compareHajek, cupedTheta, stratifiedDifference, type CupedMoments, type IpwMoments } from '../../../domain/stats/index.js';
import { expectClose, loadFixture } from './helpers.js';

const cuped = loadFixture<{ control: CupedMoments; treatment: CupedMoments; theta: number; estimate: number }[]>('cuped.json');

function simulateCupedArm(rng: Rng, n: number, rho: number, effect: number): CupedMoments {
  const m: CupedMoments = { n, sum: 0, sumSquares: 0, covariateSum: 0, covariateSumSquares: 0, crossSum: 0 };
  for (let i = 0; i < n; i++) {
    const x = normal(rng);
    const y = effect + rho * x + Math.sqrt(1 - rho * rho) * normal(rng);
    m.sum += y;
    m.sumSquares += y * y;
    m.covariateSum += x;
    m.covariateSumSquares += x * x;
    m.crossSum += x * y;
  }
  return m;
}

describe('CUPED', () => {
  it.each(cuped)('θ and adjusted difference match OLS of Y on [1, T, X] %#', (c) => {
    expectClose(cupedTheta([c.control, c.treatment]), c.theta, 1e-9);
    const r = compareCuped(c.control, c.treatment);
    expectClose(r.estimate, c.estimate, 1e-8, r.standardError);
  });

  it('reduces the variance of the estimate by ≈ 1 − ρ² on simulated data (within MC error)', () => {
    const rng = createRng('cuped');
    for (const rho of [0.5, 0.8]) {
      const c = simulateCupedArm(rng, 20_000, rho, 0);
      const t = simulateCupedArm(rng, 20_000, rho, 0.02);
      const r = compareCuped(c, t);
      // Sample correlation of 40k draws has SE ≈ (1−ρ²)/√n ≈ 0.005, so 1 − ρ̂² is within ~0.02.
      expect(Math.abs(1 - r.varianceReduction - (1 - rho * rho))).toBeLessThan(0.02);
    }
    // Across replications, the empirical variance of the CUPED estimate shrinks by the same factor.
    const rho = 0.7;
    const raw: number[] = [];
    const adj: number[] = [];
    for (let rep = 0; rep < 600; rep++) {
      const c = simulateCupedArm(rng, 200, rho, 0);
      const t = simulateCupedArm(rng, 200, rho, 0);
      raw.push(t.sum / t.n - c.sum / c.n);
      adj.push(compareCuped(c, t).estimate);
    }
    const variance = (xs: number[]) => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
    };
    const ratio = variance(adj) / variance(raw);
    // F-ratio of two correlated variance estimates from 600 reps: SE ≈ 0.05 around 0.51.
    expect(Math.abs(ratio - (1 - rho * rho))).toBeLessThan(0.15);
  });

  it('handles binary outcomes and degenerate covariates', () => {
    const c: CupedMoments = { n: 100, sum: 10, sumSquares: 10, covariateSum: 100, covariateSumSquares: 100, crossSum: 10 };
    const r = compareCuped(c, { ...c, sum: 20, sumSquares: 20, crossSum: 20 });
    expect(r.theta).toBe(0); // X has no variance
    expect(r.estimate).toBeCloseTo(0.1, 12);
    expect(compareCuped({ ...c, n: 0 }, c).reason).toBe('empty-arm');
  });
});

describe('Hajek IPW', () => {
  it('recovers the mean when propensities vary and reduces to the plain mean at constant π', () => {
    const rng = createRng(11);
    const build = (mu: number, propensity: (i: number) => number): IpwMoments => {
      const m: IpwMoments = { n: 0, sumW: 0, sumWY: 0, sumW2: 0, sumW2Y: 0, sumW2Y2: 0 };
      for (let i = 0; i < 20000; i++) {
        const w = 1 / propensity(i);
        const y = mu + normal(rng);
        m.n++;
        m.sumW += w;
        m.sumWY += w * y;
        m.sumW2 += w * w;
        m.sumW2Y += w * w * y;
        m.sumW2Y2 += w * w * y * y;
      }
      return m;
    };
    const r = compareHajek(build(1, () => 0.5), build(1.1, (i) => (i % 2 ? 0.2 : 0.8)));
    expect(Math.abs(r.estimate - 0.1)).toBeLessThan(4 * r.standardError);
    expect(compareHajek({ n: 0, sumW: 0, sumWY: 0, sumW2: 0, sumW2Y: 0, sumW2Y2: 0 }, build(1, () => 1)).reason).toBe('empty-arm');
  });
});

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
