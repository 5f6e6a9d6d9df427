/**
 * UCB1 (Auer, Cesa-Bianchi & Fischer 2002): index = mean + c·scale·√(2 ln N / nᵢ). UCB1 assumes
 * rewards in [0,1]; for continuous metrics pass `scale` ≈ the outcome's standard deviation. In a
 * batch, the whole batch goes to the arm(s) with the highest index (ties split); bounds add the floor.
 */
import type { Moments } from '../types.js';

/** UCB1 index per arm; arms with no data get +Infinity so each is tried first. */
export function ucb1Indices(stats: readonly Moments[], c = 1, scale = 1): number[] {
  const total = stats.reduce((s, m) => s + m.n, 0);
  const logN = Math.log(Math.max(total, 1));
  return stats.map((m) => (m.n === 0 ? Infinity : m.sum / m.n + c * scale * Math.sqrt((2 * logN) / m.n)));
}

/** Weights that split evenly between the arms with the largest value. */
export function argmaxWeights(values: readonly number[]): number[] {
  let best = -Infinity;
  for (const v of values) if (v > best) best = v;
  const winners = values.filter((v) => v === best).length;
  return values.map((v) => (v === best ? 1 / winners : 0));
}

/** UCB1 weights: all mass on the highest index. */
export function ucb1Weights(stats: readonly Moments[], c = 1, scale = 1): number[] {
  return argmaxWeights(ucb1Indices(stats, c, scale));
}
