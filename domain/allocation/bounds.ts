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
  const entries = Object.entries(weights);
  const k = entries.length;
  if (k === 0) return {};
  const b = resolveBounds(bounds);
  const floor = Math.min(Math.max(b.floor, 0), 1 / k);
  const max = Math.max(Math.min(b.max, 1), 1 / k);
  let total = 0;
  for (const [, w] of entries) total += Math.max(w, 0);
  // The step limit applies only when every arm has a finite previous weight.
  const prevKnown = previous != null && entries.every(([key]) => Number.isFinite(previous[key]));
  const arms: Arm[] = entries.map(([key, w]) => ({
    key,
    t: total > 0 ? Math.max(w, 0) / total : 1 / k,
    prev: prevKnown ? previous[key] : undefined,
  }));
  // Fast path (the common case, and every step of a δ = 1 simulation): already feasible.
  const step = Math.max(b.maxChange, 0);
  if (arms.every((a) => a.t >= floor && a.t <= max && (a.prev === undefined || Math.abs(a.t - a.prev) <= step))) {
    return Object.fromEntries(arms.map((a) => [a.key, a.t]));
  }

  const boxFor = (step: number): Cell[] =>
    arms.map((a) => ({
      key: a.key,
      t: a.t,
      lo: a.prev !== undefined ? Math.max(floor, a.prev - step) : floor,
      hi: a.prev !== undefined ? Math.min(max, a.prev + step) : max,
    }));
  const feasible = (box: Cell[]) => sum(box.map((c) => c.lo)) <= 1 + EPS && sum(box.map((c) => c.hi)) >= 1 - EPS && box.every((c) => c.lo <= c.hi + EPS);
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
  return Object.fromEntries(project(box).map((c) => [c.key, c.w]));
}

/** One arm: its normalised raw weight `t` and, when known, its previous weight. */
interface Arm {
  key: string;
  t: number;
  prev: number | undefined;
}

/** One arm's target weight `t` and its box [lo, hi]. */
interface Cell {
  key: string;
  t: number;
  lo: number;
  hi: number;
}

function project(cells: Cell[]): Array<{ key: string; w: number }> {
  // Fast path: already inside the box (the common case for an unconstrained policy).
  if (cells.every((c) => c.t >= c.lo && c.t <= c.hi)) return cells.map((c) => ({ key: c.key, w: c.t }));
  let a = Math.min(...cells.map((c) => c.t - c.hi));
  let z = Math.max(...cells.map((c) => c.t - c.lo));
  const clamp = (c: Cell, tau: number) => Math.min(c.hi, Math.max(c.lo, c.t - tau));
  for (let it = 0; it < 100; it++) {
    const mid = (a + z) / 2;
    if (sum(cells.map((c) => clamp(c, mid))) > 1) a = mid;
    else z = mid;
  }
  const tau = (a + z) / 2;
  const out = cells.map((c) => ({ key: c.key, w: clamp(c, tau), lo: c.lo, hi: c.hi }));
  // Bisection leaves ~1e-16 of slack; put it on an arm with room so the sum is exactly 1.
  const slack = 1 - sum(out.map((o) => o.w));
  const room = out.find((o) => o.w + slack >= o.lo - EPS && o.w + slack <= o.hi + EPS);
  if (room) room.w += slack;
  return out.map((o) => ({ key: o.key, w: o.w }));
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
