/**
 * Synthetic logged bandit data with a known true policy value, for the off-policy estimators'
 * Monte-Carlo test: contexts x ~ N(0, I_d); binary reward with P(r=1|x,a) = sigmoid(θ_a·x + b_a);
 * a contextual logging policy μ = softmax(W x) (every action keeps some probability); and a target
 * policy, ε-greedy on the true expected reward, that differs from it.
 */
import { createRng, normal, type Rng } from '../../domain/rng.js';

export interface SyntheticProblem {
  nActions: number;
  dim: number;
  theta: number[][];
  bias: number[];
  logging: number[][];
  epsilon: number;
}

export function syntheticProblem(seed: number, nActions = 3, dim = 3, epsilon = 0.2): SyntheticProblem {
  const rng = createRng(seed);
  const mat = (scale: number) => Array.from({ length: nActions }, () => Array.from({ length: dim }, () => scale * normal(rng)));
  return { nActions, dim, theta: mat(1), bias: Array.from({ length: nActions }, () => 0.5 * normal(rng)), logging: mat(0.8), epsilon };
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);

function expectedRewards(p: SyntheticProblem, x: readonly number[]): number[] {
  return p.theta.map((t, a) => sigmoid(dot(t, x) + p.bias[a]!));
}

function loggingDist(p: SyntheticProblem, x: readonly number[]): number[] {
  const s = p.logging.map((w) => dot(w, x));
  const m = Math.max(...s);
  const e = s.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

function targetDist(p: SyntheticProblem, x: readonly number[]): number[] {
  const q = expectedRewards(p, x);
  const best = q.indexOf(Math.max(...q));
  return q.map((_, a) => p.epsilon / p.nActions + (a === best ? 1 - p.epsilon : 0));
}

function draw(rng: Rng, probs: readonly number[]): number {
  let u = rng();
  for (let a = 0; a < probs.length; a++) {
    u -= probs[a]!;
    if (u < 0) return a;
  }
  return probs.length - 1;
}

export interface SyntheticDataset {
  contexts: number[][];
  actions: number[];
  propensities: number[];
  rewards: number[];
  logging: number[][];
  target: number[][];
}

export function sampleDataset(p: SyntheticProblem, n: number, rng: Rng): SyntheticDataset {
  const out: SyntheticDataset = { contexts: [], actions: [], propensities: [], rewards: [], logging: [], target: [] };
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: p.dim }, () => normal(rng));
    const mu = loggingDist(p, x);
    const a = draw(rng, mu);
    const r = rng() < expectedRewards(p, x)[a]! ? 1 : 0;
    out.contexts.push(x);
    out.actions.push(a);
    out.propensities.push(mu[a]!);
    out.rewards.push(r);
    out.logging.push(mu);
    out.target.push(targetDist(p, x));
  }
  return out;
}

/** The target's population value E_x[Σ_a π(a|x) q(x,a)], by a large Monte-Carlo sample of contexts. */
export function trueValue(p: SyntheticProblem, samples: number, seed: number): number {
  const rng = createRng(seed);
  let s = 0;
  for (let i = 0; i < samples; i++) {
    const x = Array.from({ length: p.dim }, () => normal(rng));
    s += dot(targetDist(p, x), expectedRewards(p, x));
  }
  return s / samples;
}
