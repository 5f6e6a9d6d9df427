/**
 * Learned time-to-significance: an ml-cart regression tree from segment features to the realised
 * log of the samples the always-valid test still needed. Retrained every cycle on history rows
 * (earlier cycles and experiments), cold-started from simulated experiments
 * (`scripts/train-ttsig-model.ts` → `cold-start-model.json`).
 *
 * Uncertainty is split-conformal: a random holdout of the training rows is not used to grow the
 * tree; its residuals give quantiles per leaf (when the leaf has enough holdout rows) and overall.
 */
import { DecisionTreeRegression } from 'ml-cart';
import { at } from '../at.js';
import { createRng } from '../rng.js';
import { quantiles } from './calibration.js';
import { predictSamplesAnalytic, type AnalyticOptions, type AnalyticPrediction, type SegmentPredictionFeatures } from './power-baseline.js';

/** Tree inputs, in column order. The analytic prediction is an input, so the tree learns its bias. */
export const TTSIG_FEATURE_NAMES = [
  'logSize',
  'logAccrualPerCycle',
  'baselineRate',
  'absEffect',
  'absRelativeEffect',
  'logVariance',
  'cyclesElapsed',
  'logSamplesPerArm',
  'absZ',
  'logAnalyticRemaining',
] as const;

/** One history row: features at some cycle → realised log(remaining samples, all arms). */
export interface TtsigTrainingRow {
  features: number[];
  logSamples: number;
}

/** Residual quantiles on the log scale, keyed by level ("0.1", "0.5", ...). */
export type ResidualQuantiles = Record<string, number>;

/** A trained, JSON-safe model (what is persisted and what the cold-start file holds). */
export interface TtsigModel {
  kind: 'ttsig-tree';
  version: 1;
  featureNames: string[];
  tree: unknown;
  levels: number[];
  globalResiduals: ResidualQuantiles;
  /** Per leaf path ("LRL"), when the leaf had at least `minLeafHoldout` holdout rows. */
  leafResiduals: Record<string, { n: number; residuals: ResidualQuantiles }>;
  trainedRows: number;
  holdoutRows: number;
}

export interface TrainOptions {
  /** Rows used at most; the most recent are kept (training cost grows with rows²). Default 2000. */
  maxRows?: number;
  maxDepth?: number;
  minNumSamples?: number;
  /** Fraction held out for residual quantiles. Default 0.25. */
  holdoutFraction?: number;
  minLeafHoldout?: number;
  levels?: number[];
  seed?: number;
}

/** Residual levels stored by default; 0.05 is there for the budget rule's optimistic quantile. */
export const TTSIG_DEFAULT_LEVELS = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9];

/**
 * The analytic prediction that goes into the tree's feature vector is always computed with these
 * settings (α = 0.05, power 0.8, cap 1e7), whatever α the caller predicts for: training rows and
 * predictions must see the same feature, or every split on it is shifted by a constant.
 */
export const TTSIG_FEATURE_ANALYTIC: AnalyticOptions = { alpha: 0.05, power: 0.8, capSamples: 1e7 };

/** Tree feature vector straight from segment features (analytic feature at TTSIG_FEATURE_ANALYTIC). */
export function ttsigFeatures(f: SegmentPredictionFeatures): number[] {
  return ttsigFeatureVector(f, predictSamplesAnalytic(f, TTSIG_FEATURE_ANALYTIC));
}

/** Feature vector for the tree from segment features and the analytic prediction (use `ttsigFeatures`). */
export function ttsigFeatureVector(f: SegmentPredictionFeatures, analytic: AnalyticPrediction): number[] {
  const variance = Math.max(f.variance, 1e-12);
  const n = Math.max(f.samplesPerArm, 0);
  const absEffect = Math.abs(f.observedEffect);
  return [
    Math.log1p(Math.max(f.size, 0)),
    Math.log1p(Math.max(f.accrualPerCycle, 0)),
    f.baselineRate,
    absEffect,
    f.baselineRate !== 0 ? absEffect / Math.abs(f.baselineRate) : 0,
    Math.log(variance),
    f.cyclesElapsed,
    Math.log1p(n),
    n > 0 ? absEffect / Math.sqrt((2 * variance) / n) : 0,
    Math.log1p(analytic.remainingSamples),
  ];
}

/** Trains the tree on at most `maxRows` recent rows and fits holdout residual quantiles. */
export function trainSignificanceTree(rows: TtsigTrainingRow[], options: TrainOptions = {}): TtsigModel {
  const maxRows = options.maxRows ?? 2000;
  const levels = options.levels ?? TTSIG_DEFAULT_LEVELS;
  const recent = rows.slice(Math.max(0, rows.length - maxRows));
  const rng = createRng(options.seed ?? 1);
  const holdoutFraction = recent.length >= 40 ? options.holdoutFraction ?? 0.25 : 0;
  const train: TtsigTrainingRow[] = [];
  const holdout: TtsigTrainingRow[] = [];
  for (const r of recent) (rng() < holdoutFraction ? holdout : train).push(r);
  if (train.length < 2) throw new Error(`need at least 2 training rows, got ${train.length}`);
  const tree = new DecisionTreeRegression({
    maxDepth: options.maxDepth ?? 6,
    minNumSamples: options.minNumSamples ?? 20,
  });
  tree.train(
    train.map((r) => r.features),
    train.map((r) => r.logSamples),
  );
  const json = JSON.parse(JSON.stringify(tree.toJSON())) as unknown;
  // Residuals on rows the tree never saw: split-conformal, so the intervals are honest.
  const scored = holdout.length ? holdout : train;
  const byLeaf = new Map<string, number[]>();
  const all: number[] = [];
  for (const r of scored) {
    const { value, path } = walkTree(json, r.features);
    const res = r.logSamples - value;
    all.push(res);
    const list = byLeaf.get(path) ?? [];
    list.push(res);
    byLeaf.set(path, list);
  }
  const toRecord = (values: number[]): ResidualQuantiles =>
    Object.fromEntries(quantiles(values, levels).map((v, i) => [String(levels[i]), v]));
  const minLeaf = options.minLeafHoldout ?? 15;
  const leafResiduals: TtsigModel['leafResiduals'] = {};
  for (const [path, values] of byLeaf) if (values.length >= minLeaf) leafResiduals[path] = { n: values.length, residuals: toRecord(values) };
  return {
    kind: 'ttsig-tree',
    version: 1,
    featureNames: [...TTSIG_FEATURE_NAMES],
    tree: json,
    levels,
    globalResiduals: toRecord(all),
    leafResiduals,
    trainedRows: train.length,
    holdoutRows: holdout.length,
  };
}

