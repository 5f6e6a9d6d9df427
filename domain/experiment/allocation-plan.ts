/**
 * The allocation plan: each segment's arm weights for the next cycle, and the policy that computes them.
 *
 * Precedence per segment, first match wins:
 * 1. a manual override (arms stopped by the breaker still routed to control: only an operator
 *    re-enables a stopped arm);
 * 2. a concluded segment: everyone in it gets the concluded variant;
 * 3. the configured policy over the arms still open there (not stopped by the breaker, not
 *    harmful/ended in the segment), within the bounds; a fixed policy then moves only by the
 *    decision policy's per-arm raise/lower steps, carried from cycle to cycle.
 * External-event dampening goes through the policy, so the bounds still hold after it.
 */
import { computeAllocation, dampeningFactor, type AllocationPolicy, type AllocationResult, type RampState } from '../allocation/index.js';
import type { ContextualConfig } from '../allocation/contextual.js';
import type { ExternalContextEvent } from '../allocation/dampening.js';
import { assertNever } from '../assert-never.js';
import { applyWeightActions, normaliseWeights, routeStoppedArms, type WeightAction } from '../decision/arm-weights.js';
import { resolvePolicy } from '../decision/policy.js';
import { closedArmsBySegment, servingForConcludedSegments, servingWeights, type SegmentArmConclusion } from '../decision/segment-conclusions.js';
import type { Rng } from '../rng.js';
import type { CellStats, MetricSpec, SegmentStatus, SnapshotSegment, Weights } from '../types.js';
import { poolByVariant } from './cells.js';
import type { ExperimentConfig } from './config.js';
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

/** What the previous cycle's decision said that the allocation must follow. */
export interface PriorDecision {
  outcome: string;
  segmentDecisions: readonly SegmentArmConclusion[];
  stoppedArms?: Record<string, unknown>;
  weightActions?: ReadonlyArray<Pick<WeightAction, 'arm' | 'action'>>;
}

export interface AllocationPlanInput {
  def: ExperimentDefinition;
  /** This cycle's segments (from segmentation) with their assignment-context centroids. */
  segments: ReadonlyArray<{ id: number; contextCentroid: number[] | null }>;
  /** Stored status and relative coverage per segment id; absent = active at full coverage. */
  segmentStatus: ReadonlyMap<number, { status: SegmentStatus; coverage: number }>;
  /** The last published snapshot's segments (segment 0 stands in for a new segment). */
  previousSegments: readonly SnapshotSegment[];
  cells: readonly CellStats[];
  override: Weights | null;
  decision: PriorDecision | undefined;
  /** The previous cycle's plan: ramp state and fixed-policy stepped weights per segment. */
  previousPlan: { ramp: Record<number, RampState>; stepped?: Record<number, Weights> } | undefined;
  externalEvents: readonly ExternalContextEvent[];
  rng: Rng;
  now: number;
}

export interface AllocationPlan {
  segments: SnapshotSegment[];
  reasons: string[];
  ramp: Record<number, RampState>;
  /** Fixed policy: weights as moved by the decision's steps, the base of the next step. */
  stepped: Record<number, Weights>;
  /** Share of traffic moved toward control by external events (0 = none). */
  dampening: number;
}

/** Dampening half-life: the contextual policy's, otherwise one hour. */
function dampeningHalfLifeMs(config: ExperimentConfig): number {
  return config.policy.kind === 'contextual' ? config.policy.dampeningHalfLifeSeconds * 1000 : 3_600_000;
}

/** The primary metric (the config schema requires exactly one). */
export function primaryMetric(config: ExperimentConfig): MetricSpec {
  const primary = config.metrics.find((m) => m.role === 'primary');
  if (!primary) throw new RangeError('experiment config has no primary metric');
  return primary;
}

