/**
 * Aggregation in SQL, where the data lives: event rows never leave Postgres, only sufficient
 * statistics (n, sum, sum of squares per metric × variant × segment × allocation period) and bounded
 * per-unit feature samples. Events reach these queries through UnitEventAggregate (per unit and
 * event name, within the attribution window), which `refreshUnitAggregates` keeps current; pass
 * its `hi` so units and their events are read as of the same moment.
 */
import type { Pool, QueryResult, QueryResultRow } from 'pg';
import { inTransaction } from './pg.js';
import { controlVariant } from '../domain/experiment/snapshot.js';
import type { CellStats, MetricSpec } from '../domain/types.js';
import type { UnitAggregateRow } from '../domain/segmentation/features.js';
import { at } from '../domain/at.js';
import type { LoadedExperiment } from './experiment-repo.js';

/** How units were randomised, which decides the analysis cells beyond (segment, period). */
export interface CellDesign {
  /** The control variant's key. */
  control: string;
  /**
   * Two-arm contextual policy: units of one (segment, period) were served their context leaf's
   * weights, so each cell is further split by the unit's treatment share (`propensityStratum`).
   * Never set for multi-arm designs: there a single propensity does not identify the weights.
   */
  contextual: boolean;
  /**
   * Context attributes to post-stratify on (the randomisation strata of a stratified design, or
   * any pre-treatment attributes): cells are further keyed by their values (`stratum`).
   */
  postStratify?: string[];
}

/** How an experiment's units were randomised, as its decisions' cells are keyed (see activities/collect.ts). */
export function cellDesignOf(exp: LoadedExperiment): CellDesign {
  const { config } = exp.def;
  return {
    control: controlVariant(exp.def),
    contextual: config.policy.kind === 'contextual' && exp.def.variants.length === 2,
    postStratify: config.postStratify ?? (config.randomization.type === 'stratified' ? config.randomization.strata : []),
  };
}

/**
 * Per-unit metric values: binary = any event, count = number of events, continuous = sum of values.
 * A unit's cell is the segment it was placed in at assignment and the snapshot version it was
 * randomised under: within that cell every unit had the same propensities, which is what makes the
 * stratified estimates unbiased under adaptive allocation. (Later behavioural re-segmentation is
 * kept in SegmentMembership; analysing by it would mix units served different weights.)
 * Under the contextual policy the units of one (segment, period) had their context leaf's weights,
 * so the cell is also keyed by the treatment share the unit was randomised with: its logged
 * propensity for treatment units, 1 − propensity for control units, rounded to 1e-6.
 */
export async function collectCellStats(
  pool: Pool,
  experimentId: string,
  metrics: MetricSpec[],
  design?: CellDesign,
  asOf?: { hi: string },
): Promise<CellStats[]> {
  // Below the refresh's transaction id: the units its aggregates counted (all units without one).
  const res = await queryEveryUnit<CellRow>(
    pool,
    `WITH ${unitValueCtes([], asOf ? { txidParam: '$8' } : {})}
     SELECT key AS metric, variant, seg AS segment, period, share, stratum, COUNT(*)::int AS n, SUM(y)::float8 AS sum, SUM(y * y)::float8 AS ss
     FROM y GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`,
    [...unitValueParams(experimentId, metrics, design), ...(asOf ? [asOf.hi] : [])],
  );
  return res.rows.map(toCellStats);
}

/**
 * Runs a query over every unit of an experiment joined to its aggregates (unitValueCtes) with hash
 * joins, never a nested loop. On statistics taken before a burst of new units or aggregates (a new
 * experiment's first cycles, before autovacuum's ANALYZE), the planner believes the experiment has
 * a row or two and loops over all its aggregate rows once per unit: minutes at 100k units, where
 * the hash join takes half a second (measured on a copy of bench:cycle's data).
 */
export async function queryEveryUnit<R extends QueryResultRow>(pool: Pool, text: string, params: unknown[]): Promise<QueryResult<R>> {
  return inTransaction(pool, async (client) => {
    // Hash aggregation in memory instead of external sorts; JIT costs more than it saves here.
    await client.query(`SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '128MB'; SET LOCAL jit = off`);
    return client.query<R>(text, params);
  });
}

