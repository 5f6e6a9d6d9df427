/**
 * Helpers over sufficient statistics ({n, sum, sumSquares}). Variances use the n−1 denominator and
 * are clamped at 0: sumSquares − sum²/n can go slightly negative through cancellation at huge n.
 */
import type { Moments } from '../types.js';

/** Sample mean, 0 for an empty sample. */
export function meanOf(m: Moments): number {
  return m.n > 0 ? m.sum / m.n : 0;
}

/**
 * Unbiased sample variance (n−1 denominator); 0 when n < 2. A numerator within the rounding noise of
 * accumulating Σy² (≈ √n·ε relative, with headroom) is 0: n identical values otherwise leave a few
 * ulps of Σy² − (Σy)²/n, and a t-test on that "variance" calls two constant arms certainly different.
 */
export function sampleVarianceOf(m: Moments): number {
  if (m.n < 2) return 0;
  const numerator = m.sumSquares - (m.sum * m.sum) / m.n;
  const noise = 8 * Number.EPSILON * Math.max(4, Math.sqrt(m.n)) * Math.abs(m.sumSquares);
  return numerator > noise ? numerator / (m.n - 1) : 0;
}

/** Bernoulli variance p(1−p) of a proportion given as moments (sum = conversions). */
export function proportionVarianceOf(m: Moments): number {
  const p = meanOf(m);
  return p > 0 && p < 1 ? p * (1 - p) : 0;
}

/** Adds moments component-wise (pooling segments or periods of the same arm). */
export function addMoments(a: Moments, b: Moments): Moments {
  return { n: a.n + b.n, sum: a.sum + b.sum, sumSquares: a.sumSquares + b.sumSquares };
}

/** Empty moments. */
export function emptyMoments(): Moments {
  return { n: 0, sum: 0, sumSquares: 0 };
}

/** Moments of a list of raw values (tests and simulations). */
export function momentsOf(values: readonly number[]): Moments {
  let sum = 0;
  let sumSquares = 0;
  for (const v of values) {
    sum += v;
    sumSquares += v * v;
  }
  return { n: values.length, sum, sumSquares };
}