/** Each segment's weights, coverage and the reasons, by the precedence above. Segments are visited in order (one rng stream). */
export function planAllocation(input: AllocationPlanInput): AllocationPlan {
  const { def, rng, now } = input;
  const { config } = def;
  const primary = primaryMetric(config);
  const variants = def.variants.map((v) => v.key);
  const control = controlVariant(def);
  const initial = initialWeights(def);
  const prevSegments = new Map(input.previousSegments.map((s) => [s.id, s]));
  const halfLifeMs = dampeningHalfLifeMs(config);
  const events = input.externalEvents;
  const dampening = events.length ? dampeningFactor(events, now, halfLifeMs) : 0;
  const decision = input.decision;
  // A ramp step advances only while the last decision saw no harm.
  const guardrailOk = decision?.outcome !== 'stop_harm';
  const concluded = servingForConcludedSegments(decision?.segmentDecisions ?? [], control);
  const stoppedArms = Object.keys(decision?.stoppedArms ?? {});
  const closedInSegment = closedArmsBySegment(decision?.segmentDecisions ?? []);
  const actions = decision?.weightActions ?? [];
  const weightStep = resolvePolicy(config.decision).arms.weightStep;
  const rampFor = (id: number): RampState => input.previousPlan?.ramp[id] ?? { step: 0, enteredAt: now };

  const reasons: string[] = [];
  const ramp: Record<number, RampState> = {};
  const stepped: Record<number, Weights> = {};
  const segments = input.segments.map((s): SnapshotSegment => {
    const prev = prevSegments.get(s.id) ?? prevSegments.get(0);
    const row = input.segmentStatus.get(s.id);
    const status = row?.status ?? 'active';
    const coverage = row ? row.coverage * config.coverage : config.coverage;
    let weights: Weights;
    let rampCoverage = 1;
    const conclusion = concluded.get(s.id);
    if (input.override) {
      weights = stoppedArms.length ? routeStoppedArms(input.override, stoppedArms, control) : input.override;
      reasons.push(`segment ${s.id}: manual override`);
    } else if (conclusion) {
      weights = servingWeights(variants, conclusion.serve);
      reasons.push(conclusion.reason);
    } else {
      const closed = new Set([...stoppedArms, ...(closedInSegment.get(s.id) ?? [])].filter((v) => v !== control));
      const open = variants.filter((v) => !closed.has(v));
      const restrict = (w: Weights) => (closed.size === 0 ? w : normaliseWeights(Object.fromEntries(open.map((v) => [v, w[v] ?? 0])), control));
      const result: AllocationResult =
        open.length < 2
          ? { weights: servingWeights(open, control), reason: `every arm closed, serve ${control}` }
          : computeAllocation({
              policy: policyFor(config, primary.type, rampFor(s.id), guardrailOk, restrict(initial), open.find((v) => v !== control) ?? control),
              variants: def.variants.filter((v) => open.includes(v.key)).map((v) => ({ key: v.key, isControl: v.isControl })),
              stats: poolByVariant(input.cells, primary.key, open, s.id),
              previous: restrict(prev?.weights ?? initial),
              bounds: { ...config.bounds, minUnitsPerArm: config.minSamplePerArm },
              direction: primary.direction,
              rng,
              now,
              externalContext: events.length ? { events: [...events], halfLifeMs } : undefined,
            });
      weights = { ...Object.fromEntries(variants.map((v) => [v, 0])), ...result.weights };
      if (closed.size) reasons.push(`segment ${s.id}: ${[...closed].join(', ')} closed, routed to ${control}`);
      const base = input.previousPlan?.stepped?.[s.id];
      if (config.policy.kind === 'fixed' && (actions.length || base)) {
        weights = applyWeightActions(base ?? weights, actions, weightStep, [...closed], control);
        stepped[s.id] = weights;
        if (actions.length) reasons.push(`segment ${s.id}: ${actions.map((a) => `${a.action} ${a.arm}`).join(', ')} (decision policy)`);
      }
      if (result.ramp) ramp[s.id] = result.ramp;
      if (result.coverage !== undefined) rampCoverage = result.coverage;
      reasons.push(`segment ${s.id}: ${result.reason}`);
    }
    if (dampening > 0.001 && !input.override && !conclusion) reasons.push(`segment ${s.id}: external-event dampening ${(100 * dampening).toFixed(1)}% toward control`);
    const served = status === 'terminated' ? 0 : rampCoverage * coverage;
    return { id: s.id, status, coverage: served, weights, centroid: s.contextCentroid };
  });
  return { segments, reasons, ramp, stepped, dampening };
}

/**
 * The contextual risk model's options, or null when the policy is not contextual or an override
 * holds (the override's weights are served as given). The tree shifts the first treatment arm.
 */
export function contextualFitOptions(def: ExperimentDefinition, override: Weights | null): (ContextualConfig & { maxRows: number }) | null {
  const { config } = def;
  const p = config.policy;
  if (p.kind !== 'contextual' || override) return null;
  const control = controlVariant(def);
  const treatment = def.variants.find((v) => v.key !== control)?.key;
  if (treatment === undefined) throw new RangeError('contextual policy needs a treatment arm besides control');
  return {
    control,
    treatment,
    features: p.features,
    baseline: p.baseline,
    adjustment: { down: p.adjustmentRange, up: p.adjustmentRange },
    riskTolerance: p.riskTolerance,
    floor: config.bounds.floor,
    direction: primaryMetric(config).direction,
    maxRows: p.maxRows,
  };
}
