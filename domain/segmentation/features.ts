/**
 * Per-unit feature vectors for segmentation, built from per-unit aggregates that SQL already
 * computed (counts and sums of values per event name, plus numeric context attributes).
 *
 * Exactly what `buildUnitFeatures` computes, in order:
 * 1. Behaviour features. For each `BehaviourFeatureSpec`: `count` = counts[event], `sum` =
 *    sums[event], `meanPerEvent` = sums[event] / counts[event] (0 when the count is 0, e.g. mean
 *    dwell per page view). Missing events are 0. Then `transform` (default `log1p`, because counts
 *    and dwell times are heavy-tailed and one whale would otherwise own a k-means centroid;
 *    `log1p` of a negative value is clamped at 0).
 * 2. Z-score each behaviour feature: z = (x − mean) / std with the population std (÷ n); a
 *    constant feature gets std = 1 so it maps to 0 instead of NaN.
 * 3. Engagement score = Σ_f engagementWeights[f] · z_f over the z-scored behaviour features, so
 *    weights are unit-free ("one std of clicks is worth w").
 * 4. Predicted conversion probability: a ridge logistic regression (IRLS, `fitLogistic`) of the
 *    early conversion label (counts[conversion.event] > 0) on the z-scored predictor features.
 *    Predictors default to every behaviour feature whose event is not the conversion event, so
 *    the label cannot leak into its own predictor.
 * 5. The clustering point = [z behaviour features..., engagement, conversionProbability], with the
 *    last two z-scored as well so no column dominates Euclidean distance by scale alone.
 * 6. Context features (what the assignment API sees) are z-scored separately; their scaling is
 *    what goes into the snapshot's `segmentFeatures`.
 */
import { at } from '../at.js';
import type { FeatureScaling } from '../types.js';
import { fitLogistic, predictLogistic, type LogisticModel } from './logistic.js';
import { assertNever } from '../assert-never.js';

/** One unit's aggregates as returned by the collection SQL. */
export interface UnitAggregateRow {
  unitId: string;
  /** Number of events per event name. */
  counts: Record<string, number>;
  /** Sum of event values per event name (dwell seconds, scroll depth, revenue, ...). */
  sums: Record<string, number>;
  /** Numeric context attributes known at assignment time (device, country index, tenure, ...). */
  context: Record<string, number>;
}

export type FeatureAggregate = 'count' | 'sum' | 'meanPerEvent';

/** Maps one event to one behaviour feature. */
export interface BehaviourFeatureSpec {
  name: string;
  event: string;
  aggregate: FeatureAggregate;
  /** Default `log1p`. */
  transform?: 'log1p' | 'identity';
}

/** Feature configuration for one experiment. */
export interface FeatureConfig {
  behaviour: BehaviourFeatureSpec[];
  /** Context attribute names, in the order the snapshot will use. */
  context: string[];
  /** Weight per behaviour feature name in the engagement score; absent = 0. */
  engagementWeights: Record<string, number>;
  /** Early-conversion model; omit to skip the conversion column. */
  conversion?: {
    /** Event whose presence (count > 0) is the early conversion label. */
    event: string;
    /** Behaviour feature names used as predictors; default: all not built from `event`. */
    predictors?: string[];
    iterations?: number;
    l2?: number;
  };
}

/** Features of every unit plus the scalings that produced them. */
export interface UnitFeatures {
  unitIds: string[];
  /** Column names of `points`. */
  names: string[];
  /** Normalised clustering points, one row per unit. */
  points: number[][];
  /** Scaling per column of `points` (raw → z). Engagement/conversion are scaled after computing. */
  scaling: FeatureScaling[];
  /** Normalised context features, one row per unit, columns in `config.context` order. */
  contextPoints: number[][];
  contextScaling: FeatureScaling[];
  /** Engagement score per unit before its own z-scoring. */
  engagement: number[];
  /** Predicted early-conversion probability per unit (empty when `conversion` is not configured). */
  conversionProbability: number[];
  conversionModel: LogisticModel | null;
  conversionPredictors: string[];
}

