/**
 * The experiment's configured policy as the allocation domain's policy for one segment. (The
 * per-segment precedence — override, stopped and closed arms, concluded segment, policy, weight
 * steps — is still in activities/reallocate.ts; see the issue 13 note.)
 */
import type { AllocationPolicy, RampState } from '../allocation/index.js';
import { assertNever } from '../assert-never.js';
import type { MetricSpec, Weights } from '../types.js';
import type { ExperimentConfig } from './config.js';

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
