import { describe, expect, it } from 'vitest';
import { createRng, normal, type Rng } from '../../../domain/rng.js';
import {
  assignSegmentByContext,
  hungarian,
  matchCentroids,
  runDbscan,
  runKMeans,
  segmentUnits,
  silhouetteScore,
} from '../../../domain/segmentation/index.js';

function planted(rng: Rng, centres: number[][], perCluster: number, spread = 0.3): { points: number[][]; truth: number[] } {
  const points: number[][] = [];
  const truth: number[] = [];
  centres.forEach((c, k) => {
    for (let i = 0; i < perCluster; i++) {
      points.push(c.map((v) => v + spread * normal(rng)));
      truth.push(k);
    }
  });
  return { points, truth };
}

const centres4 = [
  [0, 0, 0],
  [4, 0, 0],
  [0, 4, 0],
  [0, 0, 4],
];

describe('silhouette picks k', () => {
  it.each([2, 3, 4, 5])('recovers %i planted clusters', (k) => {
    const centres = [...centres4, [4, 4, 4]].slice(0, k);
    const { points } = planted(createRng(k), centres, 150);
    const r = segmentUnits({ points, kRange: [2, 7], seed: 11, silhouetteSample: 400 });
    expect(r.k).toBe(k);
    expect(r.silhouette).toBeGreaterThan(0.6);
  });

  it('returns k = 1 for a single blob when 1 is in range', () => {
    const { points } = planted(createRng(3), [[0, 0]], 400, 1);
    const r = segmentUnits({ points, kRange: [1, 5], seed: 1 });
    expect(r.k).toBe(1);
  });

  it('silhouette is 1-ish for far clusters and ~0 for a random split', () => {
    const { points, truth } = planted(createRng(9), centres4, 50, 0.05);
    expect(silhouetteScore(points, truth)).toBeGreaterThan(0.95);
    const rng = createRng(2);
    expect(Math.abs(silhouetteScore(points, truth.map(() => Math.floor(rng() * 4))))).toBeLessThan(0.1);
  });
});

describe('stable identity across cycles', () => {
  it('hungarian finds the optimal assignment, rectangular both ways', () => {
    expect(hungarian([[4, 1, 3], [2, 0, 5], [3, 2, 2]])).toEqual([[0, 1], [1, 0], [2, 2]]);
    expect(hungarian([[1, 9], [9, 1], [5, 5]])).toEqual([[0, 0], [1, 1]]);
    expect(hungarian([[9, 1, 5]])).toEqual([[0, 1]]);
  });

  it('a permuted k-means output maps back to the same ids', () => {
    const previous = [
      { id: 7, centroid: [0, 0] },
      { id: 3, centroid: [5, 0] },
      { id: 12, centroid: [0, 5] },
    ];
    const permuted = [[0.1, 5.1], [0.05, -0.1], [5.2, 0.1]];
    const m = matchCentroids(permuted, previous, { nextId: 20 });
    expect(m.ids).toEqual([12, 7, 3]);
    expect(m.born).toEqual([]);
    expect(m.retired).toEqual([]);
    expect(m.nextId).toBe(20);
  });

  it('new clusters get fresh ids and vanished ones are retired', () => {
    const previous = [
      { id: 1, centroid: [0, 0] },
      { id: 2, centroid: [5, 0] },
    ];
    const grown = matchCentroids([[5, 0.1], [9, 9], [0, 0.2]], previous, { nextId: 3 });
    expect(grown.ids).toEqual([2, 3, 1]);
    expect(grown.born).toEqual([3]);
    const shrunk = matchCentroids([[5, 0.1]], previous, { nextId: 4 });
    expect(shrunk.ids).toEqual([2]);
    expect(shrunk.retired).toEqual([1]);
    const moved = matchCentroids([[0, 0], [50, 50]], previous, { nextId: 4, maxDistance: 2 });
    expect(moved.ids).toEqual([1, 4]);
    expect(moved.retired).toEqual([2]);
  });

  it('segmentUnits keeps ids when the next cycle reclusters reshuffled data with another seed', () => {
    const first = planted(createRng(1), centres4, 120);
    const r1 = segmentUnits({ points: first.points, kRange: [2, 6], seed: 1 });
    const second = planted(createRng(2), centres4, 120);
    const order = second.points.map((_, i) => i).reverse();
    const r2 = segmentUnits({
      points: order.map((i) => second.points[i]!),
      kRange: [2, 6],
      seed: 99,
      previous: r1.segments.map((s) => ({ id: s.id, centroid: s.centroid })),
      nextId: r1.nextId,
    });
    expect(r2.k).toBe(4);
    expect(r2.born).toEqual([]);
    // Same true cluster → same id in both cycles.
    const idOfTruth = (r: typeof r1, truth: number[], perm: number[]) => {
      const map = new Map<number, number>();
      perm.forEach((orig, pos) => map.set(truth[orig]!, r.assignments[pos]!));
      return [0, 1, 2, 3].map((t) => map.get(t));
    };
    expect(idOfTruth(r2, second.truth, order)).toEqual(idOfTruth(r1, first.truth, first.points.map((_, i) => i)));
  });
});

describe('clustering primitives', () => {
  it('k-means is deterministic for a seed', () => {
    const { points } = planted(createRng(4), centres4, 60);
    expect(runKMeans(points, 4, { seed: 5 })).toEqual(runKMeans(points, 4, { seed: 5 }));
  });

  it('dbscan finds planted clusters and marks outliers as noise', () => {
    const { points } = planted(createRng(5), [[0, 0], [5, 5]], 80, 0.2);
    points.push([20, 20]);
    const r = runDbscan(points, { eps: 0.6, minPoints: 5 });
    expect(r.k).toBe(2);
    expect(r.labels.at(-1)).toBe(-1);
    const seg = segmentUnits({ points, kRange: [1, 1], seed: 1, mode: 'dbscan', dbscan: { eps: 0.6, minPoints: 5 } });
    expect(seg.k).toBe(2);
  });

  it('projects segments onto context space and places new units there', () => {
    const rng = createRng(8);
    const { points, truth } = planted(rng, [[0, 0], [6, 0]], 100);
    // Context is a noisy copy of the true cluster (e.g. device type correlates with behaviour).
    const contextPoints = truth.map((t) => [t * 2 - 1 + 0.3 * normal(rng)]);
    const r = segmentUnits({ points, contextPoints, kRange: [2, 3], seed: 3 });
    expect(r.k).toBe(2);
    const idOfCluster1 = r.assignments[150]!;
    expect(assignSegmentByContext([0.9], r.segments.map((s) => ({ id: s.id, centroid: s.contextCentroid })))).toBe(idOfCluster1);
  });
});
