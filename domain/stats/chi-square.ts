/**
 * Pearson chi-square tests. Rows/columns whose total is zero carry no information and are dropped
 * (and the degrees of freedom reduced), rather than producing 0/0 expected counts.
 */
import { chiSquareSf } from './normal.js';

/** Statistic, degrees of freedom and upper-tail p-value of a chi-square test. */
export interface ChiSquareResult {
  statistic: number;
  df: number;
  pValue: number;
  reason?: 'no-data' | 'single-arm';
}

/** Pearson test of independence on an r×c table (no Yates correction, like scipy's correction=False). */
export function chiSquareIndependence(table: readonly (readonly number[])[]): ChiSquareResult {
  const rowsKept = table.filter((row) => row.reduce((a, b) => a + b, 0) > 0);
  if (rowsKept.length === 0) return { statistic: 0, df: 0, pValue: 1, reason: 'no-data' };
  const nCols = Math.max(...rowsKept.map((r) => r.length));
  const colTotals = Array.from({ length: nCols }, (_, j) => rowsKept.reduce((a, r) => a + (r[j] ?? 0), 0));
  const cols = colTotals.flatMap((colTotal, j) => (colTotal > 0 ? [{ j, colTotal }] : []));
  if (rowsKept.length < 2 || cols.length < 2) return { statistic: 0, df: 0, pValue: 1, reason: 'single-arm' };
  const total = colTotals.reduce((a, b) => a + b, 0);
  let statistic = 0;
  for (const row of rowsKept) {
    const rowTotal = row.reduce((a, b) => a + b, 0);
    for (const { j, colTotal } of cols) {
      const expected = (rowTotal * colTotal) / total;
      const d = (row[j] ?? 0) - expected;
      statistic += (d * d) / expected;
    }
  }
  const df = (rowsKept.length - 1) * (cols.length - 1);
  return { statistic, df, pValue: chiSquareSf(statistic, df) };
}

/** Independence test of conversion across k arms: rows = arms, columns = (converted, not converted). */
export function chiSquareProportions(arms: readonly { n: number; successes: number }[]): ChiSquareResult {
  return chiSquareIndependence(arms.map((a) => [a.successes, a.n - a.successes]));
}

/**
 * Goodness of fit of observed counts to expected counts (which must have the same total). A cell with
 * zero expected but a positive observation is an impossible outcome: statistic Infinity → p = 0.
 */
export function chiSquareGoodnessOfFit(observed: readonly number[], expected: readonly number[]): ChiSquareResult {
  let statistic = 0;
  let cells = 0;
  let impossible = false;
  for (const [i, o] of observed.entries()) {
    const e = expected[i] ?? 0;
    if (e > 0) {
      statistic += (o - e) ** 2 / e;
      cells++;
    } else if (o > 0) impossible = true;
  }
  if (impossible) return { statistic: Number.MAX_VALUE, df: Math.max(1, cells - 1), pValue: 0 };
  if (cells < 2) return { statistic: 0, df: 0, pValue: 1, reason: 'single-arm' };
  const df = cells - 1;
  return { statistic, df, pValue: chiSquareSf(statistic, df) };
}
