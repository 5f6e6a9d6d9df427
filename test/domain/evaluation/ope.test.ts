import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { estimatePolicyValue, type OpeEstimate } from '../../../domain/evaluation/ope.js';
import { crossFitRewardModel } from '../../../domain/evaluation/reward-model.js';
import { createRng } from '../../../domain/rng.js';
import { sampleDataset, syntheticProblem, trueValue } from '../../helpers/ope-synthetic.js';

interface ObpCase {
  name: string;
  nActions: number;
  context: number[][];
  action: number[];
  reward: number[];
  pscore: number[];
  loggingDist: number[][];
  targetDist: number[][];
  estimatedRewards: number[][];
  obp: { ips: number; snips: number; dr: number };
  truthPopulation: number;
}
const fixture = JSON.parse(readFileSync(new URL('../../fixtures/ope/obp.json', import.meta.url), 'utf8')) as { cases: ObpCase[] };

const byName = (es: OpeEstimate[], name: string) => es.find((e) => e.estimator === name)!;
const roundsOf = (c: ObpCase) => c.action.map((a, i) => ({ action: a, propensity: c.pscore[i]!, reward: c.reward[i]! }));

describe('IPS, SNIPS and DR vs Open Bandit Pipeline (scripts/gen_ope_fixtures.py)', () => {
  it.each(fixture.cases)('$name', (c) => {
    const { estimates } = estimatePolicyValue({ rounds: roundsOf(c), nActions: c.nActions, target: c.targetDist, estimatedRewards: c.estimatedRewards });
    expect(Math.abs(byName(estimates, 'ips').value - c.obp.ips)).toBeLessThan(1e-6);
    expect(Math.abs(byName(estimates, 'snips').value - c.obp.snips)).toBeLessThan(1e-6);
    expect(Math.abs(byName(estimates, 'dr').value - c.obp.dr)).toBeLessThan(1e-6);
    for (const e of estimates) {
      expect(e.ci[0]).toBeLessThan(e.value);
      expect(e.ci[1]).toBeGreaterThan(e.value);
      expect(e.effectiveSampleSize).toBeGreaterThan(0);
      expect(e.effectiveSampleSize).toBeLessThanOrEqual(c.action.length + 1e-9);
    }
  });

  it('our own cross-fitted reward model gives a DR estimate within 3 SE of the true value on the obp data', () => {
    for (const c of fixture.cases) {
      const q = crossFitRewardModel({ features: c.context, actions: c.action, rewards: c.reward, nActions: c.nActions }, { folds: 5, rng: createRng(7) });
      const dr = byName(estimatePolicyValue({ rounds: roundsOf(c), nActions: c.nActions, target: c.targetDist, estimatedRewards: q }).estimates, 'dr');
      expect(Math.abs(dr.value - c.truthPopulation)).toBeLessThan(3 * dr.standardError + 0.01);
    }
  });
});

describe('support warnings', () => {
  const c = fixture.cases[0]!;
  it('flags an action the logs never took, unsupported mass, and small propensities', () => {
    const rounds = roundsOf(c).map((r) => ({ ...r, action: r.action === 2 ? 0 : r.action }));
    const always2 = rounds.map(() => [0, 0, 1]);
    const logging = rounds.map(() => [0.5, 0.5, 0]);
    const { warnings } = estimatePolicyValue({ rounds, nActions: 3, target: always2, logging });
    expect(warnings.map((w) => w.kind).sort()).toEqual(['low-ess', 'unlogged-action', 'unsupported-mass']);
    expect(warnings.find((w) => w.kind === 'unlogged-action')).toMatchObject({ action: 2, targetMass: 1 });

    const tiny = roundsOf(c).map((r, i) => (i < 5 ? { ...r, propensity: 0.001 } : r));
    const w2 = estimatePolicyValue({ rounds: tiny, nActions: 3, target: c.targetDist }).warnings;
    expect(w2.find((w) => w.kind === 'small-propensity')).toMatchObject({ minPropensity: 0.001 });
  });

  it('a well-supported target raises no warning', () => {
    const uniform = c.action.map(() => [1 / 3, 1 / 3, 1 / 3]);
    expect(estimatePolicyValue({ rounds: roundsOf(c), nActions: 3, target: uniform, logging: c.loggingDist }).warnings).toEqual([]);
  });

  it('rejects a propensity outside (0, 1]', () => {
    const bad = roundsOf(c).map((r, i) => (i === 3 ? { ...r, propensity: 0 } : r));
    expect(() => estimatePolicyValue({ rounds: bad, nActions: 3, target: c.targetDist })).toThrow(/round 3: propensity 0/);
  });
});

