/**
 * Thompson sampling. In batches, each arm's weight is P(arm is best | data), estimated by Monte
 * Carlo over posterior draws — the expected share plain Thompson sampling would give the batch.
 * Optional top-two (Russo 2016, "Simple Bayesian algorithms for best-arm identification"): play the
 * leader with probability β, else a challenger resampled until it differs from the leader.
 */
import type { Rng } from '../rng.js';
import type { Moments } from '../types.js';
import { armPosteriors, drawPosterior, type OutcomeModel } from './posterior.js';

/** P(best) per arm by `draws` Monte Carlo rounds (ties go to the lower index; draws are continuous). */
export function probabilityBest(stats: readonly Moments[], model: OutcomeModel, draws: number, rng: Rng): number[] {
  const post = armPosteriors(stats, model);
  const k = post.length;
  const wins = new Array<number>(k).fill(0);
  for (let d = 0; d < draws; d++) {
    let best = 0;
    let bestV = -Infinity;
    for (let i = 0; i < k; i++) {
      const v = drawPosterior(post[i]!, rng);
      if (v > bestV) {
        bestV = v;
        best = i;
      }
    }
    wins[best]!++;
  }
  return wins.map((w) => w / draws);
}

/**
 * Top-two weights from P(best) p: wᵢ = β·pᵢ + (1−β)·Σ_{j≠i} pⱼ·pᵢ/(1−pⱼ). A challenger resampled
 * from the same posterior until it differs from leader j is arm i with probability pᵢ/(1−pⱼ).
 */
export function topTwoWeights(pBest: readonly number[], betaLeader: number): number[] {
  const k = pBest.length;
  return pBest.map((pi, i) => {
    let challenger = 0;
    for (let j = 0; j < k; j++) {
      if (j === i) continue;
      const pj = pBest[j]!;
      challenger += pj >= 1 ? 0 : (pj * pi) / (1 - pj);
    }
    // If one arm has P(best)=1 there is no challenger distribution; it keeps all the mass.
    return betaLeader * pi + (1 - betaLeader) * challenger + (pi >= 1 ? (1 - betaLeader) : 0);
  });
}

/** Per-unit Thompson sampling: draw each arm's mean once and play the argmax (δ = 1). */
export function sampleThompsonArm(stats: readonly Moments[], model: OutcomeModel, rng: Rng): number {
  const post = armPosteriors(stats, model);
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < post.length; i++) {
    const v = drawPosterior(post[i]!, rng);
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}
