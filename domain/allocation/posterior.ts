/**
 * Posterior draws per arm from sufficient statistics, shared by Thompson sampling (batch P(best)
 * and per-unit sampling). Bernoulli: Beta(1 + successes, 1 + failures) from a uniform prior.
 * Gaussian: N(mean, s²/n), the flat-prior posterior of the mean with the sample variance plugged in.
 */
import { beta, normal, type Rng } from '../rng.js';
import type { Moments } from '../types.js';

export type OutcomeModel = 'bernoulli' | 'gaussian';

/** Per-arm posterior parameters, precomputed once so repeated draws are cheap. */
export interface ArmPosterior {
  model: OutcomeModel;
  /** Bernoulli: alpha, beta. Gaussian: mean, sd. */
  a: number;
  b: number;
}

/** Posterior of each arm; `pooledVar` stands in for arms with fewer than two units (Gaussian). */
export function armPosteriors(stats: readonly Moments[], model: OutcomeModel): ArmPosterior[] {
  if (model === 'bernoulli') {
    return stats.map((m) => {
      const s = Math.min(Math.max(m.sum, 0), m.n);
      return { model, a: 1 + s, b: 1 + m.n - s };
    });
  }
  let pooledSS = 0;
  let pooledDf = 0;
  for (const m of stats) {
    if (m.n >= 2) {
      pooledSS += Math.max(m.sumSquares - (m.sum * m.sum) / m.n, 0);
      pooledDf += m.n - 1;
    }
  }
  const pooledVar = pooledDf > 0 ? pooledSS / pooledDf : 1;
  return stats.map((m) => {
    if (m.n === 0) return { model, a: 0, b: 1e6 * Math.sqrt(pooledVar) }; // effectively uninformed
    const mean = m.sum / m.n;
    const v = m.n >= 2 ? Math.max(m.sumSquares - m.n * mean * mean, 0) / (m.n - 1) : pooledVar;
    return { model, a: mean, b: Math.sqrt(v / m.n) };
  });
}

/** One draw of each arm's mean from its posterior. */
export function drawPosterior(p: ArmPosterior, rng: Rng): number {
  return p.model === 'bernoulli' ? beta(rng, p.a, p.b) : p.a + p.b * normal(rng);
}