describe('cross-fitting', () => {
  it('never predicts a round from a model that saw it: a lone outlier does not leak into its own prediction', () => {
    const n = 200;
    const features = Array.from({ length: n }, (_, i) => [i % 10]);
    const rewards = features.map(() => 0);
    rewards[17] = 1000;
    const q = crossFitRewardModel({ features, actions: features.map(() => 0), rewards, nActions: 1 }, { folds: 4, rng: createRng(3) });
    // Round 17's prediction comes from the folds without it: all-zero rewards, so exactly 0.
    expect(q[17]![0]).toBeCloseTo(0, 9);
    // The outlier does reach other folds' predictions.
    expect(Math.max(...q.map((r) => r[0]!))).toBeGreaterThan(1);
  });

  it('recovers a linear reward function per action', () => {
    const rng = createRng(5);
    const n = 2000;
    const features = Array.from({ length: n }, () => [rng() * 2 - 1, rng() * 2 - 1]);
    const actions = features.map((_, i) => i % 2);
    const rewards = features.map((x, i) => (actions[i] === 0 ? 1 + 2 * x[0]! : -1 + 3 * x[1]!) + 0.1 * (rng() - 0.5));
    const q = crossFitRewardModel({ features, actions, rewards, nActions: 2 }, { folds: 5, lambda: 1e-6, rng: createRng(9) });
    features.forEach((x, i) => {
      expect(q[i]![0]).toBeCloseTo(1 + 2 * x[0]!, 1);
      expect(q[i]![1]).toBeCloseTo(-1 + 3 * x[1]!, 1);
    });
  });
});

describe('Monte Carlo over 200 synthetic logged datasets with a known true value', () => {
  it('DR and SNIPS cover the truth within ±3 SE as often as nominal coverage allows, and DR has lower RMSE than IPS', () => {
    const problem = syntheticProblem(2024);
    const truth = trueValue(problem, 200_000, 99);
    const reps = 200;
    const n = 1000;
    const rng = createRng(42);
    const inside = { ips: 0, snips: 0, dr: 0 };
    const sq = { ips: 0, snips: 0, dr: 0 };
    for (let r = 0; r < reps; r++) {
      const d = sampleDataset(problem, n, rng);
      const q = crossFitRewardModel({ features: d.contexts, actions: d.actions, rewards: d.rewards, nActions: problem.nActions }, { folds: 5, rng: createRng(r) });
      const { estimates } = estimatePolicyValue({
        rounds: d.actions.map((a, i) => ({ action: a, propensity: d.propensities[i]!, reward: d.rewards[i]! })),
        nActions: problem.nActions,
        target: d.target,
        estimatedRewards: q,
      });
      for (const e of estimates) {
        if (Math.abs(e.value - truth) <= 3 * e.standardError) inside[e.estimator]++;
        sq[e.estimator] += (e.value - truth) ** 2;
      }
    }
    // Nominal ±3 SE coverage is 99.73%: over 200 datasets P(fewer than 196 inside) < 0.2%.
    expect(inside.dr).toBeGreaterThanOrEqual(196);
    expect(inside.snips).toBeGreaterThanOrEqual(196);
    const rmse = (k: keyof typeof sq) => Math.sqrt(sq[k] / reps);
    expect(rmse('dr')).toBeLessThan(rmse('ips'));
  });
});
