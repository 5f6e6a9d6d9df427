/**
 * Multiplicity adjustments returning adjusted p-values in the input order (same definitions as
 * statsmodels.stats.multitest.multipletests 'holm' and 'fdr_bh'). Non-finite inputs are treated as 1.
 */

function sanitize(p: number): number {
  return Number.isFinite(p) ? Math.min(1, Math.max(0, p)) : 1;
}

/** Holm step-down adjusted p-values (controls the family-wise error rate). */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p: sanitize(p), i })).sort((a, b) => a.p - b.p || a.i - b.i);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}

/** Benjamini–Hochberg step-up adjusted p-values (controls the false discovery rate). */
export function benjaminiHochbergAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p: sanitize(p), i })).sort((a, b) => a.p - b.p || a.i - b.i);
  const out = new Array<number>(m);
  let running = 1;
  for (const [rank, { p, i }] of [...order.entries()].reverse()) {
    running = Math.min(running, Math.min(1, (m * p) / (rank + 1)));
    out[i] = running;
  }
  return out;
}

export type AdjustmentMethod = 'holm' | 'bh';

/** Adjusts with the named method. */
export function adjustPValues(pValues: readonly number[], method: AdjustmentMethod): number[] {
  return method === 'holm' ? holmAdjust(pValues) : benjaminiHochbergAdjust(pValues);
}
