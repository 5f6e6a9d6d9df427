/**
 * The sample-ratio check as the report shows it: the decision's own check (domain/stats/srm.ts) on
 * the current counts, plus each randomisation cell's expected counts under the weights its units
 * were randomised with.
 */
import { weightedRandomisationCells } from '../experiment/cells.js';
import { checkSampleRatio, expectedCountsFromPeriods, type SampleRatioCheck } from '../stats/srm.js';
import type { CellStats, Weights } from '../types.js';

export interface SampleRatioPeriod {
  /** Snapshot version the units were randomised under. */
  period: number;
  segment: number;
  propensityStratum?: number;
  /** Aligned with the report's arms; null when the snapshot is unknown. */
  weights: number[] | null;
  n: number;
  expected: number[] | null;
  observed: number[];
}

export interface SampleRatioReport extends SampleRatioCheck {
  arms: string[];
  periods: SampleRatioPeriod[];
}

export function sampleRatioReport(
  cells: readonly CellStats[],
  metric: string,
  variants: readonly string[],
  control: string,
  segmentWeights: (period: number, segment: number) => Weights | undefined,
  threshold?: number,
): SampleRatioReport {
  const weighted = weightedRandomisationCells(cells, metric, variants, control, segmentWeights);
  const observed = variants.map((v) => weighted.reduce((a, w) => a + (w.cell.counts[v] ?? 0), 0));
  const known = weighted.filter((w): w is typeof w & { weights: number[] } => w.weights !== null);
  const check = checkSampleRatio({ periods: known.map((w) => ({ weights: w.weights, n: w.n })), observed, threshold });
  const periods = weighted
    .map((w) => ({
      period: w.cell.period,
      segment: w.cell.segment,
      ...(w.cell.propensityStratum === undefined ? {} : { propensityStratum: w.cell.propensityStratum }),
      weights: w.weights,
      n: w.n,
      expected: w.weights ? expectedCountsFromPeriods([{ weights: w.weights, n: w.n }], variants.length) : null,
      observed: variants.map((v) => w.cell.counts[v] ?? 0),
    }))
    .sort((a, b) => a.period - b.period || a.segment - b.segment || (a.propensityStratum ?? 0) - (b.propensityStratum ?? 0));
  return { ...check, arms: [...variants], periods };
}
