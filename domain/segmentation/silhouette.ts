/**
 * Silhouette coefficient (Rousseeuw 1987): for each point, s = (b − a) / max(a, b) with a the mean
 * distance to its own cluster and b the smallest mean distance to another cluster. O(n²), so
 * callers pass a bounded sub-sample (see `sampleIndices`).
 */
import type { Rng } from '../rng.js';
import { at } from '../at.js';
import { squaredDistance } from './distance.js';

/** Mean silhouette of labelled points (Euclidean); 0 when fewer than two clusters are present. */
export function silhouetteScore(points: number[][], labels: number[]): number {
  const n = points.length;
  if (labels.length !== n) throw new RangeError(`silhouetteScore: ${labels.length} labels for ${n} points`);
  const k = Math.max(-1, ...labels) + 1;
  if (n < 2 || k < 2) return 0;
  const sizes = new Array<number>(k).fill(0);
  for (const l of labels) if (l >= 0) sizes[l] = at(sizes, l, 'cluster sizes') + 1;
  if (sizes.filter((s) => s > 0).length < 2) return 0;
  let total = 0;
  let counted = 0;
  const sumDist = new Array<number>(k);
  for (const [i, pi] of points.entries()) {
    const li = at(labels, i, 'labels');
    if (li < 0) continue; // DBSCAN noise is not scored
    sumDist.fill(0);
    for (const [j, pj] of points.entries()) {
      const lj = at(labels, j, 'labels');
      if (j === i || lj < 0) continue;
      sumDist[lj] = at(sumDist, lj, 'distance sums') + Math.sqrt(squaredDistance(pi, pj));
    }
    counted++;
    // Singleton clusters have s = 0 by convention.
    const own = at(sizes, li, 'cluster sizes');
    if (own <= 1) continue;
    const a = at(sumDist, li, 'distance sums') / (own - 1);
    let b = Infinity;
    for (const [c, size] of sizes.entries()) if (c !== li && size > 0) b = Math.min(b, at(sumDist, c, 'distance sums') / size);
    const m = Math.max(a, b);
    total += m > 0 ? (b - a) / m : 0;
  }
  return counted > 0 ? total / counted : 0;
}

/** Up to `max` distinct indices of 0..n-1 drawn without replacement (partial Fisher–Yates). */
export function sampleIndices(n: number, max: number, rng: Rng): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  if (n <= max) return idx;
  for (let i = 0; i < max; i++) {
    const j = i + Math.floor(rng() * (n - i));
    [idx[i], idx[j]] = [at(idx, j, 'indices'), at(idx, i, 'indices')];
  }
  return idx.slice(0, max).sort((a, b) => a - b);
}
