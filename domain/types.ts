/**
 * Plain data shared by every domain area. Nothing here does I/O; everything is JSON-safe so it can
 * cross the Temporal activity boundary and live in Postgres JSON columns.
 */

/** Sufficient statistics of one sample: count, sum and sum of squares of the per-unit values. */
export interface Moments {
  n: number;
  sum: number;
  sumSquares: number;
}

export type MetricType = 'binary' | 'continuous' | 'count';
export type MetricRole = 'primary' | 'guardrail' | 'secondary';

/** How a metric is computed from events: per unit, `binary` = any event, else the sum of values. */
export interface MetricSpec {
  key: string;
  event: string;
  type: MetricType;
  role: MetricRole;
  /** Which direction is good for the business. */
  direction: 'increase' | 'decrease';
  /** Guardrails: largest tolerated relative harm (0.02 = 2%) before the arm or segment is stopped. */
  margin?: number;
  /** Guardrails: absolute limit on the arm's mean (e.g. mean latency ≤ 100 ms); percentiles are not collected. */
  limit?: { max?: number; min?: number };
}

/**
 * One cell of collected statistics: a metric for one variant in one segment during one allocation
 * period (snapshot version). Per-period cells let the analysis stratify by period, which removes the
 * bias adaptive allocation puts into pooled estimates.
 */
export interface CellStats {
  metric: string;
  variant: string;
  segment: number;
  period: number;
  /**
   * Randomisation probability of the treatment arm for the units of this cell, rounded to 1e-6;
   * set only for two-arm contextual experiments, where units of one (segment, period) were served
   * different context-leaf weights. The analysis stratifies by it and the sample-ratio check takes
   * its expected shares from it. Absent: every unit of the (segment, period) had the segment's weights.
   */
  propensityStratum?: number;
  /**
   * Post-stratification key (values of pre-treatment context attributes, e.g. "ios|PT"). Within a
   * stratum the propensities are the cell's own, so splitting by it only removes variance.
   */
  stratum?: string;
  moments: Moments;
}

/** Whole-experiment lifecycle phase. */
export type ExperimentPhase = 'draft' | 'running' | 'paused' | 'concluded' | 'stopped';

export type SegmentStatus = 'active' | 'throttled' | 'terminated';

/** Weights per variant key; non-negative and summing to 1. */
export type Weights = Record<string, number>;

/** Per-segment allocation carried in a snapshot. */
export interface SnapshotSegment {
  id: number;
  status: SegmentStatus;
  /** Fraction of eligible new units in this segment that are enrolled (0..1). */
  coverage: number;
  weights: Weights;
  /** Centroid in normalised assignment-context feature space; null for the catch-all segment. */
  centroid: number[] | null;
}

/** Scaling of one context feature used to place new units in a segment at assignment time. */
export interface FeatureScaling {
  name: string;
  mean: number;
  std: number;
}

export type Rule =
  | { attr: string; op: 'eq'; value: string | number | boolean }
  | { attr: string; op: 'in'; values: Array<string | number> }
  | { attr: string; op: 'range'; min?: number; max?: number }
  | { attr: string; op: 'regex'; pattern: string }
  | { op: 'and'; rules: Rule[] }
  | { op: 'or'; rules: Rule[] }
  | { op: 'not'; rule: Rule };

export interface VariantRef {
  key: string;
  isControl: boolean;
  /** What a caller acts on when served this variant (a model URI, parameters); omitted when empty. */
  payload?: Record<string, unknown>;
}

/**
 * Everything `assign` needs, computed by the reallocation activity and cached in every API process.
 * Versions only grow; an API process ignores a snapshot older than the one it holds.
 */
export interface AllocationSnapshot {
  experimentKey: string;
  version: number;
  cycle: number;
  /** Hash seed, fixed for the experiment's life so assignments never move. */
  seed: string;
  hashVersion: number;
  phase: ExperimentPhase;
  variants: VariantRef[];
  /** Served to units that are not enrolled (ineligible, excluded, not covered, stopped). */
  defaultVariant: string;
  segments: SnapshotSegment[];
  /** Context features (in order) that place a new unit at the nearest centroid. */
  segmentFeatures: FeatureScaling[];
  targeting?: Rule;
  /** Mutual-exclusion layer: the unit's layer bucket in [0,1) must fall in [start, end). */
  layer?: { name: string; start: number; end: number };
  /** Fraction of all units held out of every experiment in the layer (served the default). */
  holdout?: number;
  randomization?: { type: 'simple' } | { type: 'stratified'; strata: string[] };
  /**
   * Per-context arm probabilities from the risk-adjusted controller (domain/allocation/contextual.ts).
   * When present, an enrolled unit whose context has every feature gets its tree leaf's weights
   * instead of its segment's weights. `nodes` is a flat tree with the root at index 0; a split sends
   * `context[features[feature]] < threshold` to `left`, else `right` (ml-cart's convention). Leaf
   * `weights` align with `variants`; `lcb` is the uplift lower bound the controller judged risk on.
   */
  contextual?: {
    features: string[];
    variants: string[];
    nodes: Array<
      | { feature: number; threshold: number; left: number; right: number }
      | { weights: number[]; lcb: number | null; n: number }
    >;
  };
  sticky: boolean;
  createdAt: string;
  reason: string;
}

export interface Assignment {
  variant: string;
  propensity: number;
  segment: number;
  snapshotVersion: number;
  enrolled: boolean;
  reason: string;
}
