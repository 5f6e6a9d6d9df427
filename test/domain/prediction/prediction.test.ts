import { describe, expect, it } from 'vitest';
import { DecisionTreeRegression } from 'ml-cart';
import { createRng } from '../../../domain/rng.js';
import {
  COLD_START_MODEL,
  TTSIG_FEATURE_NAMES,
  calibrationTable,
  predictSamplesAnalytic,
  predictTimeToSignificance,
  scorePredictions,
  spearman,
  trainSignificanceTree,
  walkTree,
  type SegmentPredictionFeatures,
  type TtsigTrainingRow,
} from '../../../domain/prediction/index.js';

const base: SegmentPredictionFeatures = {
  size: 10_000,
  accrualPerCycle: 1000,
  baselineRate: 0.1,
  observedEffect: 0.01,
  variance: 0.09,
  cyclesElapsed: 2,
  samplesPerArm: 0,
};

describe('analytic power baseline', () => {
  it('matches the textbook formula (α=0.05, power 0.8: (1.96+0.8416)² · 2σ²/δ²)', () => {
    const p = predictSamplesAnalytic(base);
    const expected = (1.959964 + 0.841621) ** 2 * 2 * 0.09 / 0.0001;
    expect(p.requiredPerArm).toBeCloseTo(expected, 0);
    expect(p.remainingSamples).toBeCloseTo(2 * expected, 0);
    expect(p.remainingCycles).toBeCloseTo((2 * expected) / 1000, 3);
    expect(p.capped).toBe(false);
  });

  it('subtracts what is collected and never goes negative', () => {
    const p = predictSamplesAnalytic({ ...base, samplesPerArm: 10_000 });
    expect(p.remainingSamples).toBeCloseTo(2 * (p.requiredPerArm - 10_000), 3);
    expect(predictSamplesAnalytic({ ...base, samplesPerArm: 1e6 }).remainingSamples).toBe(0);
  });

  it('returns a finite cap and a flag when the effect is ≈ 0', () => {
    const p = predictSamplesAnalytic({ ...base, observedEffect: 0 }, { capSamples: 5e6 });
    expect(p.capped).toBe(true);
    expect(p.remainingSamples).toBe(5e6);
    expect(Number.isFinite(p.remainingCycles)).toBe(true);
  });

  it('falls back to analytic without a model', () => {
    const p = predictTimeToSignificance(base);
    expect(p.source).toBe('analytic');
    expect(p.samples).toBe(p.analytic.remainingSamples);
  });
});

describe('tree model', () => {
  // Synthetic history: log samples = 10 − 2·absZ + noise; the tree must learn the direction.
  const rng = createRng(3);
  const rows: TtsigTrainingRow[] = Array.from({ length: 600 }, () => {
    const features = TTSIG_FEATURE_NAMES.map(() => rng() * 4);
    return { features, logSamples: 10 - 2 * features[8]! + 0.3 * (rng() - 0.5) };
  });

  it('trains on at most maxRows recent rows, walks like ml-cart and gives ordered quantiles', () => {
    const model = trainSignificanceTree(rows, { maxRows: 400, seed: 1 });
    expect(model.trainedRows + model.holdoutRows).toBe(400);
    const lib = DecisionTreeRegression.load(model.tree);
    const probe = rows.slice(0, 20).map((r) => r.features);
    expect(probe.map((x) => walkTree(model.tree, x).value)).toEqual(lib.predict(probe));
    const r = model.globalResiduals;
    expect(r['0.1']!).toBeLessThanOrEqual(r['0.5']!);
    expect(r['0.5']!).toBeLessThanOrEqual(r['0.9']!);
    const held = rows.slice(0, 200);
    const score = scorePredictions(held.map((x) => Math.expm1(walkTree(model.tree, x.features).value)), held.map((x) => Math.expm1(x.logSamples)));
    expect(score.spearman).toBeGreaterThan(0.9);
  });

  it('cold-start model loads and ranks a strong effect faster than a weak one', () => {
    expect(COLD_START_MODEL.kind).toBe('ttsig-tree');
    const strong = predictTimeToSignificance({ ...base, observedEffect: 0.03, samplesPerArm: 2000 }, { model: COLD_START_MODEL });
    const weak = predictTimeToSignificance({ ...base, observedEffect: 0.002, samplesPerArm: 2000 }, { model: COLD_START_MODEL });
    expect(strong.source).toBe('tree');
    expect(strong.samples).toBeLessThan(weak.samples);
    expect(strong.cyclesLower).toBeLessThanOrEqual(strong.cycles);
    expect(strong.cycles).toBeLessThanOrEqual(strong.cyclesUpper);
  });
});

describe('calibration and scoring', () => {
  it('spearman handles ties and perfect order', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 1, 2], [1, 1, 2])).toBeCloseTo(1, 12);
  });

  it('median absolute log error and coverage table', () => {
    expect(scorePredictions([100, 100], [100 * Math.E, 100]).medianAbsLogError).toBeCloseTo(0.5, 12);
    const table = calibrationTable([{ '0.5': 10 }, { '0.5': 10 }, { '0.5': 10 }, { '0.5': 10 }], [5, 9, 11, 20], [0.5]);
    expect(table).toEqual([{ nominal: 0.5, empirical: 0.5 }]);
  });
});
