import { describe, expect, it } from 'vitest';
import {
  advanceRamp,
  applyDampening,
  computeAllocation,
  dampeningFactor,
  epsilonGreedyWeights,
  probabilityBest,
  sampleThompsonArm,
  topTwoWeights,
  ucb1Indices,
  ucb1Weights,
  type AllocationPolicy,
} from '../../../domain/allocation/index.js';
import { createRng } from '../../../domain/rng.js';
import { betaBinomialPosterior, probabilityBest as bayesProbabilityBest } from '../../../domain/stats/index.js';
import type { Moments, VariantRef } from '../../../domain/types.js';

const bern = (n: number, rate: number): Moments => ({ n, sum: Math.round(n * rate), sumSquares: Math.round(n * rate) });
const variants: VariantRef[] = [
  { key: 'control', isControl: true },
  { key: 'b', isControl: false },
  { key: 'c', isControl: false },
];
const stats = { control: bern(2000, 0.1), b: bern(2000, 0.12), c: bern(2000, 0.1) };

describe('Thompson sampling', () => {
  it('P(best) sums to 1 and favours the better arm', () => {
    const p = probabilityBest([bern(2000, 0.1), bern(2000, 0.12), bern(2000, 0.1)], 'bernoulli');
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[1]).toBeGreaterThan(0.9);
  });
  it('is the exact P(best) of the analysis engine (Beta posteriors), which a long Monte Carlo agrees with', () => {
    const s = [bern(100, 0.1), bern(100, 0.12), bern(40, 0.05)];
    const p = probabilityBest(s, 'bernoulli');
    expect(p).toEqual(bayesProbabilityBest(s.map((m) => betaBinomialPosterior({ n: m.n, successes: m.sum }))));
    const rng = createRng(7);
    const wins = [0, 0, 0];
    for (let i = 0; i < 200_000; i++) wins[sampleThompsonArm(s, 'bernoulli', rng)]!++;
    wins.forEach((w, i) => expect(Math.abs(w / 200_000 - p[i]!)).toBeLessThan(0.005));
  });
  it('equal arms get roughly equal P(best)', () => {
    const p = probabilityBest([bern(500, 0.2), bern(500, 0.2)], 'bernoulli');
    expect(p[0]).toBeCloseTo(0.5, 9);
  });
  it('Gaussian P(best) uses mean and standard error', () => {
    const g = (n: number, mean: number, sd: number): Moments => ({ n, sum: n * mean, sumSquares: n * (sd * sd * (n - 1) / n + mean * mean) });
    const p = probabilityBest([g(400, 10, 5), g(400, 10.5, 5)], 'gaussian');
    // z = 0.5 / (5·√(2/400)) = 1.414 → P = Φ(1.414) ≈ 0.921
    expect(p[1]).toBeCloseTo(0.92135, 5);
  });
  it('Gaussian arm with no spread yet (all units 0) is a point mass: weights match per-unit Thompson draws, not a ranking of means', () => {
    // Revenue early on: 300 control units all 0, treatment mean 0.5 with sd 10 over 100 units.
    // P(treatment best) = P(N(0.5, 10²/100) > 0) = Φ(0.5) = 0.6915; ranking means gave it 1 and control 0.
    const zero: Moments = { n: 300, sum: 0, sumSquares: 0 };
    const noisy: Moments = { n: 100, sum: 50, sumSquares: 99 * 100 + 100 * 0.25 };
    const p = probabilityBest([zero, noisy], 'gaussian');
    expect(p[1]).toBeCloseTo(0.691462461274013, 9);
    const rng = createRng(11);
    let treatment = 0;
    for (let i = 0; i < 100_000; i++) treatment += sampleThompsonArm([zero, noisy], 'gaussian', rng);
    expect(Math.abs(treatment / 100_000 - p[1]!)).toBeLessThan(0.01);
  });
  it.each([
    [[0.7, 0.2, 0.1], 0.5],
    [[1, 0, 0], 0.5],
    [[0.34, 0.33, 0.33], 0.25],
  ])('top-two weights from %j sum to 1 and pull toward the challenger', (p, beta) => {
    const w = topTwoWeights(p, beta);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    if (p[0]! < 1) expect(w[0]).toBeLessThan(p[0]!);
  });
  it('per-unit sampling picks arms in proportion to P(best)', () => {
    const s = [bern(200, 0.1), bern(200, 0.13)];
    const rng = createRng(5);
    let b = 0;
    for (let i = 0; i < 20_000; i++) b += sampleThompsonArm(s, 'bernoulli', rng);
    const p = probabilityBest(s, 'bernoulli');
    expect(b / 20_000).toBeCloseTo(p[1]!, 1);
  });
});

