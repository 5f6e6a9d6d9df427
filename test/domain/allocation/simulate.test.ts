import { describe, expect, it } from 'vitest';
import { parseScenario, simulateRun, simulateScenario, type ScenarioInput } from '../../../domain/allocation/index.js';

function scenario(input: ScenarioInput) {
  const r = parseScenario(input);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.scenario;
}

const twoArms: ScenarioInput = {
  outcome: 'bernoulli',
  horizon: 5000,
  batchSize: 250,
  runs: 3,
  arms: [
    { key: 'control', mean: 0.2, control: true },
    { key: 'b', mean: 0.3 },
  ],
  bounds: { minUnitsPerArm: 20 },
  policies: [{ kind: 'fixed' }, { kind: 'thompson' }, { kind: 'ucb1' }, { kind: 'epsilon_greedy', epsilon: 0.1 }],
};

describe('simulate', () => {
  it('is reproducible for a seed and run index', () => {
    const s = scenario(twoArms);
    expect(simulateRun(s, s.policies[1]!, 0)).toEqual(simulateRun(s, s.policies[1]!, 0));
    expect(simulateRun(s, s.policies[1]!, 0)).not.toEqual(simulateRun(s, s.policies[1]!, 1));
  });

  it('fixed 50/50 has regret Δ/2 per unit; adaptive policies do better and pick the best arm', () => {
    const r = simulateScenario(scenario(twoArms));
    const [fixed, ...adaptive] = r.policies;
    expect(fixed!.regretMean).toBeCloseTo(0.05 * 5000, -1.5);
    for (const p of adaptive) {
      expect(p.regretMean).toBeLessThan(fixed!.regretMean);
      expect(p.decision).toBe('b');
    }
    expect(r.bestArm).toBe('b');
  });

  it('per-unit Thompson (δ = 1) runs and concentrates on the best arm', () => {
    const s = scenario({ ...twoArms, horizon: 3000, batchSize: 1, policies: [{ kind: 'thompson' }] });
    expect(simulateRun(s, s.policies[0]!, 0).bestArmShare).toBeGreaterThan(0.8);
  });

  it('the risk-adjusted contextual policy exposes the harmed segment less than Thompson', () => {
    const s = scenario({
      outcome: 'bernoulli',
      horizon: 10_000,
      batchSize: 1000,
      runs: 2,
      arms: [
        { key: 'control', mean: 0.1, control: true },
        { key: 'treatment', mean: 0.1 },
      ],
      segments: [
        { name: 'harmed', share: 0.5, effects: { treatment: -0.05 } },
        { name: 'helped', share: 0.5, effects: { treatment: 0.1 } },
      ],
      bounds: { floor: 0.05 },
      policies: [{ kind: 'thompson' }, { kind: 'contextual', riskTolerance: 0.01, maxRows: 2000 }],
    });
    const [ts, ctx] = simulateScenario(s).policies;
    expect(ctx!.harmMean).toBeLessThan(0.5 * ts!.harmMean);
    expect(ctx!.decision).toBe('treatment');
  });

  it('gaussian outcomes with drift run and report the best arm at the end', () => {
    const s = scenario({
      outcome: 'gaussian',
      horizon: 4000,
      batchSize: 500,
      runs: 1,
      arms: [
        { key: 'a', mean: 1, sd: 1 },
        { key: 'b', mean: 1.5, sd: 1 },
      ],
      drift: { b: -1 },
      policies: [{ kind: 'thompson' }],
    });
    expect(simulateScenario(s).bestArm).toBe('a');
  });
});
