/**
 * The reward model q̂(x, a) behind the doubly robust estimator: one ridge regression per action on
 * the context features (with an unpenalised intercept), fitted by K-fold cross-fitting so each
 * round's prediction comes from a model that never saw that round (Chernozhukov et al. 2018). Own-
 * round fitting would let q̂ absorb the round's noise and bias DR toward the direct method.
 * An action with fewer than `minRows` training rows in a fold falls back to its training mean, and
 * with none to the fold's overall mean. Simple on purpose: DR stays unbiased with any q̂; a better
 * q̂ only narrows its interval.
 */
import type { Rng } from '../rng.js';
import { solveLinearSystem } from '../segmentation/logistic.js';

export interface RewardModelOptions {
  folds?: number;
  /** Ridge penalty on the (standardised) feature coefficients; default 1. */
  lambda?: number;
  minRows?: number;
  rng: Rng;
}

export interface RewardModelInput {
  /** Numeric features per round (same length each). */
  features: readonly (readonly number[])[];
  actions: readonly number[];
  rewards: readonly number[];
  nActions: number;
}

/** Cross-fitted predictions q̂(x_i, a) for every round i and action a. */
export function crossFitRewardModel(input: RewardModelInput, opts: RewardModelOptions): number[][] {
  const n = input.actions.length;
  const k = Math.max(2, Math.min(opts.folds ?? 5, n));
  const fold = foldAssignment(n, k, opts.rng);
  const out: number[][] = Array.from({ length: n }, () => new Array<number>(input.nActions).fill(0));
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? test : train).push(i);
    if (test.length === 0) continue;
    const models = fitPerAction(input, train, opts);
    for (const i of test) {
      const x = input.features[i]!;
      for (let a = 0; a < input.nActions; a++) out[i]![a] = models[a]!(x);
    }
  }
  return out;
}

/** Balanced random fold labels 0..k−1 (a seeded shuffle of i mod k). */
function foldAssignment(n: number, k: number, rng: Rng): number[] {
  const labels = Array.from({ length: n }, (_, i) => i % k);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  return labels;
}

type Predictor = (x: readonly number[]) => number;

function fitPerAction(input: RewardModelInput, rows: readonly number[], opts: RewardModelOptions): Predictor[] {
  const minRows = opts.minRows ?? 5;
  let total = 0;
  for (const i of rows) total += input.rewards[i]!;
  const overall = rows.length ? total / rows.length : 0;
  const models: Predictor[] = [];
  for (let a = 0; a < input.nActions; a++) {
    const mine = rows.filter((i) => input.actions[i] === a);
    if (mine.length === 0) {
      models.push(() => overall);
      continue;
    }
    const mean = mine.reduce((s, i) => s + input.rewards[i]!, 0) / mine.length;
    const d = input.features[mine[0]!]?.length ?? 0;
    if (mine.length < minRows || d === 0) {
      models.push(() => mean);
      continue;
    }
    models.push(fitRidge(mine.map((i) => input.features[i]!), mine.map((i) => input.rewards[i]!), opts.lambda ?? 1));
  }
  return models;
}

/** Ridge on centred and scaled features; the intercept is the mean, unpenalised. */
function fitRidge(xs: readonly (readonly number[])[], ys: readonly number[], lambda: number): Predictor {
  const n = xs.length;
  const d = xs[0]!.length;
  const mu = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (const x of xs) for (let j = 0; j < d; j++) mu[j]! += x[j]! / n;
  for (const x of xs) for (let j = 0; j < d; j++) sd[j]! += (x[j]! - mu[j]!) ** 2 / n;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]!) || 1;
  const yMean = ys.reduce((a, b) => a + b, 0) / n;
  const A = Array.from({ length: d }, (_, j) => Array.from({ length: d }, (_, l) => (j === l ? lambda : 0)));
  const b = new Array<number>(d).fill(0);
  xs.forEach((x, i) => {
    const z = x.map((v, j) => (v - mu[j]!) / sd[j]!);
    for (let j = 0; j < d; j++) {
      b[j]! += z[j]! * (ys[i]! - yMean);
      for (let l = 0; l < d; l++) A[j]![l]! += z[j]! * z[l]!;
    }
  });
  const beta = solveLinearSystem(A, b);
  return (x) => {
    let y = yMean;
    for (let j = 0; j < d; j++) y += beta[j]! * (((x[j] ?? 0) - mu[j]!) / sd[j]!);
    return y;
  };
}