/** Prediction of the samples and cycles a segment still needs, with an interval. */
export interface SignificancePrediction {
  source: 'tree' | 'analytic';
  /** Median prediction of remaining samples (all arms). */
  samples: number;
  /** Remaining samples at each residual level ("0.1" → 10% quantile). Analytic: point only. */
  samplesQuantiles: Record<string, number>;
  cycles: number;
  cyclesLower: number;
  cyclesUpper: number;
  /** True when the answer is "not within any useful horizon" (effect ≈ 0 or hit the cap). */
  capped: boolean;
  analytic: AnalyticPrediction;
}

export interface PredictOptions extends AnalyticOptions {
  model?: TtsigModel | null;
  /** Residual levels used for cyclesLower / cyclesUpper. Default [0.1, 0.9]. */
  interval?: [number, number];
}

/** Predicts remaining samples/cycles to significance: the tree when a model is given, else the power formula. */
export function predictTimeToSignificance(f: SegmentPredictionFeatures, options: PredictOptions = {}): SignificancePrediction {
  const analytic = predictSamplesAnalytic(f, options);
  const cap = options.capSamples ?? 1e7;
  // Cycles assume the coverage in `options` (default full); the traffic policy asks at full
  // coverage so a throttled segment does not look slower merely because it was throttled.
  const rate = Math.max(f.accrualPerCycle * (options.coverage ?? 1), 1e-9);
  const [loQ, hiQ] = options.interval ?? [0.1, 0.9];
  if (!options.model) {
    return {
      source: 'analytic',
      samples: analytic.remainingSamples,
      samplesQuantiles: { '0.5': analytic.remainingSamples },
      cycles: analytic.remainingCycles,
      cyclesLower: analytic.remainingCycles,
      cyclesUpper: analytic.remainingCycles,
      capped: analytic.capped,
      analytic,
    };
  }
  const model = options.model;
  const { value, path } = walkTree(model.tree, ttsigFeatures(f));
  const residuals = model.leafResiduals[path]?.residuals ?? model.globalResiduals;
  const toSamples = (logValue: number) => Math.min(cap, Math.max(0, Math.expm1(logValue)));
  const samplesQuantiles = Object.fromEntries(
    Object.entries(residuals).map(([q, r]) => [q, toSamples(value + r)]),
  );
  // The median residual re-centres the leaf mean, which is the mean of log samples, not a median.
  const samples = toSamples(value + (residuals['0.5'] ?? 0));
  const lower = toSamples(value + (residuals[String(loQ)] ?? 0));
  const upper = toSamples(value + (residuals[String(hiQ)] ?? 0));
  return {
    source: 'tree',
    samples,
    samplesQuantiles,
    cycles: samples / rate,
    cyclesLower: lower / rate,
    cyclesUpper: upper / rate,
    capped: samples >= cap,
    analytic,
  };
}

interface TreeNodeJson {
  splitColumn?: number;
  splitValue?: number;
  left?: TreeNodeJson;
  right?: TreeNodeJson;
  distribution?: number;
}

/**
 * Follows ml-cart's own rule (`row[col] < splitValue` goes left) through the JSON tree, returning
 * the leaf value and its path. Walking the JSON avoids ml-matrix overhead on every prediction and
 * gives the leaf identity that ml-cart's `predict` does not expose.
 */
export function walkTree(treeJson: unknown, row: number[]): { value: number; path: string } {
  let node = (treeJson as { root: TreeNodeJson }).root;
  let path = '';
  while (node.left && node.right && node.distribution === undefined) {
    if (at(row, node.splitColumn!, 'features') < node.splitValue!) {
      node = node.left;
      path += 'L';
    } else {
      node = node.right;
      path += 'R';
    }
  }
  return { value: node.distribution ?? NaN, path };
}

/** Loads the persisted tree into ml-cart (for callers that want the library object). */
export function loadTree(model: TtsigModel): DecisionTreeRegression {
  return DecisionTreeRegression.load(model.tree);
}

/**
 * The always-valid test the cold-start simulations use, so production and the bench can check
 * they predict the same thing: mSPRT at α/K for K = 4 segments (the strictest Holm step) with the
 * mixture sd τ = 0.1 × baseline (effects of about ±10% relative).
 */
export const TTSIG_COLD_START_TEST = { alpha: 0.0125, tauRelative: 0.1, rowsPerExperiment: 1, maxRows: 2000 } as const;