/** Builds normalised behaviour, engagement, conversion and context features for every unit. */
export function buildUnitFeatures(rows: UnitAggregateRow[], config: FeatureConfig): UnitFeatures {
  const rawBehaviour = rows.map((row) => config.behaviour.map((spec) => rawFeature(row, spec)));
  const behaviourScaling = fitScaling(
    config.behaviour.map((s) => s.name),
    rawBehaviour,
  );
  const zBehaviour = applyScaling(rawBehaviour, behaviourScaling);

  const weights = config.behaviour.map((s) => config.engagementWeights[s.name] ?? 0);
  const engagement = zBehaviour.map((z) => z.reduce((acc, v, j) => acc + at(weights, j, 'engagement weights') * v, 0));

  let conversionProbability: number[] = [];
  let conversionModel: LogisticModel | null = null;
  let conversionPredictors: string[] = [];
  if (config.conversion) {
    const conv = config.conversion;
    conversionPredictors =
      conv.predictors ?? config.behaviour.filter((s) => s.event !== conv.event).map((s) => s.name);
    const cols = conversionPredictors.map((name) => {
      const j = config.behaviour.findIndex((s) => s.name === name);
      if (j < 0) throw new Error(`conversion predictor '${name}' is not a behaviour feature`);
      return j;
    });
    const x = zBehaviour.map((z) => cols.map((j) => at(z, j, 'behaviour features')));
    const y = rows.map((row) => ((row.counts[conv.event] ?? 0) > 0 ? 1 : 0));
    conversionModel = fitLogistic(x, y, {
      ...(conv.iterations !== undefined ? { iterations: conv.iterations } : {}),
      ...(conv.l2 !== undefined ? { l2: conv.l2 } : {}),
    });
    const model = conversionModel;
    conversionProbability = x.map((r) => predictLogistic(model, r));
  }

  const extraNames = ['engagement', ...(config.conversion ? ['conversionProbability'] : [])];
  const extraRaw = engagement.map((e, i) => [e, ...(config.conversion ? [at(conversionProbability, i, 'conversion probabilities')] : [])]);
  const extraScaling = fitScaling(extraNames, extraRaw);
  const zExtra = applyScaling(extraRaw, extraScaling);

  const rawContext = rows.map((row) => config.context.map((name) => boundedOr0(row.context[name])));
  const contextScaling = fitScaling(config.context, rawContext);

  return {
    unitIds: rows.map((r) => r.unitId),
    names: [...config.behaviour.map((s) => s.name), ...extraNames],
    points: zBehaviour.map((z, i) => [...z, ...at(zExtra, i, 'extra features')]),
    scaling: [...behaviourScaling, ...extraScaling],
    contextPoints: applyScaling(rawContext, contextScaling),
    contextScaling,
    engagement,
    conversionProbability,
    conversionModel,
    conversionPredictors,
  };
}

/** Population mean and std per column; a zero std becomes 1 so constant columns map to 0. */
export function fitScaling(names: string[], rows: number[][]): FeatureScaling[] {
  const n = rows.length;
  return names.map((name, j) => {
    if (n === 0) return { name, mean: 0, std: 1 };
    let sum = 0;
    for (const r of rows) sum += at(r, j, name);
    const mean = sum / n;
    let ss = 0;
    for (const r of rows) ss += (at(r, j, name) - mean) ** 2;
    const std = Math.sqrt(ss / n);
    return { name, mean, std: std > 1e-12 ? std : 1 };
  });
}

/** Applies z = (x − mean) / std column-wise. */
export function applyScaling(rows: number[][], scaling: FeatureScaling[]): number[][] {
  return rows.map((r) => scaling.map((s, j) => (at(r, j, s.name) - s.mean) / s.std));
}

/** Normalises one raw context record with the snapshot's scaling (what assignment does). */
export function normaliseContext(context: Record<string, number>, scaling: FeatureScaling[]): number[] {
  return scaling.map((s) => (boundedOr0(context[s.name]) - s.mean) / s.std);
}

function rawFeature(row: UnitAggregateRow, spec: BehaviourFeatureSpec): number {
  const count = boundedOr0(row.counts[spec.event]);
  const sum = boundedOr0(row.sums[spec.event]);
  let value: number;
  switch (spec.aggregate) {
    case 'count':
      value = count;
      break;
    case 'sum':
      value = sum;
      break;
    case 'meanPerEvent':
      value = count > 0 ? sum / count : 0;
      break;
    default:
      return assertNever(spec.aggregate, 'aggregate');
  }
  return (spec.transform ?? 'log1p') === 'log1p' ? Math.log1p(Math.max(0, value)) : value;
}

// Raw values are clamped to ±1e15 (the bound on event values): a context attribute of 1e308 from
// /assign overflowed the mean and variance to Infinity, NaN centroids reached the snapshot, and the
// experiment stopped on it as an invalid configuration.
const MAX_RAW = 1e15;

function boundedOr0(v: number | undefined): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(MAX_RAW, Math.max(-MAX_RAW, v)) : 0;
}
