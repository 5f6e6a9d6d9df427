/**
 * Running-window cells from an evaluation dataset, computed in DuckDB: for each window end t, the
 * sufficient statistics (n, Σy, Σy²) per metric × variant × assignment segment × snapshot version
 * (× treatment share under a contextual policy) of the units first exposed in [t − window, t).
 * The analysis cells are the decide step's, so the window estimates are stratified the same way.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CellStats } from '../domain/types.js';

export interface WindowCellsInput {
  experimentKey: string;
  control: string;
  contextual: boolean;
  ends: readonly Date[];
  windowSeconds: number;
  /** Table holding the dataset (see evaluation-export.ts DATASET_COLUMNS). */
  table?: string;
}

const ts = (d: Date) => `TIMESTAMP '${d.toISOString().replace('T', ' ').replace('Z', '')}'`;
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Cells of every window, keyed by the window end's ISO time. */
export async function windowCells(conn: DuckDBConnection, input: WindowCellsInput): Promise<Map<string, CellStats[]>> {
  const out = new Map<string, CellStats[]>(input.ends.map((e) => [e.toISOString(), []]));
  if (input.ends.length === 0) return out;
  const share = input.contextual ? `round(CASE WHEN d.variant = ${lit(input.control)} THEN 1 - d.propensity ELSE d.propensity END, 6)` : 'NULL::DOUBLE';
  const reader = await conn.runAndReadAll(
    `WITH ends AS (SELECT unnest([${input.ends.map(ts).join(', ')}]) AS end_at)
     SELECT strftime(e.end_at, '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS end_at, d.metric, d.variant, d.segment, d.snapshot_version AS period, ${share} AS share,
            count(*)::INTEGER AS n, sum(d.value)::DOUBLE AS s, sum(d.value * d.value)::DOUBLE AS ss
     FROM ends e JOIN ${input.table ?? 'ds'} d
       ON d.assigned_at >= e.end_at - to_seconds(${Number(input.windowSeconds)}) AND d.assigned_at < e.end_at
     WHERE d.experiment_key = ${lit(input.experimentKey)}
     GROUP BY ALL ORDER BY ALL`,
  );
  for (const r of reader.getRowObjects()) {
    const cells = out.get(String(r.end_at));
    if (!cells) continue;
    cells.push({
      metric: String(r.metric),
      variant: String(r.variant),
      segment: Number(r.segment),
      period: Number(r.period),
      ...(r.share === null ? {} : { propensityStratum: Number(r.share) }),
      moments: { n: Number(r.n), sum: Number(r.s), sumSquares: Number(r.ss) },
    });
  }
  return out;
}