describe('UCB1 and ε-greedy', () => {
  it('UCB1 tries unplayed arms first, then the highest index', () => {
    expect(ucb1Weights([bern(10, 0.5), { n: 0, sum: 0, sumSquares: 0 }])).toEqual([0, 1]);
    const idx = ucb1Indices([bern(100, 0.5), bern(10, 0.4)]);
    expect(idx[1]).toBeGreaterThan(idx[0]!); // the rarely played arm's bonus dominates
  });
  it('ε-greedy spreads ε evenly and gives the rest to the best mean', () => {
    expect(epsilonGreedyWeights([bern(100, 0.1), bern(100, 0.3), bern(100, 0.2)], 0.3)).toEqual([expect.closeTo(0.1, 12), expect.closeTo(0.8, 12), expect.closeTo(0.1, 12)]);
  });
});

describe('computeAllocation', () => {
  const base = { variants, stats, previous: { control: 1 / 3, b: 1 / 3, c: 1 / 3 }, rng: createRng(11), now: 0 };
  const policies: AllocationPolicy[] = [
    { kind: 'fixed' },
    { kind: 'fixed', weights: { control: 0.5, b: 0.25, c: 0.25 } },
    { kind: 'thompson', model: 'bernoulli' },
    { kind: 'thompson', model: 'bernoulli', topTwo: 0.5 },
    { kind: 'ucb1' },
    { kind: 'epsilon_greedy', epsilon: 0.1 },
    { kind: 'ramp', schedule: [{ coverage: 0.1, minHoldMs: 0 }, { coverage: 0.5, minHoldMs: 0 }], state: { step: 0, enteredAt: 0 }, guardrailOk: true },
    { kind: 'contextual', baseline: 0.5, treatment: 'b' },
  ];
  it.each(policies.map((p) => [p.kind + (('topTwo' in p && p.topTwo) ? ' top-two' : ''), p] as const))(
    '%s: weights within bounds, summing to 1',
    (_n, policy) => {
      const bounds = { floor: 0.05, max: 0.9, maxChange: 0.2, minUnitsPerArm: 100 };
      const r = computeAllocation({ ...base, policy, bounds });
      expect(Object.keys(r.weights)).toEqual(['control', 'b', 'c']);
      expect(Object.values(r.weights).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      for (const k of Object.keys(r.weights)) {
        expect(r.weights[k]!).toBeGreaterThanOrEqual(0.05 - 1e-9);
        expect(Math.abs(r.weights[k]! - 1 / 3)).toBeLessThanOrEqual(0.2 + 1e-9);
      }
      // Each policy names itself (and its parameters) in the reason the audit log records.
      const expectedReason: Record<AllocationPolicy['kind'], RegExp> = {
        fixed: /^fixed$/,
        thompson: 'topTwo' in policy && policy.topTwo !== undefined ? /^thompson top-two \(β=0\.5\)$/ : /^thompson P\(best\)$/,
        ucb1: /^ucb1$/,
        epsilon_greedy: /^epsilon_greedy \(ε=0\.1\)$/,
        ramp: /^ramp .*: step \d+ at coverage [\d.]+$/,
        contextual: /^contextual: segment baseline/,
      };
      expect(r.reason).toMatch(expectedReason[policy.kind]);
    },
  );
  it('adaptive policies hold the previous weights until every arm has the minimum data', () => {
    const r = computeAllocation({ ...base, stats: { ...stats, c: bern(40, 0.1) }, policy: { kind: 'thompson', model: 'bernoulli' }, previous: { control: 0.5, b: 0.3, c: 0.2 } });
    expect(r.weights).toEqual({ control: 0.5, b: 0.3, c: 0.2 });
    expect(r.reason).toMatch(/min_data: c below 100/);
  });
  it('Thompson shifts toward the winner but no faster than maxChange', () => {
    const r = computeAllocation({ ...base, policy: { kind: 'thompson', model: 'bernoulli' }, bounds: { floor: 0.05, maxChange: 0.1 } });
    expect(r.weights.b).toBeCloseTo(1 / 3 + 0.1, 9);
    expect(r.pBest!.b).toBeGreaterThan(0.9);
  });
  it('for a decrease metric the lowest rate wins', () => {
    const r = computeAllocation({ ...base, policy: { kind: 'thompson', model: 'bernoulli' }, direction: 'decrease', previous: null });
    expect(r.weights.b).toBeLessThan(0.05);
  });
  it('ramp reports coverage and the state to carry', () => {
    const r = computeAllocation({
      ...base,
      policy: { kind: 'ramp', schedule: [{ coverage: 0.05, minHoldMs: 10 }, { coverage: 0.25, minHoldMs: 10 }], state: { step: 0, enteredAt: 0 }, guardrailOk: true },
      now: 100,
    });
    expect(r).toMatchObject({ coverage: 0.25, ramp: { step: 1, enteredAt: 100 } });
  });
  it('external-context events dampen test arms toward control', () => {
    const r = computeAllocation({
      ...base,
      policy: { kind: 'fixed' },
      now: 3_600_000,
      externalContext: { events: [{ at: 0, severity: 0.6 }], halfLifeMs: 3_600_000 },
    });
    // One half-life after a severity-0.6 event, 30% of test traffic moves to control.
    expect(r.weights.b).toBeCloseTo((1 / 3) * 0.7, 9);
    expect(r.weights.control).toBeCloseTo(1 / 3 + (2 / 3) * 0.3, 9);
  });
});

describe('ramp', () => {
  const schedule = [
    { coverage: 0.01, minHoldMs: 1000 },
    { coverage: 0.1, minHoldMs: 1000 },
    { coverage: 1, minHoldMs: 0 },
  ];
  it.each<[string, { step: number; enteredAt: number }, boolean, number, { step: number; coverage: number; reason: string }]>([
    ['holds before the minimum time', { step: 0, enteredAt: 0 }, true, 500, { step: 0, coverage: 0.01, reason: 'holding' }],
    ['advances after the hold when the guardrail passes', { step: 0, enteredAt: 0 }, true, 1000, { step: 1, coverage: 0.1, reason: 'advanced' }],
    ['stays while the guardrail fails', { step: 1, enteredAt: 0 }, false, 5000, { step: 1, coverage: 0.1, reason: 'guardrail_failed' }],
    ['completes at the last step', { step: 2, enteredAt: 0 }, true, 5000, { step: 2, coverage: 1, reason: 'complete' }],
  ])('%s', (_n, state, ok, now, expected) => {
    const r = advanceRamp(schedule, state, ok, now);
    expect({ step: r.state.step, coverage: r.coverage, reason: r.reason }).toEqual(expected);
  });
});

describe('dampening', () => {
  it('halves with each half-life and ignores future events', () => {
    const ev = [{ at: 0, severity: 0.8 }];
    expect(dampeningFactor(ev, 0, 1000)).toBeCloseTo(0.8, 12);
    expect(dampeningFactor(ev, 1000, 1000)).toBeCloseTo(0.4, 12);
    expect(dampeningFactor(ev, 2000, 1000)).toBeCloseTo(0.2, 12);
    expect(dampeningFactor([{ at: 5000, severity: 1 }], 0, 1000)).toBe(0);
  });
  it('combines events as independent reductions', () => {
    expect(dampeningFactor([{ at: 0, severity: 0.5 }, { at: 0, severity: 0.5 }], 0, 1000)).toBeCloseTo(0.75, 12);
  });
  it('moves weight to control and keeps the sum', () => {
    const w = applyDampening({ control: 0.5, b: 0.5 }, 'control', 0.5);
    expect(w).toEqual({ control: 0.75, b: 0.25 });
  });
});
