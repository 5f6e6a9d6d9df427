/**
 * The per-cycle decision rule: always-valid (confidence-sequence) analysis of every variant vs control,
 * Holm across arms × (primary + guardrail) metrics, then
 *   ship        — the best variant whose primary metrics are all significantly better and whose
 *                 guardrails show no significant harm beyond their margin;
 *   stop_harm   — some variant shows significant harm on a primary or guardrail and none can ship;
 *   stop_futility / inconclusive — the horizon (maxSamplePerArm) is reached without a winner:
 *                 futility when no variant's primary estimate points the good way, else inconclusive;
 *   continue    — otherwise (including before minSamplePerArm).
 * Because the intervals are anytime-valid, applying this at every look keeps the error rates.
 */
import type { MetricSpec } from '../types.js';
import { adjustFamily, analyzeArms, classify, goodLift } from './analyze-arms.js';
import { toJsonSafe } from '../json-safe.js';
import type { ArmMetricResult, DecideExperimentInput, DecisionOutcome, ExperimentDecision } from './types.js';

/** Decides the whole experiment for this look. */
export function decideExperiment(input: DecideExperimentInput): ExperimentDecision {
  const arms = analyzeArms(input);
  adjustFamily(arms, 'holm');
  classify(arms, input.metrics, input.alpha);
  const verdict = applyRules(arms, input);
  return toJsonSafe({ ...verdict, look: input.look, arms });
}

/** Rule application shared with the per-segment decision (results already adjusted and classified). */
export function applyRules(
  arms: readonly ArmMetricResult[],
  input: Pick<DecideExperimentInput, 'metrics' | 'control' | 'variants' | 'alpha' | 'minSamplePerArm' | 'maxSamplePerArm'>,
): { outcome: DecisionOutcome; winner?: string; rationale: string } {
  const primaries = input.metrics.filter((m) => m.role === 'primary');
  const variants = input.variants.filter((v) => v !== input.control);
  if (variants.length === 0) return { outcome: 'inconclusive', rationale: 'no variant to compare with control' };
  if (primaries.length === 0) return { outcome: 'continue', rationale: 'no primary metric configured' };
  const primaryOf = (arm: string) => arms.filter((r) => r.arm === arm && r.role === 'primary');
  const minN = Math.min(...variants.flatMap((v) => primaryOf(v).flatMap((r) => [r.controlN, r.treatmentN])));
  if (input.minSamplePerArm !== undefined && minN < input.minSamplePerArm) {
    return { outcome: 'continue', rationale: `waiting for ${input.minSamplePerArm} units per arm (smallest arm has ${minN})` };
  }

  const shippable = variants.filter((v) => {
    const own = arms.filter((r) => r.arm === v);
    return primaryOf(v).length === primaries.length && primaryOf(v).every((r) => r.better) && !own.some((r) => r.harmful);
  });
  if (shippable.length > 0) {
    const lead = primaries[0].key;
    const lift = (v: string) => goodLift(arms.find((r) => r.arm === v && r.metric === lead)!);
    const winner = [...shippable].sort((a, b) => lift(b) - lift(a))[0];
    const r = arms.find((x) => x.arm === winner && x.metric === lead)!;
    return { outcome: 'ship', winner, rationale: `${winner} beats ${input.control} on ${lead} (${describe(r)}) with no guardrail harm` };
  }

  const harmful = arms.filter((r) => r.harmful);
  if (harmful.length > 0) {
    const list = harmful.map((r) => `${r.arm} harms ${r.metric} (${describe(r)})`).join('; ');
    return { outcome: 'stop_harm', rationale: `no variant can ship and ${list}` };
  }

  if (input.maxSamplePerArm !== undefined && minN >= input.maxSamplePerArm) {
    const promising = variants.filter((v) => primaryOf(v).some((r) => goodLift(r) > 0));
    if (promising.length === 0) {
      return { outcome: 'stop_futility', rationale: `horizon of ${input.maxSamplePerArm} units per arm reached and no variant's primary metric points the good way` };
    }
    return { outcome: 'inconclusive', rationale: `horizon of ${input.maxSamplePerArm} units per arm reached without significance (${promising.join(', ')} trending better)` };
  }
  return { outcome: 'continue', rationale: 'no significant difference yet; the confidence sequences allow another look' };
}

function describe(r: ArmMetricResult): string {
  const rel = r.relative ? `${(100 * r.relative.estimate).toFixed(2)}%` : r.estimate.toPrecision(3);
  return `lift ${rel}, adjusted p=${(r.adjustedP ?? r.pValue).toPrecision(3)}`;
}

