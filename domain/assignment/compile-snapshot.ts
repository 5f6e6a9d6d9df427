/**
 * Turns an AllocationSnapshot into the prepared form the hot path reads: FNV seed states, compiled
 * targeting, cumulative weights, normalised centroids and a flattened contextual tree. Compile once
 * per snapshot version (the API caches the result); `assignPrepared` then does no parsing,
 * allocation-heavy work or regex construction.
 */
import { at } from '../at.js';
import type { AllocationSnapshot, SegmentStatus, Weights } from '../types.js';
import { type AssignReason, type AssignResult, makeResult } from './assign-result.js';
import { type HashVersion, isHashVersion, seedState } from './hash.js';
import { type AssignContext, type RulePredicate, compileRule } from './targeting.js';

/** A snapshot that cannot be served; the API keeps its previous snapshot and reports this. */
export class SnapshotError extends Error {
  readonly code = 'InvalidSnapshot';
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

/** One segment ready for picking: arms, weights and cumulative thresholds in snapshot variant order. */
export interface PreparedSegment {
  id: number;
  status: SegmentStatus;
  coverage: number;
  keys: string[];
  weights: number[];
  /** Cumulative weights; the last positive arm's entry is exactly 1 so u ∈ [0,1) always lands. */
  cum: number[];
  weightsRecord: Weights;
  /** Precomputed frozen results: enrolled by weight (per arm), not covered, terminated. */
  enrolledResults: AssignResult[];
  coverageResult: AssignResult;
  terminatedResult: AssignResult;
}

/** The contextual tree in flat arrays (leaf iff feature === -1). */
export interface PreparedContextual {
  features: string[];
  keys: string[];
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Per node: the leaf's weights and cumulative thresholds (empty for split nodes). */
  leafWeights: number[][];
  leafCum: number[][];
}

/** Prepared form of a snapshot; build with `compileSnapshot`. */
export interface PreparedSnapshot {
  readonly kind: 'prepared';
  readonly snapshot: AllocationSnapshot;
  readonly hashVersion: HashVersion;
  /** FNV states after `seed ␟` for lanes a and b (b only used by hash v2). */
  readonly seedA: number;
  readonly seedB: number;
  readonly layer: { a: number; b: number; start: number; end: number } | null;
  readonly holdout: number;
  readonly eligible: RulePredicate | null;
  readonly segments: PreparedSegment[];
  readonly defaultSegment: number;
  readonly catchAll: number;
  readonly featureNames: string[];
  readonly featureMeans: Float64Array;
  readonly featureInvStd: Float64Array;
  /** Indices (into `segments`) of segments with a centroid, and their centroids back to back. */
  readonly centroidSegments: Int32Array;
  readonly centroids: Float64Array;
  readonly strata: string[] | null;
  readonly contextual: PreparedContextual | null;
  readonly variantKeys: ReadonlySet<string>;
  /** Frozen results for exclusions decided before segment placement (segment −1). */
  readonly excluded: Readonly<Record<'not_started' | 'paused' | 'stopped' | 'concluded' | 'not_eligible' | 'holdout' | 'layer', AssignResult>>;
  /**
   * Per segment index, what a concluded experiment serves there: the variant the segment settled on
   * (all weight on one arm) or null for the snapshot's default. Null when no segment settled.
   */
  readonly concludedBySegment: ReadonlyArray<AssignResult | null> | null;
}

const WEIGHT_TOLERANCE = 1e-6;

/** Validate and prepare a snapshot for `assignPrepared`; throws SnapshotError if it cannot be served. */
export function compileSnapshot(snapshot: AllocationSnapshot): PreparedSnapshot {
  const fail = (msg: string): never => {
    throw new SnapshotError(`snapshot ${snapshot.experimentKey} v${snapshot.version}: ${msg}`);
  };
  if (!isHashVersion(snapshot.hashVersion)) fail(`unsupported hashVersion ${snapshot.hashVersion}`);
  const hashVersion = snapshot.hashVersion as HashVersion;
  const keys = snapshot.variants.map((v) => v.key);
  if (keys.length === 0) fail('no variants');
  const variantKeys = new Set(keys);
  if (variantKeys.size !== keys.length) fail('duplicate variant keys');
  if (!variantKeys.has(snapshot.defaultVariant)) fail(`defaultVariant '${snapshot.defaultVariant}' is not a variant`);
  if (snapshot.segments.length === 0) fail('no segments');

  const nf = snapshot.segmentFeatures.length;
  const segments = snapshot.segments.map((seg, i): PreparedSegment => {
    if (!(seg.coverage >= 0 && seg.coverage <= 1)) fail(`segments[${i}].coverage must be in [0,1]`);
    for (const k of Object.keys(seg.weights)) if (!variantKeys.has(k)) fail(`segments[${i}].weights has unknown variant '${k}'`);
    const weights = keys.map((k) => seg.weights[k] ?? 0);
    if (weights.some((w) => !(w >= 0))) fail(`segments[${i}].weights must be non-negative numbers`);
    const sum = weights.reduce((a, b) => a + b, 0);
    if (seg.status !== 'terminated' && Math.abs(sum - 1) > WEIGHT_TOLERANCE) fail(`segments[${i}].weights sum to ${sum}, not 1`);
    if (seg.centroid !== null && seg.centroid.length !== nf) fail(`segments[${i}].centroid has ${seg.centroid.length} values, expected ${nf}`);
    const v = snapshot.version;
    const dflt = snapshot.defaultVariant;
    return {
      id: seg.id,
      status: seg.status,
      coverage: seg.coverage,
      keys,
      weights,
      cum: cumulative(weights),
      weightsRecord: seg.weights,
      enrolledResults: keys.map((k, j) => makeResult(k, at(weights, j, 'weights'), seg.id, v, true, 'enrolled')),
      coverageResult: makeResult(dflt, 1, seg.id, v, false, 'coverage'),
      terminatedResult: makeResult(dflt, 1, seg.id, v, false, 'segment_terminated'),
    };
  });

  const located = snapshot.segments.flatMap((s, i) => (s.centroid !== null ? [{ i, centroid: s.centroid }] : []));
  const centroidIdx = located.map((l) => l.i);
  const centroids = new Float64Array(located.length * nf);
  located.forEach(({ centroid }, j) => centroids.set(centroid, j * nf));
  const firstActive = segments.findIndex((s) => s.status !== 'terminated');

  let layer: PreparedSnapshot['layer'] = null;
  if (snapshot.layer) {
    const { name, start, end } = snapshot.layer;
    if (!(start >= 0 && end <= 1 && start < end)) fail('layer range must satisfy 0 ≤ start < end ≤ 1');
    layer = { a: seedState(name, 'a'), b: seedState(name, 'b'), start, end };
  }
  const holdout = snapshot.holdout ?? 0;
  if (!(holdout >= 0 && holdout < 1)) fail('holdout must be in [0,1)');

  return {
    kind: 'prepared',
    snapshot,
    hashVersion,
    seedA: seedState(snapshot.seed, 'a'),
    seedB: seedState(snapshot.seed, 'b'),
    layer,
    holdout,
    eligible: snapshot.targeting ? compileRule(snapshot.targeting) : null,
    segments,
    defaultSegment: firstActive === -1 ? 0 : firstActive,
    catchAll: snapshot.segments.findIndex((s) => s.centroid === null),
    featureNames: snapshot.segmentFeatures.map((f) => f.name),
    featureMeans: Float64Array.from(snapshot.segmentFeatures, (f) => f.mean),
    // A zero or missing std would divide by zero; such a feature is only centred.
    featureInvStd: Float64Array.from(snapshot.segmentFeatures, (f) => (f.std > 0 ? 1 / f.std : 1)),
    centroidSegments: Int32Array.from(centroidIdx),
    centroids,
    strata: snapshot.randomization?.type === 'stratified' ? snapshot.randomization.strata : null,
    contextual: snapshot.contextual ? prepareContextual(snapshot.contextual, variantKeys, fail) : null,
    variantKeys,
    concludedBySegment: settledResults(snapshot),
    excluded: Object.fromEntries(
      (['not_started', 'paused', 'stopped', 'concluded', 'not_eligible', 'holdout', 'layer'] as const).map((r: AssignReason) => [
        r,
        makeResult(snapshot.defaultVariant, 1, -1, snapshot.version, false, r),
      ]),
    ) as PreparedSnapshot['excluded'],
  };
}

/**
 * A branching experiment ends with each segment settled on its own answer (weights 0/1); when it
 * concludes, every unit keeps getting its segment's answer rather than one default for all.
 */
function settledResults(snapshot: AllocationSnapshot): Array<AssignResult | null> | null {
  const out = snapshot.segments.map((s) => {
    if (s.status === 'terminated') return null;
    const settled = Object.entries(s.weights).find(([, w]) => w === 1);
    return settled ? makeResult(settled[0], 1, s.id, snapshot.version, false, 'concluded') : null;
  });
  return out.some((r) => r !== null) ? out : null;
}

/** Cumulative sums with the last positive entry (and all after it) pinned to exactly 1. */
function cumulative(weights: readonly number[]): number[] {
  const cum: number[] = [];
  let acc = 0;
  let lastPositive = -1;
  for (const [i, w] of weights.entries()) {
    acc += w;
    cum.push(acc);
    if (w > 0) lastPositive = i;
  }
  if (lastPositive >= 0) for (let i = lastPositive; i < cum.length; i++) cum[i] = 1;
  return cum;
}

function prepareContextual(
  c: NonNullable<AllocationSnapshot['contextual']>,
  variantKeys: ReadonlySet<string>,
  fail: (msg: string) => never,
): PreparedContextual {
  for (const v of c.variants) if (!variantKeys.has(v)) fail(`contextual.variants has unknown variant '${v}'`);
  const n = c.nodes.length;
  if (n === 0) fail('contextual.nodes is empty');
  const out: PreparedContextual = {
    features: c.features,
    keys: c.variants,
    feature: new Int32Array(n).fill(-1),
    threshold: new Float64Array(n),
    left: new Int32Array(n),
    right: new Int32Array(n),
    leafWeights: [],
    leafCum: [],
  };
  c.nodes.forEach((node, i) => {
    if ('weights' in node) {
      if (node.weights.length !== c.variants.length) fail(`contextual.nodes[${i}].weights length ≠ variants length`);
      const sum = node.weights.reduce((a, b) => a + b, 0);
      if (node.weights.some((w) => !(w >= 0)) || Math.abs(sum - 1) > WEIGHT_TOLERANCE) fail(`contextual.nodes[${i}].weights must be ≥ 0 and sum to 1`);
      out.leafWeights[i] = node.weights;
      out.leafCum[i] = cumulative(node.weights);
    } else {
      // Children must come later in the array, which also rules out cycles in the walk.
      if (!(node.feature >= 0 && node.feature < c.features.length)) fail(`contextual.nodes[${i}].feature out of range`);
      if (!(node.left > i && node.left < n && node.right > i && node.right < n)) fail(`contextual.nodes[${i}] children must follow it`);
      out.feature[i] = node.feature;
      out.threshold[i] = node.threshold;
      out.left[i] = node.left;
      out.right[i] = node.right;
      out.leafWeights[i] = [];
      out.leafCum[i] = [];
    }
  });
  return out;
}

/**
 * Index (into `segments`) of the unit's segment: nearest centroid in normalised feature space.
 * Units missing a feature go to the catch-all segment (centroid null) if there is one, otherwise
 * the missing feature is imputed at its mean. Without features or centroids: the first active segment.
 */
export function placeSegment(prep: PreparedSnapshot, ctx: AssignContext): number {
  const nf = prep.featureNames.length;
  const nc = prep.centroidSegments.length;
  if (nf === 0 || nc === 0) return prep.defaultSegment;
  // Small fixed-size scratch: feature counts are tiny, and a local array is cheaper than a closure.
  // featureMeans/featureInvStd are built from the same list as featureNames (compileSnapshot).
  const z: number[] = new Array(nf);
  for (let f = 0; f < nf; f++) {
    const v = ctx[at(prep.featureNames, f, 'featureNames')];
    if (typeof v === 'number' && Number.isFinite(v)) z[f] = (v - at(prep.featureMeans, f, 'featureMeans')) * at(prep.featureInvStd, f, 'featureInvStd');
    else if (prep.catchAll >= 0) return prep.catchAll;
    else z[f] = 0;
  }
  let best = 0;
  let bestD = Infinity;
  for (let c = 0; c < nc; c++) {
    let d = 0;
    const off = c * nf;
    for (let f = 0; f < nf; f++) {
      const diff = at(z, f, 'features') - at(prep.centroids, off + f, 'centroids');
      d += diff * diff;
    }
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return at(prep.centroidSegments, best, 'centroidSegments');
}

/** Walk the contextual tree; returns the leaf node index, or -1 if the context lacks a feature. */
export function findContextualLeaf(c: PreparedContextual, ctx: AssignContext): number {
  let i = 0;
  // prepareContextual checked every feature index and that children follow their parent.
  for (let f = at(c.feature, i, 'contextual.feature'); f !== -1; f = at(c.feature, i, 'contextual.feature')) {
    const v = ctx[at(c.features, f, 'contextual.features')];
    if (typeof v !== 'number' || !Number.isFinite(v)) return -1;
    i = v < at(c.threshold, i, 'contextual.threshold') ? at(c.left, i, 'contextual.left') : at(c.right, i, 'contextual.right');
  }
  return i;
}
