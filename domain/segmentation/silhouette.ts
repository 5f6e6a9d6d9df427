/**
 * Silhouette coefficient (Rousseeuw 1987): for each point, s = (b − a) / max(a, b) with a the mean
 * distance to its own cluster and b the smallest mean distance to another cluster. O(n²), so
 * callers pass a bounded sub-sample (see `sampleIndices`).
 */
import type { Rng } from '../rng.js';
import { squaredDistance } from './distance.js';

/** Mean silhouette of labelled points (Euclidean); 0 when fewer than two clusters are present. */
export function silhouetteScore(points: number[][], labels: number[]): number {
  const n = points.length;
  const k = Math.max(-1, ...labels) + 1;
  if (n < 2 || k < 2) return 0;
  const sizes = new Array<number>(k).fill(0);
  for (const l of labels) if (l >= 0) sizes[l]!++;
  if (sizes.filter((s) => s > 0).length < 2) return 0;
  let total = 0;
  let counted = 0;
  const sumDist = new Array<number>(k);
  for (let i = 0; i < n; i++) {
    const li = labels[i]!;
    if (li < 0) continue; // DBSCAN noise is not scored
    sumDist.fill(0);
    for (let j = 0; j < n; j++) {
      if (j === i || labels[j]! < 0) continue;
      sumDist[labels[j]!]! += Math.sqrt(squaredDistance(points[i]!, points[j]!));
    }
    counted++;
    // Singleton clusters have s = 0 by convention.
    if (sizes[li]! <= 1) continue;
    const a = sumDist[li]! / (sizes[li]! - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== li && sizes[c]! > 0) b = Math.min(b, sumDist[c]! / sizes[c]!);
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
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, max).sort((a, b) => a - b);
}
