/** The configured policy mapped to the allocation domain's policy, for every policy kind. */
import { describe, expect, it } from 'vitest';
import { policyFor } from '../../../domain/experiment/allocation-plan.js';
import { experimentConfigSchema } from '../../../domain/experiment/config.js';
import type { ExperimentDefinition } from '../../../domain/experiment/snapshot.js';

function definition(policy: Record<string, unknown> = {}): ExperimentDefinition {
  return {
    key: 'plan',
    seed: 'seed',
    hashVersion: 1,
    variants: [
      { key: 'control', isControl: true, weight: 0.5 },
      { key: 'b', isControl: false, weight: 0.5 },
    ],
    config: experimentConfigSchema.parse({
      metrics: [{ key: 'conv', event: 'purchase', type: 'binary', role: 'primary' }],
      minSamplePerArm: 100,
      bounds: { floor: 0.05, maxChange: 0.2 },
      ...(Object.keys(policy).length ? { policy } : {}),
    }),
  };
}

describe('policyFor', () => {
  const def = definition();
  const initial = { control: 0.5, b: 0.5 };
  const ramp = { step: 0, enteredAt: 0 };
  it.each([
    [{ kind: 'fixed' }, 'binary', { kind: 'fixed', weights: initial }],
    [{ kind: 'thompson' }, 'binary', { kind: 'thompson', model: 'bernoulli', topTwo: undefined }],
    [{ kind: 'thompson', topTwo: true }, 'continuous', { kind: 'thompson', model: 'gaussian', topTwo: 0.5 }],
    [{ kind: 'ucb1' }, 'binary', { kind: 'ucb1' }],
    [{ kind: 'epsilon_greedy', epsilon: 0.2 }, 'count', { kind: 'epsilon_greedy', epsilon: 0.2 }],
    [{ kind: 'ramp', steps: [{ coverage: 0.2, minHoldSeconds: 60 }] }, 'binary', { kind: 'ramp', schedule: [{ coverage: 0.2, minHoldMs: 60_000 }], state: ramp, guardrailOk: true, weights: initial }],
  ] as const)('%o on a %s metric', (policy, metricType, expected) => {
    const config = definition(policy).config;
    expect(policyFor(config, metricType, ramp, true, initial, 'b')).toEqual(expected);
  });
  it('contextual serves the treatment with the configured baseline', () => {
    const config = { ...def.config, policy: { ...experimentConfigSchema.parse({ metrics: def.config.metrics, policy: { kind: 'contextual', features: ['age'] } }).policy } };
    expect(policyFor(config, 'binary', ramp, true, initial, 'b')).toMatchObject({ kind: 'contextual', treatment: 'b' });
  });
});
