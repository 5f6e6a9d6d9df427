/** The allocation plan's precedence per segment, and the configured policy mapped to the allocation domain's policy. */
import { describe, expect, it } from 'vitest';
import { contextualFitOptions, planAllocation, policyFor, type AllocationPlanInput } from '../../../domain/experiment/allocation-plan.js';
import type { SegmentArmConclusion } from '../../../domain/decision/segment-conclusions.js';
import { createRng } from '../../../domain/rng.js';
import { experimentConfigSchema } from '../../../domain/experiment/config.js';
import type { ExperimentDefinition } from '../../../domain/experiment/snapshot.js';

function definition(policy: Record<string, unknown> = {}, arms = ['b']): ExperimentDefinition {
  const share = 1 / (arms.length + 1);
  return {
    key: 'plan',
    seed: 'seed',
    hashVersion: 1,
    variants: [{ key: 'control', isControl: true, weight: share }, ...arms.map((key) => ({ key, isControl: false, weight: share }))],
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

describe('planAllocation: override, then concluded segment, then policy', () => {
  const NOW = 1_700_000_000_000;
  const fixed = definition({ kind: 'fixed' }, ['b', 'c']);
  const third = 1 / 3;
  function plan(over: Partial<AllocationPlanInput> = {}) {
    return planAllocation({
      def: fixed,
      segments: [
        { id: 0, contextCentroid: null },
        { id: 1, contextCentroid: [0.5] },
      ],
      segmentStatus: new Map(),
      previousSegments: [],
      cells: [],
      override: null,
      decision: undefined,
      previousPlan: undefined,
      externalEvents: [],
      rng: createRng('plan'),
      now: NOW,
      ...over,
    });
  }
  const conclusion = (segmentId: number, arm: string, outcome: SegmentArmConclusion['outcome']): SegmentArmConclusion => ({ segmentId, arm, estimate: 0.1, adjustedPValue: 0.001, outcome });

  it('with nothing decided, every segment gets the fixed policy\'s configured weights', () => {
    const p = plan();
    for (const s of p.segments) {
      expect(s.weights.control).toBeCloseTo(third, 12);
      expect(s.weights.b).toBeCloseTo(third, 12);
      expect(s.weights.c).toBeCloseTo(third, 12);
    }
    expect(p.segments.map((s) => s.centroid)).toEqual([null, [0.5]]);
    expect(p.stepped).toEqual({});
  });

  it('an override wins over a concluded segment, but not over the breaker', () => {
    const override = { control: 0.2, b: 0.4, c: 0.4 };
    const decision = { outcome: 'continue', segmentDecisions: [conclusion(1, 'b', 'ship')], stoppedArms: { c: {} } };
    const p = plan({ override, decision });
    expect(p.segments.map((s) => s.weights)).toEqual([
      { control: 0.6000000000000001, b: 0.4, c: 0 },
      { control: 0.6000000000000001, b: 0.4, c: 0 },
    ]);
    expect(p.reasons).toEqual(['segment 0: manual override', 'segment 1: manual override']);
    expect(plan({ override }).segments[0]?.weights).toEqual(override);
  });

  it('a concluded segment serves its shipped arm; the others keep the policy', () => {
    const p = plan({ decision: { outcome: 'continue', segmentDecisions: [conclusion(1, 'c', 'ship')] } });
    expect(p.segments[1]?.weights).toEqual({ control: 0, b: 0, c: 1 });
    expect(p.segments[0]?.weights.b).toBeCloseTo(third, 12);
    expect(p.reasons).toContain('segment 1 concluded: ship c (adjusted always-valid p=0.00100)');
  });

  it('an arm harmful in one segment is routed to control there only', () => {
    const p = plan({ decision: { outcome: 'continue', segmentDecisions: [conclusion(1, 'b', 'harm'), conclusion(1, 'c', 'none')] } });
    expect(p.segments[1]?.weights.b).toBe(0);
    expect(p.segments[1]?.weights.control).toBeCloseTo(0.5, 12);
    expect(p.segments[1]?.weights.c).toBeCloseTo(0.5, 12);
    expect(p.segments[0]?.weights.b).toBeCloseTo(third, 12);
    expect(p.reasons).toContain('segment 1: b closed, routed to control');
  });

  it('every arm closed serves control', () => {
    const p = plan({ decision: { outcome: 'continue', segmentDecisions: [], stoppedArms: { b: {}, c: {} } } });
    expect(p.segments[0]?.weights).toEqual({ control: 1, b: 0, c: 0 });
    expect(p.reasons).toContain('segment 0: every arm closed, serve control');
  });

  it('a fixed policy moves by the decision\'s steps, and the stepped weights carry to the next cycle', () => {
    const first = plan({ decision: { outcome: 'continue', segmentDecisions: [], weightActions: [{ arm: 'b', action: 'raise' }] } });
    const raised = first.segments[0]?.weights;
    // ×1.2 on b (the default step), renormalised: 0.4 / 1.0667.
    expect(raised?.b).toBeCloseTo(0.4 / (1 + 0.2 / 3), 12);
    expect(first.stepped[0]).toEqual(raised);
    expect(first.reasons).toContain('segment 0: raise b (decision policy)');
    // Next cycle, no new action: the stepped weights are kept, not reset to the configured ones.
    const next = plan({ decision: { outcome: 'continue', segmentDecisions: [] }, previousPlan: { ramp: {}, stepped: first.stepped } });
    expect(next.segments[0]?.weights).toEqual(raised);
    expect(next.segments[1]?.weights).toEqual(first.stepped[1]);
    // Without a stepped base and without actions, the configured weights.
    expect(plan({ previousPlan: { ramp: {} } }).segments[0]?.weights.b).toBeCloseTo(third, 12);
  });

  it('coverage is the stored relative coverage × the configured one; a terminated segment serves nobody', () => {
    const def = definition({ kind: 'fixed' });
    const p = plan({
      def: { ...def, config: { ...def.config, coverage: 0.5 } },
      segmentStatus: new Map([
        [0, { status: 'active', coverage: 0.5 }],
        [1, { status: 'terminated', coverage: 1 }],
      ]),
    });
    expect(p.segments.map((s) => [s.status, s.coverage])).toEqual([
      ['active', 0.25],
      ['terminated', 0],
    ]);
  });

  it('external events dampen toward control and say so, except under an override', () => {
    const events = [{ at: NOW - 1000, severity: 0.8 }];
    const p = plan({ def: definition(), externalEvents: events });
    expect(p.dampening).toBeGreaterThan(0.7);
    expect(p.reasons.some((r) => r.startsWith('segment 0: external-event dampening'))).toBe(true);
    const o = plan({ def: definition(), externalEvents: events, override: { control: 0.5, b: 0.5 } });
    expect(o.reasons.some((r) => r.includes('dampening'))).toBe(false);
  });

  it('a ramp advances only while the last decision saw no harm', () => {
    const ramp = definition({ kind: 'ramp', steps: [{ coverage: 0.1, minHoldSeconds: 0 }, { coverage: 0.5, minHoldSeconds: 0 }] });
    const previousPlan = { ramp: { 0: { step: 0, enteredAt: NOW - 60_000 }, 1: { step: 0, enteredAt: NOW - 60_000 } } };
    const ok = plan({ def: ramp, previousPlan, decision: { outcome: 'continue', segmentDecisions: [] } });
    const harmed = plan({ def: ramp, previousPlan, decision: { outcome: 'stop_harm', segmentDecisions: [] } });
    expect(ok.ramp[0]?.step).toBe(1);
    expect(ok.segments[0]?.coverage).toBe(0.5);
    expect(harmed.ramp[0]?.step).toBe(0);
    expect(harmed.segments[0]?.coverage).toBe(0.1);
  });
});

describe('contextualFitOptions', () => {
  it('is null unless the policy is contextual and no override holds', () => {
    expect(contextualFitOptions(definition(), null)).toBeNull();
    const def = definition({ kind: 'contextual', features: ['age'] });
    expect(contextualFitOptions(def, { control: 1, b: 0 })).toBeNull();
    expect(contextualFitOptions(def, null)).toMatchObject({ control: 'control', treatment: 'b', features: ['age'], floor: 0.05, direction: 'increase' });
  });
});
