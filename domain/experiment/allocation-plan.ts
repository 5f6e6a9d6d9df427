/**
 * Which weights serve one segment this cycle. Precedence: a manual override wins; then a segment
 * that has concluded on its own serves its answer to everyone in it; otherwise the experiment's
 * configured policy computes the weights (within the bounds, dampened by external events).
 */
import { computeAllocation, type AllocationPolicy, type RampState } from '../allocation/index.js';
import { assertNever } from '../assert-never.js';
import type { Rng } from '../rng.js';
import type { MetricSpec, Moments, Weights } from '../types.js';
import type { ExperimentConfig } from './config.js';
import { servingWeights, type SegmentServing } from './segment-conclusions.js';
import { controlVariant, initialWeights, type ExperimentDefinition } from './snapshot.js';

/** Maps the experiment's configured policy to the allocation domain's policy for one segment. */
export function policyFor(
  config: ExperimentConfig,
  metricType: MetricSpec['type'],
  ramp: RampState,
  guardrailOk: boolean,
  initial: Weights,
  treatment: string,
): AllocationPolicy {
  const p = config.policy;
  switch (p.kind) {
    case 'fixed':
      return { kind: 'fixed', weights: initial };
    case 'thompson':
      return { kind: 'thompson', model: metricType === 'binary' ? 'bernoulli' : 'gaussian', topTwo: p.topTwo ? 0.5 : undefined };
    case 'ucb1':
      return { kind: 'ucb1' };
    case 'epsilon_greedy':
      return { kind: 'epsilon_greedy', epsilon: p.epsilon };
    case 'ramp':
      return { kind: 'ramp', schedule: p.steps.map((s) => ({ coverage: s.coverage, minHoldMs: s.minHoldSeconds * 1000 })), state: ramp, guardrailOk, weights: initial };
    case 'contextual':
      return { kind: 'contextual', baseline: p.baseline, treatment };
    default:
      return assertNever(p, 'policy');
  }
}

export interface SegmentAllocationInput {
  segmentId: number;
  def: ExperimentDefinition;
  /** The manual override in force, if any. */
  override: Weights | null;
  /** The segment's own conclusion, once it has one. */
  conclusion: SegmentServing | undefined;
  /** Per-variant moments of the primary metric in this segment. */
  stats: Readonly<Record<string, Moments>>;
  /** The weights served so far (the previous snapshot's, or the initial ones). */
  previous: Weights;
  /** Ramp state carried from the previous cycle. */
  ramp: RampState;
  /** False when the last decision saw harm: a ramp then holds its step. */
  guardrailOk: boolean;
  /** Dampening toward control from external events, 0..1 (for the reason only; the policy applies it). */
  dampening: number;
  externalContext?: { events: ReadonlyArray<{ at: number; severity: number; kind: string }>; halfLifeMs: number };
  rng: Rng;
  /** Epoch ms. */
  now: number;
}

export interface SegmentAllocation {
  source: 'override' | 'concluded' | 'policy';
  weights: Weights;
  reasons: string[];
  /** Ramp only: the state to carry and the coverage to serve. */
  ramp?: RampState;
  coverage?: number;
}

/** One segment's weights this cycle, by the precedence above, with the reasons to record. */
export function allocateSegment(input: SegmentAllocationInput): SegmentAllocation {
  const { segmentId: id, def } = input;
  if (input.override) return { source: 'override', weights: input.override, reasons: [`segment ${id}: manual override`] };
  const variants = def.variants.map((v) => v.key);
  if (input.conclusion) return { source: 'concluded', weights: servingWeights(variants, input.conclusion.serve), reasons: [input.conclusion.reason] };

  const { config } = def;
  const primary = config.metrics.find((m) => m.role === 'primary');
  if (!primary) throw new Error(`experiment '${def.key}' has no primary metric`);
  const control = controlVariant(def);
  const treatment = variants.find((v) => v !== control) ?? control;
  const result = computeAllocation({
    policy: policyFor(config, primary.type, input.ramp, input.guardrailOk, initialWeights(def), treatment),
    variants: def.variants.map((v) => ({ key: v.key, isControl: v.isControl })),
    stats: input.stats,
    previous: input.previous,
    bounds: { ...config.bounds, minUnitsPerArm: config.minSamplePerArm },
    direction: primary.direction,
    rng: input.rng,
    now: input.now,
    // Dampening goes through the policy so the bounds (floor, max change) still hold after it.
    externalContext: input.externalContext,
  });
  const reasons = [`segment ${id}: ${result.reason}`];
  if (input.dampening > 0.001) reasons.push(`segment ${id}: external-event dampening ${(100 * input.dampening).toFixed(1)}% toward control`);
  return { source: 'policy', weights: result.weights, reasons, ramp: result.ramp, coverage: result.coverage };
}
