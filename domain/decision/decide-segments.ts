/**
 * Segment-level decisions ("ship B to segment 2"): the experiment rule applied within each segment,
 * with the multiplicity family widened to segments × arms × (primary + guardrail) metrics, since
 * looking for the best segment is itself a multiple comparison.
 */
import { adjustPValues } from '../stats/multiple-testing.js';
import { analyzeArms, classify } from './analyze-arms.js';
import { applyRules } from './decide-experiment.js';
import { toJsonSafe } from '../json-safe.js';
import type { ArmMetricResult, DecideSegmentsInput, SegmentsDecision } from './types.js';

/** Decides each segment separately with Holm or BH across segments × arms × metrics. */
export function decideSegments(input: DecideSegmentsInput): SegmentsDecision {
  const adjustment = input.adjustment ?? 'holm';
  const segmentIds = [...new Set(input.cells.map((c) => c.segment))].sort((a, b) => a - b);
  const perSegment = segmentIds.map((segment) => ({
    segment,
    arms: analyzeArms({ ...input, cells: input.cells.filter((c) => c.segment === segment) }),
  }));
  const family: ArmMetricResult[] = perSegment.flatMap((s) => s.arms.filter((r) => r.role !== 'secondary'));
  const adjusted = adjustPValues(family.map((r) => r.pValue), adjustment);
  family.forEach((r, i) => (r.adjustedP = adjusted[i]));
  const segments = perSegment.map(({ segment, arms }) => {
    classify(arms, input.metrics, input.alpha);
    const verdict = applyRules(arms, input);
    const rationale = verdict.outcome === 'ship' ? `segment ${segment}: ship ${verdict.winner} — ${verdict.rationale}` : `segment ${segment}: ${verdict.rationale}`;
    return { segment, ...verdict, rationale, arms };
  });
  return toJsonSafe({ look: input.look, adjustment, segments });
}
