import { describe, expect, it } from 'vitest';
import { applyBounds } from '../../../domain/allocation/index.js';
import { createRng } from '../../../domain/rng.js';
import type { Weights } from '../../../domain/types.js';

const sum = (w: Weights) => Object.values(w).reduce((a, b) => a + b, 0);

describe('applyBounds', () => {
  it.each<[string, Weights, Weights | null, { floor?: number; max?: number; maxChange?: number }, Weights]>([
    ['leaves feasible weights alone', { a: 0.2, b: 0.8 }, null, { floor: 0.1 }, { a: 0.2, b: 0.8 }],
    ['lifts an arm to the floor', { a: 0, b: 1 }, null, { floor: 0.1 }, { a: 0.1, b: 0.9 }],
    ['caps an arm at max', { a: 0.05, b: 0.95 }, null, { max: 0.8 }, { a: 0.2, b: 0.8 }],
    ['limits the step per cycle', { a: 1, b: 0 }, { a: 0.5, b: 0.5 }, { maxChange: 0.1 }, { a: 0.6, b: 0.4 }],
    ['normalises', { a: 2, b: 2 }, null, {}, { a: 0.5, b: 0.5 }],
    ['all-zero input becomes equal', { a: 0, b: 0, c: 0 }, null, {}, { a: 1 / 3, b: 1 / 3, c: 1 / 3 }],
    ['an impossible floor is clipped to 1/k', { a: 1, b: 0, c: 0 }, null, { floor: 0.5 }, { a: 1 / 3, b: 1 / 3, c: 1 / 3 }],
  ])('%s', (_n, w, prev, b, expected) => {
    const out = applyBounds(w, prev, b);
    for (const k of Object.keys(expected)) expect(out[k]).toBeCloseTo(expected[k]!, 9);
  });

  it('invariants hold on random inputs: sum 1, floor, max, |Δ| ≤ maxChange', () => {
    const rng = createRng('bounds');
    for (let trial = 0; trial < 2000; trial++) {
      const k = 2 + Math.floor(rng() * 5);
      const keys = Array.from({ length: k }, (_, i) => `v${i}`);
      const floor = rng() * (0.8 / k);
      const max = Math.max(1 / k + rng() * (1 - 1 / k), floor);
      const maxChange = 0.01 + rng() * 0.3;
      // A previous allocation that itself satisfies floor/max (as produced by an earlier cycle).
      const prev = applyBounds(Object.fromEntries(keys.map((x) => [x, rng() ** 3])), null, { floor, max });
      const raw = Object.fromEntries(keys.map((x) => [x, rng() < 0.3 ? 0 : rng() ** 4]));
      const out = applyBounds(raw, prev, { floor, max, maxChange });
      expect(sum(out)).toBeCloseTo(1, 12);
      for (const x of keys) {
        expect(out[x]!).toBeGreaterThanOrEqual(floor - 1e-9);
        expect(out[x]!).toBeLessThanOrEqual(max + 1e-9);
        expect(Math.abs(out[x]! - prev[x]!)).toBeLessThanOrEqual(maxChange + 1e-9);
      }
    }
  });

  it('widens the step limit only as far as needed when a new floor makes it infeasible', () => {
    const out = applyBounds({ a: 0, b: 1 }, { a: 0, b: 1 }, { floor: 0.2, maxChange: 0.05 });
    expect(out.a).toBeCloseTo(0.2, 9);
    expect(out.b).toBeCloseTo(0.8, 9);
  });

  it('is the closest feasible point: order of arms is preserved', () => {
    const out = applyBounds({ a: 0.7, b: 0.25, c: 0.05 }, null, { floor: 0.1, max: 0.6 });
    expect(out.a).toBeGreaterThanOrEqual(out.b!);
    expect(out.b).toBeGreaterThanOrEqual(out.c!);
    expect(out).toEqual({ a: 0.6, b: expect.closeTo(0.3, 9), c: expect.closeTo(0.1, 9) });
  });
});
