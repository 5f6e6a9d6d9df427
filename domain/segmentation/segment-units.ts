/**
 * One segmentation cycle: cluster a bounded sample of units, choose k by silhouette, keep segment
 * ids stable against last cycle, then place every unit at its nearest centroid.
 */
import { createRng } from '../rng.js';
import { runDbscan, type DbscanOptions } from './dbscan.js';
import { at } from '../at.js';
import { meansByLabel, nearestCentroid, runKMeans, type KMeansFit } from './kmeans.js';
import { matchCentroids, type IdentifiedCentroid } from './match-centroids.js';
import { sampleIndices, silhouetteScore } from './silhouette.js';

export type SegmentationMode = 'kmeans' | 'dbscan';

export interface SegmentUnitsInput {
  /** Normalised behaviour points (from `buildUnitFeatures`), one per unit. */
  points: number[][];
  /** Normalised context points for the same units; enables `contextCentroid`. */
  contextPoints?: number[][];
  /** Last cycle's segments (behaviour-space centroids) for identity matching. */
  previous?: IdentifiedCentroid[];
  /** Persisted first unused id (see `matchCentroids`). */
  nextId?: number;
  /** Inclusive range of k to try; k = 1 is chosen only when no k ≥ 2 reaches `minSilhouette`. */
  kRange: [number, number];
  seed: number;
  /** Units clustered (k-means is O(n·k·iters), but silhouette and DBSCAN are O(n²)). Default 5000. */
  maxSample?: number;
  /** Units used to score silhouette per k. Default 800. */
  silhouetteSample?: number;
  /** With kRange[0] = 1: below this best silhouette the data counts as one blob (k = 1). Default 0.5. */
  minSilhouette?: number;
  /** Centroid distance beyond which a segment counts as retired and replaced. Default ∞. */
  maxMatchDistance?: number;
  /** Smallest share of sampled units for a segment to be kept (smaller ones fold into neighbours). Default 0. */
  minShare?: number;
  restarts?: number;
  mode?: SegmentationMode;
  dbscan?: DbscanOptions;
}

/** A segment of this cycle, with its stable id. */
export interface SegmentDefinition {
  id: number;
  /** Centroid in normalised behaviour space (what clustering and matching use). */
  centroid: number[];
  /**
   * Mean normalised context of the segment's units: the segment projected onto the features the
   * assignment API can see. Goes into `SnapshotSegment.centroid`. Null without context points.
   */
  contextCentroid: number[] | null;
  size: number;
  share: number;
}

export interface SegmentationResult {
  mode: SegmentationMode;
  k: number;
  segments: SegmentDefinition[];
  /** Segment id per input unit, same order as `points`. */
  assignments: number[];
  /** Silhouette of the chosen clustering on the scoring sub-sample. */
  silhouette: number;
  silhouetteByK: Array<{ k: number; silhouette: number }>;
  born: number[];
  retired: number[];
  nextId: number;
  sampleSize: number;
}