/** One aggregated row (the columns every cell query selects) as a cell. */
export interface CellRow {
  metric: string;
  variant: string;
  segment: number;
  period: number;
  share: number | null;
  stratum: string | null;
  n: number;
  sum: number;
  ss: number;
}

export function toCellStats(r: CellRow): CellStats {
  return {
    metric: r.metric,
    variant: r.variant,
    segment: r.segment,
    period: r.period,
    ...(r.share === null ? {} : { propensityStratum: r.share }),
    ...(r.stratum === null ? {} : { stratum: r.stratum }),
    moments: { n: r.n, sum: r.sum, sumSquares: r.ss },
  };
}

/**
 * A unit's cell-key columns beyond (segment, period), over "Assignment" a: `share` (the treatment
 * share it was randomised with, two-arm contextual designs only) and `stratum` (its post-
 * stratification attributes' values). Bound to $5..$7 as unitValueParams binds them.
 */
export const CELL_KEY_COLUMNS = `CASE WHEN $5::boolean
                   THEN round((CASE WHEN a.variant = $6 THEN 1 - a.propensity ELSE a.propensity END)::numeric, 6)::float8
              END AS share,
              CASE WHEN cardinality($7::text[]) > 0
                   THEN (SELECT string_agg(COALESCE(a.context ->> f, ''), '|' ORDER BY i) FROM unnest($7::text[]) WITH ORDINALITY AS t(f, i))
              END AS stratum`;

/**
 * The CTEs behind every per-unit aggregate: `a` (the experiment's units with their cell keys and
 * `extra` expressions over "Assignment" a), `ev` (their attributed events) and `y` (one row per unit ×
 * metric with its value). Parameters $1..$9 come from unitValueParams.
 */
export function unitValueCtes(extra: Array<{ expr: string; as: string }> = [], opts: { asOfParam?: string; txidParam?: string } = {}): string {
  // As of a moment (a parameter placeholder): only units exposed by then. Their outcomes come from
  // the per-unit aggregates, which hold everything ingested so far. Below a transaction id: the
  // units an aggregate refresh that returned it has counted.
  const asOfUnits = (opts.asOfParam ? ` AND a."assignedAt" <= ${opts.asOfParam}::timestamp` : '') + (opts.txidParam ? ` AND a.txid < ${opts.txidParam}::bigint` : '');
  const selected = extra.map((x) => ` ${x.expr} AS ${x.as},`).join('');
  const carried = extra.map((x) => `a.${x.as}, `).join('');
  return `a AS (
       SELECT a."unitId", a.variant, a.segment AS seg, a."snapshotVersion" AS period,${selected}
              ${CELL_KEY_COLUMNS}
       FROM "Assignment" a
       WHERE a."experimentId" = $1${asOfUnits}
     ),
     mt AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS mt(key, event, type)),
     y AS (
       SELECT mt.key, a.variant, a.seg, a.period, a.share, a.stratum, ${carried}
              CASE WHEN mt.type = 'binary' THEN (CASE WHEN g.count > 0 THEN 1.0 ELSE 0.0 END)
                   WHEN mt.type = 'count' THEN COALESCE(g.count, 0)
                   ELSE COALESCE(g.sum, 0) END AS y
       FROM a CROSS JOIN mt
       LEFT JOIN "UnitEventAggregate" g ON g."experimentId" = $1 AND g."unitId" = a."unitId" AND g.name = mt.event
     )`;
}

/** $1..$7 of unitValueCtes, as collectCellStats binds them. */
export function unitValueParams(experimentId: string, metrics: MetricSpec[], design?: CellDesign): unknown[] {
  return [
    experimentId,
    metrics.map((m) => m.key),
    metrics.map((m) => m.event),
    metrics.map((m) => m.type),
    design?.contextual === true,
    design?.control ?? '',
    design?.postStratify ?? [],
  ];
}

/**
 * Per-unit aggregates for segmentation: event counts and value sums for the configured events plus
 * numeric context attributes, for a deterministic pseudo-random sample of at most `limit` units.
 */
