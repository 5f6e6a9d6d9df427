/**
 * Segment-level conclusions ("ship B to segment 2") from always-valid p-values with multiplicity
 * correction across segments × arms. Looks need no correction: each p-value is the running minimum
 * of an always-valid p-value process, so P(ever ≤ x) ≤ x under the null. Holm/BH applied at every
 * look to those running minima is valid across looks too, because both procedures are monotone in
 * the p-values and the running minima only decrease: whatever is rejected at some look is rejected
 * by the same procedure applied to the final minima, whose error rate is controlled.
 * The decision engine (domain/decision, stats side) consumes these; this module owns the segment side.
 */
import { adjustPValues, type AdjustmentMethod } from '../stats/index.js';

/** One hypothesis: arm vs control in one segment, at the current look. */
export interface SegmentArmEvidence {
  segmentId: number;
  arm: string;
  /** Treatment − control estimate (sign gives the direction of a rejection). */
  estimate: number;
  /** Running minimum of the always-valid p-value up to this look. */
  pValue: number;
}

export type SegmentOutcome = 'ship' | 'harm' | 'none';

/** Decision for one segment × arm. */
export interface SegmentArmDecision extends SegmentArmEvidence {
  adjustedPValue: number;
  outcome: SegmentOutcome;
  reason: string;
}

/** Holm (FWER) or BH (FDR) across all segment × arm hypotheses; significant ones ship or are flagged harmful by sign. */
export function decideSegmentArms(
  evidence: SegmentArmEvidence[],
  options: { alpha: number; method: AdjustmentMethod; direction: 'increase' | 'decrease' },
): SegmentArmDecision[] {
  const adjusted = adjustPValues(evidence.map((e) => e.pValue), options.method);
  const good = options.direction === 'increase' ? 1 : -1;
  return evidence.map((e, i) => {
    const adj = adjusted[i]!;
    const significant = adj <= options.alpha;
    const outcome: SegmentOutcome = !significant ? 'none' : Math.sign(e.estimate) === good ? 'ship' : 'harm';
    const label = options.method === 'holm' ? 'Holm' : 'BH';
    const reason =
      outcome === 'none'
        ? `segment ${e.segmentId} ${e.arm}: not significant (${label}-adjusted always-valid p=${adj.toPrecision(3)} > ${options.alpha})`
        : `segment ${e.segmentId} ${e.arm}: ${outcome === 'ship' ? 'better, ship' : 'worse, serve control'} (${label}-adjusted always-valid p=${adj.toPrecision(3)} ≤ ${options.alpha})`;
    return { ...e, adjustedPValue: adj, outcome, reason };
  });
}
