/**
 * Group-sequential boundaries for K planned looks (two-sided, symmetric ±b_k on the Z scale).
 *
 * Crossing probabilities come from the recursive numerical integration of Armitage, McPherson and Rowe
 * (1969), using the grid and Simpson weights of Jennison & Turnbull (2000), "Group Sequential Methods",
 * §19.2–19.3 (r = 32 gives ~1e-6 accuracy in α). Lan–DeMets (1983) spending functions set each b_k
 * so the probability of first crossing at look k equals α(t_k) − α(t_{k−1}). The fixed-horizon
 * decision method (domain/decision/fixed-horizon.ts) uses them at its interim looks.
 */
import { normalCdf, normalPdf, normalQuantile, normalSf } from './normal.js';
import { assertNever } from '../assert-never.js';
import { at } from '../at.js';

export type SpendingFunction = 'obrien-fleming' | 'pocock';

/** Boundaries on the Z scale, one per look, with cumulative two-sided α spent through each look. */
export interface GroupSequentialDesign {
  informationFractions: number[];
  boundaries: number[];
  cumulativeAlpha: number[];
}

const GRID_R = 32;

/**
 * Two-sided α spent by information fraction t. O'Brien–Fleming type: each side spends α/2 with the
 * one-sided Lan–DeMets function α₁(t) = 2 − 2Φ(z_{1−α₁/2}/√t), so the total is 4·(1 − Φ(z_{1−α/4}/√t))
 * (the convention of R's ldbounds/gsDesign, which gives 4.877 … 2.032 for 5 looks at α = 0.05).
 * Pocock type: α·log(1 + (e − 1)t).
 */
export function alphaSpent(spending: SpendingFunction, t: number, alpha: number): number {
  if (t <= 0) return 0;
  if (t >= 1) return alpha;
  switch (spending) {
    case 'obrien-fleming':
      return 4 * normalSf(normalQuantile(1 - alpha / 4) / Math.sqrt(t));
    case 'pocock':
      return alpha * Math.log(1 + (Math.E - 1) * t);
    default:
      return assertNever(spending, 'spending function');
  }
}

interface Grid {
  z: number[];
  w: number[];
}

/** Jennison–Turnbull grid on (a, b) centred at the drift mean, with Simpson weights. */
function buildGrid(a: number, b: number, center: number): Grid {
  const r = GRID_R;
  const pts: number[] = [];
  for (let i = 1; i <= 6 * r - 1; i++) {
    let x: number;
    if (i < r) x = -3 - 4 * Math.log(r / i);
    else if (i <= 5 * r) x = -3 + (3 * (i - r)) / (2 * r);
    else x = 3 + 4 * Math.log(r / (6 * r - i));
    x += center;
    if (x > a + 1e-12 && x < b - 1e-12) pts.push(x);
  }
  // Composite Simpson over the knots a, ...pts, b: each interval adds its midpoint (4h/6) and h/6 to
  // both ends, so an inner knot carries the h/6 of the intervals on either side.
  const z: number[] = [a];
  const w: number[] = [];
  let x0 = a;
  let carried = 0; // h/6 owed to x0 by the interval before it
  for (const x1 of [...pts, b]) {
    const h = x1 - x0;
    w.push(carried + h / 6);
    z.push((x0 + x1) / 2, x1);
    w.push((4 * h) / 6);
    carried = h / 6;
    x0 = x1;
  }
  w.push(carried);
  return { z, w };
}

/** State of the recursion: grid and sub-density of Z_k on the continuation region. */
interface Stage {
  grid: Grid;
  density: number[];
  info: number;
}

function firstStage(b: number, info: number, drift: number): Stage {
  const mean = drift * Math.sqrt(info);
  const grid = buildGrid(-b, b, mean);
  return { grid, info, density: grid.z.map((z) => normalPdf(z - mean)) };
}

/** Probability of exiting (above b or below −b) at the next look, given the previous stage. */
function exitProbability(prev: Stage | null, b: number, info: number, drift: number): number {
  if (prev === null) {
    const mean = drift * Math.sqrt(info);
    return normalSf(b - mean) + normalCdf(-b - mean);
  }
  const delta = info - prev.info;
  const sd = Math.sqrt(delta);
  const sqI = Math.sqrt(info);
  const sqPrev = Math.sqrt(prev.info);
  let total = 0;
  for (const [i, zi] of prev.grid.z.entries()) {
    const shift = zi * sqPrev + drift * delta;
    const up = normalSf((b * sqI - shift) / sd);
    const down = normalCdf((-b * sqI - shift) / sd);
    total += at(prev.grid.w, i, 'grid weights') * at(prev.density, i, 'density') * (up + down);
  }
  return total;
}

function nextStage(prev: Stage, b: number, info: number, drift: number): Stage {
  const delta = info - prev.info;
  const sd = Math.sqrt(delta);
  const sqI = Math.sqrt(info);
  const sqPrev = Math.sqrt(prev.info);
  const grid = buildGrid(-b, b, drift * sqI);
  const density = grid.z.map((z) => {
    let s = 0;
    for (const [i, zi] of prev.grid.z.entries()) {
      s += at(prev.grid.w, i, 'grid weights') * at(prev.density, i, 'density') * normalPdf((z * sqI - zi * sqPrev - drift * delta) / sd);
    }
    return (s * sqI) / sd;
  });
  return { grid, density, info };
}

/**
 * Probability of first crossing ±b_k at each look, for a drift δ = E[Z_K] at full information
 * (δ = 0: type-I error; δ ≠ 0: power).
 */
export function crossingProbabilities(boundaries: readonly number[], informationFractions: readonly number[], drift = 0): number[] {
  const theta = drift; // with I_K = 1 the drift per unit information equals E[Z_K]
  if (boundaries.length !== informationFractions.length) {
    throw new RangeError(`crossingProbabilities: ${boundaries.length} boundaries but ${informationFractions.length} information fractions`);
  }
  const out: number[] = [];
  let stage: Stage | null = null;
  for (const [k, b] of boundaries.entries()) {
    const info = at(informationFractions, k, 'informationFractions');
    out.push(exitProbability(stage, b, info, theta));
    stage = stage === null ? firstStage(b, info, theta) : nextStage(stage, b, info, theta);
  }
  return out;
}

function bisect(f: (x: number) => number, lo: number, hi: number): number {
  // f decreasing in x; find f(x) = 0.
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = 0.5 * (lo + hi);
    if (f(mid) > 0) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** Lan–DeMets alpha-spending boundaries (two-sided α) at the given information fractions. */
export function spendingBoundaries(input: { informationFractions: readonly number[]; alpha: number; spending: SpendingFunction }): GroupSequentialDesign {
  const t = [...input.informationFractions];
  const boundaries: number[] = [];
  const cumulativeAlpha: number[] = [];
  let stage: Stage | null = null;
  let spent = 0;
  for (const tk of t) {
    const target = alphaSpent(input.spending, tk, input.alpha) - spent;
    const prev: Stage | null = stage;
    const b: number = target <= 0 ? 40 : bisect((x: number): number => exitProbability(prev, x, tk, 0) - target, 0, 40);
    spent += exitProbability(prev, b, tk, 0);
    boundaries.push(b);
    cumulativeAlpha.push(spent);
    stage = prev === null ? firstStage(b, tk, 0) : nextStage(prev, b, tk, 0);
  }
  return { informationFractions: t, boundaries, cumulativeAlpha };
}
