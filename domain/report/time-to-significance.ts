/**
 * Predicted against realised time to significance, per segment: every cycle's prediction of the
 * cycles still needed (the predict step's stored output) beside the first cycle at which the
 * segment's evidence actually crossed (a segment-level conclusion, or — for the whole experiment —
 * a primary metric significantly better or worse at the decision).
 */
import type { ArmMetricResult } from '../decision/types.js';

export interface StoredPrediction {
  cycle: number;
  segments: Array<{ id: number; prediction: { cycles: number; cyclesLower?: number; cyclesUpper?: number; capped: boolean; source: string } }>;
}

export interface StoredDecision {
  cycle: number;
  arms: Array<Pick<ArmMetricResult, 'role' | 'better' | 'harmful'>>;
  segments: Array<{ segmentId: number; outcome: string }>;
}

export interface SegmentTimeToSignificance {
  segment: number;
  predictions: Array<{ cycle: number; remainingCycles: number | null; lower: number | null; upper: number | null; capped: boolean; source: string; predictedCycle: number | null }>;
  /** First cycle with significance; null while none. */
  realisedCycle: number | null;
  /** Each prediction's error in cycles (predicted − realised), once realised. */
  errors: Array<{ cycle: number; error: number }>;
}

export function timeToSignificance(predictions: readonly StoredPrediction[], decisions: readonly StoredDecision[]): SegmentTimeToSignificance[] {
  const ordered = [...decisions].sort((a, b) => a.cycle - b.cycle);
  const experimentLevel = ordered.find((d) => d.arms.some((a) => a.role === 'primary' && (a.better || a.harmful)))?.cycle ?? null;
  const segmentLevel = new Map<number, number>();
  for (const d of ordered) for (const s of d.segments) if (s.outcome !== 'none' && !segmentLevel.has(s.segmentId)) segmentLevel.set(s.segmentId, d.cycle);
  const ids = new Set<number>();
  for (const p of predictions) for (const s of p.segments) ids.add(s.id);
  const anySegmentTested = ordered.some((d) => d.segments.length > 0);
  return [...ids].sort((a, b) => a - b).map((id) => {
    // Unsegmented experiments have one catch-all segment judged by the experiment-level rule.
    const realisedCycle = segmentLevel.get(id) ?? (anySegmentTested ? null : experimentLevel);
    const rows = [...predictions]
      .sort((a, b) => a.cycle - b.cycle)
      .flatMap((p) => {
        const s = p.segments.find((x) => x.id === id);
        if (!s) return [];
        const remaining = num(s.prediction.cycles);
        return [{
          cycle: p.cycle,
          remainingCycles: s.prediction.capped ? null : remaining,
          lower: num(s.prediction.cyclesLower),
          upper: num(s.prediction.cyclesUpper),
          capped: s.prediction.capped,
          source: s.prediction.source,
          predictedCycle: s.prediction.capped || remaining === null ? null : p.cycle + remaining,
        }];
      });
    const errors = realisedCycle === null ? [] : rows.flatMap((r) => (r.predictedCycle !== null && r.cycle <= realisedCycle ? [{ cycle: r.cycle, error: r.predictedCycle - realisedCycle }] : []));
    return { segment: id, predictions: rows, realisedCycle, errors };
  });
}

function num(x: number | undefined | null): number | null {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : null;
}
