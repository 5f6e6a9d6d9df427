/**
 * Sample-ratio inputs: expected counts come from the weights each unit was randomised with — the
 * segment's weights in its period's snapshot, or its context leaf's share under the contextual policy.
 */
import { describe, expect, it } from 'vitest';
import { sampleRatioInputs, unitsByPeriodSegment, unitsByRandomisationCell } from '../../../domain/experiment/cells.js';
import { checkSampleRatio } from '../../../domain/stats/srm.js';
import type { CellStats, Weights } from '../../../domain/types.js';

const cell = (variant: string, n: number, opts: { period?: number; segment?: number; q?: number; metric?: string } = {}): CellStats => ({
  metric: opts.metric ?? 'conv',
  variant,
  segment: opts.segment ?? 0,
  period: opts.period ?? 1,
  ...(opts.q === undefined ? {} : { propensityStratum: opts.q }),
  moments: { n, sum: 0, sumSquares: 0 },
});

const variants = ['control', 'treatment'];
/** The segment's own (baseline) weights: what the contextual leaves override. */
const baseline = (): Weights => ({ control: 0.5, treatment: 0.5 });

describe('sample-ratio check under the contextual policy', () => {
  // Leaf A: treatment share 0.2; leaf B: 0.5. Counts exactly as randomised.
  const leaves = (stratum: boolean) => [
    cell('control', 8000, { q: stratum ? 0.2 : undefined }),
    cell('treatment', 2000, { q: stratum ? 0.2 : undefined }),
    cell('control', 5000, { q: stratum ? 0.5 : undefined }),
    cell('treatment', 5000, { q: stratum ? 0.5 : undefined }),
    cell('control', 5000, { q: stratum ? 0.5 : undefined, metric: 'other' }),
  ];

  it('uses the leaf shares per (period, segment, stratum): no alarm when counts match them', () => {
    const inputs = sampleRatioInputs(leaves(true), 'conv', variants, 'control', baseline);
    expect(inputs.observed).toEqual([13_000, 7_000]);
    expect(inputs.periods).toEqual([
      { weights: [0.8, 0.2], n: 10_000 },
      { weights: [0.5, 0.5], n: 10_000 },
    ]);
    const srm = checkSampleRatio(inputs);
    expect(srm.expected[0]).toBeCloseTo(13_000, 9);
    expect(srm.alarm).toBe(false);
    expect(srm.pValue).toBeCloseTo(1, 9);
  });

  it('the segment weights (the old expectation) alarm on the same, correctly randomised units', () => {
    const srm = checkSampleRatio(sampleRatioInputs(leaves(false), 'conv', variants, 'control', baseline));
    expect(srm.alarm).toBe(true);
  });

  it('still alarms on a real mismatch inside a stratum', () => {
    const cells = [cell('control', 8000, { q: 0.2 }), cell('treatment', 1700, { q: 0.2 }), cell('control', 5000, { q: 0.5 }), cell('treatment', 5000, { q: 0.5 })];
    expect(checkSampleRatio(sampleRatioInputs(cells, 'conv', variants, 'control', baseline)).alarm).toBe(true);
  });

  it('without strata uses each (period, segment) weights, as before, for any number of arms', () => {
    const arms = ['a', 'b', 'c'];
    const w: Record<string, Weights> = { '1:0': { a: 0.2, b: 0.3, c: 0.5 }, '2:0': { a: 0.6, b: 0.2, c: 0.2 }, '2:1': { a: 1 / 3, b: 1 / 3, c: 1 / 3 } };
    const cells = [
      cell('a', 200), cell('b', 300), cell('c', 500),
      cell('a', 600, { period: 2 }), cell('b', 200, { period: 2 }), cell('c', 200, { period: 2 }),
      cell('a', 100, { period: 2, segment: 1 }), cell('b', 100, { period: 2, segment: 1 }), cell('c', 100, { period: 2, segment: 1 }),
    ];
    const inputs = sampleRatioInputs(cells, 'conv', arms, 'a', (p, s) => w[`${p}:${s}`]);
    // The same periods the old per-(period, segment) loop built.
    const old = [...unitsByPeriodSegment(cells, 'conv')].map(([k, counts]) => ({ weights: arms.map((v) => w[k]![v]!), n: arms.reduce((a, v) => a + (counts[v] ?? 0), 0) }));
    expect(inputs.periods).toEqual(old);
    expect(inputs.observed).toEqual([900, 600, 800]);
    expect(checkSampleRatio(inputs).pValue).toBeCloseTo(1, 9);
    expect(unitsByRandomisationCell(cells, 'conv').every((c) => c.propensityStratum === undefined)).toBe(true);
  });
});
