/**
 * Posterior of each arm's mean from sufficient statistics, for Thompson sampling (batch P(best) and
 * per-unit sampling). The posteriors are the statistics module's, so the allocation and the analysis
 * use one engine. Bernoulli: Beta(1 + successes, 1 + failures) from a uniform prior. Gaussian:
 * N(mean, s²/n), the flat-prior posterior of the mean with the sample variance plugged in.
 */
import { betaBinomialPosterior, type Posterior } from '../stats/bayesian.js';
import type { Moments } from '../types.js';

export type OutcomeModel = 'bernoulli' | 'gaussian';

/** Posterior of each arm; `pooledVar` stands in for arms with fewer than two units (Gaussian). */
export function armPosteriors(stats: readonly Moments[], model: OutcomeModel): Posterior[] {
  if (model === 'bernoulli') return stats.map((m) => betaBinomialPosterior({ n: m.n, successes: m.sum }));
  let pooledSS = 0;
  let pooledDf = 0;
  for (const m of stats) {
    if (m.n >= 2) {
      pooledSS += Math.max(m.sumSquares - (m.sum * m.sum) / m.n, 0);
      pooledDf += m.n - 1;
    }
  }
  const pooledVar = pooledDf > 0 ? pooledSS / pooledDf : 1;
  return stats.map((m): Posterior => {
    if (m.n === 0) return { kind: 'normal', mean: 0, variance: 1e12 * pooledVar }; // effectively uninformed
    const mean = m.sum / m.n;
    const v = m.n >= 2 ? Math.max(m.sumSquares - m.n * mean * mean, 0) / (m.n - 1) : pooledVar;
    return { kind: 'normal', mean, variance: v / m.n };
  });
}
