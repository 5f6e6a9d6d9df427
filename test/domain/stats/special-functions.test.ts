import { describe, expect, it } from 'vitest';
import { chiSquareSf, normalCdf, normalQuantile, normalSf, studentTQuantile, studentTTwoSidedPValue, twoSidedPValue } from '../../../domain/stats/index.js';
import { expectClose, loadFixture } from './helpers.js';

const f = loadFixture<{
  normalCdf: [number, number][];
  normalSf: [number, number][];
  normalQuantile: [number, number][];
  studentTTwoSided: [number, number, number][];
  studentTQuantile: [number, number, number][];
  chiSquareSf: [number, number, number][];
}>('special.json');

describe('special functions vs scipy', () => {
  it.each(f.normalCdf)('Φ(%d)', (x, want) => expectClose(normalCdf(x), want, 1e-12));
  it.each(f.normalSf)('1−Φ(%d)', (x, want) => expectClose(normalSf(x), want, 1e-12));
  it.each(f.normalQuantile)('Φ⁻¹(%d)', (p, want) => expectClose(normalQuantile(p), want, 1e-12, 1e-15));
  it.each(f.studentTTwoSided)('t p-value t=%d df=%d', (t, df, want) => expectClose(studentTTwoSidedPValue(t, df), want, 1e-9));
  it.each(f.studentTQuantile)('t quantile p=%d df=%d', (p, df, want) => expectClose(studentTQuantile(p, df), want, 1e-9));
  it.each(f.chiSquareSf)('chi2 sf x=%d df=%d', (x, df, want) => expectClose(chiSquareSf(x, df), want, 1e-10));

  it('keeps tail p-values positive where 1 − cdf would underflow', () => {
    expect(twoSidedPValue(-9)).toBeGreaterThan(0);
    expect(twoSidedPValue(9)).toBeCloseTo(2 * normalCdf(-9), 30);
    expect(twoSidedPValue(Number.NaN)).toBe(1);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
  });
});
