/**
 * The reward model q̂(x, a) behind the doubly robust estimator: one ridge regression per action on
 * the context features (with an unpenalised intercept), fitted by K-fold cross-fitting so each
 * round's prediction comes from a model that never saw that round (Chernozhukov et al. 2018). Own-
 * round fitting would let q̂ absorb the round's noise and bias DR toward the direct method.
 * An action with fewer than `minRows` training rows in a fold falls back to its training mean, and
 * with none to the fold's overall mean. Simple on purpose: DR stays unbiased with any q̂; a better
 * q̂ only narrows its interval.
 */
import { at } from '../at.js';
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
  if (input.features.length !== n || input.rewards.length !== n) {
    throw new RangeError(`reward model: ${input.features.length} feature rows and ${input.rewards.length} rewards for ${n} actions`);
  }
  const d = input.features[0]?.length ?? 0;
  for (const [i, x] of input.features.entries()) {
    if (x.length !== d) throw new RangeError(`reward model: features[${i}] has ${x.length} values, features[0] has ${d}`);
  }
  const k = Math.max(2, Math.min(opts.folds ?? 5, n));
  const fold = foldAssignment(n, k, opts.rng);
  const out: number[][] = Array.from({ length: n }, () => new Array<number>(input.nActions).fill(0));
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const test: number[] = [];
    for (const [i, label] of fold.entries()) (label === f ? test : train).push(i);
    if (test.length === 0) continue;
    const models = fitPerAction(input, train, opts);
    for (const i of test) {
      const x = at(input.features, i, 'features');
      const row = at(out, i, 'predictions');
      for (const [a, model] of models.entries()) row[a] = model(x);
    }
  }
  return out;
}

/** Balanced random fold labels 0..k−1 (a seeded shuffle of i mod k). */
function foldAssignment(n: number, k: number, rng: Rng): number[] {
  const labels = Array.from({ length: n }, (_, i) => i % k);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [labels[i], labels[j]] = [at(labels, j, 'fold labels'), at(labels, i, 'fold labels')];
  }
  return labels;
}

type Predictor = (x: readonly number[]) => number;

function fitPerAction(input: RewardModelInput, rows: readonly number[], opts: RewardModelOptions): Predictor[] {
  const minRows = opts.minRows ?? 5;
  let total = 0;
  for (const i of rows) total += at(input.rewards, i, 'rewards');
  const overall = rows.length ? total / rows.length : 0;
  const models: Predictor[] = [];
  for (let a = 0; a < input.nActions; a++) {
    const mine = rows.filter((i) => input.actions[i] === a);
    if (mine.length === 0) {
      models.push(() => overall);
      continue;
    }
    const xs = mine.map((i) => at(input.features, i, 'features'));
    const ys = mine.map((i) => at(input.rewards, i, 'rewards'));
    const mean = ys.reduce((s, y) => s + y, 0) / ys.length;
    const d = xs[0]?.length ?? 0;
    if (mine.length < minRows || d === 0) {
      models.push(() => mean);
      continue;
    }
    models.push(fitRidge(xs, ys, opts.lambda ?? 1));
  }
  return models;
}

/**
 * Ridge on centred and scaled features; the intercept is the mean, unpenalised. `xs` is non-empty,
 * its rows all of one length (crossFitRewardModel checks), and `ys` is parallel to it.
 */
function fitRidge(xs: readonly (readonly number[])[], ys: readonly number[], lambda: number): Predictor {
  const n = xs.length;
  const d = xs[0]?.length ?? 0;
  const mu = new Array<number>(d).fill(0);
  for (const x of xs) x.forEach((v, j) => (mu[j] = at(mu, j, 'mean') + v / n));
  const variance = new Array<number>(d).fill(0);
  for (const x of xs) x.forEach((v, j) => (variance[j] = at(variance, j, 'variance') + (v - at(mu, j, 'mean')) ** 2 / n));
  const sd = variance.map((v) => Math.sqrt(v) || 1);
  const scaled = mu.map((m, j) => ({ m, s: at(sd, j, 'sd') }));
  const yMean = ys.reduce((a, b) => a + b, 0) / n;
  const A = Array.from({ length: d }, (_, j) => Array.from({ length: d }, (_, l) => (j === l ? lambda : 0)));
  const b = new Array<number>(d).fill(0);
  xs.forEach((x, i) => {
    const z = x.map((v, j) => (v - at(mu, j, 'mean')) / at(sd, j, 'sd'));
    const dy = at(ys, i, 'rewards') - yMean;
    for (const [j, zj] of z.entries()) {
      b[j] = at(b, j, 'rhs') + zj * dy;
      const row = at(A, j, 'normal matrix');
      for (const [l, zl] of z.entries()) row[l] = at(row, l, 'normal matrix row') + zj * zl;
    }
  });
  const beta = solveLinearSystem(A, b);
  return (x) => {
    let y = yMean;
    // A missing feature at prediction time counts as 0 on the raw scale, as before.
    for (const [j, { m, s }] of scaled.entries()) y += at(beta, j, 'coefficients') * (((x[j] ?? 0) - m) / s);
    return y;
  };
}
