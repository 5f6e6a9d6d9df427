/**
 * DBSCAN (Ester et al. 1996) for when the number of segments is unknown and clusters are not
 * round. O(n²) neighbour search, so run it on a bounded sample like k-means. Label −1 is noise.
 */
import { at } from '../at.js';
import { squaredDistance } from './distance.js';

export interface DbscanOptions {
  /** Neighbourhood radius in normalised feature space (Euclidean). */
  eps: number;
  /** Points (including itself) within eps for a core point. */
  minPoints: number;
}

/** Cluster labels 0..k-1 per point, −1 for noise, plus k. */
export function runDbscan(points: number[][], options: DbscanOptions): { labels: number[]; k: number } {
  const n = points.length;
  const eps2 = options.eps * options.eps;
  const labels = new Array<number>(n).fill(-2); // −2 unvisited
  const neighbours = (i: number): number[] => {
    const out: number[] = [];
    const p = at(points, i, 'points');
    for (const [j, q] of points.entries()) {
      if (squaredDistance(p, q) <= eps2) out.push(j);
    }
    return out;
  };
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== -2) continue;
    const seeds = neighbours(i);
    if (seeds.length < options.minPoints) {
      labels[i] = -1;
      continue;
    }
    const c = k++;
    labels[i] = c;
    const queue = seeds.filter((j) => j !== i);
    // for-of sees the points pushed while it runs, as the breadth-first expansion needs.
    for (const j of queue) {
      if (labels[j] === -1) labels[j] = c; // border point
      if (labels[j] !== -2) continue;
      labels[j] = c;
      const nb = neighbours(j);
      if (nb.length >= options.minPoints) for (const x of nb) if (labels[x] === -2 || labels[x] === -1) queue.push(x);
    }
  }
  return { labels, k };
}
