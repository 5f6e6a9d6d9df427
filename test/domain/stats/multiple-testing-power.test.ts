import { describe, expect, it } from 'vitest';
import {
  benjaminiHochbergAdjust,
  holmAdjust,
  minimumDetectableEffectMeans,
  minimumDetectableEffectProportions,
  powerTwoMeans,
  powerTwoProportions,
  sampleSizeTwoMeans,
  sampleSizeTwoProportions,
} from '../../../domain/stats/index.js';
import { expectAllClose, expectClose, loadFixture } from './helpers.js';

const mt = loadFixture<{ pValues: number[]; holm: number[]; bh: number[] }[]>('multiple-testing.json');
const pw = loadFixture<{
  proportions: { pControl: number; pTreatment: number; nTreatment: number; alpha: number; ratio: number; power: number; sampleSize80: number }[];
  means: { delta: number; sd: number; nTreatment: number; alpha: number; ratio: number; power: number; sampleSize80: number; mde80: number }[];
  mdeProportions: { pControl: number; nTreatment: number; alpha: number; mde80: number }[];
}>('power.json');

describe('multiple testing vs statsmodels multipletests', () => {
  it.each(mt)('$pValues', (c) => {
    expectAllClose(holmAdjust(c.pValues), c.holm, 1e-12);
    expectAllClose(benjaminiHochbergAdjust(c.pValues), c.bh, 1e-12);
  });
  it('treats NaN as 1 and keeps the input order', () => {
    expect(holmAdjust([Number.NaN, 0.01])).toEqual([1, 0.02]);
    expect(benjaminiHochbergAdjust([])).toEqual([]);
  });
});

describe('power and sample size vs statsmodels', () => {
  it.each(pw.proportions)('proportions $pControl → $pTreatment', (c) => {
    expectClose(powerTwoProportions(c), c.power, 1e-9);
    expectClose(sampleSizeTwoProportions({ ...c, power: 0.8 }), c.sampleSize80, 1e-9);
  });
  it.each(pw.means)('means δ=$delta σ=$sd', (c) => {
    expectClose(powerTwoMeans(c), c.power, 1e-9);
    expectClose(sampleSizeTwoMeans({ ...c, power: 0.8 }), c.sampleSize80, 1e-9);
    expectClose(minimumDetectableEffectMeans({ ...c, power: 0.8 }), c.mde80, 1e-9);
  });
  it.each(pw.mdeProportions)('MDE proportions p=$pControl n=$nTreatment', (c) => {
    const r = minimumDetectableEffectProportions({ ...c, power: 0.8 });
    expectClose(r.mde, c.mde80, 1e-8);
    expect(r.reason).toBeUndefined();
  });
  it('degenerate inputs give Infinity or a reason, not NaN', () => {
    expect(sampleSizeTwoMeans({ delta: 0, sd: 1 })).toBe(Infinity);
    expect(minimumDetectableEffectProportions({ pControl: 0.5, nTreatment: 0 }).reason).toBe('not-detectable');
    expect(powerTwoProportions({ pControl: 0.1, pTreatment: 0.1, nTreatment: 100 })).toBeCloseTo(0.05, 10);
  });
});