/** Segments units: seeded k-means (or DBSCAN) on a sample, k by silhouette, stable ids, nearest-centroid assignment. */
export function segmentUnits(input: SegmentUnitsInput): SegmentationResult {
  const { points } = input;
  const rng = createRng(input.seed);
  const sampleIdx = sampleIndices(points.length, input.maxSample ?? 5000, rng);
  if (input.contextPoints && input.contextPoints.length !== points.length) {
    throw new RangeError(`segmentUnits: ${input.contextPoints.length} context points for ${points.length} points`);
  }
  const sample = sampleIdx.map((i) => at(points, i, 'points'));
  const scoreIdx = sampleIndices(sample.length, input.silhouetteSample ?? 800, rng);
  const scorePoints = scoreIdx.map((i) => at(sample, i, 'sample'));
  const mode = input.mode ?? 'kmeans';

  let centroids: number[][];
  let silhouette = 0;
  const silhouetteByK: Array<{ k: number; silhouette: number }> = [];
  if (mode === 'dbscan') {
    if (!input.dbscan) throw new Error('dbscan mode needs dbscan options');
    const { labels, k } = runDbscan(sample, input.dbscan);
    centroids = meansByLabel(sample, labels, k);
    silhouette = silhouetteScore(scorePoints, scoreIdx.map((i) => at(labels, i, 'dbscan labels')));
    silhouetteByK.push({ k, silhouette });
    if (centroids.length === 0) centroids = meansByLabel(sample, sample.map(() => 0), 1);
  } else {
    const [kMin, kMax] = input.kRange;
    let best: { fit: KMeansFit; s: number } | null = null;
    let single: KMeansFit | null = null;
    for (let k = Math.max(1, kMin); k <= kMax; k++) {
      const fit = runKMeans(sample, k, { seed: input.seed + k, restarts: input.restarts ?? 3 });
      if (fit.k < 2) {
        single ??= fit;
        if (k === 1) silhouetteByK.push({ k: 1, silhouette: 0 });
        continue;
      }
      const s = silhouetteScore(scorePoints, scoreIdx.map((i) => at(fit.labels, i, 'k-means labels')));
      silhouetteByK.push({ k, silhouette: s });
      if (!best || s > best.s) best = { fit, s };
    }
    const minSilhouette = input.minSilhouette ?? 0.5;
    // Silhouette is undefined for k = 1, so a flat population is recognised by no k ≥ 2 scoring
    // well. Kaufman & Rousseeuw call ≤ 0.5 "weak, possibly artificial" structure, and splitting one
    // Gaussian blob scores about 0.35–0.45, so 0.5 is the default bar.
    if (best && (best.s >= minSilhouette || kMin >= 2)) {
      centroids = best.fit.centroids;
      silhouette = best.s;
    } else {
      centroids = (single ?? runKMeans(sample, 1, { seed: input.seed })).centroids;
      silhouette = 0;
    }
  }

  centroids = foldSmallClusters(sample, centroids, input.minShare ?? 0);
  const match = matchCentroids(centroids, input.previous ?? [], {
    ...(input.maxMatchDistance !== undefined ? { maxDistance: input.maxMatchDistance } : {}),
    ...(input.nextId !== undefined ? { nextId: input.nextId } : {}),
  });

  const labels = points.map((p) => nearestCentroid(p, centroids));
  // Centroids are re-estimated on all units so they describe the assigned population exactly.
  const fullCentroids = meansByLabel(points, labels, centroids.length);
  const contextCentroids = input.contextPoints
    ? meansByLabel(input.contextPoints, labels, centroids.length)
    : null;
  const sizes = countByLabel(labels, centroids.length);
  const segments: SegmentDefinition[] = centroids.map((c, i) => {
    const size = at(sizes, i, 'segment sizes');
    return {
      id: at(match.ids, i, 'segment ids'),
      centroid: size > 0 ? at(fullCentroids, i, 'centroids') : c,
      contextCentroid: contextCentroids ? at(contextCentroids, i, 'context centroids') : null,
      size,
      share: points.length ? size / points.length : 0,
    };
  });
  return {
    mode,
    k: centroids.length,
    segments: segments.sort((a, b) => a.id - b.id),
    assignments: labels.map((l) => at(match.ids, l, 'segment ids')),
    silhouette,
    silhouetteByK,
    born: match.born,
    retired: match.retired,
    nextId: match.nextId,
    sampleSize: sample.length,
  };
}

/**
 * Nearest segment for a NEW unit from its normalised context alone.
 *
 * Why context-space centroids: at assignment time the API has only the request context, not the
 * behaviour that defined the clusters. The mean context of a segment's members is the
 * least-squares summary of that segment in the space the API can observe, so nearest-centroid in
 * context space is the best cheap guess of the behavioural segment. It is imperfect when segments
 * overlap in context; misplaced units dilute a segment's effect but never break randomisation,
 * because the arm is still hashed independently of the segment.
 */
export function assignSegmentByContext(
  context: number[],
  segments: Array<{ id: number; centroid: number[] | null }>,
): number | null {
  const located = segments.filter((s): s is { id: number; centroid: number[] } => s.centroid !== null);
  if (!located.length) return null;
  const i = nearestCentroid(context, located.map((s) => s.centroid));
  return at(located, i, 'segments').id;
}

/** Merges clusters holding less than `minShare` of the sample into their nearest neighbour. */
function foldSmallClusters(sample: number[][], centroids: number[][], minShare: number): number[][] {
  if (minShare <= 0 || centroids.length < 2) return centroids;
  let current = centroids;
  for (;;) {
    const labels = sample.map((p) => nearestCentroid(p, current));
    const sizes = countByLabel(labels, current.length);
    const fewest = Math.min(...sizes);
    const smallest = sizes.indexOf(fewest);
    if (current.length < 2 || fewest >= minShare * sample.length) return current;
    const rest = current.filter((_, i) => i !== smallest);
    const relabelled = sample.map((p) => nearestCentroid(p, rest));
    current = meansByLabel(sample, relabelled, rest.length);
  }
}

/** Units per label 0..k−1 (labels from nearestCentroid over k centroids). */
function countByLabel(labels: readonly number[], k: number): number[] {
  const sizes = new Array<number>(k).fill(0);
  for (const l of labels) sizes[l] = at(sizes, l, 'cluster sizes') + 1;
  return sizes;
}
