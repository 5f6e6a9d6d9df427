/** Reshaping collected cells: pooling periods and segments into per-variant sufficient statistics. */
import { at } from '../at.js';
import { addMoments } from '../stats/moments.js';
import type { CellStats, Moments, Weights } from '../types.js';

const zero = (): Moments => ({ n: 0, sum: 0, sumSquares: 0 });

/** Per-variant moments of one metric, pooled over periods (and over segments unless one is given). */
export function poolByVariant(cells: readonly CellStats[], metric: string, variants: readonly string[], segment?: number): Record<string, Moments> {
  const out: Record<string, Moments> = Object.fromEntries(variants.map((v) => [v, zero()]));
  for (const c of cells) {
    if (c.metric !== metric || (segment !== undefined && c.segment !== segment) || !(c.variant in out)) continue;
    out[c.variant] = addMoments(out[c.variant] ?? zero(), c.moments); // present: checked by `in` above
  }
  return out;
}

/** Units per segment (counted on one metric, since every unit appears once per metric). */
export function unitsBySegment(cells: readonly CellStats[], metric: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const c of cells) if (c.metric === metric) out.set(c.segment, (out.get(c.segment) ?? 0) + c.moments.n);
  return out;
}

/** Units per (period, segment, variant): the observed side of the sample-ratio check. */
export function unitsByPeriodSegment(cells: readonly CellStats[], metric: string): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const c of cells) {
    if (c.metric !== metric) continue;
    const k = `${c.period}:${c.segment}`;
    const row = out.get(k) ?? {};
    row[c.variant] = (row[c.variant] ?? 0) + c.moments.n;
    out.set(k, row);
  }
  return out;
}

/** Units per variant in one randomisation cell: (period, segment[, treatment share]). */
export interface RandomisationCell {
  period: number;
  segment: number;
  /** Treatment share the units were randomised with (contextual experiments only). */
  propensityStratum?: number;
  counts: Record<string, number>;
}

/** Units per variant in each (period, segment[, propensity stratum]), counted on one metric. */
export function unitsByRandomisationCell(cells: readonly CellStats[], metric: string): RandomisationCell[] {
  const out = new Map<string, RandomisationCell>();
  for (const c of cells) {
    if (c.metric !== metric) continue;
    const q = c.propensityStratum ?? undefined;
    const k = q === undefined ? `${c.period}:${c.segment}` : `${c.period}:${c.segment}:${q}`;
    const row = out.get(k) ?? { period: c.period, segment: c.segment, ...(q === undefined ? {} : { propensityStratum: q }), counts: {} };
    row.counts[c.variant] = (row.counts[c.variant] ?? 0) + c.moments.n;
    out.set(k, row);
  }
  return [...out.values()];
}

/** One randomisation cell with the weights its units were randomised with (see sampleRatioInputs). */
export interface WeightedCell {
  cell: RandomisationCell;
  /** Aligned with the variants; null when unknown (the cell counts as observed only). */
  weights: number[] | null;
  n: number;
}

/** Every randomisation cell of one metric with the weights in force for its units. */
export function weightedRandomisationCells(
  cells: readonly CellStats[],
  metric: string,
  variants: readonly string[],
  control: string,
  segmentWeights: (period: number, segment: number) => Weights | undefined,
): WeightedCell[] {
  return unitsByRandomisationCell(cells, metric).map((cell) => {
    const n = variants.reduce((a, v) => a + (cell.counts[v] ?? 0), 0);
    const q = cell.propensityStratum;
    if (q !== undefined && variants.length === 2) return { cell, weights: variants.map((v) => (v === control ? 1 - q : q)), n };
    const w = segmentWeights(cell.period, cell.segment);
    return { cell, weights: w ? variants.map((v) => w[v] ?? 0) : null, n };
  });
}

/**
 * The two sides of the sample-ratio check: per randomisation cell, the weights its units were
 * randomised with and how many there were, plus the observed totals per variant. The weights are
 * the segment's weights in the snapshot of that period (`segmentWeights`), except for cells with a
 * propensity stratum (two-arm contextual experiments), whose units had their context leaf's weights
 * [1 − share, share] for [control, treatment]. Cells whose weights are unknown count as observed only.
 */
export function sampleRatioInputs(
  cells: readonly CellStats[],
  metric: string,
  variants: readonly string[],
  control: string,
  segmentWeights: (period: number, segment: number) => Weights | undefined,
): { periods: Array<{ weights: number[]; n: number }>; observed: number[] } {
  const observed = variants.map(() => 0);
  const periods: Array<{ weights: number[]; n: number }> = [];
  for (const { cell, weights, n } of weightedRandomisationCells(cells, metric, variants, control, segmentWeights)) {
    variants.forEach((v, i) => (observed[i] = at(observed, i, 'observed') + (cell.counts[v] ?? 0)));
    if (weights) periods.push({ weights, n });
  }
  return { periods, observed };
}
