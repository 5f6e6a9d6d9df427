/**
 * Allocation bounds: an exploration floor, a per-arm maximum and a per-cycle step limit. Every
 * policy's raw weights go through `applyBounds`, so a bandit can never starve an arm or swing
 * traffic faster than the experiment owner allowed.
 */
import type { Weights } from '../types.js';

/** Limits on the weights a policy may produce. */
export interface AllocationBounds {
  /** Minimum weight per arm (exploration floor); clipped to 1/k if k arms cannot all get it. */
  floor: number;
  /** Maximum weight per arm; raised to 1/k if k arms cannot sum to 1 under it. */
  max: number;
  /** Largest |Δweight| per arm per cycle; relaxed only as far as needed when infeasible. */
  maxChange: number;
  /** Adaptive policies keep the previous weights until every arm has at least this many units. */
  minUnitsPerArm: number;
}

/** No floor, no cap, no step limit, 100 units per arm before the first reweight. */
const DEFAULT_BOUNDS: AllocationBounds = { floor: 0, max: 1, maxChange: 1, minUnitsPerArm: 100 };

/** Bounds with defaults filled in. */
export function resolveBounds(b?: Partial<AllocationBounds>): AllocationBounds {
  return { ...DEFAULT_BOUNDS, ...b };
}

const EPS = 1e-12;

/**
 * Closest weights (Euclidean) to `weights` that sum to 1 with floor ≤ wᵢ ≤ max and
 * |wᵢ − previousᵢ| ≤ maxChange. The projection onto a box ∩ simplex is wᵢ = clamp(tᵢ − τ, loᵢ, hiᵢ)
 * for the single τ that makes them sum to 1, found by bisection. If the previous weights make the
 * step limit infeasible (e.g. a new, higher floor), the step limit is widened just enough.
 */
export function applyBounds(weights: Weights, previous: Weights | null | undefined, bounds: Partial<AllocationBounds> = {}): Weights {
  const keys = Object.keys(weights);
  const k = keys.length;
  if (k === 0) return {};
  const b = resolveBounds(bounds);
  const floor = Math.min(Math.max(b.floor, 0), 1 / k);
  const max = Math.max(Math.min(b.max, 1), 1 / k);
  let total = 0;
  for (const key of keys) total += Math.max(weights[key]!, 0);
  const t = keys.map((key) => (total > 0 ? Math.max(weights[key]!, 0) / total : 1 / k));
  const prev = previous && keys.every((key) => Number.isFinite(previous[key])) ? keys.map((key) => previous[key]!) : null;
  // Fast path (the common case, and every step of a δ = 1 simulation): already feasible.
  const step = Math.max(b.maxChange, 0);
  if (t.every((x, i) => x >= floor && x <= max && (!prev || Math.abs(x - prev[i]!) <= step))) {
    return Object.fromEntries(keys.map((key, i) => [key, t[i]!]));
  }

  const boxFor = (step: number): [number[], number[]] => {
    const lo = keys.map((_, i) => (prev ? Math.max(floor, prev[i]! - step) : floor));
    const hi = keys.map((_, i) => (prev ? Math.min(max, prev[i]! + step) : max));
    return [lo, hi];
  };
  const feasible = ([lo, hi]: [number[], number[]]) => sum(lo) <= 1 + EPS && sum(hi) >= 1 - EPS && lo.every((l, i) => l <= hi[i]! + EPS);
  let box = boxFor(step);
  if (!feasible(box)) {
    let a = step;
    let z = 1;
    for (let it = 0; it < 60; it++) {
      const mid = (a + z) / 2;
      if (feasible(boxFor(mid))) z = mid;
      else a = mid;
    }
    box = boxFor(z);
  }
  const [lo, hi] = box;
  const out = project(t, lo, hi);
  return Object.fromEntries(keys.map((key, i) => [key, out[i]!]));
}

function project(t: number[], lo: number[], hi: number[]): number[] {
  // Fast path: already inside the box (the common case for an unconstrained policy).
  if (t.every((x, i) => x >= lo[i]! && x <= hi[i]!)) return t;
  let a = Math.min(...t.map((x, i) => x - hi[i]!));
  let z = Math.max(...t.map((x, i) => x - lo[i]!));
  const at = (tau: number) => t.map((x, i) => Math.min(hi[i]!, Math.max(lo[i]!, x - tau)));
  for (let it = 0; it < 100; it++) {
    const mid = (a + z) / 2;
    if (sum(at(mid)) > 1) a = mid;
    else z = mid;
  }
  const w = at((a + z) / 2);
  // Bisection leaves ~1e-16 of slack; put it on an arm with room so the sum is exactly 1.
  const slack = 1 - sum(w);
  const i = w.findIndex((x, j) => x + slack >= lo[j]! - EPS && x + slack <= hi[j]! + EPS);
  if (i >= 0) w[i]! += slack;
  return w;
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
