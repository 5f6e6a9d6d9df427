/**
 * Seeded k-means over plain number[][] points, wrapping ml-kmeans (k-means++ start). ml-kmeans
 * starts randomly, so every call takes an explicit seed; several restarts with derived seeds keep
 * the best (lowest within-cluster sum of squares) run, which protects against a bad start.
 */
import { kmeans } from 'ml-kmeans';
import { at } from '../at.js';
import { squaredDistance } from './distance.js';

/** Result of one clustering: centroids, the label of every point, and the within-cluster SS. */
export interface KMeansFit {
  k: number;
  centroids: number[][];
  labels: number[];
  inertia: number;
}

export interface KMeansOptions {
  seed: number;
  /** Independent k-means++ starts; the best is kept. Default 3. */
  restarts?: number;
  maxIterations?: number;
}

/** Runs seeded k-means with restarts; drops clusters that end up empty (k may shrink). */
export function runKMeans(points: number[][], k: number, options: KMeansOptions): KMeansFit {
  if (points.length === 0) return { k: 0, centroids: [], labels: [], inertia: 0 };
  const kk = Math.max(1, Math.min(k, distinctCount(points)));
  let best: KMeansFit | null = null;
  const restarts = Math.max(1, options.restarts ?? 3);
  for (let r = 0; r < restarts; r++) {
    // ml-random wants a 32-bit integer seed; derive one per restart deterministically.
    const seed = (Math.imul(options.seed >>> 0, 2654435761) + r * 40503 + 1) >>> 0;
    const result = kmeans(points, kk, {
      seed,
      initialization: 'kmeans++',
      maxIterations: options.maxIterations ?? 100,
    });
    const fit = compact(points, result.centroids);
    if (!best || fit.inertia < best.inertia) best = fit;
  }
  return best!;
}

/** Index of the nearest centroid (squared Euclidean) for one point. */
export function nearestCentroid(point: number[], centroids: number[][]): number {
  let best = -1;
  let bestD = Infinity;
  for (const [c, centroid] of centroids.entries()) {
    const d = squaredDistance(point, centroid);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

/** Reassigns to the final centroids, recomputes means and removes empty clusters. */
function compact(points: number[][], centroids: number[][]): KMeansFit {
  const raw = points.map((p) => nearestCentroid(p, centroids));
  const used = [...new Set(raw)].sort((a, b) => a - b);
  const remap = new Map(used.map((c, i) => [c, i]));
  const labels = raw.map((c) => remap.get(c)!);
  const means = meansByLabel(points, labels, used.length);
  let inertia = 0;
  for (const [i, p] of points.entries()) inertia += squaredDistance(p, at(means, at(labels, i, 'labels'), 'means'));
  return { k: used.length, centroids: means, labels, inertia };
}

/** Mean vector of the points carrying each label 0..k-1 (empty label → zero vector). */
export function meansByLabel(points: number[][], labels: number[], k: number): number[][] {
  if (labels.length !== points.length) throw new RangeError(`meansByLabel: ${labels.length} labels for ${points.length} points`);
  const dim = points[0]?.length ?? 0;
  const sums = Array.from({ length: k }, () => new Array<number>(dim).fill(0));
  const counts = new Array<number>(k).fill(0);
  for (const [i, point] of points.entries()) {
    const l = at(labels, i, 'labels');
    if (l < 0) continue;
    counts[l] = at(counts, l, 'cluster counts') + 1;
    const sum = at(sums, l, 'cluster sums');
    if (point.length !== dim) throw new RangeError(`meansByLabel: point ${i} has dimension ${point.length}, point 0 has ${dim}`);
    point.forEach((x, j) => (sum[j] = at(sum, j, 'cluster sum') + x));
  }
  return sums.map((s, c) => {
    const count = at(counts, c, 'cluster counts');
    return s.map((v) => (count > 0 ? v / count : 0));
  });
}

function distinctCount(points: number[][]): number {
  const seen = new Set<string>();
  for (const p of points) {
    seen.add(p.join(','));
    if (seen.size > 64) break; // enough to know k is feasible
  }
  return seen.size;
}
