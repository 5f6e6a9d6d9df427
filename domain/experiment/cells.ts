/** Reshaping collected cells: pooling periods and segments into per-variant sufficient statistics. */
import type { CellStats, Moments } from '../types.js';

const zero = (): Moments => ({ n: 0, sum: 0, sumSquares: 0 });

export function addMoments(a: Moments, b: Moments): Moments {
  return { n: a.n + b.n, sum: a.sum + b.sum, sumSquares: a.sumSquares + b.sumSquares };
}

/** Per-variant moments of one metric, pooled over periods (and over segments unless one is given). */
export function poolByVariant(cells: readonly CellStats[], metric: string, variants: readonly string[], segment?: number): Record<string, Moments> {
  const out: Record<string, Moments> = Object.fromEntries(variants.map((v) => [v, zero()]));
  for (const c of cells) {
    if (c.metric !== metric || (segment !== undefined && c.segment !== segment) || !(c.variant in out)) continue;
    out[c.variant] = addMoments(out[c.variant]!, c.moments);
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