export async function sampleUnitAggregates(
  pool: Pool,
  experimentId: string,
  opts: { events: string[]; contextFeatures: string[]; limit: number; seed: string },
): Promise<UnitAggregateRow[]> {
  const res = await pool.query<{ unitId: string; context: Record<string, unknown>; names: string[] | null; counts: number[] | null; sums: number[] | null }>(
    `WITH u AS (
       SELECT "unitId", context FROM "Assignment" WHERE "experimentId" = $1
       ORDER BY md5("unitId" || $4) LIMIT $3
     )
     -- One index probe per sampled unit, whatever the statistics say. As a join, on statistics
     -- taken before this experiment's aggregates existed, the planner rescanned every aggregate row
     -- once per unit (a cycle's segmentation ran for minutes).
     SELECT u."unitId", u.context, ev.names, ev.counts, ev.sums
     FROM u CROSS JOIN LATERAL (
       SELECT array_agg(g.name) AS names, array_agg(g.count) AS counts, array_agg(g.sum) AS sums
       FROM "UnitEventAggregate" g
       WHERE g."experimentId" = $1 AND g."unitId" = u."unitId" AND g.name = ANY($2::text[])
     ) ev
     ORDER BY u."unitId"`,
    [experimentId, opts.events, opts.limit, opts.seed],
  );
  return res.rows.map((r) => {
    const counts: Record<string, number> = {};
    const sums: Record<string, number> = {};
    // names, counts and sums are array_agg'd over the same rows, so they line up.
    const rowCounts = r.counts ?? [];
    const rowSums = r.sums ?? [];
    (r.names ?? []).forEach((n, i) => {
      if (n === null) return;
      counts[n] = at(rowCounts, i, 'aggregate counts');
      sums[n] = at(rowSums, i, 'aggregate sums');
    });
    const context: Record<string, number> = {};
    for (const f of opts.contextFeatures) {
      const v = Number((r.context ?? {})[f]);
      context[f] = Number.isFinite(v) ? v : 0;
    }
    return { unitId: r.unitId, counts, sums, context };
  });
}

/** Writes segment memberships in one statement; later cycles overwrite earlier ones. */
export async function upsertMemberships(pool: Pool, experimentId: string, cycle: number, unitIds: string[], segments: number[]): Promise<void> {
  if (!unitIds.length) return;
  await pool.query(
    `INSERT INTO "SegmentMembership" ("experimentId", "unitId", "segmentId", cycle)
     SELECT $1::uuid, u, s, $2 FROM unnest($3::text[], $4::int[]) AS t(u, s)
     ON CONFLICT ("experimentId", "unitId") DO UPDATE SET "segmentId" = EXCLUDED."segmentId", cycle = EXCLUDED.cycle
     WHERE "SegmentMembership".cycle <= EXCLUDED.cycle`,
    [experimentId, cycle, unitIds, segments],
  );
}

/**
 * The most recent `limit` enrolled units with their numeric context features, variant, logged
 * propensity and primary-metric value: the training rows of the contextual risk model.
 */
export async function recentContextRows(
  pool: Pool,
  experimentId: string,
  opts: { features: string[]; metric: MetricSpec; limit: number },
): Promise<Array<{ features: number[]; variant: string; y: number; propensity: number }>> {
  const res = await pool.query<{ context: Record<string, unknown>; variant: string; propensity: number; c: number | null; s: number | null }>(
    `WITH a AS (
       SELECT id, "assignedAt", "unitId", variant, propensity, context FROM "Assignment"
       WHERE "experimentId" = $1 ORDER BY "assignedAt" DESC, id DESC LIMIT $3
     )
     SELECT a.context, a.variant, a.propensity, ev.count AS c, ev.sum AS s
     FROM a LEFT JOIN LATERAL (
       -- A probe per unit (OFFSET 0 keeps it one): see sampleUnitAggregates.
       SELECT g.count, g.sum FROM "UnitEventAggregate" g
       WHERE g."experimentId" = $1 AND g."unitId" = a."unitId" AND g.name = $2 OFFSET 0
     ) ev ON true
     ORDER BY a."assignedAt" DESC, a.id DESC`,
    [experimentId, opts.metric.event, opts.limit],
  );
  const numeric = (v: unknown) => (typeof v === 'boolean' ? Number(v) : typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);
  return res.rows.reverse().map((r) => ({
    features: opts.features.map((f) => numeric((r.context ?? {})[f])),
    variant: r.variant,
    propensity: r.propensity,
    y: opts.metric.type === 'binary' ? ((r.c ?? 0) > 0 ? 1 : 0) : opts.metric.type === 'count' ? (r.c ?? 0) : (r.s ?? 0),
  }));
}
