import { describe, expect, it } from 'vitest';
import { buildUnitFeatures, fitScaling, normaliseContext, type FeatureConfig, type UnitAggregateRow } from '../../../domain/segmentation/index.js';

const config: FeatureConfig = {
  behaviour: [
    { name: 'clicks', event: 'click', aggregate: 'count', transform: 'identity' },
    { name: 'dwell', event: 'page_view', aggregate: 'meanPerEvent', transform: 'identity' },
    { name: 'purchases', event: 'purchase', aggregate: 'count', transform: 'identity' },
  ],
  context: ['tenure'],
  engagementWeights: { clicks: 1, dwell: 0.5 },
};

const rows: UnitAggregateRow[] = [
  { unitId: 'a', counts: { click: 1, page_view: 2, purchase: 0 }, sums: { page_view: 20 }, context: { tenure: 1 } },
  { unitId: 'b', counts: { click: 3, page_view: 0 }, sums: {}, context: { tenure: 3 } },
  { unitId: 'c', counts: { click: 5, page_view: 4, purchase: 1 }, sums: { page_view: 20 }, context: {} },
];

describe('buildUnitFeatures', () => {
  it('computes aggregates, z-scores and engagement exactly (hand-computed)', () => {
    const f = buildUnitFeatures(rows, config);
    // clicks 1,3,5: mean 3, population std sqrt(8/3)
    const sClicks = Math.sqrt(8 / 3);
    expect(f.scaling[0]).toEqual({ name: 'clicks', mean: 3, std: expect.closeTo(sClicks, 12) });
    // dwell per view: 20/2 = 10, 0 (no views), 20/4 = 5 → mean 5, std sqrt(50/3)
    const sDwell = Math.sqrt(50 / 3);
    expect(f.scaling[1]!.mean).toBeCloseTo(5, 12);
    expect(f.scaling[1]!.std).toBeCloseTo(sDwell, 12);
    // purchases 0,0,1 → mean 1/3, std sqrt(2/9)
    expect(f.scaling[2]!.std).toBeCloseTo(Math.sqrt(2 / 9), 12);
    const zA = [(1 - 3) / sClicks, (10 - 5) / sDwell];
    expect(f.points[0]![0]).toBeCloseTo(zA[0]!, 12);
    expect(f.points[0]![1]).toBeCloseTo(zA[1]!, 12);
    expect(f.engagement[0]).toBeCloseTo(zA[0]! + 0.5 * zA[1]!, 12);
    expect(f.names).toEqual(['clicks', 'dwell', 'purchases', 'engagement']);
    // Engagement column is itself z-scored: mean 0 across units.
    expect(f.points.reduce((a, p) => a + p[3]!, 0)).toBeCloseTo(0, 10);
    // Missing context → 0; tenure 1,3,0 → mean 4/3.
    expect(f.contextScaling[0]!.mean).toBeCloseTo(4 / 3, 12);
    expect(normaliseContext({ tenure: 4 / 3 }, f.contextScaling)).toEqual([0]);
    expect(f.conversionProbability).toEqual([]);
  });

  it('log1p transform and constant column std = 1', () => {
    const s = fitScaling(['x'], [[2], [2]]);
    expect(s[0]).toEqual({ name: 'x', mean: 2, std: 1 });
    const f = buildUnitFeatures(
      [
        { unitId: 'a', counts: { click: 0 }, sums: {}, context: {} },
        { unitId: 'b', counts: { click: Math.E - 1 }, sums: {}, context: {} },
      ],
      { behaviour: [{ name: 'clicks', event: 'click', aggregate: 'count' }], context: [], engagementWeights: {} },
    );
    expect(f.scaling[0]!.mean).toBeCloseTo(0.5, 12); // log1p(0)=0, log1p(e-1)=1
  });

  it('fits a conversion model that ranks engaged units higher and excludes the label event', () => {
    const many = Array.from({ length: 400 }, (_, i) => {
      const clicks = i % 20;
      return { unitId: `u${i}`, counts: { click: clicks, purchase: clicks >= 12 ? 1 : i % 7 === 0 ? 1 : 0 }, sums: {}, context: {} };
    });
    const f = buildUnitFeatures(many, { ...config, conversion: { event: 'purchase' } });
    expect(f.conversionPredictors).toEqual(['clicks', 'dwell']);
    expect(f.conversionModel!.coefficients[0]).toBeGreaterThan(0);
    expect(f.conversionProbability[19]!).toBeGreaterThan(f.conversionProbability[1]!);
    expect(f.names.at(-1)).toBe('conversionProbability');
    for (const p of f.conversionProbability) expect(p).toBeGreaterThan(0), expect(p).toBeLessThan(1);
  });
});

describe('buildUnitFeatures on extreme values', () => {
  // A context attribute comes from /assign as any finite JSON number: 1e308 overflowed the mean and
  // variance, and the NaN centroids it produced stopped the experiment (invalid snapshot).
  it('keeps every point and scaling finite, and the order of raw values', () => {
    const extreme: UnitAggregateRow[] = [1e308, -1e308, 1.7976931348623157e308, 5, -5, 0].map((v, i) => ({
      unitId: `u${i}`,
      counts: { click: i },
      sums: { page_view: v },
      context: { tenure: v },
    }));
    const f = buildUnitFeatures(extreme, {
      behaviour: [{ name: 'dwell', event: 'page_view', aggregate: 'sum', transform: 'identity' }, ...config.behaviour.slice(0, 1)],
      context: ['tenure'],
      engagementWeights: { dwell: 1, clicks: 1 },
    });
    const all = [...f.points.flat(), ...f.contextPoints.flat(), ...f.scaling.flatMap((s) => [s.mean, s.std]), ...f.contextScaling.flatMap((s) => [s.mean, s.std])];
    expect(all.every(Number.isFinite)).toBe(true);
    const tenure = f.contextPoints.map((p) => p[0]!);
    expect(tenure[0]).toBeGreaterThan(tenure[3]!);
    expect(tenure[1]).toBeLessThan(tenure[4]!);
    expect(normaliseContext({ tenure: 1e308 }, f.contextScaling).every(Number.isFinite)).toBe(true);
  });
});
