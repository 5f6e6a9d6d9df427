/**
 * Scoring and calibration of time-to-significance predictions, all on the log scale because
 * errors in "how long" are multiplicative (2× too slow is as bad as 2× too fast).
 */

import { at } from '../at.js';

/** Linear-interpolated quantile of an ascending-sorted array (type 7, as R's default). */
export function quantileSorted(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const below = at(sorted, lo, 'sorted');
  return below + (at(sorted, hi, 'sorted') - below) * (pos - lo);
}

/** Quantiles of arbitrary values. */
export function quantiles(values: number[], qs: number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  return qs.map((q) => quantileSorted(sorted, q));
}

/** Ranks with ties averaged (1-based). */
export function averageRanks(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    const [value] = at(order, i, 'order');
    while (j + 1 < order.length && at(order, j + 1, 'order')[0] === value) j++;
    const r = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) ranks[at(order, t, 'order')[1]] = r;
    i = j + 1;
  }
  return ranks;
}

/** Spearman rank correlation (Pearson on average ranks). */
export function spearman(a: number[], b: number[]): number {
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const n = a.length;
  if (b.length !== n) throw new RangeError(`spearman: samples of ${n} and ${b.length} values`);
  if (n < 2) return NaN;
  const ma = ra.reduce((s, v) => s + v, 0) / n;
  const mb = rb.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = at(ra, i, 'ranks') - ma;
    const db = at(rb, i, 'ranks') - mb;
    sab += da * db;
    saa += da ** 2;
    sbb += db ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Median |log predicted − log realised| and Spearman correlation of predictions vs realised. */
export function scorePredictions(predicted: number[], realised: number[]): { medianAbsLogError: number; spearman: number; n: number } {
  if (realised.length !== predicted.length) throw new RangeError(`scorePredictions: ${realised.length} realised values for ${predicted.length} predictions`);
  const errors = predicted.map((p, i) => Math.abs(Math.log(Math.max(p, 1)) - Math.log(Math.max(at(realised, i, 'realised'), 1))));
  return { medianAbsLogError: quantileSorted([...errors].sort((a, b) => a - b), 0.5), spearman: spearman(predicted, realised), n: predicted.length };
}

/** One row of an empirical calibration table. */
export interface CalibrationRow {
  /** Nominal probability that the realised value falls at or below the predicted quantile. */
  nominal: number;
  /** Observed fraction. */
  empirical: number;
}

/**
 * Empirical calibration: for each nominal level q, the fraction of realised values at or below the
 * predicted q-quantile. A calibrated model has empirical ≈ nominal on every row.
 */
export function calibrationTable(predictedQuantiles: Array<Record<string, number>>, realised: number[], levels: number[]): CalibrationRow[] {
  return levels.map((q) => {
    const key = String(q);
    let hit = 0;
    for (const [i, y] of realised.entries()) {
      const predicted = at(predictedQuantiles, i, 'predictedQuantiles')[key];
      if (predicted === undefined) throw new RangeError(`calibrationTable: predictedQuantiles[${i}] has no level ${key}`);
      if (y <= predicted) hit++;
    }
    return { nominal: q, empirical: realised.length ? hit / realised.length : NaN };
  });
}
