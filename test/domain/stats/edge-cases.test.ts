import { describe, expect, it } from 'vitest';
import {
  asymptoticConfidenceSequence,
  compareMeans,
  compareProportions,
  compareRatios,
  sequentialEffect,
  chiSquareProportions,
  probabilityBest,
  betaBinomialPosterior,
  comparePosteriors,
  momentsOf,
  mixtureSprt,
  stratifiedDifference,
} from '../../../domain/stats/index.js';
import { expectFiniteDeep } from './helpers.js';

describe('numerical edge cases never produce NaN', () => {
  const props: [string, { n: number; successes: number }, { n: number; successes: number }, string | undefined][] = [
    ['zero conversions both arms', { n: 1000, successes: 0 }, { n: 1000, successes: 0 }, 'zero-variance'],
    ['zero conversions in control', { n: 1000, successes: 0 }, { n: 1000, successes: 10 }, 'zero-baseline'],
    ['all converted vs none', { n: 10, successes: 0 }, { n: 10, successes: 10 }, 'zero-variance'],
    ['empty arm', { n: 0, successes: 0 }, { n: 100, successes: 5 }, 'empty-arm'],
    ['huge n', { n: 1e12, successes: 1e11 }, { n: 1e12, successes: 1.0001e11 }, undefined],
  ];
  it.each(props)('proportions: %s', (_name, c, t, reason) => {
    const r = compareProportions(c, t);
    expectFiniteDeep(r);
    expect(r.reason).toBe(reason);
    expect(r.pValue).toBeGreaterThanOrEqual(0);
    expect(r.pValue).toBeLessThanOrEqual(1);
    expectFiniteDeep(sequentialEffect(r, c.n + t.n, 0.05));
  });

  it('all-converted vs none still has a pooled test p-value near 0', () => {
    expect(compareProportions({ n: 10, successes: 0 }, { n: 10, successes: 10 }).pValue).toBeLessThan(1e-4);
  });

  it('means: n = 0, n = 1, zero variance, huge n', () => {
    expect(compareMeans({ n: 0, sum: 0, sumSquares: 0 }, { n: 10, sum: 10, sumSquares: 20 }).reason).toBe('empty-arm');
    expect(compareMeans({ n: 1, sum: 3, sumSquares: 9 }, { n: 10, sum: 10, sumSquares: 20 }).reason).toBe('insufficient-sample');
    const flat = compareMeans({ n: 10, sum: 10, sumSquares: 10 }, { n: 10, sum: 20, sumSquares: 40 });
    expect(flat.reason).toBe('zero-variance');
    expectFiniteDeep(flat);
    const one = compareMeans({ n: 10, sum: 10, sumSquares: 10 }, { n: 10, sum: 20, sumSquares: 50 });
    expectFiniteDeep(one);
    expect(one.pValue).toBeGreaterThan(0);
    const huge = compareMeans({ n: 1e13, sum: 1e14, sumSquares: 1.01e15 }, { n: 1e13, sum: 1.00001e14, sumSquares: 1.01002e15 });
    expectFiniteDeep(huge);
    expect(huge.pValue).toBeLessThan(1e-10);
  });

  it('constant arms are zero-variance, not a certain difference (rounding noise of the moments is not variance)', () => {
    const flat = (n: number, v: number) => ({ n, sum: n * v, sumSquares: n * v * v });
    for (const [c, t] of [
      [momentsOf(new Array(1000).fill(0.1)), momentsOf(new Array(1000).fill(0.1000001))],
      [flat(5130, -7.549107143410644), flat(195, 5.406229708466838)],
      [flat(600809, 550.8627066203626), flat(2, -1.787945778235989)],
    ] as const) {
      const r = compareMeans(c, t);
      expect(r.reason).toBe('zero-variance');
      expect(r.pValue).toBe(1);
    }
    // A real but small spread still counts.
    expect(compareMeans(momentsOf([10, 10.001, 10.002]), momentsOf([11, 11.001, 11.002])).reason).toBeUndefined();
  });

  it('ratio metrics with zero denominators and single-unit arms', () => {
    const z = { n: 10, sum: 5, sumSquares: 5, denSum: 0, denSumSquares: 0, crossSum: 0 };
    expectFiniteDeep(compareRatios(z, z));
    expectFiniteDeep(compareRatios({ ...z, n: 1, denSum: 1 }, { ...z, denSum: 10, denSumSquares: 10 }));
  });

  it('single arm and all-empty inputs', () => {
    expect(chiSquareProportions([{ n: 100, successes: 10 }]).reason).toBe('single-arm');
    expect(probabilityBest([betaBinomialPosterior({ n: 0, successes: 0 })])).toEqual([1]);
    expectFiniteDeep(comparePosteriors(betaBinomialPosterior({ n: 0, successes: 0 }), betaBinomialPosterior({ n: 0, successes: 0 })));
    expectFiniteDeep(asymptoticConfidenceSequence({ estimate: 0, variance: 1e-300, n: 1e15, alpha: 1e-12 }));
  });
});

