import { describe, expect, it } from 'vitest';
import { checkSampleRatio, chiSquareGoodnessOfFit, chiSquareIndependence, chiSquareProportions, type AllocationPeriod } from '../../../domain/stats/index.js';
import { expectAllClose, expectClose, loadFixture } from './helpers.js';

const chi = loadFixture<{
  independence: { table: number[][]; statistic: number; df: number; pValue: number }[];
  goodnessOfFit: { observed: number[]; expected: number[]; statistic: number; pValue: number }[];
}>('chi-square.json');
const srm = loadFixture<{ periods: AllocationPeriod[]; observed: number[]; expected: number[]; statistic: number; pValue: number }[]>('srm.json');

describe('chi-square vs scipy', () => {
  it.each(chi.independence)('independence $table', (c) => {
    const r = chiSquareIndependence(c.table);
    expect(r.df).toBe(c.df);
    expectClose(r.statistic, c.statistic, 1e-8);
    expectClose(r.pValue, c.pValue, 1e-8);
  });
  it.each(chi.goodnessOfFit)('goodness of fit $observed', (c) => {
    const r = chiSquareGoodnessOfFit(c.observed, c.expected);
    expectClose(r.statistic, c.statistic, 1e-8);
    expectClose(r.pValue, c.pValue, 1e-8);
  });
  it('k-arm proportions build the (converted, not converted) table', () => {
    const r = chiSquareProportions([{ n: 1000, successes: 100 }, { n: 1000, successes: 120 }, { n: 1000, successes: 90 }]);
    expectClose(r.statistic, chi.independence[1]?.statistic ?? NaN, 1e-8);
  });
  it('drops empty rows and columns instead of dividing by zero', () => {
    expect(chiSquareIndependence([[0, 10], [0, 12]])).toMatchObject({ pValue: 1, reason: 'single-arm' });
    expect(chiSquareIndependence([[0, 0], [0, 0]])).toMatchObject({ pValue: 1, reason: 'no-data' });
    expect(chiSquareIndependence([[10, 5], [0, 0], [12, 3]]).df).toBe(1);
  });
});

describe('sample-ratio mismatch over allocation periods', () => {
  it.each(srm)('observed $observed', (c) => {
    const r = checkSampleRatio({ periods: c.periods, observed: c.observed });
    expectAllClose(r.expected, c.expected, 1e-12);
    expectClose(r.statistic, c.statistic, 1e-8, 1e-12);
    expectClose(r.pValue, c.pValue, 1e-8);
    expect(r.alarm).toBe(c.pValue < 0.001);
  });
  it('expected counts follow the weights in force, not the final weights', () => {
    const periods = [{ weights: [0.5, 0.5], n: 10000 }, { weights: [0.2, 0.8], n: 10000 }];
    expect(checkSampleRatio({ periods, observed: [7000, 13000] }).alarm).toBe(false);
    expect(checkSampleRatio({ periods: [{ weights: [0.2, 0.8], n: 20000 }], observed: [7000, 13000] }).alarm).toBe(true);
  });
  it('an arm with zero weight that received units is an alarm; no data is not', () => {
    expect(checkSampleRatio({ periods: [{ weights: [1, 0], n: 100 }], observed: [95, 5] })).toMatchObject({ pValue: 0, alarm: true });
    expect(checkSampleRatio({ periods: [], observed: [0, 0] })).toMatchObject({ pValue: 1, alarm: false, reason: 'no-data' });
  });
});
