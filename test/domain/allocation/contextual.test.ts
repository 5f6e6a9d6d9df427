import { describe, expect, it } from 'vitest';
import {
  type ContextRow,
  type ContextualConfig,
  fitContextualPolicy,
  riskAdjustedShare,
  scoreUplift,
  treatmentShareFor,
  upliftLowerBound,
} from '../../../domain/allocation/index.js';
import { assign, compileSnapshot } from '../../../domain/assignment/index.js';
import { createRng } from '../../../domain/rng.js';
import type { AllocationSnapshot } from '../../../domain/types.js';

const config: ContextualConfig = {
  control: 'control',
  treatment: 'treatment',
  features: ['ctx', 'noise'],
  baseline: 0.5,
  adjustment: { down: 0.4, up: 0.3 },
  riskTolerance: 0.01,
  floor: 0.05,
};

/** Context 0: treatment harms (0.10 → 0.05); context 1: treatment helps (0.10 → 0.18). */
function rows(n: number, seed: number): ContextRow[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const ctx = rng() < 0.5 ? 0 : 1;
    const t = rng() < 0.5;
    const p = t ? (ctx ? 0.18 : 0.05) : 0.1;
    return { features: [ctx, rng()], variant: t ? 'treatment' : 'control', y: rng() < p ? 1 : 0, propensity: 0.5 };
  });
}

describe('upliftLowerBound and riskAdjustedShare', () => {
  it('computes the difference of means minus z·SE', () => {
    const r = upliftLowerBound({ n: 100, sum: 10, sumSquares: 10 }, { n: 100, sum: 20, sumSquares: 20 }, 2);
    const se = Math.sqrt((0.1 * 0.9 * 100) / 99 / 100 + (0.2 * 0.8 * 100) / 99 / 100);
    expect(r.uplift).toBeCloseTo(0.1, 12);
    expect(r.se).toBeCloseTo(se, 12);
    expect(r.lcb).toBeCloseTo(0.1 - 2 * se, 12);
  });
  it.each<[number | null, number, string]>([
    [null, 0.5, 'insufficient'],
    [-0.05, 0.1, 'high'],
    [-0.005, 0.5, 'neutral'],
    [0.02, 0.8, 'benefit'],
  ])('LCB %s → share %s (%s)', (lcb, share, risk) => {
    const r = riskAdjustedShare(lcb, config);
    expect(r.share).toBeCloseTo(share, 12);
    expect(r.risk).toBe(risk);
  });
});

describe('fitContextualPolicy', () => {
  const fit = fitContextualPolicy(rows(4000, 1), config);
  it('moves the harmful context toward control and the beneficial one toward treatment', () => {
    expect(treatmentShareFor(fit.model, [0, 0.5])).toBeCloseTo(0.1, 9);
    expect(treatmentShareFor(fit.model, [1, 0.5])).toBeCloseTo(0.8, 9);
    expect(scoreUplift(fit.model, [0, 0.5])!).toBeLessThan(-config.riskTolerance);
    expect(scoreUplift(fit.model, [1, 0.5])!).toBeGreaterThan(0);
  });
  it('never goes below the exploration floor, even fully dampened', () => {
    const damped = fitContextualPolicy(rows(4000, 1), config, 1);
    for (const leaf of damped.leaves) expect(leaf.treatmentShare).toBeCloseTo(0.05, 12);
  });
  it('caps the rows used for fitting at maxRows (most recent)', () => {
    expect(fitContextualPolicy(rows(3000, 2), { ...config, maxRows: 1000 }).rowsUsed).toBe(1000);
  });
  it('serves the baseline when there is too little data', () => {
    const f = fitContextualPolicy(rows(40, 3), config);
    expect(f.model.nodes).toHaveLength(1);
    expect(treatmentShareFor(f.model, [0, 0])).toBe(0.5);
  });
  it('children always follow their parent in the flat tree (the snapshot contract)', () => {
    fit.model.nodes.forEach((n, i) => {
      if ('feature' in n) {
        expect(n.left).toBeGreaterThan(i);
        expect(n.right).toBeGreaterThan(i);
      }
    });
  });

  it('assign serves the leaf weights and logs them as propensity', () => {
    const snap: AllocationSnapshot = {
      experimentKey: 'ctx',
      version: 1,
      cycle: 1,
      seed: 'ctx-seed',
      hashVersion: 1,
      phase: 'running',
      variants: [
        { key: 'control', isControl: true },
        { key: 'treatment', isControl: false },
      ],
      defaultVariant: 'control',
      segments: [{ id: 0, status: 'active', coverage: 1, weights: { control: 0.5, treatment: 0.5 }, centroid: null }],
      segmentFeatures: [],
      sticky: false,
      createdAt: '2025-01-01T00:00:00Z',
      reason: 'test',
      contextual: fit.model,
    };
    const prep = compileSnapshot(snap);
    for (const ctx of [0, 1]) {
      let t = 0;
      const N = 10_000;
      for (let i = 0; i < N; i++) {
        const a = assign(`u${i}`, prep, { ctx, noise: 0.5 });
        expect(a.reason).toBe('contextual');
        expect(a.propensity).toBeCloseTo(a.variant === 'treatment' ? treatmentShareFor(fit.model, [ctx, 0.5]) : 1 - treatmentShareFor(fit.model, [ctx, 0.5]), 12);
        if (a.variant === 'treatment') t++;
      }
      expect(t / N).toBeCloseTo(treatmentShareFor(fit.model, [ctx, 0.5]), 1);
    }
    // A context without the features falls back to the segment weights.
    expect(assign('u1', prep, {}).reason).toBe('enrolled');
  });
});
