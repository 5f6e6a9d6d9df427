/**
 * One entry point for per-segment reallocation. The reallocate activity calls it once per
 * segment with that segment's per-variant moments of the primary metric; the result becomes the
 * segment's weights (and, for a ramp, its coverage) in the next snapshot.
 */
import { at } from '../at.js';
import type { Rng } from '../rng.js';
import type { Moments, VariantRef, Weights } from '../types.js';
import { type AllocationBounds, applyBounds, resolveBounds } from './bounds.js';
import { type ExternalContextEvent, applyDampening, dampeningFactor } from './dampening.js';
import { epsilonGreedyWeights } from './epsilon-greedy.js';
import type { OutcomeModel } from './posterior.js';
import { type RampState, type RampStep, advanceRamp } from './ramp.js';
import { probabilityBest, topTwoWeights } from './thompson.js';
import { ucb1Weights } from './ucb.js';
import { assertNever } from '../assert-never.js';

/** Allocation policy of an experiment (or of one segment). */
export type AllocationPolicy =
  | { kind: 'fixed'; weights?: Weights }
  | {
      kind: 'thompson';
      model: OutcomeModel;
      /** Top-two Thompson: probability β of playing the leader (e.g. 0.5). */
      topTwo?: number;
    }
  | { kind: 'ucb1'; c?: number; scale?: number }
  | { kind: 'epsilon_greedy'; epsilon: number }
  | { kind: 'ramp'; schedule: RampStep[]; state: RampState; guardrailOk: boolean; weights?: Weights }
  | {
      kind: 'contextual';
      /** Segment-level treatment share; per-context shares come from `fitContextualPolicy`. */
      baseline: number;
      treatment: string;
    };

export type AllocationPolicyKind = AllocationPolicy['kind'];

/** Inputs of one reallocation for one segment. */
export interface AllocationInput {
  policy: AllocationPolicy;
  variants: readonly VariantRef[];
  /** Per-variant moments of the primary metric in this segment (missing = no data). */
  stats: Readonly<Record<string, Moments>>;
  previous?: Weights | null;
  bounds?: Partial<AllocationBounds>;
  rng: Rng;
  /** Epoch ms. */
  now: number;
  /** Whether a larger primary metric is better (default). */
  direction?: 'increase' | 'decrease';
  /** External-context events that dampen test allocation. */
  externalContext?: { events: readonly ExternalContextEvent[]; halfLifeMs: number };
}

/** New weights with the reason to record in the snapshot and the audit log. */
export interface AllocationResult {
  weights: Weights;
  reason: string;
  /** Ramp only: coverage to serve and the ramp state to carry to the next cycle. */
  coverage?: number;
  ramp?: RampState;
  /** Thompson only: the exact P(best) per variant behind the weights. */
  pBest?: Weights;
}

/** Compute one segment's next weights under its policy, then dampening, then bounds. */
export function computeAllocation(input: AllocationInput): AllocationResult {
  const keys = input.variants.map((v) => v.key);
  if (keys.length === 0) throw new RangeError('computeAllocation: no variants');
  const bounds = resolveBounds(input.bounds);
  const equal = toWeights(keys, keys.map(() => 1 / keys.length));
  const hold = input.previous && keys.every((k) => Number.isFinite(input.previous![k])) ? pick(keys, input.previous) : equal;
  const stats = keys.map((k) => input.stats[k] ?? { n: 0, sum: 0, sumSquares: 0 });

  let raw: Weights;
  let reason: string;
  let extra: Partial<AllocationResult> = {};
  const policy = input.policy;
  const short = keys.filter((_, i) => at(stats, i, 'arm stats').n < bounds.minUnitsPerArm);
  const adaptive = policy.kind === 'thompson' || policy.kind === 'ucb1' || policy.kind === 'epsilon_greedy';
  if (adaptive && short.length > 0) {
    raw = hold;
    reason = `min_data: ${short.join(', ')} below ${bounds.minUnitsPerArm} units; weights held`;
  } else {
    switch (policy.kind) {
      case 'fixed':
        raw = policy.weights ? pick(keys, policy.weights) : equal;
        reason = 'fixed';
        break;
      case 'thompson': {
        const oriented = orient(stats, input.direction, policy.model);
        const pBest = probabilityBest(oriented, policy.model);
        const w = policy.topTwo !== undefined ? topTwoWeights(pBest, policy.topTwo) : pBest;
        raw = toWeights(keys, w);
        extra = { pBest: toWeights(keys, pBest) };
        reason = policy.topTwo !== undefined ? `thompson top-two (β=${policy.topTwo})` : 'thompson P(best)';
        break;
      }
      case 'ucb1':
        raw = toWeights(keys, ucb1Weights(orient(stats, input.direction, 'gaussian'), policy.c ?? 1, policy.scale ?? 1));
        reason = 'ucb1';
        break;
      case 'epsilon_greedy':
        raw = toWeights(keys, epsilonGreedyWeights(orient(stats, input.direction, 'gaussian'), policy.epsilon));
        reason = `epsilon_greedy (ε=${policy.epsilon})`;
        break;
      case 'ramp': {
        const r = advanceRamp(policy.schedule, policy.state, policy.guardrailOk, input.now);
        raw = policy.weights ? pick(keys, policy.weights) : equal;
        extra = { coverage: r.coverage, ramp: r.state };
        reason = `ramp ${r.reason}: step ${r.state.step} at coverage ${r.coverage}`;
        break;
      }
      case 'contextual': {
        const control = input.variants.find((v) => v.isControl)?.key ?? at(keys, 0, 'variants');
        raw = toWeights(keys, keys.map((k) => (k === policy.treatment ? policy.baseline : k === control ? 1 - policy.baseline : 0)));
        reason = 'contextual: segment baseline; per-context weights are in the snapshot tree';
        break;
      }
      default:
        return assertNever(policy, 'allocation policy');
    }
  }

  const ext = input.externalContext;
  if (ext && ext.events.length > 0) {
    const d = dampeningFactor(ext.events, input.now, ext.halfLifeMs);
    const control = input.variants.find((v) => v.isControl)?.key;
    if (d > 0 && control) {
      raw = applyDampening(raw, control, d);
      reason += `; dampened ${(d * 100).toFixed(1)}% by external context`;
    }
  }
  return { weights: applyBounds(raw, input.previous, bounds), reason, ...extra };
}

/** For "decrease" metrics flip the moments so that larger is better for every policy. */
function orient(stats: Moments[], direction: AllocationInput['direction'], model: OutcomeModel): Moments[] {
  if (direction !== 'decrease') return stats;
  // Bernoulli: count failures as successes; otherwise negate (the ordering is what matters).
  return stats.map((m) => (model === 'bernoulli' ? { n: m.n, sum: m.n - m.sum, sumSquares: m.n - m.sum } : { n: m.n, sum: -m.sum, sumSquares: m.sumSquares }));
}

function toWeights(keys: readonly string[], w: readonly number[]): Weights {
  const out: Weights = {};
  keys.forEach((k, i) => (out[k] = at(w, i, 'weights')));
  return out;
}

function pick(keys: readonly string[], w: Weights): Weights {
  return toWeights(keys, keys.map((k) => w[k] ?? 0));
}
