import { describe, expect, it } from 'vitest';
import type { Moments } from '../../../domain/types.js';
import { cohensD, cohensH, compareMeans, compareProportions, compareRatios, welchDegreesOfFreedom, type RatioMoments } from '../../../domain/stats/index.js';
import { expectClose, loadFixture } from './helpers.js';

interface Rel {
  estimate: number;
  ci: [number, number];
}
const proportions = loadFixture<
  { control: { n: number; successes: number }; treatment: { n: number; successes: number }; alpha: number; estimate: number; z: number; pValue: number; ci: [number, number]; relative: Rel | null; cohensH: number }[]
>('proportions.json');
const means = loadFixture<{ control: Moments; treatment: Moments; alpha: number; estimate: number; t: number; df: number; pValue: number; ci: [number, number]; relative: Rel | null; cohensD: number }[]>('means.json');
const ratios = loadFixture<{ control: RatioMoments; treatment: RatioMoments; alpha: number; estimate: number; standardError: number; pValue: number; ci: [number, number] }[]>('ratio.json');

describe('two-proportion z-test vs statsmodels', () => {
  it.each(proportions)('$control.successes/$control.n vs $treatment.successes/$treatment.n', (c) => {
    const r = compareProportions(c.control, c.treatment, c.alpha);
    const width = c.ci[1] - c.ci[0];
    expectClose(r.estimate, c.estimate, 1e-12, width);
    expectClose(r.statistic, c.z, 1e-9);
    expectClose(r.pValue, c.pValue, 1e-6);
    expectClose(r.ci![0], c.ci[0], 1e-6, width);
    expectClose(r.ci![1], c.ci[1], 1e-6, width);
    expectClose(cohensH(c.control.successes / c.control.n, c.treatment.successes / c.treatment.n), c.cohensH, 1e-9, 1e-9);
    if (c.relative) {
      const rw = c.relative.ci[1] - c.relative.ci[0];
      expectClose(r.relative!.estimate, c.relative.estimate, 1e-9, rw);
      expectClose(r.relative!.ci[0], c.relative.ci[0], 1e-6, rw);
      expectClose(r.relative!.ci[1], c.relative.ci[1], 1e-6, rw);
    } else {
      expect(r.relative).toBeNull();
      expect(r.reason).toBe('zero-baseline');
    }
  });
});

describe('Welch t-test vs scipy', () => {
  it.each(means)('n=$control.n/$treatment.n', (c) => {
    const r = compareMeans(c.control, c.treatment, c.alpha);
    const width = c.ci[1] - c.ci[0];
    expectClose(r.df!, c.df, 1e-9);
    expectClose(r.statistic, c.t, 1e-8);
    expectClose(r.pValue, c.pValue, 1e-6);
    expectClose(r.ci![0], c.ci[0], 1e-6, width);
    expectClose(r.ci![1], c.ci[1], 1e-6, width);
    expectClose(cohensD(c.control, c.treatment), c.cohensD, 1e-9);
    if (c.relative) {
      const rw = c.relative.ci[1] - c.relative.ci[0];
      expectClose(r.relative!.ci[0], c.relative.ci[0], 1e-6, rw);
      expectClose(r.relative!.ci[1], c.relative.ci[1], 1e-6, rw);
    } else expect(r.relative).toBeNull();
  });

  it('Welch df is infinite-safe when both variances vanish', () => {
    expect(welchDegreesOfFreedom(0, 10, 0, 10)).toBe(Infinity);
  });
});

describe('ratio metric (delta method) vs numpy linearisation', () => {
  it.each(ratios)('n=$control.n/$treatment.n', (c) => {
    const r = compareRatios(c.control, c.treatment, c.alpha);
    const width = c.ci[1] - c.ci[0];
    expectClose(r.estimate, c.estimate, 1e-9, width);
    expectClose(r.standardError, c.standardError, 1e-8);
    expectClose(r.pValue, c.pValue, 1e-6);
    expectClose(r.ci![0], c.ci[0], 1e-6, width);
    expectClose(r.ci![1], c.ci[1], 1e-6, width);
  });
});
