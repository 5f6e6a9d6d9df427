/** The allocation precedence for one segment: override, then the segment's conclusion, then the policy. */
import { describe, expect, it } from 'vitest';
import { allocateSegment, policyFor, type SegmentAllocationInput } from '../../../domain/experiment/allocation-plan.js';
import { experimentConfigSchema } from '../../../domain/experiment/config.js';
import type { ExperimentDefinition } from '../../../domain/experiment/snapshot.js';
import { createRng } from '../../../domain/rng.js';

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

const bern = (n: number, p: number) => ({ n, sum: Math.round(n * p), sumSquares: Math.round(n * p) });

function input(over: Partial<SegmentAllocationInput> = {}): SegmentAllocationInput {
  return {
    segmentId: 3,
    def: definition(),
    override: null,
    conclusion: undefined,
    stats: { control: bern(2000, 0.1), b: bern(2000, 0.2) },
    previous: { control: 0.5, b: 0.5 },
    ramp: { step: 0, enteredAt: 0 },
    guardrailOk: true,
    dampening: 0,
    rng: createRng(7),
    now: 1_000,
    ...over,
  };
}

describe('allocateSegment', () => {
  it('a manual override wins over a conclusion and the policy', () => {
    const r = allocateSegment(input({ override: { control: 0.8, b: 0.2 }, conclusion: { serve: 'b', reason: 'segment 3 concluded: ship b' } }));
    expect(r).toEqual({ source: 'override', weights: { control: 0.8, b: 0.2 }, reasons: ['segment 3: manual override'] });
  });

  it('a concluded segment serves its answer to everyone in it, over the policy', () => {
    const r = allocateSegment(input({ conclusion: { serve: 'b', reason: 'segment 3 concluded: ship b' }, dampening: 0.5 }));
    expect(r).toEqual({ source: 'concluded', weights: { control: 0, b: 1 }, reasons: ['segment 3 concluded: ship b'] });
  });

  it('otherwise the policy computes the weights within the bounds, and says so', () => {
    const r = allocateSegment(input());
    expect(r.source).toBe('policy');
    // Thompson moves toward the better arm, by at most maxChange (0.2) from the previous 0.5.
    expect(r.weights.b).toBeCloseTo(0.7, 9);
    expect(r.weights.control).toBeCloseTo(0.3, 9);
    expect(r.reasons).toEqual(['segment 3: thompson P(best)']);
  });

  it('reports external-event dampening for policy-computed weights only', () => {
    const events = [{ at: 900, severity: 1, kind: 'outage' }];
    const r = allocateSegment(input({ dampening: 0.42, externalContext: { events, halfLifeMs: 3_600_000 } }));
    expect(r.reasons).toContain('segment 3: external-event dampening 42.0% toward control');
    expect(allocateSegment(input({ dampening: 0.42, override: { control: 1, b: 0 } })).reasons).toEqual(['segment 3: manual override']);
  });

  it('a ramp carries its state and coverage forward', () => {
    const def = definition({ kind: 'ramp', steps: [{ coverage: 0.1, minHoldSeconds: 0 }, { coverage: 0.5, minHoldSeconds: 0 }] });
    const r = allocateSegment(input({ def }));
    expect(r.source).toBe('policy');
    expect(r.ramp).toEqual({ step: 1, enteredAt: 1_000 });
    expect(r.coverage).toBe(0.5);
    const held = allocateSegment(input({ def, guardrailOk: false }));
    expect(held.ramp?.step).toBe(0);
    expect(held.coverage).toBe(0.1);
  });
});

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
