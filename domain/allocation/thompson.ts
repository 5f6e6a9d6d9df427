/**
 * Thompson sampling. In batches, each arm's weight is P(arm is best | data), the expected share plain
 * Thompson sampling would give the batch. It is computed exactly by the statistics module's quadrature
 * (the same engine as the analysis), not estimated from posterior draws, so weights carry no Monte
 * Carlo noise. Optional top-two (Russo 2016, "Simple Bayesian algorithms for best-arm
 * identification"): play the leader with probability β, else a challenger resampled until it differs
 * from the leader.
 */
import type { Rng } from '../rng.js';
import { drawPosterior, probabilityBest as posteriorProbabilityBest } from '../stats/bayesian.js';
import type { Moments } from '../types.js';
import { armPosteriors, type OutcomeModel } from './posterior.js';

/** P(best) per arm (larger is better; callers orient "decrease" metrics first). */
export function probabilityBest(stats: readonly Moments[], model: OutcomeModel): number[] {
  return posteriorProbabilityBest(armPosteriors(stats, model), 'increase');
}

/**
 * Top-two weights from P(best) p: wᵢ = β·pᵢ + (1−β)·Σ_{j≠i} pⱼ·pᵢ/(1−pⱼ). A challenger resampled
 * from the same posterior until it differs from leader j is arm i with probability pᵢ/(1−pⱼ).
 */
export function topTwoWeights(pBest: readonly number[], betaLeader: number): number[] {
  return pBest.map((pi, i) => {
    let challenger = 0;
    for (const [j, pj] of pBest.entries()) {
      if (j === i) continue;
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
  for (const [i, p] of post.entries()) {
    const v = drawPosterior(p, rng);
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}
