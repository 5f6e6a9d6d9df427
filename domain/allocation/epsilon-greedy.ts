/** ε-greedy: ε spread evenly over all arms (exploration), 1−ε on the best observed mean. */
import type { Moments } from '../types.js';
import { argmaxWeights } from './ucb.js';

/** ε-greedy weights; arms without data count as best so they get tried. */
export function epsilonGreedyWeights(stats: readonly Moments[], epsilon: number): number[] {
  const k = stats.length;
  const eps = Math.min(Math.max(epsilon, 0), 1);
  const greedy = argmaxWeights(stats.map((m) => (m.n === 0 ? Infinity : m.sum / m.n)));
  return greedy.map((g) => eps / k + (1 - eps) * g);
}
