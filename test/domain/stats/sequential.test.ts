import { describe, expect, it } from 'vitest';
import type { Moments } from '../../../domain/types.js';
import {
  alphaSpent,
  asymptoticConfidenceSequence,
  compareMeans,
  compareProportions,
  crossingProbabilities,
  mixtureSprt,
  runningMinimumPValue,
  sequentialEffect,
  spendingBoundaries,
} from '../../../domain/stats/index.js';
import { expectAllClose, expectClose, loadFixture } from './helpers.js';

interface GbCase {
  metricType: 'binary' | 'continuous';
  control: Moments;
  treatment: Moments;
  alpha: number;
  tuningN?: number;
  difference: 'absolute' | 'relative';
  estimate: number;
  ci: [number, number];
  pValue: number;
}
const gb = loadFixture<{ sequential: GbCase[]; fixedHorizon: GbCase[] }>('gbstats.json');

function effectOf(c: GbCase) {
  return c.metricType === 'binary'
    ? compareProportions({ n: c.control.n, successes: c.control.sum }, { n: c.treatment.n, successes: c.treatment.sum }, c.alpha)
    : compareMeans(c.control, c.treatment, c.alpha);
}

describe('asymptotic confidence sequence vs gbstats SequentialTwoSidedTTest', () => {
  it.each(gb.sequential)('$metricType $difference n=$control.n N*=$tuningN', (c) => {
    const seq = sequentialEffect(effectOf(c), c.control.n + c.treatment.n, c.alpha, c.tuningN);
    const ci = c.difference === 'absolute' ? seq.ci! : seq.relative!.ci;
    const est = c.difference === 'absolute' ? seq.estimate : seq.relative!.estimate;
    const w = c.ci[1] - c.ci[0];
    expectClose(est, c.estimate, 1e-9, w);
    expectClose(ci[0], c.ci[0], 1e-6, w);
    expectClose(ci[1], c.ci[1], 1e-6, w);
    if (c.difference === 'absolute') expectClose(seq.pValue, c.pValue, 1e-6);
  });

  it.each(gb.fixedHorizon.filter((c) => c.metricType === 'continuous' && c.difference === 'absolute'))('fixed-horizon Welch matches gbstats TwoSidedTTest n=$control.n', (c) => {
    const r = compareMeans(c.control, c.treatment, c.alpha);
    expectClose(r.pValue, c.pValue, 1e-6);
    expectClose(r.ci![0], c.ci[0], 1e-6, c.ci[1] - c.ci[0]);
  });

  it('p-value is the smallest α at which the CS excludes 0 (two-sided)', () => {
    const look = { estimate: 0.12, variance: 0.0016, n: 8000, alpha: 0.05, tuningN: 5000 };
    const { pValue } = asymptoticConfidenceSequence(look);
    expect(pValue).toBeGreaterThan(0);
    expect(pValue).toBeLessThan(1);
    // With ρ held at the nominal-α tuning, the CS at level p just touches 0.
    const rho = asymptoticConfidenceSequence(look).rho;
    const nr = look.n * rho * rho + 1;
    const halfAtP = Math.sqrt(look.variance * look.n) * Math.sqrt(((2 * nr) / (look.n * rho) ** 2) * Math.log(Math.sqrt(nr) / pValue));
    expectClose(halfAtP, Math.abs(look.estimate), 1e-9);
    const ci = asymptoticConfidenceSequence(look).ci!;
    expect(ci[0] > 0).toBe(pValue < look.alpha);
  });

  it('is wider than the fixed-horizon interval and degrades gracefully', () => {
    const fixed = compareMeans({ n: 1000, sum: 10000, sumSquares: 109000 }, { n: 1000, sum: 10200, sumSquares: 113000 });
    const seq = sequentialEffect(fixed, 2000, 0.05);
    expect(seq.ci![1] - seq.ci![0]).toBeGreaterThan(fixed.ci![1] - fixed.ci![0]);
    expect(asymptoticConfidenceSequence({ estimate: 1, variance: 0, n: 10, alpha: 0.05 })).toMatchObject({ ci: null, pValue: 1, reason: 'zero-variance' });
    expect(asymptoticConfidenceSequence({ estimate: 1, variance: 1, n: 0, alpha: 0.05 })).toMatchObject({ ci: null, pValue: 1 });
    expect(asymptoticConfidenceSequence({ estimate: 1e6, variance: 1e-6, n: 1e9, alpha: 0.05 }).pValue).toBe(0);
  });

  it('mSPRT: p-value below α exactly when its interval excludes 0; running minimum is monotone', () => {
    for (const estimate of [0.01, 0.05, 0.08, 0.2]) {
      const r = mixtureSprt({ estimate, variance: 0.0009, alpha: 0.05, tau2: 0.01 });
      expect(r.ci![0] > 0).toBe(r.pValue < 0.05);
    }
    expect(runningMinimumPValue([0.5, 0.2, 0.3, 0.1])).toEqual([0.5, 0.2, 0.2, 0.1]);
  });
});

describe('group-sequential boundaries (5 equally spaced looks, two-sided α = 0.05)', () => {
  const t = [0.2, 0.4, 0.6, 0.8, 1];
  const within = (got: number[], want: number[]) => {
    expect(got).toHaveLength(want.length);
    got.forEach((b, i) => expect(Math.abs(b - (want[i] ?? NaN))).toBeLessThan(1e-3));
  };

  it('Lan–DeMets O’Brien–Fleming spending', () => {
    const d = spendingBoundaries({ informationFractions: t, alpha: 0.05, spending: 'obrien-fleming' });
    within(d.boundaries, [4.877, 3.357, 2.68, 2.29, 2.032]);
    expectClose(d.cumulativeAlpha.at(-1) ?? NaN, 0.05, 1e-6);
  });
  it('Lan–DeMets Pocock spending spends α·log(1+(e−1)t)', () => {
    const d = spendingBoundaries({ informationFractions: t, alpha: 0.05, spending: 'pocock' });
    expectAllClose(d.cumulativeAlpha, t.map((ti) => alphaSpent('pocock', ti, 0.05)), 1e-6);
    expect(d.boundaries).toHaveLength(5);
    expect(d.boundaries[0]).toBeGreaterThan(d.boundaries[4] ?? Infinity);
  });
  it('one look reduces to the fixed test; drift gives power', () => {
    expectAllClose(crossingProbabilities([1.959963984540054], [1]), [0.05], 1e-9);
    // E[Z] = 2.8 ⇒ power ≈ 0.80 for a single look.
    expect(crossingProbabilities([1.959963984540054], [1], 2.8)[0]).toBeCloseTo(0.7995, 3);
  });
});
