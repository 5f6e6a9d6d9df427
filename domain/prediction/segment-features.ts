/** The features a time-to-significance prediction reads from one segment's pooled arm moments. */
import type { SegmentPredictionFeatures } from './power-baseline.js';

/** Plug-in features: control mean, the largest |treatment − control| difference, pooled variance. */
export function predictionFeatures(
  arms: Record<string, { n: number; sum: number; sumSquares: number }>,
  control: string,
  base: { size: number; accrualPerCycle: number; cyclesElapsed: number },
): SegmentPredictionFeatures {
  const mean = (m: { n: number; sum: number }) => (m.n > 0 ? m.sum / m.n : 0);
  // A segment whose control arm has no units yet has no control cell: its mean counts as 0.
  const c = arms[control] ?? { n: 0, sum: 0, sumSquares: 0 };
  let effect = 0;
  let totalN = 0;
  let ss = 0;
  let minN = Infinity;
  for (const [k, m] of Object.entries(arms)) {
    minN = Math.min(minN, m.n);
    if (m.n > 1) {
      ss += m.sumSquares - (m.sum * m.sum) / m.n;
      totalN += m.n - 1;
    }
    if (k !== control && Math.abs(mean(m) - mean(c)) > Math.abs(effect)) effect = mean(m) - mean(c);
  }
  return {
    ...base,
    baselineRate: mean(c),
    observedEffect: effect,
    variance: totalN > 0 ? Math.max(0, ss / totalN) : 0,
    samplesPerArm: Number.isFinite(minN) ? minN : 0,
    arms: Object.keys(arms).length,
  };
}

