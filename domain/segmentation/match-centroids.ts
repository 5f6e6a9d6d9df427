/**
 * Keeps segment identity stable across cycles. k-means labels are arbitrary (a permutation of the
 * same clusters is an equally good answer), so this cycle's centroids are matched to last cycle's
 * by a minimum-total-distance assignment (Hungarian algorithm). Matches farther than
 * `maxDistance` are treated as a vanished cluster plus a new one, because a segment whose centre
 * moved that far is no longer the population its statistics were collected on.
 */
import { at } from '../at.js';
import { squaredDistance } from './distance.js';

/** A centroid with its stable segment id. */
export interface IdentifiedCentroid {
  id: number;
  centroid: number[];
}

/** Result of matching: the id of each current centroid, plus what was born and retired. */
export interface CentroidMatch {
  /** ids[i] is the stable id of current centroid i. */
  ids: number[];
  matched: Array<{ id: number; index: number; distance: number }>;
  /** Fresh ids given to clusters with no counterpart. */
  born: number[];
  /** Previous ids with no counterpart this cycle; never reused. */
  retired: number[];
  /** The next unused id, to persist for the following cycle. */
  nextId: number;
}

export interface MatchOptions {
  /** Euclidean distance above which a pair is not considered the same segment. Default ∞. */
  maxDistance?: number;
  /**
   * First id never used before. Default max(previous ids)+1, or 1 with no history (0 is left for
   * the catch-all segment). Pass the persisted value so retired ids are never handed out again.
   */
  nextId?: number;
}

/** Maps current centroids to previous segment ids by min-cost matching; new clusters get fresh ids. */
export function matchCentroids(
  current: number[][],
  previous: IdentifiedCentroid[],
  options: MatchOptions = {},
): CentroidMatch {
  const maxDistance = options.maxDistance ?? Infinity;
  let nextId = options.nextId ?? (previous.length ? Math.max(...previous.map((p) => p.id)) + 1 : 1);
  const cost = current.map((c) => previous.map((p) => Math.sqrt(squaredDistance(c, p.centroid))));
  const pairs = current.length && previous.length ? hungarian(cost) : [];
  const ids = new Array<number>(current.length).fill(-1);
  const matched: CentroidMatch['matched'] = [];
  const usedPrev = new Set<number>();
  for (const [i, j] of pairs) {
    const distance = at(at(cost, i, 'cost'), j, 'cost row');
    if (distance > maxDistance) continue;
    const { id } = at(previous, j, 'previous centroids');
    ids[i] = id;
    usedPrev.add(j);
    matched.push({ id, index: i, distance });
  }
  const born: number[] = [];
  for (const [i, id] of ids.entries()) {
    if (id === -1) {
      const fresh = nextId++;
      ids[i] = fresh;
      born.push(fresh);
    }
  }
  const retired = previous.filter((_, j) => !usedPrev.has(j)).map((p) => p.id);
  return { ids, matched, born, retired, nextId };
}

/**
 * Minimum-cost assignment for a rectangular cost matrix (rows × cols). Returns [row, col] pairs,
 * min(rows, cols) of them. Kuhn–Munkres with potentials, O(n²m).
 */
export function hungarian(cost: number[][]): Array<[number, number]> {
  const rows = cost.length;
  const cols = cost[0]?.length ?? 0;
  if (rows === 0 || cols === 0) return [];
  for (const [i, r] of cost.entries()) {
    if (r.length !== cols) throw new RangeError(`hungarian: cost row ${i} has ${r.length} columns, row 0 has ${cols}`);
  }
  // The potential method needs rows ≤ cols; solve the transpose otherwise.
  if (rows > cols) {
    const t = Array.from({ length: cols }, (_, j) => cost.map((r) => at(r, j, 'cost row')));
    return hungarian(t).map(([r, c]) => [c, r]);
  }
  const n = rows;
  const m = cols;
  const u = new Array<number>(n + 1).fill(0);
  const v = new Array<number>(m + 1).fill(0);
  const p = new Array<number>(m + 1).fill(0); // p[j] = row matched to column j (1-based)
  const way = new Array<number>(m + 1).fill(0);
  // Every index below is a row in 0..n or a column in 0..m of these (n+1)/(m+1)-long arrays.
  const c = (i: number, j: number) => at(at(cost, i - 1, 'cost'), j - 1, 'cost row');
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Array<number>(m + 1).fill(Infinity);
    const used = new Array<boolean>(m + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = at(p, j0, 'p');
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = c(i0, j) - at(u, i0, 'u') - at(v, j, 'v');
        if (cur < at(minv, j, 'minv')) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (at(minv, j, 'minv') < delta) {
          delta = at(minv, j, 'minv');
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          const row = at(p, j, 'p');
          u[row] = at(u, row, 'u') + delta;
          v[j] = at(v, j, 'v') - delta;
        } else {
          minv[j] = at(minv, j, 'minv') - delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = at(way, j0, 'way');
      p[j0] = at(p, j1, 'p');
      j0 = j1;
    } while (j0 !== 0);
  }
  const out: Array<[number, number]> = [];
  for (const [j, row] of p.entries()) if (j > 0 && row > 0) out.push([row - 1, j - 1]);
  return out.sort((a, b) => a[0] - b[0]);
}