describe('degenerate relative effects are null with a reason, never a zero-width interval', () => {
  it('treatment with 0 conversions: relative null, reason zero-treatment (fixed and sequential)', () => {
    const r = compareProportions({ n: 1000, successes: 50 }, { n: 1000, successes: 0 });
    expect(r.relative).toBeNull();
    expect(r.relativeReason).toBe('zero-treatment');
    expect(r.ci).not.toBeNull();
    const s = sequentialEffect(r, 2000, 0.05);
    expect(s.relative).toBeNull();
    expect(s.relativeReason).toBe('zero-treatment');
  });
  it('control with 0 conversions: relative null, reason zero-baseline', () => {
    expect(compareProportions({ n: 1000, successes: 0 }, { n: 1000, successes: 10 }).relativeReason).toBe('zero-baseline');
    expect(compareMeans({ n: 10, sum: 0, sumSquares: 20 }, { n: 10, sum: 10, sumSquares: 20 }).relativeReason).toBe('zero-baseline');
  });
  it('sequential: a relative lift whose always-valid interval cannot be formed is dropped, not kept fixed-horizon', () => {
    const fixed = compareProportions({ n: 1000, successes: 100 }, { n: 1000, successes: 120 });
    const noVariance = { ...fixed, relative: { ...fixed.relative!, standardError: 0 } };
    const s = sequentialEffect(noVariance, 2000, 0.05);
    expect(s.relative).toBeNull();
    expect(s.relativeReason).toBe('zero-variance');
    const ok = sequentialEffect(fixed, 2000, 0.05);
    expect(ok.relative!.ci[0]).toBeLessThan(fixed.relative!.ci[0]);
  });
});

describe('relative lifts whose ratio or delta-method variance overflows a double', () => {
  // Control mean 1e-300 (a metric in tiny units) and a treatment mean of 1e150 (its square is 1e300).
  const tinyControl = { n: 1000, sum: 1e-297, sumSquares: 1e-10 };
  const normalTreatment = { n: 1e6, sum: 2e6, sumSquares: 1e8 };
  const hugeTreatment = { n: 1e6, sum: 1e156, sumSquares: 1e306 };
  const unitControl = { n: 1e9, sum: 1e9, sumSquares: 1e209 };
  it.each([
    ['control mean 1e-300', tinyControl, normalTreatment],
    ['treatment mean 1e150, control variance 1e200', unitControl, hugeTreatment],
  ])('%s: relative null with reason zero-baseline, nothing NaN or infinite (fixed, sequential, stratified)', (_name, c, t) => {
    const fixed = compareMeans(c, t);
    expectFiniteDeep(fixed);
    expect(fixed.relative).toBeNull();
    expect(fixed.relativeReason).toBe('zero-baseline');
    const seq = sequentialEffect(fixed, c.n + t.n, 0.05);
    expectFiniteDeep(seq);
    expect(seq.relative).toBeNull();
    const cells = [
      { metric: 'm', variant: 'c', segment: 0, period: 0, moments: c },
      { metric: 'm', variant: 't', segment: 0, period: 0, moments: t },
    ];
    const strat = stratifiedDifference(cells, { metricType: 'continuous', control: 'c', treatment: 't' });
    expectFiniteDeep(strat);
    expect(strat.relative).toBeNull();
  });
});

describe('mSPRT with no mixture (τ² = 0)', () => {
  it('gives no interval and p = 1, not a NaN p-value and ±∞ bounds', () => {
    const r = mixtureSprt({ estimate: 0, variance: 1e-300, alpha: 0.05, tau2: 0 });
    expectFiniteDeep(r);
    expect(r.ci).toBeNull();
    expect(r.pValue).toBe(1);
    expectFiniteDeep(mixtureSprt({ estimate: 1, variance: 1, alpha: 0.05, tau2: 0 }));
  });
});
